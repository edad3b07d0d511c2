/* RFC 6455 from the client's side, as a load generator needs it: fast on the
 * common path (a whole small frame in the read buffer is handed over in
 * place) and correct on the rest (fragments, 16- and 64-bit lengths, control
 * frames between fragments, close). */
#include "bench_conn.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/tcp.h>
#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <unistd.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

/* Idle connections hold thousands of these: start small, grow on demand. */
#define IN_CAP_IDLE ((size_t)1024)
#define IN_CAP_BUSY ((size_t)64 * 1024)
/* A server frame larger than this ends the connection: a bench client has
 * no use for more, and a length field gone wrong must not allocate 2^63. */
#define MAX_FRAME     ((size_t)64 * 1024 * 1024)
#define HANDSHAKE_MAX 4096u

enum {
	OP_CONT = 0x0,
	OP_TEXT = 0x1,
	OP_BINARY = 0x2,
	OP_CLOSE = 0x8,
	OP_PING = 0x9,
	OP_PONG = 0xA
};

/* The masking keys need not be secret here (RFC 6455 wants them
 * unpredictable to stop cache poisoning by scripts, not by our own load
 * generator); a fast generator keeps masking out of the profile. */
static uint64_t rng_state;

static uint32_t next_mask(void)
{
	if (rng_state == 0) {
		if (getrandom(&rng_state, sizeof(rng_state), 0) != (ssize_t)sizeof(rng_state))
			rng_state = (uint64_t)getpid() * 0x9E3779B97F4A7C15ull;
		rng_state |= 1u;
	}
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return (uint32_t)((rng_state * 0x2545F4914F6CDD1Dull) >> 32);
}

static int reserve(uint8_t **buf, size_t *cap, size_t need)
{
	if (need <= *cap)
		return 0;
	size_t n = *cap ? *cap : 256u;
	while (n < need)
		n *= 2;
	uint8_t *p = realloc(*buf, n);
	if (!p)
		return -1;
	*buf = p;
	*cap = n;
	return 0;
}

static int queue_bytes(struct bench_conn *c, const void *data, size_t len)
{
	/* Written bytes at the front are dropped before growing. */
	if (c->out_off > 0 && c->out_off == c->out_len) {
		c->out_off = 0;
		c->out_len = 0;
	}
	if (c->out_len + len > c->out_cap && c->out_off > 0) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (reserve(&c->out, &c->out_cap, c->out_len + len) != 0)
		return -1;
	memcpy(c->out + c->out_len, data, len);
	c->out_len += len;
	return 0;
}

int conn_queue_frame(struct bench_conn *c, uint8_t opcode, const uint8_t *payload, size_t len)
{
	uint8_t head[14];
	size_t n = 0;
	head[n++] = (uint8_t)(0x80u | opcode);
	if (len < 126) {
		head[n++] = (uint8_t)(0x80u | len);
	} else if (len <= 0xFFFF) {
		head[n++] = 0x80u | 126u;
		head[n++] = (uint8_t)(len >> 8);
		head[n++] = (uint8_t)len;
	} else {
		head[n++] = 0x80u | 127u;
		for (int shift = 56; shift >= 0; shift -= 8)
			head[n++] = (uint8_t)((uint64_t)len >> shift);
	}
	uint32_t mask = next_mask();
	uint8_t key[4] = {(uint8_t)(mask >> 24), (uint8_t)(mask >> 16), (uint8_t)(mask >> 8),
	                  (uint8_t)mask};
	memcpy(head + n, key, 4);
	n += 4;
	if (queue_bytes(c, head, n) != 0 || reserve(&c->out, &c->out_cap, c->out_len + len) != 0)
		return -1;
	uint8_t *dst = c->out + c->out_len;
	for (size_t i = 0; i < len; i++)
		dst[i] = payload[i] ^ key[i & 3u];
	c->out_len += len;
	return 0;
}

size_t conn_pending(const struct bench_conn *c)
{
	return c->out_len - c->out_off;
}

static int set_nonblocking(int fd)
{
	int flags = fcntl(fd, F_GETFL, 0);
	return flags < 0 ? -1 : fcntl(fd, F_SETFL, flags | O_NONBLOCK);
}

static void expected_accept(const char *key, char out[32])
{
	char joined[64];
	int n = snprintf(joined, sizeof(joined), "%s%s", key, WS_GUID);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	if (n < 0 || EVP_Digest(joined, (size_t)n, digest, &dlen, EVP_sha1(), NULL) != 1) {
		out[0] = '\0';
		return;
	}
	EVP_EncodeBlock((unsigned char *)out, digest, (int)dlen);
}

/* With --ca, the certificate must name the address connected to. */
static int start_tls(struct bench_conn *c, const struct sockaddr_in *addr, SSL_CTX *tls)
{
	c->ssl = SSL_new(tls);
	char ip[INET_ADDRSTRLEN];
	if (!c->ssl || !inet_ntop(AF_INET, &addr->sin_addr, ip, sizeof(ip)) ||
	    X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(c->ssl), ip) != 1 ||
	    SSL_set_fd(c->ssl, c->fd) != 1) {
		ERR_clear_error();
		errno = ENOMEM;
		return -1;
	}
	SSL_set_connect_state(c->ssl);
	return 0;
}

