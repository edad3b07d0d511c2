/* The life of one WebSocket client: CivetWeb's connect, ready, data and close
 * callbacks, all on the client's own worker thread, and the endpoint through
 * which other threads' broadcasts reach it.
 *
 * Frame headers that break RFC 6455, and oversize frames, never get here:
 * patch 0001 refuses them in CivetWeb before the payload is read. CivetWeb
 * also answers pings and drops pongs (enable_websocket_ping_pong), but
 * writes none of its control frames itself: patch 0009 hands them to
 * on_control, which queues them on the outbox like everything else we send.
 * What is left is ours: reassembly, UTF-8, the close handshake and
 * relaying. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/socket.h>

#include "address_limits.h"
#include "clock.h"
#include "delivery.h"
#include "log.h"
#include "proxy_protocol.h"
#include "assembler.h"
#include "server_internal.h"
#include "socket_send.h"
#include "stack_release.h"
#include "tls_send_queue.h"
#include "token_bucket.h"
#include "utf8.h"
#include "ws_frame.h"

/* Slow consumers get this long to take their close frame before they are
 * cut off. */
#define SLOW_CLOSE_DEADLINE_MS 5000
/* How long the reply to a client's close may wait behind the messages
 * queued for it. */
#define CLOSE_REPLY_WAIT_MS 2000

/* From the connect handler to the end of the close handler. */
struct connection {
	struct server *srv;
	struct mg_connection *conn;
	struct room *room; /* the hub the client is a member of */
	/* Its name, for log lines after the room is gone ("": rooms off). */
	char room_name[ROOM_NAME_MAX + 1];
	struct hub_client *client;
	struct outbox *outbox;
	/* TLS only: the SSL object, and the queue its records leave through
	 * (tls_send_queue.c), both freed by CivetWeb after on_close. */
	void *ssl;
	struct tls_send_queue *tls_queue;
	struct assembler assembler;
	bool ready; /* the handshake completed: counted as a connection */
	/* Access control: NULL in auth mode none (then may_publish is
	 * auth.anonymous_publish); expiry is its token's entry in the timer. */
	struct auth_grant *grant;
	bool may_publish;
	struct auth_expiry_entry *expiry;
	struct net_address address_key; /* its slot in srv->address_limits */
	/* limits.messages_per_second and bytes_per_second; the reader's own. */
	struct token_bucket message_budget, byte_budget;
	char
	    peer[192]; /* "client via proxy:port" behind a trusted proxy, "... via balancer:port" */
	/* For the disconnection's log line. The reader (the client's own
	 * thread) counts what came in; the sender threads count what went out,
	 * atomically, and are done with it before on_close reads it. */
	clock_mono_t connected_ns;
	uint64_t in_messages, in_bytes;
	_Atomic uint64_t out_messages, out_bytes;
};

/* ---- writing: after the 101, the client's sender is the only writer
 * (patch 0009 hands CivetWeb's control frames to on_control), so frames
 * stay whole by construction. Every write still holds the connection lock:
 * it waits for the 101 of a handshake under way (patch 0003), and on TLS it
 * keeps the SSL object to one thread (patch 0007). Nothing under it blocks:
 * sends are non-blocking and TLS records go into tls_send_queue. ---- */

static void abort_connection(struct connection *c)
{
	/* shutdown() wakes the client's reader at once and makes any write
	 * blocked on this socket fail; closing is left to CivetWeb. */
	int fd = mg_get_connection_socket(c->conn);
	if (fd >= 0)
		shutdown(fd, SHUT_RDWR);
}

/* Every close frame of ours goes through the client's outbox, behind what
 * is queued (keep_queue) or instead of it, so nothing can follow it and no
 * thread ever blocks on the client's socket. Waits, on the client's own
 * thread, until it is written or the outbox gives up. If a close went out
 * already (the shutdown's 1001), nothing more is queued. */
static void close_via_outbox(struct connection *c, const void *frame, size_t len, bool keep_queue)
{
	outbox_finish(c->outbox, frame, len, keep_queue, CLOSE_REPLY_WAIT_MS);
	outbox_wait_finished(c->outbox, CLOSE_REPLY_WAIT_MS);
}

