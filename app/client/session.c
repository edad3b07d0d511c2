/* The WebSocket connection: CivetWeb client callbacks and the state they
 * share with the main thread. */
#include "session.h"

#include <civetweb.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define OPCODE_CONTINUATION 0x0
#define OPCODE_CLOSE        0x8
#define OPCODE_PING         0x9
#define OPCODE_PONG         0xA
#define FRAME_FIN           0x80

static void wake_main(struct session *s)
{
	/* A full pipe already holds a wake-up, so EAGAIN loses nothing. */
	char byte = 1;
	ssize_t n = write(s->wake[1], &byte, 1);
	(void)n;
}

/* Every frame we send goes through here; see write_lock in session.h. */
static int write_frame(struct session *s, struct mg_connection *conn, int opcode, const void *data,
                       size_t len)
{
	pthread_mutex_lock(&s->write_lock);
	int r = mg_websocket_client_write(conn, opcode, data, len);
	pthread_mutex_unlock(&s->write_lock);
	/* CivetWeb returns the payload bytes written, or the header's length
	 * for an empty payload; a short count leaves the stream unusable. */
	return (len > 0 ? r == (int)len : r > 0) ? 0 : -1;
}

static void print_message(struct session *s, const uint8_t *data, size_t len)
{
	if (s->status.output_errno != 0)
		return;
	if ((len > 0 && fwrite(data, 1, len, s->out) != len) || fputc('\n', s->out) == EOF ||
	    fflush(s->out) == EOF)
		s->status.output_errno = errno ? errno : EIO;
}

static void deliver(struct session *s, int opcode, const uint8_t *data, size_t len)
{
	pthread_mutex_lock(&s->lock);
	if (s->print_limit == 0 || s->status.received < s->print_limit) {
		print_message(s, data, len);
		s->status.received++;
		if (s->expect && !s->status.echoed && opcode == s->expect_opcode &&
		    len == s->expect_len && memcmp(data, s->expect, len) == 0)
			s->status.echoed = true;
	}
	pthread_mutex_unlock(&s->lock);
	wake_main(s);
}

/* The relay itself never fragments, but other servers may. Returns 0, or -1
 * when the message grows past SESSION_MAX_MESSAGE. */
static int add_fragment(struct session *s, const uint8_t *data, size_t len)
{
	if (len > SESSION_MAX_MESSAGE - s->partial_len)
		return -1;
	uint8_t *grown = realloc(s->partial, s->partial_len + len + 1);
	if (!grown)
		return -1;
	s->partial = grown;
	if (len > 0)
		memcpy(s->partial + s->partial_len, data, len);
	s->partial_len += len;
	return 0;
}

static void drop_partial(struct session *s)
{
	free(s->partial);
	s->partial = NULL;
	s->partial_len = 0;
	s->partial_opcode = 0;
}

static int on_data_message(struct session *s, int opcode, bool fin, const uint8_t *data, size_t len)
{
	if (opcode != OPCODE_CONTINUATION && fin && s->partial_opcode == 0) {
		deliver(s, opcode, data, len);
		return 1;
	}
	if (opcode != OPCODE_CONTINUATION) {
		/* A new message before the last one ended: a server bug, but the
		 * old fragments are useless either way. */
		drop_partial(s);
		s->partial_opcode = opcode;
	} else if (s->partial_opcode == 0) {
		return 1; /* a stray continuation has nothing to continue */
	}
	if (add_fragment(s, data, len) < 0) {
		drop_partial(s);
		pthread_mutex_lock(&s->lock);
		s->status.message_too_big = true;
		pthread_mutex_unlock(&s->lock);
		return 0;
	}
	if (fin) {
		deliver(s, s->partial_opcode, s->partial, s->partial_len);
		drop_partial(s);
	}
	return 1;
}

static void on_close_frame(struct session *s, struct mg_connection *conn, const uint8_t *data,
                           size_t len)
{
	pthread_mutex_lock(&s->lock);
	s->status.close_received = true;
	if (len >= 2) {
		s->status.close_code = (uint16_t)((data[0] << 8) | data[1]);
		size_t reason_len = len - 2;
		if (reason_len >= sizeof(s->status.close_reason))
			reason_len = sizeof(s->status.close_reason) - 1;
		memcpy(s->status.close_reason, data + 2, reason_len);
		s->status.close_reason[reason_len] = '\0';
	}
	/* The server started the closing handshake: answer it, echoing its
	 * code as RFC 6455 section 5.5.1 suggests. If we started it, this frame
	 * is the answer and nothing more is due. */
	bool answer = !s->close_sent;
	s->close_sent = true;
	pthread_mutex_unlock(&s->lock);
	if (answer)
		write_frame(s, conn, OPCODE_CLOSE, data, len >= 2 ? 2 : 0);
}