int conn_open(struct bench_conn *c, const struct sockaddr_in *addr, const char *host_header,
              const char *path, SSL_CTX *tls)
{
	c->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c->fd < 0)
		return -1;
	int one = 1;
	/* Publishers' frames must leave at once, not wait for an ACK. */
	(void)setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (set_nonblocking(c->fd) != 0)
		return -1;
	if (connect(c->fd, (const struct sockaddr *)addr, sizeof(*addr)) != 0 &&
	    errno != EINPROGRESS)
		return -1;
	if (tls && start_tls(c, addr, tls) != 0)
		return -1;

	unsigned char nonce[16];
	if (getrandom(nonce, sizeof(nonce), 0) != (ssize_t)sizeof(nonce))
		return -1;
	char key[32];
	EVP_EncodeBlock((unsigned char *)key, nonce, (int)sizeof(nonce));
	expected_accept(key, c->accept);
	char request[512];
	int n = snprintf(request, sizeof(request),
	                 "GET %s HTTP/1.1\r\nHost: %s\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Key: %s\r\n"
	                 "Sec-WebSocket-Version: 13\r\n\r\n",
	                 path, host_header, key);
	if (n < 0 || (size_t)n >= sizeof(request) || queue_bytes(c, request, (size_t)n) != 0)
		return -1;
	size_t in_cap =
	    (c->role == ROLE_SUBSCRIBER || c->role == ROLE_PUBLISHER) ? IN_CAP_BUSY : IN_CAP_IDLE;
	if (reserve(&c->in, &c->in_cap, in_cap) != 0)
		return -1;
	c->state = CONN_HANDSHAKE;
	return 0;
}

/* SSL_write's answer as send()'s; -2 when TLS needs the peer's handshake
 * messages first. */
static ssize_t tls_send(struct bench_conn *c, const void *data, size_t len)
{
	ERR_clear_error();
	int n = SSL_write(c->ssl, data, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	int err = SSL_get_error(c->ssl, n);
	ERR_clear_error();
	if (err == SSL_ERROR_WANT_READ)
		return -2;
	errno = err == SSL_ERROR_WANT_WRITE ? EAGAIN : EPIPE;
	return -1;
}

/* SSL_read's answer as recv()'s. */
static ssize_t tls_recv(struct bench_conn *c, void *buf, size_t len)
{
	ERR_clear_error();
	int n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
	if (n > 0)
		return n;
	int err = SSL_get_error(c->ssl, n);
	ERR_clear_error();
	if (err == SSL_ERROR_ZERO_RETURN)
		return 0;
	/* A read that must write first (a handshake message) finds the socket
	 * writable on a fresh connection; the next event retries. */
	errno = (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE) ? EAGAIN : ECONNRESET;
	return -1;
}

int conn_flush(struct bench_conn *c)
{
	while (c->out_off < c->out_len) {
		size_t len = c->out_len - c->out_off;
		ssize_t n = c->ssl ? tls_send(c, c->out + c->out_off, len)
		                   : send(c->fd, c->out + c->out_off, len, MSG_NOSIGNAL);
		if (n == -2)
			return 0;
		if (n > 0) {
			c->out_off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		/* A connect still under way reports ENOTCONN on some kernels and
		 * EAGAIN on others: both mean "later". */
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == ENOTCONN))
			return 1;
		return -1;
	}
	c->out_off = 0;
	c->out_len = 0;
	return 0;
}

static int fail(struct bench_conn *c)
{
	c->failed = true;
	c->state = CONN_CLOSED;
	return -1;
}

/* Looks for the end of the 101 response; 1 when it is complete and right,
 * 0 when more is needed, -1 when it is not a WebSocket upgrade. */
static int parse_handshake(struct bench_conn *c, size_t *used)
{
	const uint8_t *end = memmem(c->in, c->in_len, "\r\n\r\n", 4);
	if (!end)
		return c->in_len > HANDSHAKE_MAX ? -1 : 0;
	size_t head_len = (size_t)(end - c->in) + 4;
	char head[HANDSHAKE_MAX + 1];
	if (head_len > HANDSHAKE_MAX)
		return -1;
	memcpy(head, c->in, head_len);
	head[head_len] = '\0';
	if (strncmp(head, "HTTP/1.1 101", 12) != 0)
		return -1;
	bool accepted = false;
	for (char *line = strstr(head, "\r\n"); line && !accepted;
	     line = strstr(line + 2, "\r\n")) {
		static const char name[] = "Sec-WebSocket-Accept:";
		if (strncasecmp(line + 2, name, sizeof(name) - 1) != 0)
			continue;
		const char *v = line + 2 + sizeof(name) - 1;
		while (*v == ' ' || *v == '\t')
			v++;
		size_t alen = strlen(c->accept);
		accepted = alen > 0 && strncmp(v, c->accept, alen) == 0 &&
		           (v[alen] == '\r' || v[alen] == ' ');
	}
	*used = head_len;
	return accepted ? 1 : -1;
}

