#include "server.h"

#include <civetweb.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>

#include "hub.h"
#include "log.h"
#include "message_assembler.h"
#include "utf8.h"
#include "ws_frame.h"

/* Worker threads beyond one per WebSocket client, for static files and for
 * handshakes that are about to be refused with 503. */
#define HTTP_THREAD_RESERVE 16u

/* Write timeout for a receiver (CivetWeb rounds it up to 2 s slices), and the
 * idle time after which a client is pinged; an unanswered client is dropped
 * after five pings. */
#define REQUEST_TIMEOUT_MS   "5000"
#define WEBSOCKET_TIMEOUT_MS "30000"

struct server {
	const struct config *cfg;
	struct mg_context *ctx;
	struct hub *hub;
	atomic_bool draining;
};

/* Per WebSocket connection, from the connect handler to the close handler. */
struct connection {
	struct server *srv;
	struct mg_connection *conn;
	struct hub_client *client;
	struct assembler assembler;
	char peer[64];
};

/* ---- hub endpoint: how the hub writes to and ends a connection ---- */

static int endpoint_write(void *endpoint, const void *data, size_t len)
{
	struct connection *c = endpoint;
	/* The connection lock keeps our frame whole against CivetWeb's own
	 * writes on this connection (pongs, close replies). */
	mg_lock_connection(c->conn);
	int n = mg_write(c->conn, data, len);
	mg_unlock_connection(c->conn);
	return (n > 0 && (size_t)n == len) ? 0 : -1;
}

