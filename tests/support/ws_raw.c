#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* memmem, asprintf, MSG_NOSIGNAL, SOCK_CLOEXEC, getrandom */
#endif

#include "ws_raw.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <openssl/ssl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>

/* strerror may hand every thread one buffer, and tests run clients on
 * several; the compound literal lives to the end of the enclosing block. */
#define ERRNO_TEXT() strerror_r(errno, (char[128]){0}, 128)

#define WS_GUID        "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
#define MAX_HEAD_BYTES ((size_t)64 * 1024)
/* Small enough that thousands of idle test clients stay cheap; need() sizes
 * the buffer for a whole frame at once when its length is known. */
#define INITIAL_BUFFER ((size_t)16 * 1024)
#define MIN_READ       ((size_t)4 * 1024)
/* Room for the largest accepted frame, its header and slack for one read. */
#define MAX_BUFFER (WS_RAW_MAX_PAYLOAD + INITIAL_BUFFER)

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t deadline_after(int timeout_ms)
{
	return timeout_ms < 0 ? -1 : now_ms() + timeout_ms;
}

/* Milliseconds left until deadline in poll()'s terms: -1 is "forever". */
static int time_left(int64_t deadline)
{
	if (deadline < 0)
		return -1;
	int64_t left = deadline - now_ms();
	if (left <= 0)
		return 0;
	return left > INT_MAX ? INT_MAX : (int)left;
}

__attribute__((format(printf, 2, 3))) static void set_err(struct ws_raw *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
}

static int random_bytes(void *dst, size_t len)
{
	uint8_t *p = dst;

	while (len > 0) {
		ssize_t n = getrandom(p, len, 0);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* out must hold 4 * ceil(len / 3) + 1 bytes. */
static void base64_encode(const uint8_t *src, size_t len, char *out)
{
	EVP_EncodeBlock((unsigned char *)out, src, (int)len);
}

static int wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = events};
		int r = poll(&pfd, 1, time_left(deadline));
		if (r > 0)
			return 1;
		if (r == 0)
			return 0;
		if (errno != EINTR)
			return -1;
	}
}

static int connect_with_rcvbuf(uint16_t port, int timeout_ms, int rcvbuf);

int tcp_connect_loopback(uint16_t port, int timeout_ms)
{
	return connect_with_rcvbuf(port, timeout_ms, 0);
}

/* rcvbuf > 0: the receive buffer, set before the connect so that the window
 * the peer sees is small from the start (shrinking it later makes the
 * kernel drop data the peer was allowed to send). */
static int connect_with_rcvbuf(uint16_t port, int timeout_ms, int rcvbuf)
{
	int64_t deadline = deadline_after(timeout_ms);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons(port)};
	int fd;
	int r;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	/* Non-blocking only for the connect itself, so that it can time out. */
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return -1;
	if (rcvbuf > 0 && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof(rcvbuf)) != 0)
		goto fail;
	r = connect(fd, (struct sockaddr *)&sa, sizeof(sa));
	if (r < 0 && (errno == EINPROGRESS || errno == EINTR)) {
		int soerr = 0;
		socklen_t sl = sizeof(soerr);

		r = wait_fd(fd, POLLOUT, deadline);
		if (r == 0)
			errno = ETIMEDOUT;
		if (r <= 0)
			goto fail;
		if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &sl) < 0)
			goto fail;
		if (soerr != 0) {
			errno = soerr;
			goto fail;
		}
	} else if (r < 0) {
		goto fail;
	}

	int flags = fcntl(fd, F_GETFL);
	if (flags < 0 || fcntl(fd, F_SETFL, flags & ~O_NONBLOCK) < 0)
		goto fail;
	/* Tests that split frames across writes need each write on the wire. */
	int one = 1;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	struct timeval tv = {.tv_sec = WS_RAW_SEND_TIMEOUT_MS / 1000,
	                     .tv_usec = (suseconds_t)(WS_RAW_SEND_TIMEOUT_MS % 1000) * 1000};
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	return fd;

fail:;
	int saved = errno;
	close(fd);
	errno = saved;
	return -1;
}

void ws_raw_init(struct ws_raw *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
}

void ws_raw_close(struct ws_raw *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->buf);
	c->buf = NULL;
	c->cap = c->start = c->end = 0;
	free(c->http_head);
	c->http_head = NULL;
}

