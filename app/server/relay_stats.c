#include "relay_stats.h"

#include <string.h>

static const uint64_t message_size_bounds[] = {
    64, 256, 1024, 4096, 16384, 65536, 262144, 1048576, 4194304,
};

/* From 10 µs (a handful of local receivers) to 5 s (stalled writes). */
static const uint64_t broadcast_duration_bounds_ns[] = {
    10000,    50000,    100000,    500000,    1000000,    5000000,
    10000000, 50000000, 100000000, 500000000, 1000000000, 5000000000,
};

static const char *const rejection_names[REJECT_REASON_COUNT] = {
    [REJECT_ORIGIN] = "origin",
    [REJECT_CAPACITY] = "capacity",
    [REJECT_BAD_REQUEST] = "bad_request",
    [REJECT_SHUTDOWN] = "shutdown",
    [REJECT_ADDRESS_LIMIT] = "address_limit",
    [REJECT_HANDSHAKE_RATE] = "handshake_rate",
    [REJECT_UNAUTHORIZED] = "unauthorized",
    [REJECT_PROXY_PROTOCOL] = "proxy_protocol",
    [REJECT_PROXY_UNTRUSTED] = "proxy_untrusted",
};

const char *relay_stats_rejection_name(enum rejection_reason reason)
{
	return (unsigned)reason < REJECT_REASON_COUNT ? rejection_names[reason] : "unknown";
}

static const char *const room_refusal_names[ROOM_REFUSAL_COUNT] = {
    [ROOM_REFUSED_MAX_ROOMS] = "max_rooms",
    [ROOM_REFUSED_MAX_MEMBERS] = "max_members",
    [ROOM_REFUSED_BAD_NAME] = "bad_name",
};

const char *relay_stats_room_refusal_name(enum room_refusal reason)
{
	return (unsigned)reason < ROOM_REFUSAL_COUNT ? room_refusal_names[reason] : "unknown";
}

void stats_init(struct relay_stats *s)
{
	memset(s, 0, sizeof(*s));
	histogram_init(&s->message_size, message_size_bounds,
	               sizeof(message_size_bounds) / sizeof(message_size_bounds[0]));
	histogram_init(&s->broadcast_duration, broadcast_duration_bounds_ns,
	               sizeof(broadcast_duration_bounds_ns) /
	                   sizeof(broadcast_duration_bounds_ns[0]));
}
