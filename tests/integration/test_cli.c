/* The wsrelay command line and lifecycle: options, configuration errors,
 * start-up failures and the shutdown on SIGTERM/SIGINT. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "flooder.h"
#include "relay_process.h"
#include "ws_raw.h"
#include "test_file.h"
#include "relay_fixture.h"

#define WAIT_MS 20000 /* only a failure waits this long */
#define OUT_CAP 65536

static char out[OUT_CAP];

static int run(char *const argv[])
{
	return relay_run(WSRELAY_BIN, argv, out, sizeof(out), 20000);
}

/* A config file in a fresh temporary folder; path receives its name. */
static void temp_config(char *path, size_t cap, const char *yaml)
{
	char dir[] = "/tmp/wsrelay-cli-XXXXXX";
	assert_non_null(mkdtemp(dir));
	snprintf(path, cap, "%s/bad.yaml", dir);
	assert_int_equal(test_file_write(path, yaml), 0);
}

static void remove_temp_config(const char *path)
{
	unlink(path);
	char dir[4096];
	snprintf(dir, sizeof(dir), "%s", path);
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
}

static void test_help_and_version(void **state)
{
	(void)state;
	assert_int_equal(run((char *[]){"wsrelay", "--help", NULL}), 0);
	assert_non_null(strstr(out, "--config-file"));
	assert_int_equal(run((char *[]){"wsrelay", "--version", NULL}), 0);
	assert_non_null(strstr(out, "wsrelay "));
	assert_non_null(strstr(out, "CivetWeb 1.16"));
}

static void test_usage_errors_exit_2(void **state)
{
	(void)state;
	assert_int_equal(run((char *[]){"wsrelay", "--bogus", NULL}), 2);
	assert_non_null(strstr(out, "unknown option --bogus"));
	assert_int_equal(run((char *[]){"wsrelay", "--config-file", NULL}), 2);
	assert_non_null(strstr(out, "needs a value"));
	assert_int_equal(run((char *[]){"wsrelay", "stray", NULL}), 2);
	assert_non_null(strstr(out, "unexpected argument stray"));
}

/* A usage error names the problem and hints at --help, without the whole
 * help in the way. */
static void test_usage_errors_are_short(void **state)
{
	(void)state;
	char *cases[][3] = {{"wsrelay", "--bogus", NULL},
	                    {"wsrelay", "--config-file", NULL},
	                    {"wsrelay", "stray", NULL}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(run(cases[i]), 2);
		int lines = 0;
		for (const char *p = out; *p; p++)
			lines += *p == '\n';
		assert_int_equal(lines, 2);
		assert_non_null(strstr(out, "\nTry 'wsrelay --help'.\n"));
		assert_null(strstr(out, "usage:"));
	}
}

static void test_check_config_of_shipped_file(void **state)
{
	(void)state;
	static char shipped[] = WSRELAY_SOURCE_DIR "/conf/wsrelay.yaml";
	char *argv[] = {"wsrelay", "--config-file", shipped, "--check-config", NULL};
	assert_int_equal(run(argv), 0);
	assert_non_null(strstr(out, "websocket_path: \"/ws\""));
	assert_non_null(strstr(out, "max_connections: 4096"));
	/* Relative paths are shown resolved against the file's folder. */
	assert_non_null(strstr(out, "/conf/../www\""));
}

static void test_check_config_defaults(void **state)
{
	(void)state;
	assert_int_equal(run((char *[]){"wsrelay", "--check-config", NULL}), 0);
	assert_non_null(strstr(out, "listen: \"0.0.0.0:8443\""));
}

