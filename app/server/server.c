/* The WebSocket listener: CivetWeb's context, its options, and the drain
 * at shutdown. The callbacks live in handshake_filter.c (HTTP refusals) and
 * ws_connection.c (the clients). */
#include "server.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "address_limits.h"
#include "clock.h"
#include "listen_addr.h"
#include "log.h"
#include "proxy_protocol.h"
#include "server_internal.h"
#include "tls_context.h"
#include "token_mask.h"
#include "ws_frame.h"

/* Worker threads beyond one per WebSocket client, for static files and for
 * handshakes that are about to be refused with 503. */
#define HTTP_THREAD_RESERVE 16u

/* CivetWeb's WebSocket read timeout. Pings and the idle limit do not
 * follow it: patch 0006's mg_set_websocket_keepalive (on_init_context)
 * pings after server.ping_interval_seconds of silence and ends a client
 * silent for server.idle_timeout_seconds. CivetWeb's request timeout is
 * server.handshake_timeout_seconds: it counts from the request's first
 * byte to its last header line (read_message compares against the
 * request's start time after every read), so a client that sends its head
 * a byte at a time is cut when the whole head is late, at the first read
 * after the deadline. It is also a receiver's write timeout (CivetWeb
 * rounds that up to 2 s slices). */
#define WEBSOCKET_TIMEOUT_MS "30000"

/* One sender per core: writing is cheap per byte, and more threads than
 * cores would only take turns. */
static unsigned sender_threads(void)
{
	long cores = sysconf(_SC_NPROCESSORS_ONLN);
	if (cores < 1)
		return 1;
	return cores > 8 ? 8 : (unsigned)cores;
}

/* Runs inside mg_start before any worker exists: settings made here need no
 * lock, and no client can arrive before the handler is in place. */
static void on_init_context(const struct mg_context *ctx)
{
	struct server *srv = mg_get_user_data(ctx);
	mg_set_websocket_max_frame_size(ctx, srv->cfg->server.max_message_bytes);
	unsigned ping_s = srv->cfg->server.ping_interval_seconds;
	mg_set_websocket_keepalive(ctx, ping_s * 1000u,
	                           ping_s ? srv->cfg->server.idle_timeout_seconds * 1000u : 0);
	ws_connection_register(srv, (struct mg_context *)(uintptr_t)ctx);
}

static int on_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	/* CivetWeb's messages may quote a request line, token and all. */
	char masked[1024];
	token_mask(message, masked, sizeof(masked));
	log_warn("civetweb: %s", masked);
	return 1;
}

/* ---- start and stop ---- */

/* The listen addresses in CivetWeb's form ("0.0.0.0:8443s,127.0.0.1:8080",
 * an "s" marking TLS), or for people ("wss://0.0.0.0:8443, ws://..."). */
static void list_listeners(const struct config *cfg, bool for_civetweb, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < cfg->server.listen_count; i++) {
		struct listen_addr addr = cfg->server.listen[i];
		bool tls = config_listen_uses_tls(cfg, &addr);
		addr.scheme = for_civetweb ? LISTEN_SCHEME_NONE
		              : tls        ? LISTEN_SCHEME_WSS
		                           : LISTEN_SCHEME_WS;
		char one[LISTEN_ADDR_TEXT_SIZE];
		listen_addr_format(&addr, one);
		int n =
		    snprintf(out + used, cap - used, "%s%s%s", i ? (for_civetweb ? "," : ", ") : "",
		             one, for_civetweb && tls ? "s" : "");
		if (n < 0 || (size_t)n >= cap - used)
			break;
		used += (size_t)n;
	}
}

static bool any_tls_listener(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->server.listen_count; i++)
		if (config_listen_uses_tls(cfg, &cfg->server.listen[i]))
			return true;
	return false;
}

/* CivetWeb takes our SSL_CTX as it is, and leaves freeing it to us. */
static int provide_ssl_ctx(void **ssl_ctx, void *user_data)
{
	struct server *srv = user_data;
	if (!srv->tls)
		return 0;
	*ssl_ctx = tls_context_ssl_ctx(srv->tls);
	return 1;
}