static size_t buffered(const struct ws_raw *c)
{
	return c->end - c->start;
}

static void consume(struct ws_raw *c, size_t n)
{
	c->start += n;
	if (c->start == c->end)
		c->start = c->end = 0;
}

/* Makes at least room bytes writable after c->end. */
static int reserve(struct ws_raw *c, size_t room)
{
	if (c->cap - c->end >= room)
		return 0;
	if (c->start > 0) {
		/* start > 0 means bytes were consumed from buf, so buf is set; the
		 * analyzer loses that when set_err's vsnprintf "writes" all of *c. */
		// NOLINTNEXTLINE(clang-analyzer-core.NonNullParamChecker)
		memmove(c->buf, c->buf + c->start, buffered(c));
		c->end -= c->start;
		c->start = 0;
		if (c->cap - c->end >= room)
			return 0;
	}
	size_t want = c->end + room;
	size_t ncap = c->cap ? c->cap : INITIAL_BUFFER;
	while (ncap < want)
		ncap *= 2;
	if (ncap > MAX_BUFFER)
		ncap = want;
	if (ncap > MAX_BUFFER) {
		set_err(c, "receive buffer would exceed %zu bytes", MAX_BUFFER);
		return -1;
	}
	uint8_t *nb = realloc(c->buf, ncap);
	if (!nb) {
		set_err(c, "out of memory growing receive buffer to %zu bytes", ncap);
		return -1;
	}
	c->buf = nb;
	c->cap = ncap;
	return 0;
}

/* One SSL_read into the buffer: WS_FRAME with data, 0 to poll again
 * (records that carried no data, e.g. session tickets), WS_EOF or WS_ERROR. */
static int tls_fill(struct ws_raw *c)
{
	ERR_clear_error();
	int n = SSL_read(c->ssl, c->buf + c->end, (int)(c->cap - c->end));
	if (n > 0) {
		c->end += (size_t)n;
		return WS_FRAME;
	}
	int err = SSL_get_error(c->ssl, n);
	if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
		return 0;
	if (err == SSL_ERROR_ZERO_RETURN || (err == SSL_ERROR_SYSCALL && errno != ECONNRESET)) {
		c->peer_reset = false;
		set_err(c, "connection closed by peer");
		return WS_EOF;
	}
	if (err == SSL_ERROR_SYSCALL) {
		c->peer_reset = true;
		set_err(c, "connection reset by peer");
		return WS_EOF;
	}
	unsigned long e = ERR_peek_last_error();
	const char *reason = e ? ERR_reason_error_string(e) : NULL;
	set_err(c, "TLS: %s", reason ? reason : "error");
	return WS_ERROR;
}

/* One poll + recv. Returns WS_FRAME when bytes were added, else like the
 * public readers. */
static int fill(struct ws_raw *c, int64_t deadline)
{
	if (c->fd < 0) {
		set_err(c, "not connected");
		return WS_ERROR;
	}
	if (reserve(c, MIN_READ) < 0)
		return WS_ERROR;
	for (;;) {
		/* Records OpenSSL has read already do not make the socket readable. */
		int r = (c->ssl && SSL_pending(c->ssl) > 0) ? 1 : wait_fd(c->fd, POLLIN, deadline);
		if (r == 0) {
			set_err(c, "timed out waiting for data");
			return WS_TIMEOUT;
		}
		if (r < 0) {
			set_err(c, "poll: %s", ERRNO_TEXT());
			return WS_ERROR;
		}
		if (c->ssl) {
			int tls = tls_fill(c);
			if (tls == 0)
				continue;
			return tls;
		}
		ssize_t n = recv(c->fd, c->buf + c->end, c->cap - c->end, 0);
		if (n > 0) {
			c->end += (size_t)n;
			return WS_FRAME;
		}
		if (n == 0) {
			c->peer_reset = false;
			set_err(c, "connection closed by peer");
			return WS_EOF;
		}
		if (errno == EINTR || errno == EAGAIN || errno == EWOULDBLOCK)
			continue;
		if (errno == ECONNRESET) {
			c->peer_reset = true;
			set_err(c, "connection reset by peer");
			return WS_EOF;
		}
		set_err(c, "recv: %s", ERRNO_TEXT());
		return WS_ERROR;
	}
}