static void test_bad_config_names_file_line_column(void **state)
{
	(void)state;
	char path[4096];
	temp_config(path, sizeof(path), "server:\n  max_connections: 0\n");
	char *argv[] = {"wsrelay", "--config-file", path, NULL};
	assert_int_equal(run(argv), 2);
	char want[4200];
	snprintf(want, sizeof(want), "%s:2:20: ", path);
	if (!strstr(out, want))
		fail_msg("expected '%s' in: %s", want, out);
	/* --check-config reports the same and exits 2 as well. */
	char *check[] = {"wsrelay", "--config-file", path, "--check-config", NULL};
	assert_int_equal(run(check), 2);
	assert_non_null(strstr(out, want));
	remove_temp_config(path);

	temp_config(path, sizeof(path), "server:\n  listen: [\n");
	assert_int_equal(run(argv), 2);
	snprintf(want, sizeof(want), "%s:", path);
	assert_non_null(strstr(out, want));
	remove_temp_config(path);
}

static void test_missing_config_file_exits_2(void **state)
{
	(void)state;
	char *argv[] = {"wsrelay", "--config-file", "/nonexistent/wsrelay.yaml", NULL};
	assert_int_equal(run(argv), 2);
	assert_non_null(strstr(out, "/nonexistent/wsrelay.yaml"));
}

static void test_port_in_use_exits_1(void **state)
{
	(void)state;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in addr = {.sin_family = AF_INET,
	                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	assert_int_equal(listen(fd, 1), 0);
	socklen_t len = sizeof(addr);
	getsockname(fd, (struct sockaddr *)&addr, &len);
	unsigned port = ntohs(addr.sin_port);

	char yaml[512], path[4096];
	snprintf(yaml, sizeof(yaml),
	         "server:\n  listen: \"127.0.0.1:%u\"\n  max_connections: 8\n"
	         "  document_root: \"\"\nmetrics:\n  enabled: false\n",
	         port);
	temp_config(path, sizeof(path), yaml);
	char *argv[] = {"wsrelay", "--config-file", path, NULL};
	assert_int_equal(run(argv), 1);
	char want[64];
	snprintf(want, sizeof(want), "127.0.0.1:%u", port);
	if (!strstr(out, want))
		fail_msg("expected the address %s in: %s", want, out);
	close(fd);
	remove_temp_config(path);
}

/* Runs a 1000-client server under prlimit (util-linux) with limit, too small
 * for that many clients: it must refuse to start, naming what is short,
 * rather than fail later under load. */
static void expect_start_refused_under(const char *limit, const char *needle)
{
	char path[4096];
	temp_config(path, sizeof(path),
	            "server:\n  listen: \"127.0.0.1:0\"\n  max_connections: 1000\n"
	            "  document_root: \"\"\nmetrics:\n  enabled: false\n");
	char limit_arg[64];
	snprintf(limit_arg, sizeof(limit_arg), "%s", limit);
	char *argv[] = {"prlimit", limit_arg, WSRELAY_BIN, "--config-file", path, NULL};
	int rc = relay_run("/usr/bin/prlimit", argv, out, sizeof(out), 20000);
	assert_int_equal(rc, 1);
	if (!strstr(out, needle))
		fail_msg("expected '%s' in: %s", needle, out);
	remove_temp_config(path);
}

static void test_too_few_descriptors_exits_1(void **state)
{
	(void)state;
	expect_start_refused_under("--nofile=200:200", "file descriptors");
}

static void test_too_few_threads_exits_1(void **state)
{
	(void)state;
	expect_start_refused_under("--nproc=500:500", "threads");
}

/* At level warn, the per-connection info lines are gone but warnings stay. */
static void test_log_level_filters(void **state)
{
	(void)state;
	static const char warn_config[] =
	    "server:\n  listen: \"127.0.0.1:@PORT@\"\n  max_connections: 8\n"
	    "  document_root: \"\"\nmetrics:\n  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
	    "logging:\n  level: \"warn\"\n";
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, warn_config), 0);
	struct ws_raw c;
	int status = 0;
	ws_raw_init(&c);
	assert_int_equal(ws_raw_connect(&c, rp.port, "/ws", NULL, &status, WAIT_MS), 0);
	assert_int_equal(ws_raw_send_close(&c, 1000, NULL), 0);
	assert_int_equal(ws_raw_expect_eof(&c, WAIT_MS), 0);
	ws_raw_close(&c);
	char err[OUT_CAP];
	assert_int_equal(relay_stop_capture(&rp, SIGTERM, 15000, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "WARN  server.allowed_origins is empty"));
	assert_null(strstr(err, "client connected"));
	assert_null(strstr(err, "INFO"));
}