static void endpoint_abort(void *endpoint)
{
	struct connection *c = endpoint;
	int fd = mg_get_connection_socket(c->conn);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

static const struct hub_endpoint_ops endpoint_ops = {
    .write = endpoint_write,
    .abort = endpoint_abort,
};

/* ---- HTTP side: refusals that must happen before the upgrade ---- */

static const char *status_text(int status)
{
	switch (status) {
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 426:
		return "Upgrade Required";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/* A complete plain-text response, written raw: CivetWeb has already marked
 * an upgrade request as a WebSocket connection, and its response-header
 * functions refuse those. */
static void reply(struct mg_connection *conn, int status, const char *header, const char *value,
                  const char *body)
{
	char extra[128] = "";
	if (header)
		snprintf(extra, sizeof(extra), "%s: %s\r\n", header, value);
	mg_printf(conn,
	          "HTTP/1.1 %d %s\r\n"
	          "Content-Type: text/plain; charset=utf-8\r\n"
	          "Content-Length: %zu\r\n"
	          "Connection: close\r\n"
	          "%s\r\n%s",
	          status, status_text(status), strlen(body), extra, body);
}

static bool header_has_token(const struct mg_connection *conn, const char *name, const char *token)
{
	const char *value = mg_get_header(conn, name);
	return value && strcasestr(value, token) != NULL;
}

static bool origin_allowed(const struct config *cfg, const char *origin)
{
	if (cfg->server.allowed_origins_count == 0)
		return true;
	/* Browsers always send Origin on a WebSocket handshake; a client without
	 * one is not a browser, and cross-site hijacking needs a browser. */
	if (!origin)
		return true;
	for (size_t i = 0; i < cfg->server.allowed_origins_count; i++) {
		if (strcmp(origin, cfg->server.allowed_origins[i]) == 0)
			return true;
	}
	return false;
}

/* CivetWeb's WebSocket connect handler can only drop a refused client
 * without an HTTP answer; begin_request runs before the upgrade and can send
 * a proper status. Returns the status sent, or 0 to let CivetWeb go on. */
static int on_begin_request(struct mg_connection *conn)
{
	struct server *srv = mg_get_user_data(mg_get_context(conn));
	const struct mg_request_info *ri = mg_get_request_info(conn);
	bool upgrade = header_has_token(conn, "Upgrade", "websocket");
	bool ws_path = strcmp(ri->local_uri, srv->cfg->server.websocket_path) == 0;

	if (!ws_path) {
		if (!upgrade)
			return 0; /* static files */
		reply(conn, 404, NULL, NULL, "No WebSocket endpoint here.\n");
		return 404;
	}
	if (!upgrade) {
		reply(conn, 426, "Upgrade", "websocket",
		      "This is a WebSocket endpoint: connect with a WebSocket client.\n");
		return 426;
	}
	const char *origin = mg_get_header(conn, "Origin");
	if (!origin_allowed(srv->cfg, origin)) {
		log_info("refused handshake from %s: origin %s not allowed", ri->remote_addr,
		         origin);
		reply(conn, 403, NULL, NULL, "Origin not allowed.\n");
		return 403;
	}
	if (atomic_load(&srv->draining)) {
		reply(conn, 503, "Retry-After", "5", "Server is shutting down.\n");
		return 503;
	}
	if (hub_member_count(srv->hub) >= srv->cfg->server.max_connections) {
		log_warn("refused handshake from %s: %u clients connected (server.max_connections)",
		         ri->remote_addr, srv->cfg->server.max_connections);
		reply(conn, 503, "Retry-After", "1", "Too many clients.\n");
		return 503;
	}
	return 0;
}

/* ---- WebSocket callbacks, all on the connection's own worker thread ---- */

static int on_ws_connect(const struct mg_connection *conn, void *cbdata)
{
	struct server *srv = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	/* CivetWeb also routes "<path>/anything" here. */
	if (strcmp(ri->local_uri, srv->cfg->server.websocket_path) != 0)
		return 1;

	struct connection *c = calloc(1, sizeof(*c));
	if (!c)
		return 1;
	c->srv = srv;
	/* CivetWeb passes const here but the connection is ours to write to
	 * once the handshake completes. */
	c->conn = (struct mg_connection *)(uintptr_t)conn;
	snprintf(c->peer, sizeof(c->peer), "%s%s%s:%d", strchr(ri->remote_addr, ':') ? "[" : "",
	         ri->remote_addr, strchr(ri->remote_addr, ':') ? "]" : "", ri->remote_port);
	assembler_init(&c->assembler, srv->cfg->server.max_message_bytes);

	/* Joined before the 101 goes out, so the client misses no message sent
	 * after its handshake; frames written to it wait behind the 101 (see
	 * third_party/patches/0003). Also the hard capacity check: two
	 * handshakes may pass begin_request's at once. */
	c->client = hub_join(srv->hub, c);
	if (!c->client) {
		log_warn("refused handshake from %s: no free client slot", c->peer);
		free(c);
		return 1;
	}
	mg_set_user_connection_data(conn, c);
	return 0;
}

static void send_close(struct connection *c, uint16_t code, const char *reason)
{
	uint8_t frame[2 + WS_CONTROL_PAYLOAD_MAX];
	size_t len = ws_close_frame(frame, code, reason);
	endpoint_write(c, frame, len);
}

static void on_ws_ready(struct mg_connection *conn, void *cbdata)
{
	(void)cbdata;
	const struct connection *c = mg_get_user_connection_data(conn);
	log_info("client connected: %s", c->peer);
}

/* Ends a client for a protocol violation: leave the hub first, so no relayed
 * frame can follow our close frame, then send it. */
static int fail_connection(struct connection *c, enum disconnect_reason reason, uint16_t code,
                           const char *why)
{
	hub_remove(c->srv->hub, c->client, reason);
	log_debug("closing %s: %s", c->peer, why);
	send_close(c, code, why);
	return 0;
}

static int on_close_frame(struct connection *c, const uint8_t *data, size_t len)
{
	hub_remove(c->srv->hub, c->client, DISCONNECT_CLIENT_CLOSE);
	if (atomic_load(&c->srv->draining))
		return 0; /* this answers our 1001 */

	/* Echo the status code, as RFC 6455 section 5.5.1 asks. */
	uint8_t frame[4];
	frame[0] = WS_FIN | WS_OPCODE_CLOSE;
	if (len == 0) {
		frame[1] = 0;
		endpoint_write(c, frame, 2);
		return 0;
	}
	uint16_t code = (uint16_t)(data[0] << 8 | data[1]);
	if (len == 1 || !ws_close_code_valid(code) || !utf8_valid(data + 2, len - 2)) {
		send_close(c, WS_CLOSE_PROTOCOL_ERROR, "invalid close frame");
		return 0;
	}
	frame[1] = 2;
	frame[2] = data[0];
	frame[3] = data[1];
	endpoint_write(c, frame, sizeof(frame));
	return 0;
}

static int on_control_frame(struct connection *c, uint8_t first_byte, const uint8_t *data,
                            size_t len)
{
	if (!(first_byte & WS_FIN) || len > WS_CONTROL_PAYLOAD_MAX)
		return fail_connection(c, DISCONNECT_PROTOCOL_ERROR, WS_CLOSE_PROTOCOL_ERROR,
		                       "fragmented or oversize control frame");
	switch (first_byte & WS_OPCODE_MASK) {
	case WS_OPCODE_CLOSE:
		return on_close_frame(c, data, len);
	case WS_OPCODE_PING: {
		uint8_t frame[2 + WS_CONTROL_PAYLOAD_MAX];
		frame[0] = WS_FIN | WS_OPCODE_PONG;
		frame[1] = (uint8_t)len;
		memcpy(frame + 2, data, len);
		endpoint_write(c, frame, 2 + len);
		return 1;
	}
	case WS_OPCODE_PONG:
		return 1;
	default:
		return fail_connection(c, DISCONNECT_PROTOCOL_ERROR, WS_CLOSE_PROTOCOL_ERROR,
		                       "unknown opcode");
	}
}

static int on_ws_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata)
{
	struct server *srv = cbdata;
	struct connection *c = mg_get_user_connection_data(conn);
	uint8_t first_byte = (uint8_t)bits;
	uint8_t opcode = first_byte & WS_OPCODE_MASK;

	if (first_byte & WS_RSV_MASK)
		return fail_connection(c, DISCONNECT_PROTOCOL_ERROR, WS_CLOSE_PROTOCOL_ERROR,
		                       "reserved bits set");
	if (opcode >= WS_OPCODE_CLOSE)
		return on_control_frame(c, first_byte, (const uint8_t *)data, len);
	if (opcode > WS_OPCODE_BINARY)
		return fail_connection(c, DISCONNECT_PROTOCOL_ERROR, WS_CLOSE_PROTOCOL_ERROR,
		                       "unknown opcode");

	struct message msg;
	switch (assembler_add(&c->assembler, first_byte, data, len, &msg)) {
	case ASSEMBLE_INCOMPLETE:
		return 1;
	case ASSEMBLE_MESSAGE:
		hub_broadcast(srv->hub, c->client, srv->cfg->relay.echo_to_sender, msg.frame,
		              msg.frame_len);
		return 1;
	case ASSEMBLE_PROTOCOL_ERROR:
		return fail_connection(c, DISCONNECT_PROTOCOL_ERROR, WS_CLOSE_PROTOCOL_ERROR,
		                       "unexpected continuation frame");
	case ASSEMBLE_TOO_BIG:
		return fail_connection(c, DISCONNECT_MESSAGE_TOO_BIG, WS_CLOSE_TOO_BIG,
		                       "message too big");
	case ASSEMBLE_INVALID_UTF8:
		return fail_connection(c, DISCONNECT_PROTOCOL_ERROR, WS_CLOSE_INVALID_DATA,
		                       "text message is not UTF-8");
	case ASSEMBLE_NO_MEMORY:
		break;
	}
	return fail_connection(c, DISCONNECT_WRITE_ERROR, WS_CLOSE_INTERNAL_ERROR, "out of memory");
}

/* Runs once for every client the connect handler accepted (patch 0003 adds
 * the case of a 101 that could not be sent). */
static void on_ws_close(const struct mg_connection *conn, void *cbdata)
{
	struct server *srv = cbdata;
	struct connection *c = mg_get_user_connection_data(conn);
	/* A reader that ends without a reason of ours lost its peer: a TCP close
	 * or reset without a close frame, or an unanswered ping. */
	enum disconnect_reason fallback =
	    mg_websocket_frame_too_big(conn) ? DISCONNECT_MESSAGE_TOO_BIG : DISCONNECT_CLIENT_CLOSE;
	enum disconnect_reason reason = hub_leave(srv->hub, c->client, fallback);
	log_info("client disconnected: %s (%s)", c->peer, disconnect_reason_name(reason));
	mg_set_user_connection_data(conn, NULL);
	assembler_free(&c->assembler);
	free(c);
}

/* Runs inside mg_start before any worker exists: settings made here need no
 * lock, and no client can arrive before the handler is in place. */
static void on_init_context(const struct mg_context *ctx)
{
	struct server *srv = mg_get_user_data(ctx);
	mg_set_websocket_max_frame_size(ctx, srv->cfg->server.max_message_bytes);
	mg_set_websocket_handler((struct mg_context *)(uintptr_t)ctx,
	                         srv->cfg->server.websocket_path, on_ws_connect, on_ws_ready,
	                         on_ws_data, on_ws_close, srv);
}

static int on_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_warn("civetweb: %s", message);
	return 1;
}

/* ---- start and stop ---- */

static void format_listeners(const struct config *cfg, char *out, size_t cap)
{
	size_t used = 0;
	out[0] = '\0';
	for (size_t i = 0; i < cfg->server.listen_count && used < cap; i++) {
		const struct listen_addr *a = &cfg->server.listen[i];
		int n = snprintf(out + used, cap - used, "%s%s%s%s:%u", i ? "," : "",
		                 a->ipv6 ? "[" : "", a->host, a->ipv6 ? "]" : "", a->port);
		if (n < 0)
			break;
		used += (size_t)n;
	}
}

struct server *server_start(const struct config *cfg, char *err, size_t errlen)
{
	if (cfg->server.tls.enabled) {
		snprintf(err, errlen, "server.tls is not supported by this build yet");
		return NULL;
	}
	struct server *srv = calloc(1, sizeof(*srv));
	if (!srv) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	srv->cfg = cfg;
	srv->hub = hub_create(cfg->server.max_connections, &endpoint_ops);
	if (!srv->hub) {
		free(srv);
		snprintf(err, errlen, "out of memory");
		return NULL;
	}

	char ports[1024];
	char threads[16];
	format_listeners(cfg, ports, sizeof(ports));
	snprintf(threads, sizeof(threads), "%u", cfg->server.max_connections + HTTP_THREAD_RESERVE);
	const char *options[32];
	size_t n = 0;
	options[n++] = "listening_ports";
	options[n++] = ports;
	options[n++] = "num_threads";
	options[n++] = threads;
	options[n++] = "request_timeout_ms";
	options[n++] = REQUEST_TIMEOUT_MS;
	options[n++] = "websocket_timeout_ms";
	options[n++] = WEBSOCKET_TIMEOUT_MS;
	options[n++] = "enable_websocket_ping_pong";
	options[n++] = "yes";
	options[n++] = "listen_backlog";
	options[n++] = "1024";
	options[n++] = "enable_directory_listing";
	options[n++] = "no";
	if (cfg->server.document_root[0]) {
		options[n++] = "document_root";
		options[n++] = cfg->server.document_root;
	}
	options[n] = NULL;

	struct mg_callbacks callbacks;
	memset(&callbacks, 0, sizeof(callbacks));
	callbacks.begin_request = on_begin_request;
	callbacks.init_context = on_init_context;
	callbacks.log_message = on_log_message;

	char mg_err[256] = "";
	struct mg_error_data error = {.text = mg_err, .text_buffer_size = sizeof(mg_err)};
	struct mg_init_data init = {
	    .callbacks = &callbacks, .user_data = srv, .configuration_options = options};
	srv->ctx = mg_start2(&init, &error);
	if (!srv->ctx) {
		snprintf(err, errlen, "cannot start the listener on %s: %s", ports,
		         mg_err[0] ? mg_err : "unknown error");
		hub_destroy(srv->hub);
		free(srv);
		return NULL;
	}
	log_info("listening on %s, WebSocket path %s, up to %u clients", ports,
	         cfg->server.websocket_path, cfg->server.max_connections);
	return srv;
}

size_t server_begin_drain(struct server *srv)
{
	atomic_store(&srv->draining, true);
	uint8_t frame[2 + WS_CONTROL_PAYLOAD_MAX];
	size_t len = ws_close_frame(frame, WS_CLOSE_GOING_AWAY, "server shutting down");
	return hub_close_all(srv->hub, frame, len, DISCONNECT_SHUTDOWN);
}

size_t server_client_count(struct server *srv)
{
	return hub_member_count(srv->hub);
}

void server_abort_clients(struct server *srv)
{
	hub_abort_all(srv->hub);
}

void server_stop(struct server *srv)
{
	if (!srv)
		return;
	mg_stop(srv->ctx);
	hub_destroy(srv->hub);
	free(srv);
}
