/* wsrelay-client end to end: the real client binary against the real relay,
 * with raw WebSocket clients on the other side. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "client_process.h"
#include "relay_process.h"
#include "tls_stub.h"
#include "ws_raw.h"
#include "test_file.h"

#define WAIT_MS 20000 /* only a failure waits this long */
/* Generous: the sanitizer builds are slow and CI machines busy. */
#define EXIT_WAIT_MS 20000

static struct relay_process relay;
static char url[128];

static const char echo_off_yaml[] = "server:\n"
                                    "  listen: \"127.0.0.1:@PORT@\"\n"
                                    "  max_connections: 16\n"
                                    "  document_root: \"\"\n"
                                    "relay:\n"
                                    "  echo_to_sender: false\n"
                                    "metrics:\n"
                                    "  enabled: false\n"
                                    "logging:\n"
                                    "  level: \"debug\"\n";

static const char ipv6_yaml[] = "server:\n"
                                "  listen: \"[::1]:@PORT@\"\n"
                                "  max_connections: 16\n"
                                "  document_root: \"\"\n"
                                "metrics:\n"
                                "  enabled: false\n"
                                "logging:\n"
                                "  level: \"debug\"\n";

static int start_relay(struct relay_process *rp, const char *yaml, char *rp_url, size_t cap)
{
	if (relay_start(rp, WSRELAY_BIN, yaml) != 0)
		return -1;
	snprintf(rp_url, cap, "ws://127.0.0.1:%u/ws", (unsigned)rp->port);
	return 0;
}

/* One relay serves every test that needs no special configuration: each
 * start and stop of a server costs about two seconds (CivetWeb's mg_stop). */
static int start_shared(void **state)
{
	(void)state;
	return start_relay(&relay, NULL, url, sizeof(url));
}

static int stop_shared(void **state)
{
	(void)state;
	return relay_stop(&relay, SIGTERM, 15000) == 0 ? 0 : -1;
}

static void connect_raw(struct ws_raw *c)
{
	int status = 0;
	ws_raw_init(c);
	if (ws_raw_connect(c, relay.port, "/ws", NULL, &status, WAIT_MS) != 0)
		fail_msg("handshake failed: status %d, %s", status, c->err);
}

static void close_raw(struct ws_raw *c)
{
	ws_raw_send_close(c, 1000, NULL);
	ws_raw_expect_eof(c, WAIT_MS);
	ws_raw_close(c);
}

static void expect_raw_message(struct ws_raw *c, uint8_t opcode, const void *payload, size_t len)
{
	struct ws_raw_frame f;
	int r = ws_raw_read_message(c, &f, WAIT_MS);
	if (r != WS_FRAME)
		fail_msg("no message: result %d (%s)", r, c->err);
	assert_int_equal(f.opcode, opcode);
	assert_int_equal(f.len, len);
	assert_memory_equal(f.payload, payload, len);
	ws_raw_frame_free(&f);
}

static int count_occurrences(const char *haystack, const char *needle)
{
	int n = 0;
	for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
		n++;
	return n;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* How often rp has logged needle so far. */
static int log_count(const struct relay_process *rp, const char *needle)
{
	char *log = test_file_read(rp->stderr_path, NULL);
	int n = log ? count_occurrences(log, needle) : 0;
	free(log);
	return n;
}

/* Waits until rp has logged needle at least n times. The relay logs
 * "client connected" once a client is in the hub, i.e. receives every
 * message relayed from then on, and "(client_close)" when a client ended
 * with a close handshake. */
static void wait_for_log_count(const struct relay_process *rp, const char *needle, int n)
{
	for (int waited = 0; waited < WAIT_MS; waited += 20) {
		if (log_count(rp, needle) >= n)
			return;
		sleep_ms(20);
	}
	fail_msg("the relay logged '%s' fewer than %d times", needle, n);
}

static void expect_one_stderr_line(const struct client_process *p, const char *needle)
{
	if (!strstr(p->err, needle))
		fail_msg("stderr '%s' does not mention '%s'", p->err, needle);
	assert_int_equal(count_occurrences(p->err, "\n"), 1);
	assert_non_null(strstr(p->err, "wsrelay-client: "));
}

static void test_send_is_echoed(void **state)
{
	(void)state;
	struct client_process p;
	int closes = log_count(&relay, "(client_close)");
	int rc = client_run(&p, CLIENT_BIN,
	                    (char *[]){"wsrelay-client", "--send", "hello relay", url, NULL},
	                    EXIT_WAIT_MS);
	if (rc != 0)
		fail_msg("exit %d, stderr: %s", rc, p.err);
	assert_string_equal(p.out, "hello relay\n");
	assert_string_equal(p.err, "");
	/* The client ended with a close handshake, not a dropped socket. */
	wait_for_log_count(&relay, "(client_close)", closes + 1);
}

static void test_send_times_out_without_echo(void **state)
{
	(void)state;
	struct relay_process quiet;
	char quiet_url[64];
	assert_int_equal(start_relay(&quiet, echo_off_yaml, quiet_url, sizeof(quiet_url)), 0);
	struct client_process p;
	int rc = client_run(
	    &p, CLIENT_BIN,
	    (char *[]){"wsrelay-client", "--send", "anyone?", "--timeout", "1", quiet_url, NULL},
	    EXIT_WAIT_MS);
	/* Even after a timeout the client says goodbye properly. */
	wait_for_log_count(&quiet, "(client_close)", 1);
	assert_int_equal(relay_stop(&quiet, SIGTERM, 15000), 0);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "no echo from ws://127.0.0.1:");
	assert_string_equal(p.out, "");
}