/* ---- the hub's side: queueing ---- */

static int endpoint_deliver(void *endpoint, struct shared_frame *frame)
{
	struct connection *c = endpoint;
	if (outbox_push(c->outbox, frame) != OUTBOX_FULL)
		return 0;
	/* The hub removes it as a slow consumer; the close is ours to send. */
	uint8_t close[2 + WS_CONTROL_PAYLOAD_MAX];
	size_t len = ws_frame_close(close, WS_CLOSE_POLICY, "slow consumer");
	outbox_finish(c->outbox, close, len, false, SLOW_CLOSE_DEADLINE_MS);
	log_info("closing %s: slow consumer (queue full)", c->peer);
	return -1;
}

static void endpoint_close(void *endpoint, const void *frame, size_t len)
{
	struct connection *c = endpoint;
	/* The drain's own timeout cuts whoever is left (and counts them); the
	 * outbox's deadline, a little later, is only a backstop. */
	int deadline_ms = (int)c->srv->cfg->shutdown.timeout_seconds * 1000 + 1000;
	outbox_finish(c->outbox, frame, len, false, deadline_ms);
}

static void endpoint_abort(void *endpoint)
{
	abort_connection(endpoint);
}

const struct hub_endpoint_ops ws_endpoint_ops = {
    .deliver = endpoint_deliver,
    .close = endpoint_close,
    .abort = endpoint_abort,
};

/* ---- the sender's side: writing the queue ---- */

/* TLS: records are made only once the queue below is empty, and from at
 * most this much plaintext, so the queue never holds more than that. */
#define TLS_WRITE_MAX ((size_t)256 * 1024)
/* The most plaintext a TLS record carries: a longer write makes several. */
#define TLS_RECORD_MAX ((size_t)16 * 1024)

static long tls_write_some(struct connection *c, const void *data, size_t len)
{
	if (len > TLS_WRITE_MAX)
		len = TLS_WRITE_MAX;
	mg_lock_connection(c->conn);
	long n;
	int flushed = tls_send_queue_flush(c->tls_queue);
	if (flushed <= 0) {
		n = flushed;
	} else {
		/* Several records leave in a few sends, not one send each. */
		bool cork = len > TLS_RECORD_MAX;
		if (cork)
			tls_send_queue_cork(c->tls_queue);
		/* Nothing here asks SSL_get_error, so the thread's error queue
		 * needs no clearing before the write (a lookup of thread-local
		 * state on every batch), only after a failure. */
		int w = SSL_write(c->ssl, data, (int)len);
		n = w > 0 ? w : -1;
		if (w <= 0)
			ERR_clear_error();
		if (cork && tls_send_queue_uncork(c->tls_queue) < 0)
			n = -1;
	}
	mg_unlock_connection(c->conn);
	return n;
}

static long io_write_some(void *endpoint, const void *data, size_t len)
{
	struct connection *c = endpoint;
	if (c->tls_queue)
		return tls_write_some(c, data, len);
	/* Straight to the socket, without waiting: CivetWeb's mg_write would
	 * block for the whole write timeout on a full socket. Nothing can
	 * follow a close frame: the outbox takes nothing after one. */
	mg_lock_connection(c->conn);
	long n = socket_send_now(mg_get_connection_socket(c->conn), data, len);
	mg_unlock_connection(c->conn);
	return n;
}

static bool io_pending(void *endpoint)
{
	const struct connection *c = endpoint;
	return c->tls_queue && tls_send_queue_pending(c->tls_queue);
}

static int io_flush(void *endpoint)
{
	struct connection *c = endpoint;
	if (!c->tls_queue)
		return 1;
	mg_lock_connection(c->conn);
	int flushed = tls_send_queue_flush(c->tls_queue);
	mg_unlock_connection(c->conn);
	return flushed;
}

static int io_fd(void *endpoint)
{
	const struct connection *c = endpoint;
	return mg_get_connection_socket(c->conn);
}