static void free_server(struct server *srv)
{
	cluster_stop(srv->cluster);
	address_limits_destroy(srv->address_limits);
	free(srv->trusted_proxies);
	/* After mg_stop: every close handler has cancelled its entry. */
	auth_expiry_stop(srv->expiry);
	auth_free(srv->auth);
	sender_pool_stop(srv->senders);
	rooms_destroy(srv->rooms);
	tls_context_free(srv->tls);
	free(srv);
}

struct server *server_start(const struct config *cfg, char *err, size_t errlen)
{
	struct server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->cfg = cfg;
	stats_init(&srv->stats);
	srv->start_time = (double)clock_wall_ms() / 1000.0;
	const struct rooms_limits limits = {.named = cfg->rooms.enabled,
	                                    .max_clients = cfg->server.max_connections,
	                                    .max_rooms = cfg->rooms.max_rooms,
	                                    .max_members = cfg->rooms.max_members};
	srv->rooms = rooms_create(&limits, &ws_endpoint_ops);
	srv->address_limits = address_limits_create(cfg->limits.max_connections_per_address,
	                                            cfg->limits.handshakes_per_address_per_second);
	srv->trusted_proxies =
	    calloc(cfg->server.trusted_proxies_count + 1, sizeof(*srv->trusted_proxies));
	for (size_t i = 0; srv->trusted_proxies && i < cfg->server.trusted_proxies_count; i++) {
		char why[160];
		/* The loader checked every entry, so none fails here. */
		if (net_cidr_parse(cfg->server.trusted_proxies[i], &srv->trusted_proxies[i], why,
		                   sizeof(why)) == 0)
			srv->trusted_proxies_count++;
	}
	srv->senders = sender_pool_start(sender_threads(), &ws_delivery_io);
	if (!srv->rooms || !srv->senders || !srv->address_limits || !srv->trusted_proxies) {
		free_server(srv);
		snprintf(err, errlen, "out of memory or threads for the relay");
		return NULL;
	}
	if (any_tls_listener(cfg)) {
		srv->tls = tls_context_create(&cfg->server.tls, "server.tls", err, errlen);
		if (!srv->tls) {
			free_server(srv);
			return NULL;
		}
	}

	/* Keys are read now: a bad file stops the start (exit 1). */
	srv->auth = auth_create(cfg, err, errlen);
	if (!srv->auth) {
		free_server(srv);
		return NULL;
	}
	if (cfg->auth.mode != AUTH_MODE_NONE) {
		srv->expiry = auth_expiry_start(ws_connection_token_expired);
		if (!srv->expiry) {
			snprintf(err, errlen,
			         "out of memory or threads for the token expiry timer");
			free_server(srv);
			return NULL;
		}
	}

	/* Before the listener: a message from the first client is published. */
	if (cfg->cluster.enabled) {
		srv->cluster = cluster_start(cfg, srv->rooms, err, errlen);
		if (!srv->cluster) {
			free_server(srv);
			return NULL;
		}
	}

	return srv;
}

