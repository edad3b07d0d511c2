/* wsrelay-bench's client side of RFC 6455 over a socketpair, playing the
 * server by hand: the 101 and frames arriving together, a fragmented message
 * with a ping between its fragments, 16- and 64-bit lengths, frames split
 * across reads, and the close handshake. The relay itself never fragments,
 * so only this test reaches those paths. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_conn.h"

struct received {
	size_t count;
	size_t lengths[8];
	uint8_t first[8];
	uint8_t last[8];
};

static void record(void *ctx, struct bench_conn *c, const uint8_t *payload, size_t len)
{
	(void)c;
	struct received *r = ctx;
	if (r->count < 8) {
		r->lengths[r->count] = len;
		r->first[r->count] = len ? payload[0] : 0;
		r->last[r->count] = len ? payload[len - 1] : 0;
	}
	r->count++;
}

/* A server frame (never masked) into buf; returns its length. */
static size_t server_frame(uint8_t *buf, uint8_t b0, uint8_t fill, size_t len)
{
	size_t n = 0;
	buf[n++] = b0;
	if (len < 126) {
		buf[n++] = (uint8_t)len;
	} else if (len <= 0xFFFF) {
		buf[n++] = 126;
		buf[n++] = (uint8_t)(len >> 8);
		buf[n++] = (uint8_t)len;
	} else {
		buf[n++] = 127;
		for (int shift = 56; shift >= 0; shift -= 8)
			buf[n++] = (uint8_t)((uint64_t)len >> shift);
	}
	memset(buf + n, fill, len);
	return n + len;
}

static void write_all(int fd, const uint8_t *p, size_t len)
{
	while (len > 0) {
		ssize_t n = write(fd, p, len);
		assert_true(n > 0);
		p += n;
		len -= (size_t)n;
	}
}

/* Reads one client frame from fd: checks the mask bit and unmasks it. */
static size_t client_frame(int fd, uint8_t *opcode, uint8_t *payload, size_t cap)
{
	uint8_t head[14];
	assert_int_equal(read(fd, head, 2), 2);
	*opcode = head[0] & 0x0F;
	assert_true((head[0] & 0x80) != 0);
	assert_true((head[1] & 0x80) != 0); /* clients must mask */
	size_t len = head[1] & 0x7F;
	assert_true(len < 126);
	assert_true(len <= cap);
	uint8_t key[4];
	assert_int_equal(read(fd, key, 4), 4);
	if (len > 0)
		assert_int_equal(read(fd, payload, len), (ssize_t)len);
	for (size_t i = 0; i < len; i++)
		payload[i] ^= key[i & 3];
	return len;
}

/* Calls conn_read until it has nothing more (the socketpair is blocking
 * only on our side's writes: reads see what is there). */
static int drain(struct bench_conn *c, struct received *r)
{
	return conn_read(c, record, r);
}