static void io_delivered(void *endpoint, size_t frames, uint64_t payload_bytes)
{
	struct connection *c = endpoint;
	struct relay_stats *stats = &c->srv->stats;
	stats_add(&stats->deliveries, frames);
	stats_add(&stats->sent_bytes, payload_bytes);
	atomic_fetch_add_explicit(&c->out_messages, frames, memory_order_relaxed);
	atomic_fetch_add_explicit(&c->out_bytes, payload_bytes, memory_order_relaxed);
}

static void io_failed(void *endpoint, bool deadline)
{
	struct connection *c = endpoint;
	if (!deadline)
		stats_add(&c->srv->stats.write_errors, 1);
	hub_drop(rooms_hub(c->room), c->client, DISCONNECT_WRITE_ERROR);
	abort_connection(c);
}

const struct delivery_io ws_delivery_io = {
    .write_some = io_write_some,
    .pending = io_pending,
    .flush = io_flush,
    .fd = io_fd,
    .delivered = io_delivered,
    .failed = io_failed,
};

/* ---- access control after the upgrade ---- */

void ws_connection_token_expired(void *connection)
{
	struct connection *c = connection;
	/* On the timer thread: on_close cancels the entry (waiting for this)
	 * before the connection goes, so c is alive here. Out of the hub
	 * first, so no relayed frame follows the close. */
	hub_drop(rooms_hub(c->room), c->client, DISCONNECT_TOKEN_EXPIRED);
	uint8_t close[2 + WS_CONTROL_PAYLOAD_MAX];
	size_t len = ws_frame_close(close, WS_CLOSE_POLICY, "token expired");
	outbox_finish(c->outbox, close, len, false, SLOW_CLOSE_DEADLINE_MS);
	log_info("closing %s: token expired", c->peer);
}

/* ---- callbacks ---- */

static void wake_outbox(void *arg)
{
	outbox_wake(arg);
}

/* From here on, everything written to the client, CivetWeb's 101 and
 * control frames included, leaves through the queue; the TLS handshake,
 * done on the socket itself, is over. */
static bool attach_tls_queue(struct connection *c)
{
	c->tls_queue = tls_send_queue_install(c->ssl, mg_get_connection_socket(c->conn));
	return c->tls_queue != NULL;
}

static void init_budgets(struct connection *c, const struct config *cfg)
{
	clock_mono_t now = clock_now();
	double messages = cfg->limits.messages_per_second;
	double bytes = (double)cfg->limits.bytes_per_second;
	token_bucket_init(&c->message_budget, messages, 2.0 * messages, now);
	token_bucket_init(&c->byte_budget, bytes, 2.0 * bytes, now);
}

/* Whether msg fits the client's budgets (limits.*_per_second, burst 2x). A
 * message over the byte budget still spends its message token: a flood of
 * big messages is not let through by its small ones. */
static bool within_budget(struct connection *c, size_t len)
{
	const struct config *cfg = c->srv->cfg;
	if (!cfg->limits.messages_per_second && !cfg->limits.bytes_per_second)
		return true;
	clock_mono_t now = clock_now();
	bool ok = true;
	if (cfg->limits.messages_per_second)
		ok = token_bucket_take(&c->message_budget, 1.0, now);
	if (ok && cfg->limits.bytes_per_second)
		ok = token_bucket_take(&c->byte_budget, (double)len, now);
	return ok;
}