/* stdin lines go out as text messages; what arrives is printed. */
static void test_stdin_lines_relayed_both_ways(void **state)
{
	(void)state;
	struct ws_raw raw;
	struct client_process p;
	int closes = log_count(&relay, "(client_close)");
	connect_raw(&raw);
	assert_int_equal(client_start(&p, CLIENT_BIN, (char *[]){"wsrelay-client", url, NULL}, 0),
	                 0);

	assert_int_equal(client_type(&p, "first line\nsecond line\n", 23), 0);
	expect_raw_message(&raw, WS_OP_TEXT, "first line", 10);
	expect_raw_message(&raw, WS_OP_TEXT, "second line", 11);
	/* Our own lines come back, which also shows the client is in the hub. */
	if (client_wait_stdout(&p, "first line\nsecond line\n", 23, WAIT_MS) != 0)
		fail_msg("no echo; stdout '%s', stderr '%s'", p.out, p.err);

	assert_int_equal(ws_raw_send_text(&raw, "from the raw side"), 0);
	assert_int_equal(client_wait_stdout(&p, "from the raw side\n", 18, WAIT_MS), 0);
	expect_raw_message(&raw, WS_OP_TEXT, "from the raw side", 17);

	/* A last line without a newline still goes out at the end of input. */
	assert_int_equal(client_type(&p, "no newline", 10), 0);
	client_end_input(&p);
	expect_raw_message(&raw, WS_OP_TEXT, "no newline", 10);
	int rc = client_wait_exit(&p, EXIT_WAIT_MS);
	if (rc != 0)
		fail_msg("exit %d, stderr: %s", rc, p.err);
	/* Whether the echo of the last line beats the relay's answer to our
	 * close is the relay's business, not the client's. */
	static const char before_close[] = "first line\nsecond line\nfrom the raw side\n";
	assert_memory_equal(p.out, before_close, sizeof(before_close) - 1);
	const char *rest = p.out + sizeof(before_close) - 1;
	if (strcmp(rest, "") != 0 && strcmp(rest, "no newline\n") != 0)
		fail_msg("unexpected output after the last echo: '%s'", rest);
	assert_string_equal(p.err, "");
	client_cleanup(&p);
	wait_for_log_count(&relay, "(client_close)", closes + 1);
	close_raw(&raw);
}

static void test_count_exits_after_n_messages(void **state)
{
	(void)state;
	struct ws_raw raw;
	struct client_process p;
	int connects = log_count(&relay, "client connected:");
	connect_raw(&raw);
	/* stdin stays open: --count, not the end of input, ends the run. */
	assert_int_equal(
	    client_start(&p, CLIENT_BIN,
	                 (char *[]){"wsrelay-client", "--count", "3", "--timeout", "60", url, NULL},
	                 0),
	    0);
	wait_for_log_count(&relay, "client connected:", connects + 2);
	int closes = log_count(&relay, "(client_close)");
	for (int i = 1; i <= 5; i++) {
		char msg[16];
		snprintf(msg, sizeof(msg), "msg-%d", i);
		assert_int_equal(ws_raw_send_text(&raw, msg), 0);
	}
	int rc = client_wait_exit(&p, EXIT_WAIT_MS);
	if (rc != 0)
		fail_msg("exit %d, stderr: %s", rc, p.err);
	assert_string_equal(p.out, "msg-1\nmsg-2\nmsg-3\n");
	assert_string_equal(p.err, "");
	client_cleanup(&p);
	wait_for_log_count(&relay, "(client_close)", closes + 1);
	close_raw(&raw);
}

