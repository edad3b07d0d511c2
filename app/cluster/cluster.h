/* Cluster mode: several relay nodes sharing a broker act as one relay.
 *
 * A message from a local client is delivered to local clients at once (by
 * the reader thread, as without a cluster) and handed to cluster_publish,
 * which puts it, in an envelope (cluster_envelope.h) with this node's id and
 * next sequence number, on a bounded queue. The cluster's publisher thread
 * drains the queue into the broker, so a slow or dead broker never blocks a
 * reader: when the queue is full, messages are dropped and counted. What
 * the broker delivers is decoded on the backend's receiving thread; our own
 * messages and duplicates are skipped, gaps counted, and the rest encoded
 * once as a shared frame and handed to hub_broadcast, the path local
 * messages take. */
#ifndef WSRELAY_CLUSTER_H
#define WSRELAY_CLUSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"
#include "rooms.h"

struct cluster;

/* Why a message from the broker was dropped before its sequence number was
 * looked at. */
enum cluster_reject {
	CLUSTER_REJECT_SIGNATURE, /* unsigned, or signed with none of our keys, or altered */
	CLUSTER_REJECT_MALFORMED, /* not an envelope, cut short, too large, bad UTF-8 */
	CLUSTER_REJECT_VERSION,   /* a format or signature scheme this node does not know */
	CLUSTER_REJECT_IMPOSTOR,  /* a valid envelope under this node's own id */
	CLUSTER_REJECT_COUNT
};

/* "signature", "malformed"...: the reason label on /metrics. */
const char *cluster_reject_name(enum cluster_reject reason);

/* For /metrics. */
struct cluster_stats {
	bool connected;
	uint64_t published;
	uint64_t received;
	uint64_t reconnects;
	uint64_t dropped;           /* queue full (or out of memory) */
	uint64_t dropped_too_large; /* larger than the broker takes: local clients only */
	uint64_t dropped_no_room;   /* from the broker, for a room this node does not have */
	uint64_t gaps;
	uint64_t malformed; /* every message from the broker dropped unread: the sum of rejected */
	uint64_t rejected[CLUSTER_REJECT_COUNT];
	uint64_t queued; /* messages waiting for the broker now */
};

/* Starts the backend cfg->cluster.broker and the publisher thread; the
 * broker need not be reachable yet. cfg and rooms must outlive the cluster.
 * NULL with a reason in err when threads or memory cannot be had. */
struct cluster *cluster_start(const struct config *cfg, struct rooms *rooms, char *err,
                              size_t errlen);

/* Queues a local client's message for the other nodes; never blocks on the
 * broker. room is the sender's (the sender is a member, which keeps it
 * alive); with rooms on the message goes to that room's subject on the
 * broker, in a version 2 envelope. opcode is WS_OPCODE_TEXT or
 * WS_OPCODE_BINARY. */
void cluster_publish(struct cluster *c, struct room *room, uint8_t opcode, const void *payload,
                     size_t len);

void cluster_read_stats(struct cluster *c, struct cluster_stats *out);

/* SIGHUP: reads cluster.secret_file again (keys in use stay on failure,
 * which is logged). Nothing to do without one. Main thread. */
void cluster_reload_keys(struct cluster *c);

/* Stops the threads and frees the cluster; what is still queued is lost
 * (and logged). After the last cluster_publish. */
void cluster_stop(struct cluster *c);

#endif