static int on_connect(const struct mg_connection *conn, void *cbdata)
{
	struct server *srv = cbdata;
	const struct mg_request_info *ri = mg_get_request_info(conn);
	/* CivetWeb also routes "<path>/anything" here; handshake_filter has
	 * answered any path that names no room of ours with 404. */
	char room[ROOM_NAME_MAX + 1];
	enum room_path kind;
	if (!handshake_filter_room(srv, ri, room, &kind))
		return 1;

	struct connection *c = calloc(1, sizeof(*c));
	struct auth_grant *grant = handshake_auth_take_grant();
	if (!c || (!grant && auth_mode(srv->auth) != AUTH_MODE_NONE)) {
		/* handshake_filter let it through without a grant: only if
		 * memory ran out there. */
		auth_grant_free(grant);
		free(c);
		return 1;
	}
	c->srv = srv;
	c->grant = grant;
	c->may_publish = grant ? grant->publish : srv->cfg->auth.anonymous_publish;
	/* CivetWeb passes const here, but the connection is ours to write to
	 * once the handshake completes. */
	c->conn = (struct mg_connection *)(uintptr_t)conn;
	char who[NET_ADDRESS_TEXT_SIZE];
	if (!server_client_key(srv, conn, &c->address_key, who, sizeof(who))) {
		auth_grant_free(c->grant); /* handshake_filter refused it already */
		free(c);
		return 1;
	}
	bool v6 = strchr(ri->remote_addr, ':') != NULL;
	bool forwarded = strcmp(who, ri->remote_addr) != 0;
	const char *balancer = proxy_protocol_via(); /* "" unless a PROXY header named the peer */
	snprintf(c->peer, sizeof(c->peer), "%s%s%s%s%s:%d%s%s", forwarded ? who : "",
	         forwarded ? " via " : "", v6 ? "[" : "", ri->remote_addr, v6 ? "]" : "",
	         ri->remote_port, balancer[0] ? " via " : "", balancer);
	/* The hard per-address check: two handshakes may pass handshake_filter's
	 * at once. */
	if (!address_limits_acquire(srv->address_limits, &c->address_key)) {
		stats_add(&srv->stats.rejected[REJECT_ADDRESS_LIMIT], 1);
		log_info("refused handshake from %s: too many clients from its address", c->peer);
		auth_grant_free(c->grant);
		free(c);
		return 1;
	}
	init_budgets(c, srv->cfg);
	assembler_init(&c->assembler, srv->cfg->server.max_message_bytes);
	c->ssl = mg_get_connection_ssl(conn);
	if (c->ssl && !attach_tls_queue(c)) {
		log_warn("refused handshake from %s: out of memory", c->peer);
		address_limits_release(srv->address_limits, &c->address_key);
		auth_grant_free(c->grant);
		free(c);
		return 1;
	}

	/* Joined before the 101 goes out, so the client misses no message sent
	 * after its handshake; patch 0003 holds the connection lock until the
	 * ready handler has run, so relayed frames cannot overtake the 101.
	 * This is also the hard capacity check: two handshakes may pass
	 * handshake_filter's at once. */
	c->outbox = outbox_create(srv->senders, c, srv->cfg->relay.client_queue_messages,
	                          srv->cfg->relay.client_queue_bytes);
	enum rooms_refusal refusal =
	    c->outbox ? rooms_join(srv->rooms, room, c, &c->room, &c->client) : ROOMS_FULL;
	if (refusal != ROOMS_ADMITTED) {
		stats_add(&srv->stats.rejected[REJECT_CAPACITY], 1);
		if (refusal != ROOMS_FULL)
			stats_add(&srv->stats.rooms_refused[refusal == ROOMS_MAX_ROOMS
			                                        ? ROOM_REFUSED_MAX_ROOMS
			                                        : ROOM_REFUSED_MAX_MEMBERS],
			          1);
		log_warn("refused handshake from %s: no free client slot%s%s", c->peer,
		         room[0] ? " in room " : "", room);
		address_limits_release(srv->address_limits, &c->address_key);
		outbox_destroy(c->outbox);
		auth_grant_free(c->grant);
		free(c);
		return 1;
	}
	if (c->tls_queue)
		tls_send_queue_set_waker(c->tls_queue, wake_outbox, c->outbox);
	memcpy(c->room_name, room, sizeof(c->room_name));
	mg_set_user_connection_data(conn, c);
	return 0;
}

