/* The edges of the relay's life against the real binary: the metrics port
 * answers by the time the WebSocket port accepts, and an idle relay exits
 * at once on SIGTERM. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay_process.h"
#include "test_file.h"
#include "ws_raw.h"

#define WAIT_MS 20000 /* only a failure waits this long */

/* Nobody to drain: the relay must not sit out its shutdown timeout, which
 * is made ten minutes here, so that "at once" is told from "after the
 * timeout" by far more than any machine's speed (sanitizer builds stop
 * their threads several times slower, a loaded machine slower still). The
 * time it took is printed; speed goals live in the benchmarks
 * (tests/bench/worker_pool.py measures SIGTERM to exit). */
#define IDLE_EXIT_MS 60000

/* The default config but for the ports and the shutdown timeout. */
static const char default_config[] = "server:\n  listen: \"127.0.0.1:@PORT@\"\n"
                                     "metrics:\n  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
                                     "shutdown:\n  timeout_seconds: 600\n";

/* /healthz must answer as soon as the WebSocket port accepts connections,
 * not a moment later. relay_start waits for the relay's READY=1, which
 * comes after both listeners: this starts the binary itself and looks at
 * the WebSocket port only. */
static void test_metrics_answer_when_websocket_port_opens(void **state)
{
	(void)state;
	char dir[] = "/tmp/wsrelay-startstop-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char config[PATH_MAX], log[PATH_MAX], yaml[256];
	snprintf(config, sizeof(config), "%s/config.yaml", dir);
	snprintf(log, sizeof(log), "%s/stderr.log", dir);
	uint16_t port = free_loopback_port();
	uint16_t metrics_port = free_loopback_port();
	assert_true(port != 0 && metrics_port != 0 && port != metrics_port);
	snprintf(yaml, sizeof(yaml),
	         "server:\n  listen: \"127.0.0.1:%u\"\nmetrics:\n  listen: \"127.0.0.1:%u\"\n",
	         port, metrics_port);
	assert_int_equal(test_file_write(config, yaml), 0);
	char *argv[] = {"wsrelay", "--config-file", config, NULL};
	pid_t pid = process_spawn(WSRELAY_BIN, argv, log);
	assert_true(pid > 0);

	int up = relay_wait_port(port, 60000);
	char resp[4096];
	int status = up == 0
	                 ? http_request(metrics_port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n",
	                                resp, sizeof(resp), WAIT_MS)
	                 : -1;
	assert_int_equal(process_stop(pid, SIGTERM, 60000), 0);
	(void)unlink(config);
	(void)unlink(log);
	(void)rmdir(dir);
	assert_int_equal(up, 0);
	assert_int_equal(status, 200);
}

static void test_idle_relay_exits_at_once(void **state)
{
	(void)state;
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, default_config), 0);
	assert_int_equal(relay_wait_listener(&rp, rp.metrics_port, WAIT_MS), 0);
	struct timespec start, end;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int rc = relay_stop(&rp, SIGTERM, IDLE_EXIT_MS);
	clock_gettime(CLOCK_MONOTONIC, &end);
	print_message("idle relay: %.3f s from SIGTERM to exit\n",
	              (double)(end.tv_sec - start.tv_sec) +
	                  (double)(end.tv_nsec - start.tv_nsec) / 1e9);
	/* -2: still running at the deadline (then killed). */
	assert_int_equal(rc, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_metrics_answer_when_websocket_port_opens),
	    cmocka_unit_test(test_idle_relay_exits_at_once),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
