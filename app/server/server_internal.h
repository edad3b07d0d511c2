/* What the server's files share: the server itself and the CivetWeb
 * callbacks each file provides. Private to server*.c and ws_connection.c. */
#ifndef WSRELAY_SERVER_INTERNAL_H
#define WSRELAY_SERVER_INTERNAL_H

#include <civetweb.h>
#include <stdatomic.h>

#include "auth.h"
#include "auth_expiry.h"
#include "cluster.h"
#include "config.h"
#include "delivery.h"
#include "hub.h"
#include "net_address.h"
#include "relay_stats.h"
#include "rooms.h"

struct server {
	const struct config *cfg;
	struct mg_context *ctx;
	struct rooms *rooms; /* one room for everyone unless rooms.enabled */
	struct sender_pool *senders;
	struct tls_context *tls; /* NULL when no listener serves TLS */
	struct cluster *cluster; /* NULL unless cluster.enabled */
	struct address_limits *address_limits;
	struct net_cidr *trusted_proxies; /* server.trusted_proxies, parsed */
	size_t trusted_proxies_count;
	struct auth *auth;
	struct auth_expiry *expiry; /* NULL in auth mode none */
	atomic_bool draining;       /* new handshakes are refused */
	struct relay_stats stats;
	double start_time; /* seconds since the Unix epoch */
};

/* handshake_filter.c: refusals that must be answered before the upgrade. */
int handshake_filter(struct mg_connection *conn);
/* Counts the refusal and sends the whole response (header may be NULL);
 * returns status. */
int handshake_refuse(struct server *srv, enum rejection_reason why, struct mg_connection *conn,
                     int status, const char *header, const char *value, const char *body);

/* handshake_auth.c: access control before the upgrade; 0 lets the client
 * on, with its grant kept for the connect handler on the same thread. room:
 * the room asked for ("" with rooms off), which the grant must allow. */
int handshake_auth(struct server *srv, struct mg_connection *conn, const char *room);
/* The grant handshake_auth kept on this thread (NULL in mode none), now the
 * caller's. The connect handler, on the thread that ran the filter. */
struct auth_grant *handshake_auth_take_grant(void);
/* CivetWeb's connection_close callback: frees a grant whose handshake never
 * reached the connect handler. */
void handshake_auth_forget(const struct mg_connection *conn);

/* The room a WebSocket request asks for, from its raw path: true with the
 * name in room (ROOM_NAME_MAX + 1 bytes; "" when rooms are off), false when
 * the path names no room this server serves. */
bool handshake_filter_room(const struct server *srv, const struct mg_request_info *ri, char *room,
                           enum room_path *kind);

/* The key under which conn's client is counted per address; false when a
 * trusted proxy sent a malformed X-Forwarded-For. text (may be NULL) gets
 * the client's address for logs. */
bool server_client_key(const struct server *srv, const struct mg_connection *conn,
                       struct net_address *key, char *text, size_t textlen);

/* ws_connection.c: the life of one WebSocket client. */
extern const struct hub_endpoint_ops ws_endpoint_ops;
extern const struct delivery_io ws_delivery_io;
void ws_connection_register(struct server *srv, struct mg_context *ctx);
/* The expiry timer's fire (auth_expiry.h): closes the client with 1008
 * "token expired". */
void ws_connection_token_expired(void *connection);

#endif