static void on_ready(struct mg_connection *conn, void *cbdata)
{
	struct server *srv = cbdata;
	struct connection *c = mg_get_user_connection_data(conn);
	c->ready = true;
	c->connected_ns = clock_now();
	stats_add(&srv->stats.connections, 1);
	if (c->grant && c->grant->expires)
		c->expiry = auth_expiry_add(srv->expiry, c->grant->expires, c);
	/* The token's sub (or the HTTP check's subject) names the client; with
	 * rooms off and no subject, the line as it always was. */
	const char *subject = c->grant ? c->grant->subject : "";
	const char *room = c->room_name;
	struct log_field fields[3] = {{"client", c->peer, false}};
	size_t nfields = 1;
	if (subject[0])
		fields[nfields++] = (struct log_field){"subject", subject, false};
	if (room[0])
		fields[nfields++] = (struct log_field){"room", room, false};
	log_event(LOG_LEVEL_INFO, fields, nfields, "client connected: %s%s%s%s%s%s", c->peer,
	          subject[0] ? " (" : "", subject, subject[0] ? ")" : "", room[0] ? " room " : "",
	          room);
	/* The handshake is over and this thread now waits in the read loop,
	 * shallower than anything before: an idle client keeps only the stack
	 * it needs from here on. */
	stack_release_below_caller();
}

static void relay_message(struct server *srv, const struct connection *c, const struct message *msg)
{
	struct relay_stats *stats = &srv->stats;
	stats_add(&stats->messages, 1);
	stats_add(&stats->received_bytes, msg->len);
	histogram_observe(&stats->message_size, msg->len);

	clock_mono_t start = clock_now();
	struct shared_frame *frame = shared_frame_new(msg->frame, msg->frame_len, msg->len);
	if (!frame) {
		log_error("out of memory: message from %s not relayed", c->peer);
		return;
	}
	size_t slow;
	hub_broadcast(rooms_hub(c->room), c->client, srv->cfg->relay.echo_to_sender, frame, &slow);
	shared_frame_unref(frame);
	histogram_observe(&stats->broadcast_duration, clock_elapsed_ns(start));
	/* After the local fan-out, so local clients never wait for the
	 * cluster; this only queues. */
	if (srv->cluster)
		cluster_publish(srv->cluster, c->room, msg->opcode, msg->payload, msg->len);
}

/* Ends a client: leave the hub first, so no relayed frame can follow our
 * close frame, then send it. Returns 0 for the data handler: CivetWeb then
 * closes the connection. */
static int fail_connection(struct connection *c, enum disconnect_reason reason, uint16_t code,
                           const char *why)
{
	hub_remove(rooms_hub(c->room), c->client, reason);
	log_debug("closing %s: %s", c->peer, why);
	uint8_t frame[2 + WS_CONTROL_PAYLOAD_MAX];
	close_via_outbox(c, frame, ws_frame_close(frame, code, why), false);
	return 0;
}

/* limits.on_rate_exceeded: count and discard the message, or end the
 * client with 1008. */
static int over_budget(struct connection *c)
{
	if (c->srv->cfg->limits.on_rate_exceeded == RATE_ACTION_DROP) {
		stats_add(&c->srv->stats.rate_dropped, 1);
		return 1;
	}
	log_info("closing %s: over its message or byte rate (limits)", c->peer);
	return fail_connection(c, DISCONNECT_RATE_LIMITED, WS_CLOSE_POLICY, "rate limit");
}

