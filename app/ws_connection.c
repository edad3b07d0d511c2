/* The life of one WebSocket client: CivetWeb's connect, ready, data and close
 * callbacks, all on the client's own worker thread, and the endpoint through
 * which other threads' broadcasts reach it.
 *
 * Frame headers that break RFC 6455, and oversize frames, never get here:
 * patch 0001 refuses them in CivetWeb before the payload is read. CivetWeb
 * also answers pings and drops pongs (enable_websocket_ping_pong). What is
 * left is ours: reassembly, UTF-8, the close handshake and relaying. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#include "log.h"
#include "message_assembler.h"
#include "server_internal.h"
#include "utf8.h"
#include "ws_frame.h"

/* From the connect handler to the end of the close handler. */
struct connection {
	struct server *srv;
	struct mg_connection *conn;
	struct hub_client *client;
	struct assembler assembler;
	/* We sent a close frame; nothing may follow it. Guarded by the
	 * connection lock, like every write. */
	bool close_sent;
	bool ready; /* the handshake completed: counted as a connection */
	char peer[64];
};

/* ---- writing: every write holds the connection lock, which keeps each
 * frame whole against other writers and CivetWeb's own pongs ---- */

/* Caller holds the connection lock. */
static bool closed_locked(const struct connection *c)
{
	return c->close_sent || mg_websocket_close_code_sent(c->conn) != 0;
}

/* Caller holds the connection lock. */
static int write_locked(struct connection *c, const void *data, size_t len)
{
	int n = mg_write(c->conn, data, len);
	return (n > 0 && (size_t)n == len) ? 0 : -1;
}

static int endpoint_write(void *endpoint, const void *data, size_t len)
{
	struct connection *c = endpoint;
	mg_lock_connection(c->conn);
	/* After a close frame the client is on its way out: dropping the frame
	 * is not a failure of the receiver. */
	int rc = closed_locked(c) ? 0 : write_locked(c, data, len);
	mg_unlock_connection(c->conn);
	return rc;
}

static void endpoint_abort(void *endpoint)
{
	struct connection *c = endpoint;
	/* shutdown() wakes the client's reader at once and makes any write
	 * blocked on this socket fail; closing is left to CivetWeb. */
	int fd = mg_get_connection_socket(c->conn);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

/* Sends a close frame unless one went out already. */
static void send_close_frame(struct connection *c, const void *frame, size_t len)
{
	mg_lock_connection(c->conn);
	int rc = 0;
	if (!closed_locked(c)) {
		c->close_sent = true;
		rc = write_locked(c, frame, len);
	}
	mg_unlock_connection(c->conn);
	if (rc != 0)
		endpoint_abort(c);
}

static void endpoint_close(void *endpoint, const void *frame, size_t len)
{
	send_close_frame(endpoint, frame, len);
}

const struct hub_endpoint_ops ws_endpoint_ops = {
    .write = endpoint_write,
    .close = endpoint_close,
    .abort = endpoint_abort,
};

static void send_close(struct connection *c, uint16_t code, const char *reason)
{
	uint8_t frame[2 + WS_CONTROL_PAYLOAD_MAX];
	send_close_frame(c, frame, ws_close_frame(frame, code, reason));
}

/* ---- callbacks ---- */

static int on_connect(const struct mg_connection *conn, void *cbdata)
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
	/* CivetWeb passes const here, but the connection is ours to write to
	 * once the handshake completes. */
	c->conn = (struct mg_connection *)(uintptr_t)conn;
	bool v6 = strchr(ri->remote_addr, ':') != NULL;
	snprintf(c->peer, sizeof(c->peer), "%s%s%s:%d", v6 ? "[" : "", ri->remote_addr,
	         v6 ? "]" : "", ri->remote_port);
	assembler_init(&c->assembler, srv->cfg->server.max_message_bytes);

	/* Joined before the 101 goes out, so the client misses no message sent
	 * after its handshake; patch 0003 holds the connection lock until the
	 * ready handler has run, so relayed frames cannot overtake the 101.
	 * This is also the hard capacity check: two handshakes may pass
	 * handshake_filter's at once. */
	c->client = hub_join(srv->hub, c);
	if (!c->client) {
		stats_add(&srv->stats.rejected[REJECT_CAPACITY], 1);
		log_warn("refused handshake from %s: no free client slot", c->peer);
		free(c);
		return 1;
	}
	mg_set_user_connection_data(conn, c);
	return 0;
}

static void on_ready(struct mg_connection *conn, void *cbdata)
{
	struct server *srv = cbdata;
	struct connection *c = mg_get_user_connection_data(conn);
	c->ready = true;
	stats_add(&srv->stats.connections, 1);
	log_info("client connected: %s", c->peer);
}

