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

#include "relay_process.h"
#include "relay_fixture.h"

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
	    cmocka_unit_test(test_bad_options_exit_2),
	};
	return cmocka_run_group_tests(tests, start_relay, relay_fixture_stop);
}