static int on_close_frame(struct connection *c, const uint8_t *data, size_t len)
{
	if (len == 1)
		return fail_connection(c, DISCONNECT_PROTOCOL_ERROR, WS_CLOSE_PROTOCOL_ERROR,
		                       "invalid close frame");
	if (len >= 2) {
		uint16_t code = (uint16_t)(data[0] << 8 | data[1]);
		if (!ws_frame_close_code_valid(code) || !utf8_valid(data + 2, len - 2))
			return fail_connection(c, DISCONNECT_PROTOCOL_ERROR,
			                       WS_CLOSE_PROTOCOL_ERROR, "invalid close frame");
	}
	hub_remove(rooms_hub(c->room), c->client, DISCONNECT_CLIENT_CLOSE);
	/* Echo the status code (RFC 6455 section 5.5.1), after what was already
	 * relayed to the client: it asked to close, not to lose messages. */
	uint8_t frame[4] = {WS_FIN | WS_OPCODE_CLOSE, 0};
	if (len >= 2) {
		frame[1] = 2;
		frame[2] = data[0];
		frame[3] = data[1];
	}
	close_via_outbox(c, frame, 2u + frame[1], true);
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
	/* Closed, not ignored: the client must learn it may not publish. */
	if (!c->may_publish)
		return fail_connection(c, DISCONNECT_PUBLISH_DENIED, WS_CLOSE_POLICY,
		                       "publish not allowed");

	struct message msg;
	switch (assembler_add(&c->assembler, first_byte, data, len, &msg)) {
	case ASSEMBLE_INCOMPLETE:
		return 1;
	case ASSEMBLE_MESSAGE:
		c->in_messages++;
		c->in_bytes += msg.len;
		if (!within_budget(c, msg.len))
			return over_budget(c);
		relay_message(srv, c, &msg);
		assembler_message_done(&c->assembler);
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

/* CivetWeb's own control frames (patch 0009), on the client's reader
 * thread, without the connection lock: a pong to the client's ping, a
 * keepalive ping, or the close of a frame CivetWeb refused (patch 0001).
 * Pongs and pings jump the queue at the next frame boundary; a client that
 * floods pings without reading keeps one pong waiting, not thousands.
 * Returns > 0 to go on reading, 0 to end the connection. */
static int on_control(struct mg_connection *conn, int opcode, const char *data, size_t len)
{
	struct connection *c = mg_get_user_connection_data(conn);
	if (!c || len > WS_CONTROL_PAYLOAD_MAX)
		return 0;
	if (opcode == WS_OPCODE_CLOSE) {
		bool too_big = mg_websocket_close_code_sent(conn) == WS_CLOSE_TOO_BIG;
		(void)fail_connection(
		    c, too_big ? DISCONNECT_MESSAGE_TOO_BIG : DISCONNECT_PROTOCOL_ERROR,
		    too_big ? WS_CLOSE_TOO_BIG : WS_CLOSE_PROTOCOL_ERROR,
		    too_big ? "message too big" : "protocol error");
		return 0;
	}
	if (opcode != WS_OPCODE_PING && opcode != WS_OPCODE_PONG)
		return 0;
	uint8_t frame[2 + WS_CONTROL_PAYLOAD_MAX];
	frame[0] = (uint8_t)(WS_FIN | (unsigned)opcode);
	frame[1] = (uint8_t)len;
	if (len)
		memcpy(frame + 2, data, len);
	if (outbox_push_control(c->outbox, opcode == WS_OPCODE_PONG ? OUTBOX_PONG : OUTBOX_PING,
	                        frame, 2 + len) &&
	    opcode == WS_OPCODE_PONG)
		stats_add(&c->srv->stats.pongs_coalesced, 1);
	return 1;
}

/* Runs once for every client the connect handler accepted (patch 0003 adds
 * the case of a 101 that could not be sent). */
/* The access-log line of a client: how long it stayed, and messages and
 * payload bytes each way. Thread: the client's own, after the senders let
 * go of it (outbox_close). */
static void log_disconnection(const struct connection *c, enum disconnect_reason reason)
{
	if (!log_enabled(LOG_LEVEL_INFO))
		return;
	char duration[32], in_messages[24], in_bytes[24], out_messages[24], out_bytes[24];
	uint64_t ns = clock_elapsed_ns(c->connected_ns);
	snprintf(duration, sizeof(duration), "%llu.%03llu", (unsigned long long)(ns / 1000000000u),
	         (unsigned long long)(ns / 1000000u % 1000u));
	snprintf(in_messages, sizeof(in_messages), "%llu", (unsigned long long)c->in_messages);
	snprintf(in_bytes, sizeof(in_bytes), "%llu", (unsigned long long)c->in_bytes);
	snprintf(out_messages, sizeof(out_messages), "%llu",
	         (unsigned long long)atomic_load_explicit(&c->out_messages, memory_order_relaxed));
	snprintf(out_bytes, sizeof(out_bytes), "%llu",
	         (unsigned long long)atomic_load_explicit(&c->out_bytes, memory_order_relaxed));
	const char *room = c->room_name;
	const struct log_field fields[] = {
	    {"client", c->peer, false},
	    {"reason", hub_disconnect_reason_name(reason), false},
	    {"duration_seconds", duration, true},
	    {"messages_in", in_messages, true},
	    {"bytes_in", in_bytes, true},
	    {"messages_out", out_messages, true},
	    {"bytes_out", out_bytes, true},
	    {"room", room, false},
	};
	size_t count = sizeof(fields) / sizeof(fields[0]);
	const char *reason_name = hub_disconnect_reason_name(reason);
	/* Rooms off: the line as it always was. */
	if (room[0])
		log_event(LOG_LEVEL_INFO, fields, count, "client disconnected: %s room %s (%s)",
		          c->peer, room, reason_name);
	else
		log_event(LOG_LEVEL_INFO, fields, count - 1, "client disconnected: %s (%s)",
		          c->peer, reason_name);
}

static void on_close(const struct mg_connection *conn, void *cbdata)
{
	struct server *srv = cbdata;
	struct connection *c = mg_get_user_connection_data(conn);
	/* A reader that ends without a reason of ours had a frame refused by
	 * CivetWeb (patch 0001), went silent past the idle timeout (patch
	 * 0006), or lost its peer: a TCP close or reset without a close
	 * frame. */
	enum disconnect_reason fallback;
	switch (mg_websocket_close_code_sent(conn)) {
	case WS_CLOSE_TOO_BIG:
		fallback = DISCONNECT_MESSAGE_TOO_BIG;
		break;
	case WS_CLOSE_PROTOCOL_ERROR:
		fallback = DISCONNECT_PROTOCOL_ERROR;
		break;
	default:
		fallback =
		    mg_websocket_timed_out(conn) ? DISCONNECT_TIMEOUT : DISCONNECT_CLIENT_CLOSE;
		break;
	}
	if (c->tls_queue) {
		/* CivetWeb may still write (its TLS close) after the outbox is
		 * gone. */
		mg_lock_connection(c->conn);
		tls_send_queue_set_waker(c->tls_queue, NULL, NULL);
		mg_unlock_connection(c->conn);
	}
	/* The expiry timer lets go first (it may be queueing a close now),
	 * then the sender: either may still want to drop the client from the
	 * hub, which hub_leave is about to free. */
	auth_expiry_cancel(srv->expiry, c->expiry);
	outbox_close(c->outbox);
	if (c->tls_queue) {
		/* What CivetWeb queued behind a backlog (a close of its own: 1009,
		 * 1002 or the idle timeout's) gets one last try, without waiting:
		 * no sender flushes this queue any more. */
		mg_lock_connection(c->conn);
		(void)tls_send_queue_flush(c->tls_queue);
		mg_unlock_connection(c->conn);
	}
	enum disconnect_reason reason = rooms_leave(srv->rooms, c->room, c->client, fallback);
	outbox_destroy(c->outbox);
	/* Only a completed handshake counted as a connection (patch 0003 also
	 * calls this when the 101 could not be sent). */
	if (c->ready) {
		stats_add(&srv->stats.disconnections[reason], 1);
		log_disconnection(c, reason);
	}
	address_limits_release(srv->address_limits, &c->address_key);
	mg_set_user_connection_data(conn, NULL);
	assembler_free(&c->assembler);
	auth_grant_free(c->grant);
	free(c);
	/* The thread goes back to the pool, maybe for good: what this client's
	 * messages touched below (the read loop, relaying, logging) need not
	 * stay resident while it waits. */
	stack_release_below_caller();
}

void ws_connection_register(struct server *srv, struct mg_context *ctx)
{
	mg_set_websocket_control_handler(ctx, on_control);
	mg_set_websocket_handler(ctx, srv->cfg->server.websocket_path, on_connect, on_ready,
	                         on_data, on_close, srv);
}
