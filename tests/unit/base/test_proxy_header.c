/* The PROXY protocol header parser (proxy_header.c): versions 1 and 2,
 * every prefix of a good header, and each malformed shape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <cmocka.h>

#include "proxy_header.h"

static const uint8_t sig2[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                 0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

static enum proxy_header_status parse_text(const char *text, struct proxy_header *h)
{
	return proxy_header_parse((const uint8_t *)text, strlen(text), h);
}

/* Every proper prefix of a good header asks for more, never for less than
 * one more byte nor for more than the whole; the whole is DONE. */
static void assert_prefixes_need_more(const uint8_t *buf, size_t len, size_t header_len)
{
	struct proxy_header h;
	for (size_t i = 0; i < header_len; i++) {
		assert_int_equal(proxy_header_parse(buf, i, &h), PROXY_HEADER_NEED_MORE);
		assert_true(h.length > i);
		assert_true(h.length <= header_len);
	}
	assert_int_equal(proxy_header_parse(buf, len, &h), PROXY_HEADER_DONE);
	assert_int_equal(h.length, header_len);
}

static void assert_ipv4(const struct proxy_header *h, const char *addr, uint16_t port)
{
	assert_int_equal(h->kind, PROXY_SOURCE_INET);
	const struct sockaddr_in *sin = (const struct sockaddr_in *)&h->source;
	assert_int_equal(sin->sin_family, AF_INET);
	char text[INET_ADDRSTRLEN];
	assert_non_null(inet_ntop(AF_INET, &sin->sin_addr, text, sizeof(text)));
	assert_string_equal(text, addr);
	assert_int_equal(ntohs(sin->sin_port), port);
}

static void assert_ipv6(const struct proxy_header *h, const char *addr, uint16_t port)
{
	assert_int_equal(h->kind, PROXY_SOURCE_INET6);
	const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)&h->source;
	assert_int_equal(sin6->sin6_family, AF_INET6);
	char text[INET6_ADDRSTRLEN];
	assert_non_null(inet_ntop(AF_INET6, &sin6->sin6_addr, text, sizeof(text)));
	assert_string_equal(text, addr);
	assert_int_equal(ntohs(sin6->sin6_port), port);
}

/* ---- version 1 ---- */

static void test_v1_tcp4(void **state)
{
	(void)state;
	static const char line[] = "PROXY TCP4 192.0.2.1 198.51.100.2 51234 443\r\n";
	/* The client's request follows in the same read: not part of it. */
	static const char with_request[] =
	    "PROXY TCP4 192.0.2.1 198.51.100.2 51234 443\r\nGET / HTTP/1.1\r\n";
	struct proxy_header h;
	assert_int_equal(parse_text(with_request, &h), PROXY_HEADER_DONE);
	assert_int_equal(h.version, 1);
	assert_int_equal(h.length, strlen(line));
	assert_ipv4(&h, "192.0.2.1", 51234);
	assert_prefixes_need_more((const uint8_t *)with_request, strlen(with_request),
	                          strlen(line));
}

static void test_v1_tcp6(void **state)
{
	(void)state;
	static const char line[] = "PROXY TCP6 2001:db8::1 2001:db8::2 0 65535\r\n";
	struct proxy_header h;
	assert_int_equal(parse_text(line, &h), PROXY_HEADER_DONE);
	assert_ipv6(&h, "2001:db8::1", 0);
	assert_prefixes_need_more((const uint8_t *)line, strlen(line), strlen(line));
}

static void test_v1_unknown_keeps_the_peer(void **state)
{
	(void)state;
	struct proxy_header h;
	assert_int_equal(parse_text("PROXY UNKNOWN\r\n", &h), PROXY_HEADER_DONE);
	assert_int_equal(h.kind, PROXY_SOURCE_LOCAL);
	assert_int_equal(h.length, 15);
	/* Whatever follows UNKNOWN is ignored. */
	assert_int_equal(parse_text("PROXY UNKNOWN ffff::1 ffff::2 1 2\r\n", &h),
	                 PROXY_HEADER_DONE);
	assert_int_equal(h.kind, PROXY_SOURCE_LOCAL);
}