static void test_count_timeout(void **state)
{
	(void)state;
	struct client_process p;
	int rc =
	    client_run(&p, CLIENT_BIN,
	               (char *[]){"wsrelay-client", "--count", "2", "--timeout", "1", url, NULL},
	               EXIT_WAIT_MS);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "received 0 of 2 messages within 1 s");
}

static void test_binary_both_ways(void **state)
{
	(void)state;
	struct ws_raw raw;
	struct client_process p;
	connect_raw(&raw);
	assert_int_equal(
	    client_start(&p, CLIENT_BIN, (char *[]){"wsrelay-client", "--binary", url, NULL}, 0),
	    0);

	/* Bytes that are not UTF-8 would get a text message closed with 1007. */
	assert_int_equal(client_type(&p, "bin\x01\xfe\xff\n", 7), 0);
	expect_raw_message(&raw, WS_OP_BINARY, "bin\x01\xfe\xff", 6);
	assert_int_equal(client_wait_stdout(&p, "bin\x01\xfe\xff\n", 7, WAIT_MS), 0);

	static const uint8_t blob[] = {0x00, 0x80, 'x', 0x00, 0xff};
	assert_int_equal(ws_raw_send_binary(&raw, blob, sizeof(blob)), 0);
	assert_int_equal(client_wait_stdout(&p, "\x00\x80x\x00\xff\n", 6, WAIT_MS), 0);

	client_end_input(&p);
	int rc = client_wait_exit(&p, EXIT_WAIT_MS);
	if (rc != 0)
		fail_msg("exit %d, stderr: %s", rc, p.err);
	assert_int_equal(p.out_len, 13);
	client_cleanup(&p);
	close_raw(&raw);
}

static void test_binary_send_matches_binary_echo(void **state)
{
	(void)state;
	struct client_process p;
	int rc = client_run(&p, CLIENT_BIN,
	                    (char *[]){"wsrelay-client", "--binary", "--send", "blob", url, NULL},
	                    EXIT_WAIT_MS);
	if (rc != 0)
		fail_msg("exit %d, stderr: %s", rc, p.err);
	assert_string_equal(p.out, "blob\n");
}

/* The relay's verdict on a bad message reaches the user. */
static void test_server_close_is_reported(void **state)
{
	(void)state;
	struct client_process p;
	assert_int_equal(client_start(&p, CLIENT_BIN, (char *[]){"wsrelay-client", url, NULL}, 0),
	                 0);
	assert_int_equal(client_type(&p, "caf\xe9\n", 5), 0);
	int rc = client_wait_exit(&p, EXIT_WAIT_MS);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "closed the connection: 1007 invalid data");
	client_cleanup(&p);
}

/* The relay shutting down (close 1001) ends a listening client with 1. */
static void test_relay_shutdown_is_reported(void **state)
{
	(void)state;
	struct relay_process doomed;
	char doomed_url[64];
	assert_int_equal(start_relay(&doomed, NULL, doomed_url, sizeof(doomed_url)), 0);
	struct client_process p;
	assert_int_equal(
	    client_start(&p, CLIENT_BIN, (char *[]){"wsrelay-client", doomed_url, NULL}, 0), 0);
	wait_for_log_count(&doomed, "client connected:", 1);
	assert_int_equal(relay_stop(&doomed, SIGTERM, 15000), 0);
	int rc = client_wait_exit(&p, EXIT_WAIT_MS);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "closed the connection: 1001 going away");
	client_cleanup(&p);
}

static void test_cannot_connect(void **state)
{
	(void)state;
	uint16_t port = free_loopback_port();
	assert_int_not_equal(port, 0);
	char dead[64];
	snprintf(dead, sizeof(dead), "ws://127.0.0.1:%u/ws", (unsigned)port);
	struct client_process p;
	int rc = client_run(&p, CLIENT_BIN, (char *[]){"wsrelay-client", "--send", "x", dead, NULL},
	                    EXIT_WAIT_MS);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "cannot connect to ws://127.0.0.1:");
	assert_non_null(strstr(p.err, "Connection refused"));
	assert_string_equal(p.out, "");

	/* Stdin mode fails the same way, before reading anything. */
	rc = client_run(&p, CLIENT_BIN, (char *[]){"wsrelay-client", dead, NULL}, EXIT_WAIT_MS);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "Connection refused");
}