/* ---- lifecycle ---- */

static const char lifecycle_config[] = "server:\n"
                                       "  listen: \"127.0.0.1:@PORT@\"\n"
                                       "  max_connections: 16\n"
                                       "  document_root: \"\"\n"
                                       "metrics:\n"
                                       "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
                                       "shutdown:\n"
                                       "  timeout_seconds: 2\n";

static uint16_t read_close(struct ws_raw *c)
{
	struct ws_raw_frame f;
	int r = ws_raw_read_frame(c, &f, WAIT_MS);
	if (r != WS_FRAME)
		fail_msg("no close frame: result %d (%s)", r, c->err);
	assert_int_equal(f.opcode, WS_OP_CLOSE);
	uint16_t code = f.close_code;
	ws_raw_frame_free(&f);
	return code;
}

static void test_sigterm_sends_1001_and_exits_0(void **state)
{
	(void)state;
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, lifecycle_config), 0);
	enum { N = 5 };
	struct ws_raw c[N];
	for (int i = 0; i < N; i++)
		relay_fixture_connect(&c[i], rp.port, WAIT_MS);
	kill(rp.pid, SIGTERM);
	for (int i = 0; i < N; i++) {
		assert_int_equal(read_close(&c[i]), 1001);
		assert_int_equal(ws_raw_send_close(&c[i], 1001, NULL), 0);
		assert_int_equal(ws_raw_expect_eof(&c[i], WAIT_MS), 0);
		ws_raw_close(&c[i]);
	}
	char err[OUT_CAP];
	assert_int_equal(relay_stop_capture(&rp, 0, 15000, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "sent close 1001 to 5 clients"));
	assert_non_null(strstr(err, "5 clients closed cleanly, 0 cut off"));
}

static void test_sigint_without_clients_exits_0(void **state)
{
	(void)state;
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, lifecycle_config), 0);
	assert_int_equal(relay_stop(&rp, SIGINT, 15000), 0);
}

/* A client that never answers the close is cut off at the timeout. */
static void test_silent_client_cut_at_timeout(void **state)
{
	(void)state;
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, lifecycle_config), 0);
	struct ws_raw quiet;
	relay_fixture_connect(&quiet, rp.port, WAIT_MS);
	kill(rp.pid, SIGTERM);
	assert_int_equal(read_close(&quiet), 1001);
	/* No reply: the server gives up after shutdown.timeout_seconds. */
	assert_int_equal(ws_raw_expect_eof(&quiet, 15000), 0);
	ws_raw_close(&quiet);
	char err[OUT_CAP];
	assert_int_equal(relay_stop_capture(&rp, 0, 15000, err, sizeof(err)), 0);
	assert_non_null(strstr(err, "0 clients closed cleanly, 1 cut off"));
}

/* New handshakes are refused during the drain. */
static void test_handshake_refused_while_draining(void **state)
{
	(void)state;
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, lifecycle_config), 0);
	struct ws_raw held, late;
	relay_fixture_connect(&held, rp.port, WAIT_MS);
	kill(rp.pid, SIGTERM);
	assert_int_equal(read_close(&held), 1001);
	/* held does not answer, so the drain lasts until the timeout. */
	int status = 0;
	ws_raw_init(&late);
	ws_raw_connect(&late, rp.port, "/ws", NULL, &status, WAIT_MS);
	assert_int_equal(status, 503);
	ws_raw_close(&late);
	ws_raw_close(&held);
	assert_int_equal(relay_stop(&rp, 0, 15000), 0);
}

