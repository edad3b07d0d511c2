/* Per-address accounting of WebSocket clients: how many are connected from
 * each address (an IPv6 client by its /64, limits.ipv6_prefix_length) and
 * how fast each address starts handshakes. All calls take the table's own
 * mutex, a leaf (nothing is taken under it): safe from any thread, also
 * under the connection lock (the connect handler, patch 0003). */
#ifndef WSRELAY_ADDRESS_LIMITS_H
#define WSRELAY_ADDRESS_LIMITS_H

#include <stdbool.h>
#include <stdint.h>

#include "net_address.h"

struct address_limits;

/* max_connections or handshakes_per_second 0 switches that limit off.
 * NULL when out of memory. */
struct address_limits *address_limits_create(uint32_t max_connections,
                                             uint32_t handshakes_per_second);
void address_limits_destroy(struct address_limits *al);

enum address_verdict {
	ADDRESS_OK,
	ADDRESS_TOO_MANY_CONNECTIONS,
	ADDRESS_TOO_MANY_HANDSHAKES,
};

/* A handshake from key (net_address_key): spends one of its handshake
 * tokens, and says whether it would fit under the connection limit (no slot
 * is taken: address_limits_acquire does that when the client joins). On
 * ADDRESS_TOO_MANY_HANDSHAKES, *retry_after_s is the wait in whole seconds
 * (at least 1). */
enum address_verdict address_limits_check(struct address_limits *al, const struct net_address *key,
                                          unsigned *retry_after_s);

/* Takes a connection slot for key; false when it has none left. */
bool address_limits_acquire(struct address_limits *al, const struct net_address *key);

/* Gives back a slot that address_limits_acquire took. */
void address_limits_release(struct address_limits *al, const struct net_address *key);

/* Addresses tracked now (connected, or with handshakes still counting). */
size_t address_limits_tracked(struct address_limits *al);

#endif