static uint64_t monotonic_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static void relay_message(struct server *srv, const struct connection *c, const struct message *msg)
{
	struct relay_stats *stats = &srv->stats;
	stats_add(&stats->messages, 1);
	stats_add(&stats->received_bytes, msg->len);
	histogram_observe(&stats->message_size, msg->len);

	uint64_t start = monotonic_ns();
	size_t failed;
	size_t written = hub_broadcast(srv->hub, c->client, srv->cfg->relay.echo_to_sender,
	                               msg->frame, msg->frame_len, &failed);
	histogram_observe(&stats->broadcast_duration, monotonic_ns() - start);
	stats_add(&stats->deliveries, written);
	stats_add(&stats->sent_bytes, (uint64_t)written * msg->len);
	stats_add(&stats->write_errors, failed);
}

/* Ends a client: leave the hub first, so no relayed frame can follow our
 * close frame, then send it. Returns 0 for the data handler: CivetWeb then
 * closes the connection. */
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
	if (len == 1)
		return fail_connection(c, DISCONNECT_PROTOCOL_ERROR, WS_CLOSE_PROTOCOL_ERROR,
		                       "invalid close frame");
	if (len >= 2) {
		uint16_t code = (uint16_t)(data[0] << 8 | data[1]);
		if (!ws_close_code_valid(code) || !utf8_valid(data + 2, len - 2))
			return fail_connection(c, DISCONNECT_PROTOCOL_ERROR,
			                       WS_CLOSE_PROTOCOL_ERROR, "invalid close frame");
	}
	hub_remove(c->srv->hub, c->client, DISCONNECT_CLIENT_CLOSE);
	/* Echo the status code (RFC 6455 section 5.5.1); if we had sent a close
	 * already (the shutdown's 1001), this frame was the answer to it and
	 * send_close_frame sends nothing. */
	uint8_t frame[4] = {WS_FIN | WS_OPCODE_CLOSE, 0};
	if (len >= 2) {
		frame[1] = 2;
		frame[2] = data[0];
		frame[3] = data[1];
	}
	send_close_frame(c, frame, 2 + frame[1]);
	return 0;
}

static int on_data(struct mg_connection *conn, int bits, char *data, size_t len, void *cbdata)
{
	struct server *srv = cbdata;
	struct connection *c = mg_get_user_connection_data(conn);
	uint8_t first_byte = (uint8_t)bits;
	uint8_t opcode = first_byte & WS_OPCODE_MASK;

	if (opcode == WS_OPCODE_CLOSE)
		return on_close_frame(c, (const uint8_t *)data, len);
	if (opcode > WS_OPCODE_BINARY)
		return 1; /* pings and pongs, should CivetWeb pass any on */

	struct message msg;
	switch (assembler_add(&c->assembler, first_byte, data, len, &msg)) {
	case ASSEMBLE_INCOMPLETE:
		return 1;
	case ASSEMBLE_MESSAGE:
		relay_message(srv, c, &msg);
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
static void on_close(const struct mg_connection *conn, void *cbdata)
{
	struct server *srv = cbdata;
	struct connection *c = mg_get_user_connection_data(conn);
	/* A reader that ends without a reason of ours either had a frame
	 * refused by CivetWeb (patch 0001) or lost its peer: a TCP close or
	 * reset without a close frame, or an unanswered ping. */
	enum disconnect_reason fallback;
	switch (mg_websocket_close_code_sent(conn)) {
	case WS_CLOSE_TOO_BIG:
		fallback = DISCONNECT_MESSAGE_TOO_BIG;
		break;
	case WS_CLOSE_PROTOCOL_ERROR:
		fallback = DISCONNECT_PROTOCOL_ERROR;
		break;
	default:
		fallback = DISCONNECT_CLIENT_CLOSE;
		break;
	}
	enum disconnect_reason reason = hub_leave(srv->hub, c->client, fallback);
	/* Only a completed handshake counted as a connection (patch 0003 also
	 * calls this when the 101 could not be sent). */
	if (c->ready) {
		stats_add(&srv->stats.disconnections[reason], 1);
		log_info("client disconnected: %s (%s)", c->peer, disconnect_reason_name(reason));
	}
	mg_set_user_connection_data(conn, NULL);
	assembler_free(&c->assembler);
	free(c);
}

void ws_connection_register(struct server *srv, struct mg_context *ctx)
{
	mg_set_websocket_handler(ctx, srv->cfg->server.websocket_path, on_connect, on_ready,
	                         on_data, on_close, srv);
}
