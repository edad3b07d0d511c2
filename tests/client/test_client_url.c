/* wsrelay-client's URL parsing: what it accepts, what it refuses and why. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "ws_url.h"

static struct ws_url parse_ok(const char *text)
{
	struct ws_url url;
	char err[256] = "";
	if (ws_url_parse(text, &url, err, sizeof(err)) != 0)
		fail_msg("'%s' refused: %s", text, err);
	return url;
}

/* Returns the error message, which must mention `expect`. */
static void parse_fails(const char *text, const char *expect)
{
	struct ws_url url;
	char err[256] = "";
	if (ws_url_parse(text, &url, err, sizeof(err)) == 0)
		fail_msg("'%s' accepted", text);
	if (!strstr(err, expect))
		fail_msg("'%s': error '%s' does not mention '%s'", text, err, expect);
}

static void test_default_url(void **state)
{
	(void)state;
	struct ws_url url = parse_ok("ws://localhost:8443/ws");
	assert_false(url.tls);
	assert_false(url.host_is_ipv6);
	assert_string_equal(url.host, "localhost");
	assert_int_equal(url.port, 8443);
	assert_string_equal(url.path, "/ws");
}

static void test_default_ports_and_path(void **state)
{
	(void)state;
	struct ws_url url = parse_ok("ws://example.com");
	assert_int_equal(url.port, 80);
	assert_string_equal(url.path, "/");
	url = parse_ok("wss://example.com");
	assert_true(url.tls);
	assert_int_equal(url.port, 443);
	assert_string_equal(url.path, "/");
	/* An explicit port wins over the scheme's default. */
	url = parse_ok("wss://example.com:80/x");
	assert_int_equal(url.port, 80);
}

static void test_scheme_is_case_insensitive(void **state)
{
	(void)state;
	struct ws_url url = parse_ok("WSS://Relay.Example:9443/A/b");
	assert_true(url.tls);
	assert_string_equal(url.host, "Relay.Example");
	assert_int_equal(url.port, 9443);
	assert_string_equal(url.path, "/A/b");
	assert_false(parse_ok("Ws://h/").tls);
}

static void test_query_is_kept(void **state)
{
	(void)state;
	assert_string_equal(parse_ok("ws://h:1/ws?room=a&x=%20").path, "/ws?room=a&x=%20");
	/* A query straight after the authority gets the root path. */
	struct ws_url url = parse_ok("ws://h:2?x=1");
	assert_int_equal(url.port, 2);
	assert_string_equal(url.path, "/?x=1");
}

static void test_ipv4_and_ipv6_literals(void **state)
{
	(void)state;
	struct ws_url url = parse_ok("ws://127.0.0.1:65535/");
	assert_string_equal(url.host, "127.0.0.1");
	assert_int_equal(url.port, 65535);

	url = parse_ok("ws://[::1]:9000/ws");
	assert_true(url.host_is_ipv6);
	assert_string_equal(url.host, "::1");
	assert_int_equal(url.port, 9000);
	assert_string_equal(url.path, "/ws");

	url = parse_ok("wss://[2001:db8::42]");
	assert_string_equal(url.host, "2001:db8::42");
	assert_int_equal(url.port, 443);
	assert_string_equal(url.path, "/");
}

static void test_leading_zeros_in_port(void **state)
{
	(void)state;
	assert_int_equal(parse_ok("ws://h:00080/").port, 80);
}

static void test_refused_schemes(void **state)
{
	(void)state;
	parse_fails("http://localhost/ws", "scheme 'http' is not ws or wss");
	parse_fails("wsx://localhost/ws", "not ws or wss");
	parse_fails("localhost:8443/ws", "not a URL");
	parse_fails("", "not a URL");
}

static void test_refused_hosts(void **state)
{
	(void)state;
	parse_fails("ws://", "no host");
	parse_fails("ws:///ws", "no host");
	parse_fails("ws://:80/", "no host");
	parse_fails("ws://::1/", "IPv6 addresses go in brackets");
	parse_fails("ws://h st/", "bad character ' '");
	parse_fails("ws://user:pw@h/", "'@'");
	parse_fails("ws://[::1/", "missing ']'");
	parse_fails("ws://[]/", "bad IPv6 address");
	parse_fails("ws://[zz::1]/", "bad IPv6 address '[zz::1]'");
	parse_fails("ws://[fe80::1%25eth0]/", "bad IPv6 address");
	parse_fails("ws://[127.0.0.1]/", "bad IPv6 address");
	parse_fails("ws://[::1]x/", "unexpected 'x' after the host");

	char long_host[WS_URL_HOST_MAX + 16] = "ws://";
	memset(long_host + 5, 'a', WS_URL_HOST_MAX);
	long_host[5 + WS_URL_HOST_MAX] = '\0';
	parse_fails(long_host, "host name too long");
}

static void test_refused_ports(void **state)
{
	(void)state;
	parse_fails("ws://h:/", "empty port");
	parse_fails("ws://h:0/", "port 0");
	parse_fails("ws://h:65536/", "out of range");
	parse_fails("ws://h:99999999999999999999/", "out of range");
	parse_fails("ws://h:8o/", "not a number");
	parse_fails("ws://h:-1/", "not a number");
	parse_fails("ws://[::1]:/", "empty port");
}

static void test_refused_paths(void **state)
{
	(void)state;
	parse_fails("ws://h/ws#top", "fragments");
	parse_fails("ws://h#top", "fragments");
	parse_fails("ws://h/a b", "bad character 0x20");
	/* CRLF would let the path inject headers into the handshake. */
	parse_fails("ws://h/ws\r\nX-Evil: 1", "bad character 0x0d");
	parse_fails("ws://h/caf\xC3\xA9", "bad character 0xc3");

	char long_path[WS_URL_PATH_MAX + 32] = "ws://h/";
	memset(long_path + 7, 'p', WS_URL_PATH_MAX);
	long_path[7 + WS_URL_PATH_MAX] = '\0';
	parse_fails(long_path, "path too long");
}

static void test_format_is_canonical(void **state)
{
	(void)state;
	char buf[WS_URL_HOST_MAX + WS_URL_PATH_MAX + 32];
	struct ws_url url = parse_ok("WS://[::1]/ws?x=1");
	ws_url_format(&url, buf, sizeof(buf));
	assert_string_equal(buf, "ws://[::1]:80/ws?x=1");
	url = parse_ok("wss://example.com");
	ws_url_format(&url, buf, sizeof(buf));
	assert_string_equal(buf, "wss://example.com:443/");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_default_url),
	    cmocka_unit_test(test_default_ports_and_path),
	    cmocka_unit_test(test_scheme_is_case_insensitive),
	    cmocka_unit_test(test_query_is_kept),
	    cmocka_unit_test(test_ipv4_and_ipv6_literals),
	    cmocka_unit_test(test_leading_zeros_in_port),
	    cmocka_unit_test(test_refused_schemes),
	    cmocka_unit_test(test_refused_hosts),
	    cmocka_unit_test(test_refused_ports),
	    cmocka_unit_test(test_refused_paths),
	    cmocka_unit_test(test_format_is_canonical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
