/* wsrelay-bench against the real server, briefly and with a handful of
 * clients: it must connect everyone, see every message delivered, and print
 * the JSON keys that run.sh and users read. Behaviour only: no figure here
 * is compared with a speed. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "relay_process.h"
#include "relay_fixture.h"
#include "test_file.h"
#include "test_pki.h"

#define RUN_TIMEOUT_MS 60000

static struct relay_process relay;

static int start_relay(void **state)
{
	*state = &relay; /* for relay_fixture_stop */
	return relay_start(&relay, WSRELAY_BIN,
	                   "server:\n  listen: \"127.0.0.1:@PORT@\"\n  document_root: \"\"\n"
	                   "  max_connections: 32\n"
	                   "metrics:\n  enabled: false\n"
	                   "logging:\n  level: \"warn\"\n");
}

/* The number after "key": in a one-line JSON object; fails the test when
 * the key is missing. */
static double json_number(const char *json, const char *key)
{
	char quoted[64];
	snprintf(quoted, sizeof(quoted), "\"%s\":", key);
	const char *p = strstr(json, quoted);
	if (!p) {
		fail_msg("key %s missing in: %s", key, json);
		return 0; /* not reached: fail_msg leaves the test */
	}
	char *end = NULL;
	double v = strtod(p + strlen(quoted), &end);
	if (end == p + strlen(quoted))
		fail_msg("key %s is not a number in: %s", key, json);
	return v;
}

/* One JSON object on one line: braces balance outside strings, and nothing
 * follows the closing one but the newline. */
static void assert_one_json_line(const char *out)
{
	const char *start = strchr(out, '{');
	assert_non_null(start);
	int depth = 0;
	bool in_string = false;
	const char *p = start;
	for (; *p; p++) {
		if (in_string) {
			if (*p == '\\' && p[1])
				p++;
			else if (*p == '"')
				in_string = false;
		} else if (*p == '"') {
			in_string = true;
		} else if (*p == '{') {
			depth++;
		} else if (*p == '}' && --depth == 0) {
			break;
		}
	}
	assert_int_equal(depth, 0);
	assert_string_equal(p + 1, "\n");
}

static int run_bench(char *out, size_t cap, const char *const *args)
{
	char port[16];
	char pid[16];
	snprintf(port, sizeof(port), "%u", (unsigned)relay.port);
	snprintf(pid, sizeof(pid), "%d", (int)relay.pid);
	char *argv[32];
	size_t n = 0;
	argv[n++] = (char *)(uintptr_t) "wsrelay-bench";
	argv[n++] = (char *)(uintptr_t) "--port";
	argv[n++] = port;
	argv[n++] = (char *)(uintptr_t) "--server-pid";
	argv[n++] = pid;
	for (size_t i = 0; args[i] && n < 31; i++)
		argv[n++] = (char *)(uintptr_t)args[i];
	argv[n] = NULL;
	return relay_run(WSRELAY_BENCH_BIN, argv, out, cap, RUN_TIMEOUT_MS);
}

/* The output's JSON line (stderr's notes come first in the combined output). */
static const char *json_line(const char *out)
{
	const char *p = strstr(out, "{\"mode\"");
	if (!p) {
		fail_msg("no JSON line in: %s", out);
		return ""; /* not reached: fail_msg leaves the test */
	}
	return p;
}

static void test_window_run_delivers_everything(void **state)
{
	(void)state;
	char out[8192];
	const char *const args[] = {"--subs", "5",        "--pubs", "2", "--duration",
	                            "1",      "--warmup", "0.2",    NULL};
	assert_int_equal(run_bench(out, sizeof(out), args), 0);
	const char *json = json_line(out);
	assert_one_json_line(json);
	assert_true(json_number(json, "connected") == 7);
	assert_true(json_number(json, "connect_errors") == 0);
	assert_true(json_number(json, "server_disconnects") == 0);
	double sent = json_number(json, "sent");
	assert_true(sent > 0);
	assert_true(json_number(json, "expected") == sent * 5);
	assert_true(json_number(json, "delivered") == sent * 5);
	assert_true(json_number(json, "lost") == 0);
	assert_true(json_number(json, "loss") == 0);
	assert_true(json_number(json, "delivered_per_s") > 0);
	double p50 = json_number(json, "p50");
	double p99 = json_number(json, "p99");
	assert_true(p50 > 0 && p50 <= p99);
	assert_true(p99 <= json_number(json, "max"));
	json_number(json, "p90");
	json_number(json, "cpu_s");
	json_number(json, "deliveries_per_cpu_s");
}

