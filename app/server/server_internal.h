/* What the server's files share: the server itself and the CivetWeb
 * callbacks each file provides. Private to server*.c and ws_connection.c. */
#ifndef WSRELAY_SERVER_INTERNAL_H
#define WSRELAY_SERVER_INTERNAL_H

#include <civetweb.h>
#include <stdatomic.h>

#include "cluster.h"
#include "config.h"
#include "delivery.h"
#include "hub.h"
#include "net_address.h"
#include "relay_stats.h"

struct server {
	const struct config *cfg;
	struct mg_context *ctx;
	struct hub *hub;
	struct sender_pool *senders;
	struct tls_context *tls; /* NULL when no listener serves TLS */
	struct cluster *cluster; /* NULL unless cluster.enabled */
	struct address_limits *address_limits;
	struct net_cidr *trusted_proxies; /* server.trusted_proxies, parsed */
	size_t trusted_proxies_count;
	atomic_bool draining; /* new handshakes are refused */
	struct relay_stats stats;
	double start_time; /* seconds since the Unix epoch */
};

/* handshake_filter.c: refusals that must be answered before the upgrade. */
int handshake_filter(struct mg_connection *conn);

/* The key under which conn's client is counted per address; false when a
 * trusted proxy sent a malformed X-Forwarded-For. text (may be NULL) gets
 * the client's address for logs. */
bool server_client_key(const struct server *srv, const struct mg_connection *conn,
                       struct net_address *key, char *text, size_t textlen);

/* ws_connection.c: the life of one WebSocket client. */
extern const struct hub_endpoint_ops ws_endpoint_ops;
extern const struct delivery_io ws_delivery_io;
void ws_connection_register(struct server *srv, struct mg_context *ctx);

#endif