static void test_v1_longest(void **state)
{
	(void)state;
	/* 107 bytes with the CRLF is the most; 108 is refused, with or without
	 * the CRLF in sight. */
	static const char unknown[14] = {'P', 'R', 'O', 'X', 'Y', ' ', 'U',
	                                 'N', 'K', 'N', 'O', 'W', 'N', ' '};
	static const char crlf[2] = {'\r', '\n'};
	char line[128];
	memset(line, 'x', sizeof(line));
	memcpy(line, unknown, sizeof(unknown));
	memcpy(line + 105, crlf, sizeof(crlf));
	struct proxy_header h;
	assert_int_equal(proxy_header_parse((const uint8_t *)line, 107, &h), PROXY_HEADER_DONE);
	assert_int_equal(h.length, 107);
	memset(line, 'x', sizeof(line));
	memcpy(line, unknown, sizeof(unknown));
	memcpy(line + 106, crlf, sizeof(crlf));
	assert_int_equal(proxy_header_parse((const uint8_t *)line, 108, &h), PROXY_HEADER_INVALID);
	assert_int_equal(proxy_header_parse((const uint8_t *)line, 106, &h), PROXY_HEADER_INVALID);
	assert_int_equal(proxy_header_parse((const uint8_t *)line, 105, &h),
	                 PROXY_HEADER_NEED_MORE);
	/* The longest TCP6 form a balancer writes. */
	static const char tcp6[] = "PROXY TCP6 ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff "
	                           "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff 65535 65535\r\n";
	assert_int_equal(parse_text(tcp6, &h), PROXY_HEADER_DONE);
	assert_ipv6(&h, "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", 65535);
}

static void test_v1_malformed(void **state)
{
	(void)state;
	static const char *const bad[] = {
	    "PROXY TCP5 192.0.2.1 192.0.2.2 1 2\r\n",     /* no such protocol */
	    "PROXY tcp4 192.0.2.1 192.0.2.2 1 2\r\n",     /* case matters */
	    "PROXY  TCP4 192.0.2.1 192.0.2.2 1 2\r\n",    /* two spaces */
	    "PROXY TCP4  192.0.2.1 192.0.2.2 1 2\r\n",    /* two spaces */
	    "PROXY TCP4 192.0.2.1 192.0.2.2 1 2 \r\n",    /* a trailing space */
	    "PROXY TCP4 192.0.2.1 192.0.2.2 1\r\n",       /* a field missing */
	    "PROXY TCP4 192.0.2.1 192.0.2.2 1 2 3\r\n",   /* one too many */
	    "PROXY TCP4\r\n",                             /* no addresses */
	    "PROXY TCP4 \r\n",                            /* empty fields */
	    "PROXY \r\n",                                 /* no protocol */
	    "PROXY TCP4 192.0.2.1 192.0.2.2 65536 2\r\n", /* port out of range */
	    "PROXY TCP4 192.0.2.1 192.0.2.2 080 2\r\n",   /* leading zero */
	    "PROXY TCP4 192.0.2.1 192.0.2.2 +80 2\r\n",   /* a sign */
	    "PROXY TCP4 192.0.2.1 192.0.2.2 123456 2\r\n",
	    "PROXY TCP4 192.0.2.1 192.0.2.2 1 \r\n",
	    "PROXY TCP4 192.0.2.01 192.0.2.2 1 2\r\n", /* leading zero in an octet */
	    "PROXY TCP4 192.0.2 192.0.2.2 1 2\r\n",
	    "PROXY TCP4 2001:db8::1 192.0.2.2 1 2\r\n", /* IPv6 under TCP4 */
	    "PROXY TCP4 192.0.2.1 2001:db8::2 1 2\r\n", /* the destination too */
	    "PROXY TCP6 192.0.2.1 2001:db8::2 1 2\r\n", /* IPv4 under TCP6 */
	    "PROXY TCP6 [2001:db8::1] 2001:db8::2 1 2\r\n",
	    "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\n",  /* LF alone */
	    "PROXY TCP4 192.0.2.1 192.0.2.2 1 2\rX", /* CR alone */
	    "PROXY TCP4 192.0.2.1\n192.0.2.2 1 2\r\n",
	    "PROXY UNKNOWNX\r\n",
	    "PROXX TCP4 192.0.2.1 192.0.2.2 1 2\r\n", /* not the signature */
	    "proxy TCP4 192.0.2.1 192.0.2.2 1 2\r\n",
	    "PROXYTCP4 192.0.2.1 192.0.2.2 1 2\r\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		struct proxy_header h;
		if (parse_text(bad[i], &h) != PROXY_HEADER_INVALID)
			fail_msg("accepted: %s", bad[i]);
		assert_non_null(h.error);
	}
}