/* Text frames (the stamp in hex), large enough to take a 16-bit length. */
static void test_rate_run_with_text_frames(void **state)
{
	(void)state;
	char out[8192];
	const char *const args[] = {"--subs", "3",       "--pubs",     "1", "--rate",   "200",
	                            "--size", "1000",    "--duration", "1", "--warmup", "0",
	                            "--text", "--drain", "10",         NULL};
	assert_int_equal(run_bench(out, sizeof(out), args), 0);
	const char *json = json_line(out);
	assert_one_json_line(json);
	double sent = json_number(json, "sent");
	assert_true(sent > 0);
	assert_true(json_number(json, "delivered") == sent * 3);
	assert_true(json_number(json, "lost") == 0);
}

/* Server frames over 64 KiB take the 64-bit length and several reads. */
static void test_large_messages(void **state)
{
	(void)state;
	char out[8192];
	const char *const args[] = {"--subs",   "2",        "--pubs",  "1",          "--size",
	                            "200000",   "--window", "2",       "--duration", "1",
	                            "--warmup", "0",        "--drain", "10",         NULL};
	assert_int_equal(run_bench(out, sizeof(out), args), 0);
	const char *json = json_line(out);
	double sent = json_number(json, "sent");
	assert_true(sent > 0);
	assert_true(json_number(json, "delivered") == sent * 2);
}

static void test_idle_hold_reports_memory(void **state)
{
	(void)state;
	char out[8192];
	const char *const args[] = {"--idle", "20", "--hold", "0.5", NULL};
	assert_int_equal(run_bench(out, sizeof(out), args), 0);
	const char *json = json_line(out);
	assert_one_json_line(json);
	assert_true(json_number(json, "connected") == 20);
	assert_true(json_number(json, "survived") == 20);
	json_number(json, "kb_per_conn");
	assert_true(json_number(json, "threads") > 0);
}

/* --rooms against a relay with rooms on: each room's subscribers get
 * exactly their room's messages. */
static void test_rooms_run(void **state)
{
	(void)state;
	struct relay_process plain = relay;
	assert_int_equal(
	    relay_start(&relay, WSRELAY_BIN,
	                "server:\n  listen: \"127.0.0.1:@PORT@\"\n  document_root: \"\"\n"
	                "  max_connections: 32\n"
	                "metrics:\n  enabled: false\n"
	                "rooms:\n  enabled: true\n"
	                "logging:\n  level: \"warn\"\n"),
	    0);
	char out[4096];
	const char *const args[] = {"--subs",     "6", "--pubs",   "3",   "--rooms", "3",
	                            "--duration", "1", "--warmup", "0.2", NULL};
	int rc = run_bench(out, sizeof(out), args);
	assert_int_equal(relay_stop(&relay, SIGTERM, 15000), 0);
	relay = plain;
	assert_int_equal(rc, 0);
	const char *json = json_line(out);
	assert_one_json_line(json);
	assert_int_equal(json_number(json, "rooms"), 3);
	assert_int_equal(json_number(json, "wrong_room"), 0);
	assert_int_equal(json_number(json, "connected"), 9);
	double expected = json_number(json, "expected");
	assert_true(expected > 0);
	/* 2 subscribers per room: twice what was sent, not six times. */
	assert_true(expected == 2 * json_number(json, "sent"));
	assert_true(json_number(json, "delivered") == expected);
	assert_int_equal(json_number(json, "lost"), 0);
}

/* wss://: the certificate checked against --ca (it names 127.0.0.1), or
 * not at all with --insecure; a certificate nobody vouches for fails the
 * run (exit 1), and a TLS option without --tls is a usage error. */