/* A second signal ends the wait for close replies at once. */
static void test_second_signal_ends_the_wait(void **state)
{
	(void)state;
	static const char long_timeout[] =
	    "server:\n  listen: \"127.0.0.1:@PORT@\"\n  max_connections: 16\n"
	    "  document_root: \"\"\nmetrics:\n  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
	    "shutdown:\n  timeout_seconds: 600\n";
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, long_timeout), 0);
	struct ws_raw quiet;
	relay_fixture_connect(&quiet, rp.port, WAIT_MS);
	kill(rp.pid, SIGTERM);
	assert_int_equal(read_close(&quiet), 1001);
	/* Well below the 600 s timeout: only the second signal can end it. */
	assert_int_equal(relay_stop(&rp, SIGTERM, 30000), 0);
	ws_raw_close(&quiet);
}

struct reader {
	struct ws_raw ws;
	char error[256];
};

/* Reads until the close 1001, answers it, and checks that the TCP close is
 * all that follows. Each reader has its own thread: a reader left unread
 * would fill up and be cut off, which is correct but not what is tested. */
static void *read_until_close(void *arg)
{
	struct reader *r = arg;
	struct ws_raw_frame f;
	int data_frames = 0;
	for (;;) {
		int res = ws_raw_read_frame(&r->ws, &f, WAIT_MS);
		if (res != WS_FRAME) {
			snprintf(r->error, sizeof(r->error), "no close after %d frames: %d (%s)",
			         data_frames, res, r->ws.err);
			return NULL;
		}
		bool is_close = f.opcode == WS_OP_CLOSE;
		uint16_t code = f.close_code;
		ws_raw_frame_free(&f);
		if (is_close) {
			if (code != 1001)
				snprintf(r->error, sizeof(r->error), "close code %u", code);
			break;
		}
		data_frames++;
	}
	ws_raw_send_close(&r->ws, 1001, NULL);
	int res = ws_raw_read_frame(&r->ws, &f, WAIT_MS);
	if (res == WS_FRAME) {
		ws_raw_frame_free(&f);
		snprintf(r->error, sizeof(r->error), "a frame followed the close 1001");
	} else if (res != WS_EOF) {
		snprintf(r->error, sizeof(r->error), "no TCP close after the close: %d", res);
	}
	return NULL;
}

/* Under a stream of relayed messages, SIGTERM's close 1001 is the last frame
 * every reader gets: nothing is relayed after it. */
static void test_close_1001_is_last_frame_under_load(void **state)
{
	(void)state;
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, lifecycle_config), 0);
	enum { READERS = 4 };
	static struct reader readers[READERS];
	pthread_t threads[READERS];
	for (int i = 0; i < READERS; i++) {
		memset(&readers[i], 0, sizeof(readers[i]));
		relay_fixture_connect(&readers[i].ws, rp.port, WAIT_MS);
		assert_int_equal(pthread_create(&threads[i], NULL, read_until_close, &readers[i]),
		                 0);
	}
	static struct flooder fl;
	assert_int_equal(flooder_start(&fl, rp.port, 1024, 500), 0);
	/* The stream is under way: messages went out, not merely 200 ms. */
	assert_true(flooder_wait_sent(&fl, 20, WAIT_MS) >= 20);
	kill(rp.pid, SIGTERM);
	for (int i = 0; i < READERS; i++)
		pthread_join(threads[i], NULL);
	for (int i = 0; i < READERS; i++) {
		ws_raw_close(&readers[i].ws);
		if (readers[i].error[0])
			fail_msg("reader %d: %s", i, readers[i].error);
	}
	assert_true(flooder_stop(&fl) > 0);
	assert_int_equal(relay_stop(&rp, 0, 15000), 0);
}

/* Clients that stopped reading, with full socket buffers: writing to them
 * blocks, yet a second signal still ends the shutdown at once. */