static int on_frame(struct mg_connection *conn, int bits, char *data, size_t len, void *user)
{
	struct session *s = user;
	int opcode = bits & 0x0F;
	const uint8_t *bytes = (const uint8_t *)data;

	switch (opcode) {
	case OPCODE_PING:
		/* CivetWeb answers pings itself only on the server side. */
		write_frame(s, conn, OPCODE_PONG, bytes, len);
		return 1;
	case OPCODE_PONG:
		return 1;
	case OPCODE_CLOSE:
		on_close_frame(s, conn, bytes, len);
		wake_main(s);
		return 0;
	case OPCODE_CONTINUATION:
	case SESSION_TEXT:
	case SESSION_BINARY:
		return on_data_message(s, opcode, (bits & FRAME_FIN) != 0, bytes, len);
	default:
		return 1; /* reserved opcodes: nothing we could do with them */
	}
}

static void on_closed(const struct mg_connection *conn, void *user)
{
	struct session *s = user;
	(void)conn;
	drop_partial(s);
	pthread_mutex_lock(&s->lock);
	s->status.closed = true;
	pthread_mutex_unlock(&s->lock);
	wake_main(s);
}

int session_init(struct session *s, FILE *out, unsigned long print_limit)
{
	memset(s, 0, sizeof(*s));
	s->out = out;
	s->print_limit = print_limit;
	if (pipe2(s->wake, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	pthread_mutex_init(&s->lock, NULL);
	pthread_mutex_init(&s->write_lock, NULL);
	return 0;
}

int session_connect(struct session *s, const struct ws_url *url, const struct session_tls *tls,
                    const char *bearer, char *err, size_t errlen)
{
	err[0] = '\0';
	/* CivetWeb's client takes no extra headers; its last free-form line is
	 * Sec-WebSocket-Extensions, so the Authorization line rides behind an
	 * extension offer that no server knows (and so ignores). The token's
	 * characters cannot end a line (client_token_valid). */
	char *extensions = NULL;
	if (bearer) {
		size_t len = strlen(bearer) + 64;
		extensions = malloc(len);
		if (!extensions) {
			snprintf(err, errlen, "out of memory");
			return -1;
		}
		snprintf(extensions, len, "x-wsrelay-none\r\nAuthorization: Bearer %s", bearer);
	}
	if (url->tls) {
		struct mg_client_options opts;
		memset(&opts, 0, sizeof(opts));
		opts.host = url->host;
		opts.port = url->port;
		/* CivetWeb skips verification when server_cert is NULL. */
		opts.server_cert = tls ? tls->ca_file : NULL;
		/* SNI, so a server with several certificates picks the right one;
		 * it is not a name check (CivetWeb has none). */
		if (!url->host_is_ipv6)
			opts.host_name = url->host;
		s->conn = mg_connect_websocket_client_secure_extensions(
		    &opts, err, errlen, url->path, NULL, extensions, on_frame, on_closed, s);
	} else {
		s->conn = mg_connect_websocket_client_extensions(
		    url->host, url->port, 0, err, errlen, url->path, NULL, extensions, on_frame,
		    on_closed, s);
	}
	free(extensions);
	if (!s->conn) {
		if (!err[0])
			snprintf(err, errlen, "unknown error");
		return -1;
	}
	return 0;
}

int session_expect_echo(struct session *s, int opcode, const void *data, size_t len)
{
	uint8_t *copy = malloc(len + 1);
	if (!copy)
		return -1;
	memcpy(copy, data, len);
	pthread_mutex_lock(&s->lock);
	free(s->expect);
	s->expect = copy;
	s->expect_len = len;
	s->expect_opcode = opcode;
	s->status.echoed = false;
	pthread_mutex_unlock(&s->lock);
	return 0;
}

int session_send(struct session *s, int opcode, const void *data, size_t len)
{
	if (len > SESSION_MAX_MESSAGE)
		return -1;
	return write_frame(s, s->conn, opcode, data, len);
}

int session_wake_fd(const struct session *s)
{
	return s->wake[0];
}

void session_status(struct session *s, struct session_status *out)
{
	char drain[64];
	while (read(s->wake[0], drain, sizeof(drain)) > 0)
		;
	pthread_mutex_lock(&s->lock);
	*out = s->status;
	pthread_mutex_unlock(&s->lock);
}

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

bool session_close(struct session *s, int wait_ms)
{
	struct session_status st;
	pthread_mutex_lock(&s->lock);
	bool send_close = !s->close_sent && !s->status.closed;
	s->close_sent = true;
	pthread_mutex_unlock(&s->lock);
	if (send_close) {
		static const uint8_t normal_closure[] = {0x03, 0xE8}; /* 1000 */
		write_frame(s, s->conn, OPCODE_CLOSE, normal_closure, sizeof(normal_closure));
	}

	long long deadline = now_ms() + wait_ms;
	for (;;) {
		session_status(s, &st);
		long long left = deadline - now_ms();
		if (st.closed || left <= 0)
			return st.closed;
		struct pollfd p = {.fd = s->wake[0], .events = POLLIN};
		poll(&p, 1, (int)left);
	}
}

void session_destroy(struct session *s)
{
	if (s->conn) {
		/* Joins the reader thread: nothing touches s from CivetWeb after. */
		mg_close_connection(s->conn);
		s->conn = NULL;
	}
	drop_partial(s);
	free(s->expect);
	s->expect = NULL;
	close(s->wake[0]);
	close(s->wake[1]);
	pthread_mutex_destroy(&s->lock);
	pthread_mutex_destroy(&s->write_lock);
}