static void test_frames_fragments_ping_and_close(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct bench_conn c;
	memset(&c, 0, sizeof(c));
	c.fd = sv[0];
	c.role = ROLE_SUBSCRIBER;
	c.state = CONN_HANDSHAKE;
	strcpy(c.accept, "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");

	size_t cap = 200000;
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	size_t n = 0;
	const char *response = "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                       "Connection: Upgrade\r\nsec-websocket-accept: "
	                       "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n";
	/* The NUL is overwritten by the first frame. */
	n += (size_t)snprintf((char *)buf, cap, "%s", response);
	n += server_frame(buf + n, 0x82, 'a', 10);    /* whole, 7-bit length */
	n += server_frame(buf + n, 0x01, 'b', 3);     /* text, first fragment */
	n += server_frame(buf + n, 0x89, 'p', 4);     /* ping in between */
	n += server_frame(buf + n, 0x00, 'c', 300);   /* continuation, 16-bit length */
	n += server_frame(buf + n, 0x80, 'd', 2);     /* last fragment */
	n += server_frame(buf + n, 0x82, 'e', 70000); /* 64-bit length */
	struct received r;
	memset(&r, 0, sizeof(r));
	/* In two pieces cut inside a frame header, as TCP may deliver them. */
	size_t cut = strlen(response) + 12 + 1;
	write_all(sv[1], buf, cut);
	assert_int_equal(drain(&c, &r), 0);
	assert_int_equal(c.state, CONN_OPEN);
	assert_int_equal(r.count, 1);
	/* The rest: more than a socketpair buffer may take at once. */
	size_t off = cut;
	while (off < n) {
		ssize_t w = write(sv[1], buf + off, n - off);
		if (w > 0)
			off += (size_t)w;
		assert_int_equal(drain(&c, &r), 0);
	}
	while (r.count < 3)
		assert_int_equal(drain(&c, &r), 0);
	assert_int_equal(r.count, 3);
	assert_int_equal(r.lengths[0], 10);
	assert_int_equal(r.first[0], 'a');
	assert_int_equal(r.lengths[1], 305);
	assert_int_equal(r.first[1], 'b');
	assert_int_equal(r.last[1], 'd');
	assert_int_equal(r.lengths[2], 70000);
	assert_int_equal(r.last[2], 'e');

	/* The ping was answered with a masked pong carrying its payload. */
	assert_int_equal(conn_flush(&c), 0);
	uint8_t opcode = 0;
	uint8_t payload[125] = {0};
	assert_int_equal(client_frame(sv[1], &opcode, payload, sizeof(payload)), 4);
	assert_int_equal(opcode, 0xA);
	assert_memory_equal(payload, "pppp", 4);

	/* A close (1000) ends the connection and is echoed. */
	uint8_t close_frame[4] = {0x88, 2, 0x03, 0xE8};
	write_all(sv[1], close_frame, sizeof(close_frame));
	assert_int_equal(drain(&c, &r), -1);
	assert_int_equal(c.state, CONN_CLOSED);
	assert_true(c.close_received);
	assert_int_equal(c.close_code, 1000);
	assert_false(c.failed);
	assert_int_equal(client_frame(sv[1], &opcode, payload, sizeof(payload)), 2);
	assert_int_equal(opcode, 0x8);
	assert_int_equal(payload[0] << 8 | payload[1], 1000);

	free(buf);
	conn_free(&c);
	close(sv[1]);
}

static void test_protocol_errors_end_the_connection(void **state)
{
	(void)state;
	static const uint8_t masked_by_server[] = {0x82, 0x81, 1, 2, 3, 4, 'x'};
	static const uint8_t continuation_first[] = {0x80, 0x01, 'x'};
	static const uint8_t reserved_bits[] = {0xC2, 0x01, 'x'};
	static const uint8_t unknown_opcode[] = {0x83, 0x00};
	const struct {
		const uint8_t *bytes;
		size_t len;
	} cases[] = {
	    {masked_by_server, sizeof(masked_by_server)},
	    {continuation_first, sizeof(continuation_first)},
	    {reserved_bits, sizeof(reserved_bits)},
	    {unknown_opcode, sizeof(unknown_opcode)},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		int sv[2];
		assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
		struct bench_conn c;
		memset(&c, 0, sizeof(c));
		c.fd = sv[0];
		c.state = CONN_OPEN;
		write_all(sv[1], cases[i].bytes, cases[i].len);
		struct received r;
		memset(&r, 0, sizeof(r));
		assert_int_equal(drain(&c, &r), -1);
		assert_true(c.failed);
		assert_int_equal(r.count, 0);
		conn_free(&c);
		close(sv[1]);
	}
}

static void test_refused_handshake_fails(void **state)
{
	(void)state;
	int sv[2];
	assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK, 0, sv), 0);
	struct bench_conn c;
	memset(&c, 0, sizeof(c));
	c.fd = sv[0];
	c.state = CONN_HANDSHAKE;
	strcpy(c.accept, "x");
	const char *busy = "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n";
	write_all(sv[1], (const uint8_t *)busy, strlen(busy));
	struct received r;
	memset(&r, 0, sizeof(r));
	assert_int_equal(drain(&c, &r), -1);
	assert_true(c.failed);
	conn_free(&c);
	close(sv[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames_fragments_ping_and_close),
	    cmocka_unit_test(test_protocol_errors_end_the_connection),
	    cmocka_unit_test(test_refused_handshake_fails),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
