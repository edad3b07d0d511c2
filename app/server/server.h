/* The WebSocket listener: CivetWeb's context, its callbacks and the hub they
 * feed. */
#ifndef WSRELAY_SERVER_H
#define WSRELAY_SERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

struct server;
struct tls_context;

/* Sets up the relay for cfg (which must outlive the server): hub, senders,
 * TLS and the cluster, but no listener yet, so the metrics listener can be
 * up before the first client can connect. Returns NULL with a one-line
 * reason in err. */
struct server *server_start(const struct config *cfg, char *err, size_t errlen);

/* Opens the WebSocket listeners. Returns 0, or -1 with a one-line reason in
 * err when one cannot be opened (server_stop still frees the server). */
int server_listen(struct server *srv, char *err, size_t errlen);

/* Refuses new clients from now on and sends close 1001 (going away) to every
 * connected client. Returns how many clients were sent the close. */
size_t server_begin_drain(struct server *srv);

/* True from server_begin_drain on. */
bool server_draining(struct server *srv);

/* Clients still connected. */
size_t server_client_count(struct server *srv);

/* Cuts the connections of clients that did not finish their close handshake. */
void server_abort_clients(struct server *srv);

/* The WebSocket listeners' TLS, or NULL when none serves TLS. */
struct tls_context *server_tls(struct server *srv);

/* Access control: its counters and its SIGHUP reload (auth.h). */
struct auth *server_auth(struct server *srv);

/* Stops CivetWeb: every connection ends, and no callback runs any more. */
void server_stop_listening(struct server *srv);

/* Stops CivetWeb (unless stopped already) and frees the server. Whatever
 * else reads the server (the metrics listener) must be stopped first. */
void server_stop(struct server *srv);

#endif