/* Adds a fragment to the message being put together; -1 when too big. */
static int append_fragment(struct bench_conn *c, const uint8_t *payload, size_t len)
{
	if (c->message_len + len > MAX_FRAME ||
	    reserve(&c->message, &c->message_cap, c->message_len + len) != 0)
		return -1;
	memcpy(c->message + c->message_len, payload, len);
	c->message_len += len;
	return 0;
}

/* Handles one whole frame; -1 when the connection is over. */
static int handle_frame(struct bench_conn *c, uint8_t b0, const uint8_t *payload, size_t len,
                        conn_message_fn fn, void *ctx)
{
	bool fin = (b0 & 0x80u) != 0;
	uint8_t op = b0 & 0x0Fu;
	switch (op) {
	case OP_TEXT:
	case OP_BINARY:
		if (c->in_message)
			return fail(c);
		if (fin) {
			fn(ctx, c, payload, len);
			return 0;
		}
		c->in_message = true;
		c->message_len = 0;
		return append_fragment(c, payload, len) == 0 ? 0 : fail(c);
	case OP_CONT:
		if (!c->in_message || append_fragment(c, payload, len) != 0)
			return fail(c);
		if (fin) {
			c->in_message = false;
			fn(ctx, c, c->message, c->message_len);
		}
		return 0;
	case OP_PING:
		return conn_queue_frame(c, OP_PONG, payload, len) == 0 ? 0 : fail(c);
	case OP_PONG:
		return 0;
	case OP_CLOSE:
		c->close_received = true;
		c->close_code =
		    len >= 2 ? (uint16_t)(payload[0] << 8 | payload[1]) : (uint16_t)1005;
		/* Echo the code, as RFC 6455 asks, then stop reading. */
		(void)conn_queue_frame(c, OP_CLOSE, payload, len >= 2 ? 2 : 0);
		(void)conn_flush(c);
		c->state = CONN_CLOSED;
		return -1;
	default:
		return fail(c);
	}
}

/* Parses every whole frame in the read buffer; keeps a partial one. */
static int parse_frames(struct bench_conn *c, size_t pos, conn_message_fn fn, void *ctx)
{
	int rc = 0;
	while (rc == 0 && c->in_len - pos >= 2) {
		const uint8_t *p = c->in + pos;
		size_t avail = c->in_len - pos;
		/* Servers never mask, and we negotiated no extension (RSV bits). */
		if ((p[1] & 0x80u) != 0 || (p[0] & 0x70u) != 0)
			return fail(c);
		uint64_t len = p[1] & 0x7Fu;
		size_t hlen = 2;
		if (len == 126) {
			if (avail < 4)
				break;
			len = (uint64_t)p[2] << 8 | p[3];
			hlen = 4;
		} else if (len == 127) {
			if (avail < 10)
				break;
			len = 0;
			for (int i = 2; i < 10; i++)
				len = len << 8 | p[i];
			hlen = 10;
		}
		if (len > MAX_FRAME)
			return fail(c);
		if (avail < hlen + len) {
			if (reserve(&c->in, &c->in_cap, hlen + (size_t)len) != 0)
				return fail(c);
			break;
		}
		rc = handle_frame(c, p[0], p + hlen, (size_t)len, fn, ctx);
		pos += hlen + (size_t)len;
	}
	if (pos > 0 && c->state != CONN_CLOSED) {
		memmove(c->in, c->in + pos, c->in_len - pos);
		c->in_len -= pos;
	}
	return rc;
}

int conn_read(struct bench_conn *c, conn_message_fn fn, void *ctx)
{
	/* Bounded per call, so one busy socket cannot starve the others.
	 * Plaintext TLS has decrypted already is read whatever the count: no
	 * event would announce it. */
	for (int round = 0; round < 16 || (c->ssl && SSL_pending(c->ssl) > 0); round++) {
		if (c->in_len == c->in_cap &&
		    reserve(&c->in, &c->in_cap, c->in_cap ? c->in_cap * 2 : IN_CAP_IDLE) != 0)
			return fail(c);
		ssize_t n = c->ssl ? tls_recv(c, c->in + c->in_len, c->in_cap - c->in_len)
		                   : recv(c->fd, c->in + c->in_len, c->in_cap - c->in_len, 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return 0;
		if (n <= 0)
			return fail(c);
		c->in_len += (size_t)n;
		size_t pos = 0;
		if (c->state == CONN_HANDSHAKE) {
			int hs = parse_handshake(c, &pos);
			if (hs < 0)
				return fail(c);
			if (hs == 0)
				continue;
			c->state = CONN_OPEN;
		}
		if (parse_frames(c, pos, fn, ctx) != 0)
			return -1;
		if ((size_t)n < c->in_cap / 2 && !(c->ssl && SSL_pending(c->ssl) > 0))
			return 0;
	}
	return 0;
}

void conn_free(struct bench_conn *c)
{
	SSL_free(c->ssl);
	c->ssl = NULL;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	free(c->in);
	free(c->out);
	free(c->message);
	c->in = c->out = c->message = NULL;
	c->in_cap = c->out_cap = c->message_cap = 0;
}
