/* Who a client is: the address of the TCP peer, or, when that peer is one
 * of server.trusted_proxies, the address the proxies name in
 * X-Forwarded-For. Thread: any (reads only the request and the list). */
#ifndef WSRELAY_CLIENT_ADDRESS_H
#define WSRELAY_CLIENT_ADDRESS_H

#include <civetweb.h>
#include <stdbool.h>
#include <stddef.h>

#include "net_address.h"

struct client_address {
	struct net_address addr;
	char text[NET_ADDRESS_TEXT_SIZE]; /* for logs */
	bool forwarded;                   /* named by a trusted proxy */
};

/* Whether a is in one of the trusted networks. */
bool client_address_trusted(const struct net_cidr *trusted, size_t count,
                            const struct net_address *a);

/* The client of conn. From a trusted peer, X-Forwarded-For is read from
 * its last entry back (every header of that name, in order, as one list):
 * each trusted address is a proxy of ours, and the first one that is not
 * is the client; if all are trusted, the first. Returns false when a
 * trusted peer sent an entry that is not an address (refused with 400). */
bool client_address_resolve(const struct mg_connection *conn, const struct net_cidr *trusted,
                            size_t trusted_count, struct client_address *out);

#endif