static void test_refused_handshake(void **state)
{
	(void)state;
	char wrong_path[64];
	snprintf(wrong_path, sizeof(wrong_path), "ws://127.0.0.1:%u/not-ws", (unsigned)relay.port);
	struct client_process p;
	int rc =
	    client_run(&p, CLIENT_BIN,
	               (char *[]){"wsrelay-client", "--send", "x", wrong_path, NULL}, EXIT_WAIT_MS);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "refused the WebSocket handshake");
}

static void test_usage_errors_exit_2(void **state)
{
	(void)state;
	struct client_process p;
	assert_int_equal(
	    client_run(&p, CLIENT_BIN, (char *[]){"wsrelay-client", "--bogus", NULL}, EXIT_WAIT_MS),
	    2);
	assert_non_null(strstr(p.err, "unknown option --bogus"));
	assert_int_equal(client_run(&p, CLIENT_BIN, (char *[]){"wsrelay-client", "ftp://h/", NULL},
	                            EXIT_WAIT_MS),
	                 2);
	assert_non_null(strstr(p.err, "bad URL"));
	assert_int_equal(client_run(&p, CLIENT_BIN,
	                            (char *[]){"wsrelay-client", "--count", "none", url, NULL},
	                            EXIT_WAIT_MS),
	                 2);
	assert_int_equal(
	    client_run(&p, CLIENT_BIN, (char *[]){"wsrelay-client", "--help", NULL}, EXIT_WAIT_MS),
	    0);
	assert_non_null(strstr(p.out, "SYNOPSIS"));
}

/* TLS is not in the relay yet: a wss client against its plain port must
 * fail cleanly, which exercises the whole secure connect path. */
static void test_wss_against_plain_port_fails_clearly(void **state)
{
	(void)state;
	char wss[64];
	snprintf(wss, sizeof(wss), "wss://127.0.0.1:%u/ws", (unsigned)relay.port);
	struct client_process p;
	int rc = client_run(&p, CLIENT_BIN,
	                    (char *[]){"wsrelay-client", "--insecure", "--send", "x", wss, NULL},
	                    EXIT_WAIT_MS);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "TLS handshake failed");

	rc = client_run(
	    &p, CLIENT_BIN,
	    (char *[]){"wsrelay-client", "--ca", "/nonexistent/ca.pem", "--send", "x", wss, NULL},
	    EXIT_WAIT_MS);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "cannot read CA file /nonexistent/ca.pem");
}

/* Two unrelated self-signed certificates: the stub serves the first. Its
 * name is deliberately not the host the client connects to. */
struct tls_fixture {
	char dir[64];
	char cert[96];
	char key[96];
	char other_cert[96];
	char other_key[96];
	char url[64];
	struct tls_stub stub;
};

static void tls_fixture_start(struct tls_fixture *t)
{
	snprintf(t->dir, sizeof(t->dir), "/tmp/wsrelay-client-tls-XXXXXX");
	assert_non_null(mkdtemp(t->dir));
	snprintf(t->cert, sizeof(t->cert), "%s/cert.pem", t->dir);
	snprintf(t->key, sizeof(t->key), "%s/key.pem", t->dir);
	snprintf(t->other_cert, sizeof(t->other_cert), "%s/other.pem", t->dir);
	snprintf(t->other_key, sizeof(t->other_key), "%s/other-key.pem", t->dir);
	assert_int_equal(tls_stub_make_cert(t->cert, t->key, "not-this-host.invalid"), 0);
	assert_int_equal(tls_stub_make_cert(t->other_cert, t->other_key, "other"), 0);
	assert_int_equal(tls_stub_start(&t->stub, t->cert, t->key), 0);
	snprintf(t->url, sizeof(t->url), "wss://127.0.0.1:%u/ws", (unsigned)t->stub.port);
}

static void tls_fixture_stop(struct tls_fixture *t)
{
	tls_stub_stop(&t->stub);
	unlink(t->cert);
	unlink(t->key);
	unlink(t->other_cert);
	unlink(t->other_key);
	rmdir(t->dir);
}