int server_listen(struct server *srv, char *err, size_t errlen)
{
	const struct config *cfg = srv->cfg;
	char ports[1024];
	char threads[16], request_timeout[16];
	list_listeners(cfg, true, ports, sizeof(ports));
	snprintf(threads, sizeof(threads), "%u", cfg->server.max_connections + HTTP_THREAD_RESERVE);
	snprintf(request_timeout, sizeof(request_timeout), "%u",
	         cfg->server.handshake_timeout_seconds * 1000u);
	const char *options[32];
	size_t n = 0;
	options[n++] = "listening_ports";
	options[n++] = ports;
	options[n++] = "num_threads";
	options[n++] = threads;
	options[n++] = "request_timeout_ms";
	options[n++] = request_timeout;
	options[n++] = "websocket_timeout_ms";
	options[n++] = WEBSOCKET_TIMEOUT_MS;
	options[n++] = "enable_websocket_ping_pong";
	options[n++] = "yes";
	/* The senders batch frames themselves; Nagle would only hold a lone
	 * frame back for a delayed ACK (tens of milliseconds). */
	options[n++] = "tcp_nodelay";
	options[n++] = "1";
	options[n++] = "listen_backlog";
	options[n++] = "1024";
	options[n++] = "enable_directory_listing";
	options[n++] = "no";
	/* Rooms are read from the path as the client sent it (a room name
	 * never needs decoding, and "%2F" must not become a "/"), so CivetWeb
	 * leaves it encoded; static files then need plain names too. */
	if (cfg->rooms.enabled) {
		options[n++] = "decode_url";
		options[n++] = "no";
	}
	if (cfg->server.document_root[0]) {
		options[n++] = "document_root";
		options[n++] = cfg->server.document_root;
	}
	options[n] = NULL;

	struct mg_callbacks callbacks;
	memset(&callbacks, 0, sizeof(callbacks));
	callbacks.begin_request = handshake_filter;
	callbacks.init_context = on_init_context;
	callbacks.log_message = on_log_message;
	callbacks.external_ssl_ctx = provide_ssl_ctx;
	callbacks.connection_close = handshake_auth_forget;
	/* Patch 0012: the PROXY header is read before TLS and HTTP. */
	if (cfg->server.proxy_protocol)
		callbacks.accept_connection = proxy_protocol_accept;

	char mg_err[256] = "";
	struct mg_error_data error = {.text = mg_err, .text_buffer_size = sizeof(mg_err)};
	struct mg_init_data init = {
	    .callbacks = &callbacks, .user_data = srv, .configuration_options = options};
	srv->ctx = mg_start2(&init, &error);
	if (!srv->ctx) {
		char shown[1024];
		list_listeners(cfg, false, shown, sizeof(shown));
		snprintf(err, errlen, "cannot start the listener on %s: %s", shown,
		         mg_err[0] ? mg_err : "unknown error");
		return -1;
	}
	/* CivetWeb starts workers as clients come (patch 0013), so there is
	 * nothing to count here: main() checked before the start that the
	 * machine has room for all of them (resource_limits_check, sized by
	 * server.max_connections). */
	for (size_t i = 0; i < cfg->server.listen_count; i++) {
		struct listen_addr shown = cfg->server.listen[i];
		shown.scheme =
		    config_listen_uses_tls(cfg, &shown) ? LISTEN_SCHEME_WSS : LISTEN_SCHEME_WS;
		char one[LISTEN_ADDR_TEXT_SIZE];
		listen_addr_format(&shown, one);
		log_info("listening on %s%s", one, cfg->server.websocket_path);
	}
	log_info("up to %u clients", cfg->server.max_connections);
	return 0;
}

size_t server_begin_drain(struct server *srv)
{
	atomic_store(&srv->draining, true);
	uint8_t frame[2 + WS_CONTROL_PAYLOAD_MAX];
	size_t len = ws_frame_close(frame, WS_CLOSE_GOING_AWAY, "server shutting down");
	return rooms_close_all(srv->rooms, frame, len, DISCONNECT_SHUTDOWN);
}

bool server_draining(struct server *srv)
{
	return atomic_load(&srv->draining);
}

size_t server_client_count(struct server *srv)
{
	return rooms_client_count(srv->rooms);
}

void server_abort_clients(struct server *srv)
{
	rooms_abort_all(srv->rooms);
}

void server_stop(struct server *srv)
{
	if (!srv)
		return;
	server_stop_listening(srv);
	free_server(srv);
}

void server_stop_listening(struct server *srv)
{
	/* Every connection's close handler has run once mg_stop returns, so no
	 * outbox is left for the senders, and no reader publishes any more;
	 * the cluster's broadcasts into the closing rooms are no-ops. */
	if (srv->ctx)
		mg_stop(srv->ctx);
	srv->ctx = NULL;
}

struct tls_context *server_tls(struct server *srv)
{
	return srv->tls;
}

struct auth *server_auth(struct server *srv)
{
	return srv->auth;
}