static void test_second_signal_beats_stalled_writes(void **state)
{
	(void)state;
	static const char long_timeout[] =
	    "server:\n  listen: \"127.0.0.1:@PORT@\"\n  max_connections: 16\n"
	    "  document_root: \"\"\nmetrics:\n  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
	    "shutdown:\n  timeout_seconds: 600\n";
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, long_timeout), 0);
	enum { STALLED = 3 };
	struct ws_raw stalled[STALLED];
	for (int i = 0; i < STALLED; i++)
		relay_fixture_connect(&stalled[i], rp.port, WAIT_MS);
	static struct flooder fl;
	assert_int_equal(flooder_start(&fl, rp.port, (size_t)64 * 1024, 0), 0);
	/* By now the flooder's broadcast is blocked writing to the first
	 * stalled client, holding its connection lock for the write timeout
	 * (about 5 s), so its close frame cannot go out for that long. */
	usleep(400 * 1000);
	kill(rp.pid, SIGTERM);
	usleep(300 * 1000);
	/* Less than the one blocked write (about 5 s) that a synchronous close
	 * would wait for, plus the two listeners' stop. */
	assert_int_equal(relay_stop(&rp, SIGTERM, 5000), 0);
	flooder_stop(&fl);
	for (int i = 0; i < STALLED; i++)
		ws_raw_close(&stalled[i]);
}

/* A thousand idle clients: every one receives the 1001, and once they
 * answer, the relay exits 0 well within its timeout. */
static void test_shutdown_with_a_thousand_clients(void **state)
{
	(void)state;
	enum { CLIENTS = 1000 };
	static const char config[] =
	    "server:\n  listen: \"127.0.0.1:@PORT@\"\n  max_connections: 1050\n"
	    "  document_root: \"\"\nmetrics:\n  enabled: false\n"
	    "shutdown:\n  timeout_seconds: 30\nlogging:\n  level: \"warn\"\n";
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, config), 0);
	static struct ws_raw clients[CLIENTS];
	for (int i = 0; i < CLIENTS; i++)
		relay_fixture_connect(&clients[i], rp.port, WAIT_MS);
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	kill(rp.pid, SIGTERM);
	for (int i = 0; i < CLIENTS; i++) {
		assert_int_equal(read_close(&clients[i]), 1001);
		ws_raw_send_close(&clients[i], 1001, NULL);
	}
	for (int i = 0; i < CLIENTS; i++) {
		assert_int_equal(ws_raw_expect_eof(&clients[i], WAIT_MS), 0);
		ws_raw_close(&clients[i]);
	}
	assert_int_equal(relay_stop(&rp, 0, 30000), 0);
	clock_gettime(CLOCK_MONOTONIC, &end);
	fprintf(stderr, "shutdown with %d clients: %.2f s from SIGTERM to exit\n", CLIENTS,
	        (double)(end.tv_sec - start.tv_sec) + (double)(end.tv_nsec - start.tv_nsec) / 1e9);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_help_and_version),
	    cmocka_unit_test(test_usage_errors_exit_2),
	    cmocka_unit_test(test_usage_errors_are_short),
	    cmocka_unit_test(test_check_config_of_shipped_file),
	    cmocka_unit_test(test_check_config_defaults),
	    cmocka_unit_test(test_bad_config_names_file_line_column),
	    cmocka_unit_test(test_missing_config_file_exits_2),
	    cmocka_unit_test(test_port_in_use_exits_1),
	    cmocka_unit_test(test_too_few_descriptors_exits_1),
	    cmocka_unit_test(test_too_few_threads_exits_1),
	    cmocka_unit_test(test_log_level_filters),
	    cmocka_unit_test(test_sigterm_sends_1001_and_exits_0),
	    cmocka_unit_test(test_sigint_without_clients_exits_0),
	    cmocka_unit_test(test_silent_client_cut_at_timeout),
	    cmocka_unit_test(test_handshake_refused_while_draining),
	    cmocka_unit_test(test_second_signal_ends_the_wait),
	    cmocka_unit_test(test_close_1001_is_last_frame_under_load),
	    cmocka_unit_test(test_second_signal_beats_stalled_writes),
	    cmocka_unit_test(test_shutdown_with_a_thousand_clients),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