static void test_wss_verifies_against_ca(void **state)
{
	(void)state;
	struct tls_fixture t;
	struct client_process p;
	tls_fixture_start(&t);

	/* The right CA: a full round trip over TLS. The certificate names
	 * another host, which passes because CivetWeb checks no names (the
	 * limitation --help warns about). */
	int rc = client_run(
	    &p, CLIENT_BIN,
	    (char *[]){"wsrelay-client", "--ca", t.cert, "--send", "over tls", t.url, NULL},
	    EXIT_WAIT_MS);
	if (rc != 0)
		fail_msg("exit %d, stderr: %s", rc, p.err);
	assert_string_equal(p.out, "over tls\n");
	assert_string_equal(p.err, "");

	/* The wrong CA: refused during the TLS handshake. */
	rc = client_run(
	    &p, CLIENT_BIN,
	    (char *[]){"wsrelay-client", "--ca", t.other_cert, "--send", "x", t.url, NULL},
	    EXIT_WAIT_MS);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "TLS handshake failed");
	assert_int_equal(atomic_load(&t.stub.tls_handshakes), 1);

	/* --insecure takes any certificate. */
	rc = client_run(&p, CLIENT_BIN,
	                (char *[]){"wsrelay-client", "--insecure", "--send", "any", t.url, NULL},
	                EXIT_WAIT_MS);
	if (rc != 0)
		fail_msg("exit %d, stderr: %s", rc, p.err);
	assert_string_equal(p.out, "any\n");
	tls_fixture_stop(&t);
}

/* Without --ca the client trusts OpenSSL's default bundle, which
 * SSL_CERT_FILE overrides. */
static void test_wss_default_bundle(void **state)
{
	(void)state;
	struct tls_fixture t;
	struct client_process p;
	char trust_stub[160], trust_other[160];
	tls_fixture_start(&t);
	snprintf(trust_stub, sizeof(trust_stub), "SSL_CERT_FILE=%s", t.cert);
	snprintf(trust_other, sizeof(trust_other), "SSL_CERT_FILE=%s", t.other_cert);

	int rc =
	    client_run(&p, "/usr/bin/env",
	               (char *[]){"env", trust_stub, CLIENT_BIN, "--send", "bundled", t.url, NULL},
	               EXIT_WAIT_MS);
	if (rc != 0)
		fail_msg("exit %d, stderr: %s", rc, p.err);
	assert_string_equal(p.out, "bundled\n");

	rc = client_run(&p, "/usr/bin/env",
	                (char *[]){"env", trust_other, CLIENT_BIN, "--send", "x", t.url, NULL},
	                EXIT_WAIT_MS);
	assert_int_equal(rc, 1);
	expect_one_stderr_line(&p, "TLS handshake failed");
	tls_fixture_stop(&t);
}

static bool ipv6_loopback_available(void)
{
	int fd = socket(AF_INET6, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return false;
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_addr = IN6ADDR_LOOPBACK_INIT};
	bool ok = bind(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
	close(fd);
	return ok;
}

static void test_ipv6_literal(void **state)
{
	(void)state;
	if (!ipv6_loopback_available())
		skip();
	struct relay_process six;
	char six_url[64];
	assert_int_equal(start_relay(&six, ipv6_yaml, six_url, sizeof(six_url)), 0);
	snprintf(six_url, sizeof(six_url), "ws://[::1]:%u/ws", (unsigned)six.port);
	struct client_process p;
	int rc =
	    client_run(&p, CLIENT_BIN, (char *[]){"wsrelay-client", "--send", "six", six_url, NULL},
	               EXIT_WAIT_MS);
	int stopped = relay_stop(&six, SIGTERM, 15000);
	if (rc != 0)
		fail_msg("exit %d, stderr: %s", rc, p.err);
	assert_string_equal(p.out, "six\n");
	assert_int_equal(stopped, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_send_is_echoed),
	    cmocka_unit_test(test_send_times_out_without_echo),
	    cmocka_unit_test(test_stdin_lines_relayed_both_ways),
	    cmocka_unit_test(test_count_exits_after_n_messages),
	    cmocka_unit_test(test_count_timeout),
	    cmocka_unit_test(test_binary_both_ways),
	    cmocka_unit_test(test_binary_send_matches_binary_echo),
	    cmocka_unit_test(test_server_close_is_reported),
	    cmocka_unit_test(test_relay_shutdown_is_reported),
	    cmocka_unit_test(test_cannot_connect),
	    cmocka_unit_test(test_refused_handshake),
	    cmocka_unit_test(test_usage_errors_exit_2),
	    cmocka_unit_test(test_wss_against_plain_port_fails_clearly),
	    cmocka_unit_test(test_wss_verifies_against_ca),
	    cmocka_unit_test(test_wss_default_bundle),
	    cmocka_unit_test(test_ipv6_literal),
	};
	return cmocka_run_group_tests(tests, start_shared, stop_shared);
}