static void test_wss_run(void **state)
{
	(void)state;
	char dir[] = "/tmp/wsrelay-bench-tls-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char ca_path[64], cert_path[64], key_path[64];
	snprintf(ca_path, sizeof(ca_path), "%s/ca.pem", dir);
	snprintf(cert_path, sizeof(cert_path), "%s/server.pem", dir);
	snprintf(key_path, sizeof(key_path), "%s/server.key", dir);
	struct pki_entity *ca = pki_issue(PKI_CA, "bench CA", 1, -86400, 86400, NULL);
	struct pki_entity *leaf =
	    ca ? pki_issue(PKI_SERVER, "localhost", 2, -86400, 86400, ca) : NULL;
	assert_non_null(leaf);
	assert_int_equal(pki_write(ca, ca_path, NULL, false), 0);
	assert_int_equal(pki_write(leaf, cert_path, key_path, true), 0);
	pki_free(leaf);
	pki_free(ca);

	struct relay_process plain = relay;
	char yaml[512];
	snprintf(yaml, sizeof(yaml),
	         "server:\n  listen: \"127.0.0.1:@PORT@\"\n  document_root: \"\"\n"
	         "  max_connections: 32\n"
	         "  tls:\n    enabled: true\n    certificate: \"%s\"\n    private_key: \"%s\"\n"
	         "metrics:\n  enabled: false\n"
	         "logging:\n  level: \"warn\"\n",
	         cert_path, key_path);
	assert_int_equal(relay_start(&relay, WSRELAY_BIN, yaml), 0);
	char out[8192];
	const char *const checked[] = {"--subs",   "4",   "--pubs", "1",    "--duration", "1",
	                               "--warmup", "0.2", "--tls",  "--ca", ca_path,      NULL};
	int checked_rc = run_bench(out, sizeof(out), checked);
	char checked_out[8192];
	snprintf(checked_out, sizeof(checked_out), "%s", out);
	const char *const insecure[] = {"--subs",     "2",          "--pubs",   "1",
	                                "--duration", "0.5",        "--warmup", "0",
	                                "--tls",      "--insecure", NULL};
	int insecure_rc = run_bench(out, sizeof(out), insecure);
	char insecure_out[8192];
	snprintf(insecure_out, sizeof(insecure_out), "%s", out);
	const char *const untrusted[] = {"--subs",   "1", "--duration", "0.5",
	                                 "--warmup", "0", "--tls",      NULL};
	int untrusted_rc = run_bench(out, sizeof(out), untrusted);
	assert_int_equal(relay_stop(&relay, SIGTERM, 15000), 0);
	relay = plain;
	test_file_remove_tree(dir);

	assert_int_equal(checked_rc, 0);
	const char *json = json_line(checked_out);
	assert_one_json_line(json);
	assert_true(json_number(json, "connected") == 5);
	double sent = json_number(json, "sent");
	assert_true(sent > 0);
	assert_true(json_number(json, "delivered") == sent * 4);
	assert_true(json_number(json, "lost") == 0);
	json_number(json, "deliveries_per_cpu_s");
	assert_int_equal(insecure_rc, 0);
	json = json_line(insecure_out);
	assert_true(json_number(json, "delivered") == json_number(json, "sent") * 2);
	assert_int_equal(untrusted_rc, 1);

	const char *const ca_alone[] = {"--ca", ca_path, NULL};
	assert_int_equal(run_bench(out, sizeof(out), ca_alone), 2);
	assert_non_null(strstr(out, "--tls"));
}

static void test_bad_options_exit_2(void **state)
{
	(void)state;
	char out[4096];
	char *const bad_value[] = {(char *)(uintptr_t) "wsrelay-bench",
	                           (char *)(uintptr_t) "--port", (char *)(uintptr_t) "70000", NULL};
	assert_int_equal(relay_run(WSRELAY_BENCH_BIN, bad_value, out, sizeof(out), RUN_TIMEOUT_MS),
	                 2);
	assert_non_null(strstr(out, "--port"));
	char *const unknown[] = {(char *)(uintptr_t) "wsrelay-bench", (char *)(uintptr_t) "--nope",
	                         NULL};
	assert_int_equal(relay_run(WSRELAY_BENCH_BIN, unknown, out, sizeof(out), RUN_TIMEOUT_MS),
	                 2);
	assert_non_null(strstr(out, "unknown option"));
	char *const help[] = {(char *)(uintptr_t) "wsrelay-bench", (char *)(uintptr_t) "--help",
	                      NULL};
	assert_int_equal(relay_run(WSRELAY_BENCH_BIN, help, out, sizeof(out), RUN_TIMEOUT_MS), 0);
	assert_non_null(strstr(out, "--idle"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_window_run_delivers_everything),
	    cmocka_unit_test(test_rate_run_with_text_frames),
	    cmocka_unit_test(test_large_messages),
	    cmocka_unit_test(test_idle_hold_reports_memory),
	    cmocka_unit_test(test_rooms_run),
	    cmocka_unit_test(test_wss_run),
	    cmocka_unit_test(test_bad_options_exit_2),
	};
	return cmocka_run_group_tests(tests, start_relay, relay_fixture_stop);
}