static void test_not_a_header(void **state)
{
	(void)state;
	struct proxy_header h;
	/* A client that sent no header: an HTTP request, a TLS ClientHello. */
	assert_int_equal(parse_text("GET /ws HTTP/1.1\r\n", &h), PROXY_HEADER_INVALID);
	assert_string_equal(h.error, "not a PROXY protocol header");
	static const uint8_t hello[] = {0x16, 0x03, 0x01, 0x02, 0x00};
	assert_int_equal(proxy_header_parse(hello, sizeof(hello), &h), PROXY_HEADER_INVALID);
	/* Decided at the first byte that differs, not after a whole line. */
	assert_int_equal(proxy_header_parse((const uint8_t *)"G", 1, &h), PROXY_HEADER_INVALID);
	assert_int_equal(proxy_header_parse((const uint8_t *)"PO", 2, &h), PROXY_HEADER_INVALID);
	assert_int_equal(proxy_header_parse(sig2, 5, &h), PROXY_HEADER_NEED_MORE);
	static const uint8_t near2[] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
	                                0x0A, 0x51, 0x55, 0x49, 0x54, 0x0B};
	assert_int_equal(proxy_header_parse(near2, sizeof(near2), &h), PROXY_HEADER_INVALID);
	assert_int_equal(proxy_header_parse(NULL, 0, &h), PROXY_HEADER_NEED_MORE);
	assert_int_equal(h.length, 1);
}

static void test_signatures(void **state)
{
	(void)state;
	assert_true(proxy_header_has_signature((const uint8_t *)"PROXY ", 6));
	assert_false(proxy_header_has_signature((const uint8_t *)"PROXY", 5));
	assert_true(proxy_header_may_be_signature((const uint8_t *)"PROXY", 5));
	assert_true(proxy_header_has_signature(sig2, 12));
	assert_false(proxy_header_has_signature(sig2, 11));
	assert_true(proxy_header_may_be_signature(sig2, 11));
	assert_false(proxy_header_may_be_signature((const uint8_t *)"POST", 4));
	assert_false(proxy_header_may_be_signature((const uint8_t *)"\r\n\r\nX", 5));
	assert_false(proxy_header_has_signature((const uint8_t *)"GET / HTTP/1.1\r\n", 16));
}

/* ---- version 2 ---- */

/* A version 2 header: command byte, family byte, then body. */
static size_t v2(uint8_t *out, uint8_t command, uint8_t family, const uint8_t *body, size_t len)
{
	memcpy(out, sig2, 12);
	out[12] = command;
	out[13] = family;
	out[14] = (uint8_t)(len >> 8);
	out[15] = (uint8_t)len;
	if (len)
		memcpy(out + 16, body, len);
	return 16 + len;
}

static void test_v2_tcp4(void **state)
{
	(void)state;
	uint8_t body[12] = {192, 0, 2, 1, 198, 51, 100, 2, 0xC8, 0x22, 0x01, 0xBB};
	uint8_t buf[64];
	size_t n = v2(buf, 0x21, 0x11, body, sizeof(body));
	static const uint8_t request[3] = {'G', 'E', 'T'};
	memcpy(buf + n, request, sizeof(request)); /* the client's bytes behind it */
	struct proxy_header h;
	assert_int_equal(proxy_header_parse(buf, n + sizeof(request), &h), PROXY_HEADER_DONE);
	assert_int_equal(h.version, 2);
	assert_int_equal(h.length, 28);
	assert_ipv4(&h, "192.0.2.1", 0xC822);
	assert_prefixes_need_more(buf, n, n);
}

static void test_v2_tcp6(void **state)
{
	(void)state;
	uint8_t body[36] = {0};
	body[0] = 0x20;
	body[1] = 0x01;
	body[2] = 0x0d;
	body[3] = 0xb8;
	body[15] = 0x07;
	body[32] = 0x01;
	body[33] = 0x02;
	uint8_t buf[64];
	size_t n = v2(buf, 0x21, 0x21, body, sizeof(body));
	struct proxy_header h;
	assert_int_equal(proxy_header_parse(buf, n, &h), PROXY_HEADER_DONE);
	assert_ipv6(&h, "2001:db8::7", 0x0102);
	assert_prefixes_need_more(buf, n, n);
}

static void test_v2_tlvs_are_skipped(void **state)
{
	(void)state;
	/* Addresses, then an ALPN TLV and a 300-byte one: the whole length is
	 * reported once the addresses are in, the TLVs need not be. */
	uint8_t body[12 + 5 + 303] = {10, 1, 2, 3, 10, 0, 0, 1, 0x13, 0x88, 0x01, 0xBB};
	static const uint8_t alpn[5] = {0x01, 0x00, 0x02, 'h', '2'};
	memcpy(body + 12, alpn, sizeof(alpn));
	body[17] = 0xE0;
	body[18] = 0x01;
	body[19] = 0x2C;
	uint8_t buf[16 + sizeof(body)];
	size_t n = v2(buf, 0x21, 0x11, body, sizeof(body));
	struct proxy_header h;
	assert_int_equal(proxy_header_parse(buf, 28, &h), PROXY_HEADER_DONE);
	assert_int_equal(h.length, n);
	assert_ipv4(&h, "10.1.2.3", 5000);
	assert_int_equal(proxy_header_parse(buf, n, &h), PROXY_HEADER_DONE);
	assert_int_equal(h.length, n);
	/* The longest a header can say it is. */
	buf[14] = 0xFF;
	buf[15] = 0xFF;
	assert_int_equal(proxy_header_parse(buf, 28, &h), PROXY_HEADER_DONE);
	assert_int_equal(h.length, 16 + 65535);
}