static int need(struct ws_raw *c, size_t n, int64_t deadline)
{
	if (buffered(c) < n && reserve(c, n - buffered(c)) < 0)
		return WS_ERROR;
	while (buffered(c) < n) {
		int r = fill(c, deadline);
		if (r != WS_FRAME)
			return r;
	}
	return WS_FRAME;
}

int ws_raw_send_bytes(struct ws_raw *c, const void *data, size_t len)
{
	const uint8_t *p = data;

	if (c->fd < 0) {
		set_err(c, "not connected");
		return -1;
	}
	while (len > 0 && c->ssl) {
		ERR_clear_error();
		int n = SSL_write(c->ssl, p, len > INT_MAX ? INT_MAX : (int)len);
		if (n <= 0) {
			set_err(c, "TLS write failed (%d)", SSL_get_error(c->ssl, n));
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	while (len > 0) {
		ssize_t n = send(c->fd, p, len, MSG_NOSIGNAL);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			set_err(c, "send: %s",
			        errno == EAGAIN || errno == EWOULDBLOCK
			            ? "peer stopped reading (send timeout)"
			            : ERRNO_TEXT());
			return -1;
		}
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Writes a frame header into hdr (at least 14 bytes) and returns its size. */
static size_t encode_header(uint8_t *hdr, uint8_t first_byte, uint64_t len, const uint8_t *key)
{
	size_t n = 0;
	uint8_t mask_bit = key ? 0x80 : 0;

	hdr[n++] = first_byte;
	if (len < 126) {
		hdr[n++] = mask_bit | (uint8_t)len;
	} else if (len <= 0xFFFF) {
		hdr[n++] = mask_bit | 126;
		hdr[n++] = (uint8_t)(len >> 8);
		hdr[n++] = (uint8_t)len;
	} else {
		hdr[n++] = mask_bit | 127;
		for (int shift = 56; shift >= 0; shift -= 8)
			hdr[n++] = (uint8_t)(len >> shift);
	}
	if (key) {
		memcpy(hdr + n, key, 4);
		n += 4;
	}
	return n;
}

int ws_raw_send_frame(struct ws_raw *c, uint8_t first_byte, const void *payload, size_t len,
                      bool mask)
{
	uint8_t key[4];
	uint8_t hdr[14];

	if (mask && random_bytes(key, sizeof(key)) < 0) {
		set_err(c, "getrandom: %s", ERRNO_TEXT());
		return -1;
	}
	size_t hlen = encode_header(hdr, first_byte, len, mask ? key : NULL);
	/* One buffer and one send, so the frame is not split by Nagle-free
	 * sockets into pieces that tests did not ask for. */
	uint8_t *frame = malloc(hlen + len);
	if (!frame) {
		set_err(c, "out of memory for a %zu-byte frame", len);
		return -1;
	}
	memcpy(frame, hdr, hlen);
	if (len > 0)
		memcpy(frame + hlen, payload, len);
	if (mask) {
		for (size_t i = 0; i < len; i++)
			frame[hlen + i] ^= key[i & 3];
	}
	int r = ws_raw_send_bytes(c, frame, hlen + len);
	free(frame);
	return r;
}

int ws_raw_send_header_only(struct ws_raw *c, uint8_t first_byte, uint64_t declared_len)
{
	uint8_t key[4];
	uint8_t hdr[14];

	if (random_bytes(key, sizeof(key)) < 0) {
		set_err(c, "getrandom: %s", ERRNO_TEXT());
		return -1;
	}
	return ws_raw_send_bytes(c, hdr, encode_header(hdr, first_byte, declared_len, key));
}

int ws_raw_send_text(struct ws_raw *c, const char *s)
{
	return ws_raw_send_frame(c, WS_FIN | WS_OP_TEXT, s, strlen(s), true);
}

int ws_raw_send_binary(struct ws_raw *c, const void *data, size_t len)
{
	return ws_raw_send_frame(c, WS_FIN | WS_OP_BINARY, data, len, true);
}

int ws_raw_send_close(struct ws_raw *c, uint16_t code, const char *reason)
{
	size_t rlen = reason ? strlen(reason) : 0;
	uint8_t *p;
	int r;

	if (code == 0)
		return ws_raw_send_frame(c, WS_FIN | WS_OP_CLOSE, NULL, 0, true);
	p = malloc(2 + rlen);
	if (!p) {
		set_err(c, "out of memory");
		return -1;
	}
	p[0] = (uint8_t)(code >> 8);
	p[1] = (uint8_t)code;
	/* The reason goes on the wire as counted bytes, never NUL-terminated. */
	if (rlen > 0)
		memcpy(p + 2, reason, rlen); // NOLINT(bugprone-not-null-terminated-result)
	r = ws_raw_send_frame(c, WS_FIN | WS_OP_CLOSE, p, 2 + rlen, true);
	free(p);
	return r;
}

void ws_raw_frame_free(struct ws_raw_frame *f)
{
	free(f->payload);
	memset(f, 0, sizeof(*f));
}

static bool known_opcode(uint8_t op)
{
	return op <= WS_OP_BINARY || (op >= WS_OP_CLOSE && op <= WS_OP_PONG);
}

static int read_frame_until(struct ws_raw *c, struct ws_raw_frame *out, int64_t deadline)
{
	int r;

	memset(out, 0, sizeof(*out));
	r = need(c, 2, deadline);
	if (r != WS_FRAME)
		return r;

	const uint8_t b0 = c->buf[c->start];
	const uint8_t b1 = c->buf[c->start + 1];
	const uint8_t op = b0 & 0x0F;
	const uint8_t len7 = b1 & 0x7F;
	size_t hlen = len7 == 126 ? 4 : len7 == 127 ? 10 : 2;

	if (b1 & 0x80) {
		set_err(c, "server sent a masked frame (0x%02x 0x%02x)", b0, b1);
		return WS_ERROR;
	}
	if (!known_opcode(op)) {
		set_err(c, "server sent reserved opcode 0x%x", op);
		return WS_ERROR;
	}
	r = need(c, hlen, deadline);
	if (r != WS_FRAME)
		return r;

	const uint8_t *h = c->buf + c->start;
	uint64_t len = len7;
	if (len7 == 126) {
		len = (uint64_t)h[2] << 8 | h[3];
		if (len < 126) {
			set_err(c, "non-minimal 16-bit length %llu", (unsigned long long)len);
			return WS_ERROR;
		}
	} else if (len7 == 127) {
		len = 0;
		for (int i = 2; i < 10; i++)
			len = len << 8 | h[i];
		if (len >> 63) {
			set_err(c, "64-bit length has its most significant bit set");
			return WS_ERROR;
		}
		if (len <= 0xFFFF) {
			set_err(c, "non-minimal 64-bit length %llu", (unsigned long long)len);
			return WS_ERROR;
		}
	}
	if ((op & 0x8) && (!(b0 & WS_FIN) || len > 125)) {
		set_err(c, "control frame 0x%x fragmented or longer than 125 (%llu)", op,
		        (unsigned long long)len);
		return WS_ERROR;
	}
	if (len > WS_RAW_MAX_PAYLOAD) {
		set_err(c, "frame of %llu bytes exceeds the test client's limit",
		        (unsigned long long)len);
		return WS_ERROR;
	}
	r = need(c, hlen + (size_t)len, deadline);
	if (r != WS_FRAME)
		return r;

	uint8_t *payload = malloc((size_t)len + 1);
	if (!payload) {
		set_err(c, "out of memory for a %llu-byte payload", (unsigned long long)len);
		return WS_ERROR;
	}
	memcpy(payload, c->buf + c->start + hlen, (size_t)len);
	payload[len] = '\0';
	consume(c, hlen + (size_t)len);

	out->first_byte = b0;
	out->opcode = op;
	out->fin = (b0 & WS_FIN) != 0;
	out->payload = payload;
	out->len = (size_t)len;
	if (op == WS_OP_CLOSE && len >= 2)
		out->close_code = (uint16_t)(payload[0] << 8 | payload[1]);
	return WS_FRAME;
}

int ws_raw_read_frame(struct ws_raw *c, struct ws_raw_frame *out, int timeout_ms)
{
	return read_frame_until(c, out, deadline_after(timeout_ms));
}

static int append_fragment(struct ws_raw *c, struct ws_raw_frame *msg,
                           const struct ws_raw_frame *frag)
{
	if (frag->len > WS_RAW_MAX_PAYLOAD - msg->len) {
		set_err(c, "fragmented message exceeds the test client's limit");
		return -1;
	}
	uint8_t *np = realloc(msg->payload, msg->len + frag->len + 1);
	if (!np) {
		set_err(c, "out of memory reassembling a message");
		return -1;
	}
	memcpy(np + msg->len, frag->payload, frag->len);
	msg->payload = np;
	msg->len += frag->len;
	msg->payload[msg->len] = '\0';
	return 0;
}

int ws_raw_read_message(struct ws_raw *c, struct ws_raw_frame *out, int timeout_ms)
{
	int64_t deadline = deadline_after(timeout_ms);
	struct ws_raw_frame msg = {0};
	bool assembling = false;
	struct ws_raw_frame f;
	int r;

	memset(out, 0, sizeof(*out));
	for (;;) {
		r = read_frame_until(c, &f, deadline);
		if (r != WS_FRAME)
			goto fail;
		switch (f.opcode) {
		case WS_OP_PONG:
			ws_raw_frame_free(&f);
			continue;
		case WS_OP_PING:
			r = ws_raw_send_frame(c, WS_FIN | WS_OP_PONG, f.payload, f.len, true);
			ws_raw_frame_free(&f);
			if (r < 0) {
				r = WS_ERROR;
				goto fail;
			}
			continue;
		case WS_OP_CLOSE:
			/* A close ends any half-received message; the fragments are
			 * useless to the caller, the close frame is not. */
			ws_raw_frame_free(&msg);
			*out = f;
			return WS_FRAME;
		case WS_OP_CONT: {
			if (!assembling) {
				set_err(c, "continuation frame without a message to continue");
				ws_raw_frame_free(&f);
				r = WS_ERROR;
				goto fail;
			}
			bool last = f.fin;
			r = append_fragment(c, &msg, &f);
			ws_raw_frame_free(&f);
			if (r < 0) {
				r = WS_ERROR;
				goto fail;
			}
			if (last)
				break;
			continue;
		}
		default:
			if (assembling) {
				set_err(c, "new data frame inside a fragmented message");
				ws_raw_frame_free(&f);
				r = WS_ERROR;
				goto fail;
			}
			msg = f;
			if (msg.fin)
				break;
			assembling = true;
			continue;
		}
		break;
	}
	msg.fin = true;
	*out = msg;
	return WS_FRAME;

fail:
	ws_raw_frame_free(&msg);
	return r;
}

long ws_raw_read_bytes(struct ws_raw *c, void *dst, size_t cap, int timeout_ms)
{
	if (cap == 0)
		return 0;
	if (buffered(c) == 0) {
		int r = fill(c, deadline_after(timeout_ms));
		if (r == WS_EOF)
			return 0;
		if (r != WS_FRAME)
			return -1;
	}
	size_t n = buffered(c) < cap ? buffered(c) : cap;
	if (n > LONG_MAX)
		n = LONG_MAX;
	memcpy(dst, c->buf + c->start, n);
	consume(c, n);
	return (long)n;
}

int ws_raw_expect_eof(struct ws_raw *c, int timeout_ms)
{
	int64_t deadline = deadline_after(timeout_ms);

	for (;;) {
		/* Whatever the server still sends is irrelevant; only the close of
		 * the TCP stream matters. */
		c->start = c->end = 0;
		int r = fill(c, deadline);
		if (r == WS_EOF)
			return 0;
		if (r != WS_FRAME)
			return -1;
	}
}

/* Finds "Name: value" in a NUL-terminated response head and copies the
 * trimmed value. Returns true when found. */
static bool header_value(const char *head, const char *name, char *val, size_t cap)
{
	size_t nlen = strlen(name);
	const char *line = strstr(head, "\r\n");

	while (line) {
		line += 2;
		const char *eol = strstr(line, "\r\n");
		if (!eol || eol == line)
			return false;
		if ((size_t)(eol - line) > nlen && strncasecmp(line, name, nlen) == 0 &&
		    line[nlen] == ':') {
			const char *v = line + nlen + 1;
			const char *ve = eol;
			while (v < ve && (*v == ' ' || *v == '\t'))
				v++;
			while (ve > v && (ve[-1] == ' ' || ve[-1] == '\t'))
				ve--;
			size_t vlen = (size_t)(ve - v);
			if (vlen >= cap)
				vlen = cap - 1;
			memcpy(val, v, vlen);
			val[vlen] = '\0';
			return true;
		}
		line = eol;
	}
	return false;
}

/* "HTTP/1.x NNN ..." -> NNN, or -1. */
static int parse_status(const char *head)
{
	if (strncmp(head, "HTTP/1.", 7) != 0 || head[7] < '0' || head[7] > '9' || head[8] != ' ')
		return -1;
	int code = 0;
	for (int i = 9; i < 12; i++) {
		if (head[i] < '0' || head[i] > '9')
			return -1;
		code = code * 10 + (head[i] - '0');
	}
	if (head[12] != ' ' && head[12] != '\r')
		return -1;
	return code;
}

/* Reads until the head terminator and returns its length including the
 * terminator, or WS_TIMEOUT (0), WS_EOF or WS_ERROR. */
static long read_head(struct ws_raw *c, int64_t deadline)
{
	size_t scanned = 0;

	for (;;) {
		const uint8_t *base = c->buf ? c->buf + c->start : NULL;
		size_t from = scanned > 3 ? scanned - 3 : 0;
		if (base && buffered(c) > from) {
			const uint8_t *p = memmem(base + from, buffered(c) - from, "\r\n\r\n", 4);
			if (p)
				return (long)(p - base) + 4;
		}
		scanned = buffered(c);
		if (scanned > MAX_HEAD_BYTES) {
			set_err(c, "response head longer than %zu bytes", MAX_HEAD_BYTES);
			return WS_ERROR;
		}
		int r = fill(c, deadline);
		if (r != WS_FRAME)
			return r;
	}
}

/* Moves the head out of the reader buffer into c->http_head. */
static int take_head(struct ws_raw *c, size_t hlen)
{
	free(c->http_head);
	c->http_head = malloc(hlen + 1);
	if (!c->http_head) {
		set_err(c, "out of memory");
		return -1;
	}
	memcpy(c->http_head, c->buf + c->start, hlen);
	c->http_head[hlen] = '\0';
	consume(c, hlen);
	return 0;
}

/* Copies up to cap - 1 bytes into out with control bytes shown as '.'. */
static void printable(char *out, size_t cap, const uint8_t *p, size_t len)
{
	size_t n = len < cap - 1 ? len : cap - 1;

	for (size_t i = 0; i < n; i++)
		out[i] = (char)(p[i] >= 0x20 && p[i] < 0x7F ? p[i] : '.');
	out[n] = '\0';
}

static bool has_token(const char *list, const char *token)
{
	size_t tlen = strlen(token);

	for (const char *p = list; *p;) {
		while (*p == ' ' || *p == '\t' || *p == ',')
			p++;
		const char *e = p;
		while (*e && *e != ',')
			e++;
		const char *te = e;
		while (te > p && (te[-1] == ' ' || te[-1] == '\t'))
			te--;
		if ((size_t)(te - p) == tlen && strncasecmp(p, token, tlen) == 0)
			return true;
		p = e;
	}
	return false;
}

/* The TLS handshake on c->fd, bounded by timeout_ms. */
static int tls_handshake(struct ws_raw *c, void *ssl_ctx, int timeout_ms)
{
	SSL *ssl = SSL_new(ssl_ctx);
	if (!ssl || SSL_set_fd(ssl, c->fd) != 1) {
		SSL_free(ssl);
		set_err(c, "SSL_new failed");
		return -1;
	}
	c->ssl = ssl;
	/* Session tickets arriving later must not make a read wait for data. */
	SSL_clear_mode(ssl, SSL_MODE_AUTO_RETRY);
	SSL_set_tlsext_host_name(ssl, "localhost");
	if (SSL_CTX_get_verify_mode(ssl_ctx) != SSL_VERIFY_NONE)
		SSL_set1_host(ssl, "localhost");
	struct timeval tv = {.tv_sec = timeout_ms / 1000,
	                     .tv_usec = (suseconds_t)(timeout_ms % 1000) * 1000};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	ERR_clear_error();
	int r = SSL_connect(ssl);
	struct timeval none = {0};
	setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &none, sizeof(none));
	if (r != 1) {
		unsigned long e = ERR_peek_last_error();
		const char *reason = e ? ERR_reason_error_string(e) : NULL;
		set_err(c, "TLS handshake failed: %s", reason ? reason : "connection closed");
		return -1;
	}
	return 0;
}

int ws_raw_tls_only(struct ws_raw *c, uint16_t port, void *ssl_ctx, int timeout_ms)
{
	ws_raw_init(c);
	c->fd = tcp_connect_loopback(port, timeout_ms);
	if (c->fd < 0) {
		set_err(c, "connect to 127.0.0.1:%u: %s", port, ERRNO_TEXT());
		return -1;
	}
	return tls_handshake(c, ssl_ctx, timeout_ms);
}

static int connect_ws(struct ws_raw *c, uint16_t port, void *ssl_ctx, const char *path,
                      const char *extra_headers, int *http_status, int timeout_ms, int rcvbuf);

int ws_raw_connect(struct ws_raw *c, uint16_t port, const char *path, const char *extra_headers,
                   int *http_status, int timeout_ms)
{
	return connect_ws(c, port, NULL, path, extra_headers, http_status, timeout_ms, 0);
}

int ws_raw_connect_tls(struct ws_raw *c, uint16_t port, void *ssl_ctx, const char *path,
                       const char *extra_headers, int *http_status, int timeout_ms)
{
	return connect_ws(c, port, ssl_ctx, path, extra_headers, http_status, timeout_ms, 0);
}

int ws_raw_connect_rcvbuf(struct ws_raw *c, uint16_t port, void *ssl_ctx, const char *path,
                          int rcvbuf, int *http_status, int timeout_ms)
{
	return connect_ws(c, port, ssl_ctx, path, NULL, http_status, timeout_ms, rcvbuf);
}

static int connect_ws(struct ws_raw *c, uint16_t port, void *ssl_ctx, const char *path,
                      const char *extra_headers, int *http_status, int timeout_ms, int rcvbuf)
{
	int64_t deadline = deadline_after(timeout_ms);
	uint8_t nonce[16];
	char key[32];
	char expect[32];
	char got[128];
	unsigned char digest[SHA_DIGEST_LENGTH];
	char keyguid[sizeof(key) + sizeof(WS_GUID)];
	char *req = NULL;
	int status = 0;
	int rc = -1;

	ws_raw_init(c);
	if (http_status)
		*http_status = 0;
	c->fd = connect_with_rcvbuf(port, timeout_ms, rcvbuf);
	if (c->fd < 0) {
		set_err(c, "connect to 127.0.0.1:%u: %s", port, ERRNO_TEXT());
		return -1;
	}
	if (ssl_ctx && tls_handshake(c, ssl_ctx, timeout_ms) != 0)
		return -1;
	if (random_bytes(nonce, sizeof(nonce)) < 0) {
		set_err(c, "getrandom: %s", ERRNO_TEXT());
		return -1;
	}
	base64_encode(nonce, sizeof(nonce), key);
	snprintf(keyguid, sizeof(keyguid), "%s%s", key, WS_GUID);
	SHA1((const unsigned char *)keyguid, strlen(keyguid), digest);
	base64_encode(digest, sizeof(digest), expect);

	if (!path)
		path = "/";
	if (!extra_headers)
		extra_headers = "";
	if (asprintf(&req,
	             "GET %s HTTP/1.1\r\n"
	             "Host: 127.0.0.1:%u\r\n"
	             "Upgrade: websocket\r\n"
	             "Connection: Upgrade\r\n"
	             "Sec-WebSocket-Key: %s\r\n"
	             "Sec-WebSocket-Version: 13\r\n"
	             "%s"
	             "\r\n",
	             path, port, key, extra_headers) < 0) {
		req = NULL;
		set_err(c, "out of memory");
		goto out;
	}
	if (ws_raw_send_bytes(c, req, strlen(req)) < 0)
		goto out;

	long hlen = read_head(c, deadline);
	/* 0 is WS_TIMEOUT, not an empty head. */
	if (hlen <= 0) {
		/* Show what did arrive: a server that writes a body without a
		 * status line is a bug worth seeing at a glance. */
		if (hlen != WS_ERROR) {
			char seen[61] = "";
			if (buffered(c) > 0)
				printable(seen, sizeof(seen), c->buf + c->start, buffered(c));
			set_err(c, "no complete response head (%s) after %zu bytes: \"%s\"",
			        hlen == WS_TIMEOUT ? "timeout" : "connection closed", buffered(c),
			        seen);
		}
		goto out;
	}
	if (take_head(c, (size_t)hlen) < 0)
		goto out;
	status = parse_status(c->http_head);
	if (status < 0) {
		status = 0;
		set_err(c, "malformed status line");
		goto out;
	}
	if (status != 101) {
		set_err(c, "handshake answered with HTTP %d", status);
		goto out;
	}
	if (!header_value(c->http_head, "Upgrade", got, sizeof(got)) ||
	    strcasecmp(got, "websocket") != 0) {
		set_err(c, "101 without \"Upgrade: websocket\"");
		goto out;
	}
	if (!header_value(c->http_head, "Connection", got, sizeof(got)) ||
	    !has_token(got, "upgrade")) {
		set_err(c, "101 without \"Connection: Upgrade\"");
		goto out;
	}
	if (!header_value(c->http_head, "Sec-WebSocket-Accept", got, sizeof(got)) ||
	    strcmp(got, expect) != 0) {
		set_err(c, "wrong or missing Sec-WebSocket-Accept (want %s)", expect);
		goto out;
	}
	rc = 0;
out:
	if (http_status)
		*http_status = status;
	free(req);
	return rc;
}

/* How many body bytes a complete reply has: -1 until close, -2 chunked. */
static long long expected_body(const char *head, int status, bool head_request)
{
	char val[64];

	if (head_request || (status >= 100 && status < 200) || status == 204 || status == 304)
		return 0;
	if (header_value(head, "Transfer-Encoding", val, sizeof(val)) && has_token(val, "chunked"))
		return -2;
	if (header_value(head, "Content-Length", val, sizeof(val))) {
		char *end;
		errno = 0;
		long long n = strtoll(val, &end, 10);
		if (errno == 0 && end != val && *end == '\0' && n >= 0)
			return n;
	}
	return -1;
}

/* The last-chunk marker is checked only at the very end of what arrived,
 * which is enough for the small chunked replies tests provoke. */
static bool chunked_complete(const uint8_t *body, size_t len)
{
	static const char last[] = "0\r\n\r\n";
	const size_t ll = sizeof(last) - 1;

	if (len < ll || memcmp(body + len - ll, last, ll) != 0)
		return false;
	return len == ll || (len >= ll + 2 && memcmp(body + len - ll - 2, "\r\n", 2) == 0);
}

int http_request(uint16_t port, const char *raw_request, char *resp, size_t resp_cap,
                 int timeout_ms)
{
	int64_t deadline = deadline_after(timeout_ms);
	struct ws_raw c;
	long hlen = -1;
	long long body = -1;
	int status = -1;
	int r;

	if (resp && resp_cap > 0)
		resp[0] = '\0';
	ws_raw_init(&c);
	c.fd = tcp_connect_loopback(port, timeout_ms);
	if (c.fd < 0)
		return -1;
	if (ws_raw_send_bytes(&c, raw_request, strlen(raw_request)) < 0) {
		/* The server may reject early and close; its reply is still
		 * worth reading. */
		if (buffered(&c) == 0 && wait_fd(c.fd, POLLIN, deadline) <= 0)
			goto out;
	}

	for (;;) {
		if (hlen < 0 && c.buf) {
			const uint8_t *p = memmem(c.buf + c.start, buffered(&c), "\r\n\r\n", 4);
			if (p) {
				hlen = (long)(p - (c.buf + c.start)) + 4;
				char *head = strndup((const char *)c.buf + c.start, (size_t)hlen);
				if (!head)
					goto out;
				status = parse_status(head);
				body = expected_body(head, status,
				                     strncasecmp(raw_request, "HEAD ", 5) == 0);
				free(head);
				if (status < 0)
					break;
			}
		}
		if (hlen >= 0) {
			size_t have = buffered(&c) - (size_t)hlen;
			if (body >= 0 && have >= (unsigned long long)body)
				break;
			if (body == -2 && chunked_complete(c.buf + c.start + hlen, have))
				break;
		}
		r = fill(&c, deadline);
		if (r == WS_EOF)
			break;
		if (r == WS_TIMEOUT && hlen >= 0 && body == -1)
			break;
		if (r != WS_FRAME) {
			status = -1;
			break;
		}
	}
	if (hlen < 0)
		status = -1;
	if (resp && resp_cap > 0 && c.buf) {
		size_t n = buffered(&c) < resp_cap - 1 ? buffered(&c) : resp_cap - 1;
		memcpy(resp, c.buf + c.start, n);
		resp[n] = '\0';
	}
out:
	ws_raw_close(&c);
	return status;
}
