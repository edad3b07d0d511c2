/* The relay's counters, updated lock-free from the connection threads and
 * read by the metrics endpoint. */
#ifndef WSRELAY_RELAY_STATS_H
#define WSRELAY_RELAY_STATS_H

#include <stdatomic.h>
#include <stdint.h>

#include "histogram.h"
#include "hub.h"
#include "stats.h"

/* Why a handshake was refused before the upgrade. */
enum rejection_reason {
	REJECT_ORIGIN,
	REJECT_CAPACITY,
	REJECT_BAD_REQUEST,
	REJECT_SHUTDOWN,
	REJECT_ADDRESS_LIMIT,   /* limits.max_connections_per_address */
	REJECT_HANDSHAKE_RATE,  /* limits.handshakes_per_address_per_second */
	REJECT_UNAUTHORIZED,    /* access control (auth) refused it: 401, 403 or 503 */
	REJECT_PROXY_PROTOCOL,  /* a trusted proxy's PROXY header missing, malformed or late */
	REJECT_PROXY_UNTRUSTED, /* a PROXY header from a peer not in trusted_proxies */
	REJECT_REASON_COUNT
};

const char *relay_stats_rejection_name(enum rejection_reason reason);

/* Why a handshake into a room was refused (also counted in rejected[]). */
enum room_refusal {
	ROOM_REFUSED_MAX_ROOMS,
	ROOM_REFUSED_MAX_MEMBERS,
	ROOM_REFUSED_BAD_NAME,
	ROOM_REFUSAL_COUNT
};

const char *relay_stats_room_refusal_name(enum room_refusal reason);

struct relay_stats {
	atomic_uint_fast64_t connections;
	atomic_uint_fast64_t disconnections[DISCONNECT_REASON_COUNT];
	atomic_uint_fast64_t messages;
	atomic_uint_fast64_t deliveries;
	atomic_uint_fast64_t received_bytes;
	atomic_uint_fast64_t sent_bytes;
	atomic_uint_fast64_t write_errors;
	atomic_uint_fast64_t pongs_coalesced; /* pongs replaced by a newer one unsent */
	atomic_uint_fast64_t rejected[REJECT_REASON_COUNT];
	atomic_uint_fast64_t rooms_refused[ROOM_REFUSAL_COUNT];
	atomic_uint_fast64_t rate_dropped;   /* messages discarded over limits.*_per_second */
	struct histogram message_size;       /* bytes */
	struct histogram broadcast_duration; /* nanoseconds */
};

void stats_init(struct relay_stats *s);

#endif