static void test_v2_local_and_unspec_keep_the_peer(void **state)
{
	(void)state;
	uint8_t buf[16 + 216];
	struct proxy_header h;
	/* LOCAL: the family and the addresses are ignored, whatever they are. */
	size_t n = v2(buf, 0x20, 0x00, NULL, 0);
	assert_int_equal(proxy_header_parse(buf, n, &h), PROXY_HEADER_DONE);
	assert_int_equal(h.kind, PROXY_SOURCE_LOCAL);
	assert_int_equal(h.length, 16);
	uint8_t junk[7] = {1, 2, 3, 4, 5, 6, 7};
	n = v2(buf, 0x20, 0x99, junk, sizeof(junk));
	assert_int_equal(proxy_header_parse(buf, 16, &h), PROXY_HEADER_DONE);
	assert_int_equal(h.kind, PROXY_SOURCE_LOCAL);
	assert_int_equal(h.length, n);
	/* PROXY with AF_UNSPEC, or a Unix socket's paths: nothing to count by. */
	n = v2(buf, 0x21, 0x00, junk, sizeof(junk));
	assert_int_equal(proxy_header_parse(buf, n, &h), PROXY_HEADER_DONE);
	assert_int_equal(h.kind, PROXY_SOURCE_LOCAL);
	uint8_t paths[216] = {'/'};
	n = v2(buf, 0x21, 0x31, paths, sizeof(paths));
	assert_int_equal(proxy_header_parse(buf, n, &h), PROXY_HEADER_DONE);
	assert_int_equal(h.kind, PROXY_SOURCE_LOCAL);
	assert_int_equal(h.length, 232);
}

static void test_v2_malformed(void **state)
{
	(void)state;
	uint8_t body[216] = {192, 0, 2, 1};
	static const struct {
		uint8_t command, family;
		size_t len;
	} bad[] = {
	    {0x11, 0x11, 12},                    /* version 1 in the binary form */
	    {0x31, 0x11, 12},                    /* version 3 */
	    {0x01, 0x11, 12},                    /* version 0 */
	    {0x22, 0x11, 12},                    /* command 2 */
	    {0x2F, 0x11, 12},  {0x21, 0x12, 12}, /* UDP over IPv4 */
	    {0x21, 0x22, 36},                    /* UDP over IPv6 */
	    {0x21, 0x32, 216}, {0x21, 0x41, 12}, /* no such family */
	    {0x21, 0x13, 12},                    /* no such transport */
	    {0x21, 0x10, 12},                    /* IPv4 with no transport */
	    {0x21, 0x01, 12},  {0x21, 0x11, 11}, /* shorter than its addresses */
	    {0x21, 0x11, 0},   {0x21, 0x21, 35}, {0x21, 0x21, 12}, {0x21, 0x31, 215},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint8_t buf[16 + sizeof(body)];
		size_t n = v2(buf, bad[i].command, bad[i].family, body, bad[i].len);
		struct proxy_header h;
		if (proxy_header_parse(buf, n, &h) != PROXY_HEADER_INVALID)
			fail_msg("accepted case %zu", i);
		assert_non_null(h.error);
		/* Known as soon as the fixed part is in. */
		assert_int_equal(proxy_header_parse(buf, 16, &h), PROXY_HEADER_INVALID);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_v1_tcp4),
	    cmocka_unit_test(test_v1_tcp6),
	    cmocka_unit_test(test_v1_unknown_keeps_the_peer),
	    cmocka_unit_test(test_v1_longest),
	    cmocka_unit_test(test_v1_malformed),
	    cmocka_unit_test(test_not_a_header),
	    cmocka_unit_test(test_signatures),
	    cmocka_unit_test(test_v2_tcp4),
	    cmocka_unit_test(test_v2_tcp6),
	    cmocka_unit_test(test_v2_tlvs_are_skipped),
	    cmocka_unit_test(test_v2_local_and_unspec_keep_the_peer),
	    cmocka_unit_test(test_v2_malformed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
