/* /metrics and /healthz against the real server: exact counter values after
 * driven traffic, the connections invariant, the listener's independence
 * from the WebSocket pool, promtool's verdict and a real Prometheus scrape. */
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
#include "ws_raw.h"
#include "test_file.h"
#include "relay_fixture.h"

#define WAIT_MS    20000 /* only a failure waits this long */
#define SCRAPE_CAP (256 * 1024)

static struct relay_process relay;
static char scrape_text[SCRAPE_CAP];

static const char metrics_config[] = "server:\n"
                                     "  listen: \"127.0.0.1:@PORT@\"\n"
                                     "  max_connections: 8\n"
                                     "  max_message_bytes: 65536\n"
                                     "  document_root: \"\"\n"
                                     "  allowed_origins: [\"http://good.example\"]\n"
                                     "relay:\n"
                                     "  client_queue_messages: 64\n"
                                     "metrics:\n"
                                     "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
                                     "shutdown:\n"
                                     "  timeout_seconds: 5\n";

static int start_relay(void **state)
{
	*state = &relay; /* for relay_fixture_stop */
	if (relay_start(&relay, WSRELAY_BIN, metrics_config) != 0)
		return -1;
	return relay_wait_listener(&relay, relay.metrics_port, WAIT_MS);
}

/* Fetches path from the metrics port; returns the status, body in
 * scrape_text (headers included). */
static int fetch(const char *path)
{
	char request[256];
	snprintf(request, sizeof(request), "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", path);
	return http_request(relay.metrics_port, request, scrape_text, sizeof(scrape_text), WAIT_MS);
}

static double scrape(const char *series)
{
	assert_int_equal(fetch("/metrics"), 200);
	return relay_fixture_sample(scrape_text, series);
}

/* Counters are bumped on the server's threads just after the events a
 * client can observe, so wait for a value instead of asserting at once. */
static void expect_metric_within(const char *series, double want, int timeout_ms)
{
	double got = -1;
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		got = scrape(series);
		if (got == want)
			return;
		usleep(20 * 1000);
	}
	fail_msg("%s is %g, expected %g", series, got, want);
}

static void expect_metric(const char *series, double want)
{
	expect_metric_within(series, want, WAIT_MS);
}

static const char *const reasons[] = {"client_close",   "write_error",     "slow_consumer",
                                      "protocol_error", "message_too_big", "timeout",
                                      "shutdown"};

static double disconnections_sum(void)
{
	double sum = 0;
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		char series[96];
		snprintf(series, sizeof(series), "wsrelay_disconnections_total{reason=\"%s\"}",
		         reasons[i]);
		sum += relay_fixture_sample(scrape_text, series);
	}
	return sum;
}

/* connections - disconnections == connected, once the last close handler
 * is done: a client leaves the gauge before its disconnection is counted
 * (and after its peer saw the close), so it is waited for. */
static void expect_invariant(void)
{
	double connections = -1, connected = -1, disconnections = -1;
	for (int waited = 0; waited <= WAIT_MS; waited += 20) {
		assert_int_equal(fetch("/metrics"), 200);
		connections = relay_fixture_sample(scrape_text, "wsrelay_connections_total");
		connected = relay_fixture_sample(scrape_text, "wsrelay_connected_clients");
		disconnections = disconnections_sum();
		assert_true(connected >= 0);
		if (connections - disconnections == connected)
			return;
		usleep(20 * 1000);
	}
	fail_msg("connections %g - disconnections %g != connected %g", connections, disconnections,
	         connected);
}

static void read_message(struct ws_raw *c)
{
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_message(c, &f, WAIT_MS), WS_FRAME);
	ws_raw_frame_free(&f);
}

static void close_client(struct ws_raw *c)
{
	ws_raw_send_close(c, 1000, NULL);
	assert_int_equal(ws_raw_expect_eof(c, WAIT_MS), 0);
	ws_raw_close(c);
}

static void test_families_present_before_anything_happens(void **state)
{
	(void)state;
	assert_int_equal(fetch("/metrics"), 200);
	assert_non_null(
	    strstr(scrape_text, "Content-Type: text/plain; version=0.0.4; charset=utf-8"));
	static const char *const families[] = {
	    "wsrelay_connections_total counter",
	    "wsrelay_disconnections_total counter",
	    "wsrelay_connected_clients gauge",
	    "wsrelay_messages_total counter",
	    "wsrelay_messages_delivered_total counter",
	    "wsrelay_received_bytes_total counter",
	    "wsrelay_sent_bytes_total counter",
	    "wsrelay_broadcast_write_errors_total counter",
	    "wsrelay_rejected_handshakes_total counter",
	    "wsrelay_message_size_bytes histogram",
	    "wsrelay_broadcast_duration_seconds histogram",
	    "wsrelay_build_info gauge",
	    "wsrelay_start_time_seconds gauge",
	    "process_cpu_seconds_total counter",
	    "process_resident_memory_bytes gauge",
	    "process_virtual_memory_bytes gauge",
	    "process_open_fds gauge",
	    "process_max_fds gauge",
	    "process_start_time_seconds gauge",
	    "process_threads gauge",
	};
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		char type_line[128];
		snprintf(type_line, sizeof(type_line), "# TYPE %s\n", families[i]);
		if (!strstr(scrape_text, type_line))
			fail_msg("missing %s", type_line);
	}
	/* Every reason reads 0 before it happens. */
	assert_true(disconnections_sum() == 0);
	assert_true(relay_fixture_sample(
	                scrape_text, "wsrelay_rejected_handshakes_total{reason=\"origin\"}") == 0);
	assert_true(relay_fixture_sample(scrape_text, "process_resident_memory_bytes") > 0);
	assert_true(relay_fixture_sample(scrape_text, "process_threads") > 8);
	assert_non_null(strstr(scrape_text, "wsrelay_build_info{version=\""));
}

/* Traffic with known counts, then the exact values. */
static void test_counters_after_traffic(void **state)
{
	(void)state;
	double base_conn = scrape("wsrelay_connections_total");
	double base_msgs = scrape("wsrelay_messages_total");
	double base_deliv = scrape("wsrelay_messages_delivered_total");
	double base_rx = scrape("wsrelay_received_bytes_total");
	double base_tx = scrape("wsrelay_sent_bytes_total");
	double base_close = scrape("wsrelay_disconnections_total{reason=\"client_close\"}");
	double base_hist = scrape("wsrelay_message_size_bytes_count");
	double base_small = scrape("wsrelay_message_size_bytes_bucket{le=\"64\"}");
	double base_dur = scrape("wsrelay_broadcast_duration_seconds_count");

	struct ws_raw c[3];
	for (int i = 0; i < 3; i++)
		relay_fixture_connect(&c[i], relay.port, WAIT_MS);
	expect_metric("wsrelay_connections_total", base_conn + 3);
	expect_metric("wsrelay_connected_clients", 3);

	/* Two messages of 10 and 300 bytes, each to all three clients. */
	char big[300];
	memset(big, 'b', sizeof(big));
	assert_int_equal(ws_raw_send_text(&c[0], "ten bytes!"), 0);
	assert_int_equal(ws_raw_send_binary(&c[1], big, sizeof(big)), 0);
	for (int i = 0; i < 3; i++) {
		read_message(&c[i]);
		read_message(&c[i]);
	}
	expect_metric("wsrelay_messages_total", base_msgs + 2);
	expect_metric("wsrelay_received_bytes_total", base_rx + 310);
	expect_metric("wsrelay_messages_delivered_total", base_deliv + 6);
	expect_metric("wsrelay_sent_bytes_total", base_tx + 3 * 310);
	expect_metric("wsrelay_message_size_bytes_count", base_hist + 2);
	expect_metric("wsrelay_message_size_bytes_bucket{le=\"64\"}", base_small + 1);
	/* Observed once hub_broadcast returns, which may be after the
	 * receivers already have the message: waited for, not read once. */
	expect_metric("wsrelay_broadcast_duration_seconds_count", base_dur + 2);

	for (int i = 0; i < 3; i++)
		close_client(&c[i]);
	expect_metric("wsrelay_disconnections_total{reason=\"client_close\"}", base_close + 3);
	expect_metric("wsrelay_connected_clients", 0);
	expect_invariant();
}

static void test_protocol_and_size_disconnections(void **state)
{
	(void)state;
	double base_proto = scrape("wsrelay_disconnections_total{reason=\"protocol_error\"}");
	double base_big = scrape("wsrelay_disconnections_total{reason=\"message_too_big\"}");
	struct ws_raw c;
	relay_fixture_connect(&c, relay.port, WAIT_MS);
	ws_raw_send_frame(&c, WS_FIN | WS_OP_TEXT, "\xFF", 1, true); /* not UTF-8 */
	ws_raw_expect_eof(&c, WAIT_MS);
	ws_raw_close(&c);
	relay_fixture_connect(&c, relay.port, WAIT_MS);
	ws_raw_send_frame(&c, WS_FIN | WS_RSV1 | WS_OP_TEXT, "x", 1,
	                  true); /* refused by CivetWeb */
	ws_raw_expect_eof(&c, WAIT_MS);
	ws_raw_close(&c);
	relay_fixture_connect(&c, relay.port, WAIT_MS);
	ws_raw_send_header_only(&c, WS_FIN | WS_OP_BINARY, 1 << 20);
	ws_raw_expect_eof(&c, WAIT_MS);
	ws_raw_close(&c);
	expect_metric("wsrelay_disconnections_total{reason=\"protocol_error\"}", base_proto + 2);
	expect_metric("wsrelay_disconnections_total{reason=\"message_too_big\"}", base_big + 1);
	expect_metric("wsrelay_connected_clients", 0);
	expect_invariant();
}

static void test_rejected_handshakes(void **state)
{
	(void)state;
	double base_origin = scrape("wsrelay_rejected_handshakes_total{reason=\"origin\"}");
	double base_bad = scrape("wsrelay_rejected_handshakes_total{reason=\"bad_request\"}");
	double base_cap = scrape("wsrelay_rejected_handshakes_total{reason=\"capacity\"}");
	double base_conn = scrape("wsrelay_connections_total");

	struct ws_raw c;
	int status = 0;
	ws_raw_init(&c);
	ws_raw_connect(&c, relay.port, "/ws", "Origin: http://evil.example\r\n", &status, WAIT_MS);
	assert_int_equal(status, 403);
	ws_raw_close(&c);
	char resp[1024];
	assert_int_equal(http_request(relay.port, "GET /ws HTTP/1.1\r\nHost: x\r\n\r\n", resp,
	                              sizeof(resp), WAIT_MS),
	                 426);

	struct ws_raw full[8];
	for (int i = 0; i < 8; i++)
		relay_fixture_connect(&full[i], relay.port, WAIT_MS);
	ws_raw_init(&c);
	ws_raw_connect(&c, relay.port, "/ws", NULL, &status, WAIT_MS);
	assert_int_equal(status, 503);
	ws_raw_close(&c);

	/* The relay is full, yet its metrics answer. */
	expect_metric("wsrelay_connected_clients", 8);
	expect_metric("wsrelay_rejected_handshakes_total{reason=\"origin\"}", base_origin + 1);
	expect_metric("wsrelay_rejected_handshakes_total{reason=\"bad_request\"}", base_bad + 1);
	expect_metric("wsrelay_rejected_handshakes_total{reason=\"capacity\"}", base_cap + 1);
	/* Refused handshakes are not connections. */
	expect_metric("wsrelay_connections_total", base_conn + 8);
	for (int i = 0; i < 8; i++)
		close_client(&full[i]);
	expect_invariant();
}

/* A receiver that stopped reading: once its socket and then its queue are
 * full, it is dropped as a slow consumer, exactly once, and the sender goes
 * on undisturbed. */
static void test_stalled_receiver_is_a_slow_consumer(void **state)
{
	(void)state;
	double base_slow = scrape("wsrelay_disconnections_total{reason=\"slow_consumer\"}");
	double base_err = scrape("wsrelay_broadcast_write_errors_total");
	struct ws_raw sender, stalled;
	relay_fixture_connect(&stalled, relay.port, WAIT_MS);
	relay_fixture_connect(&sender, relay.port, WAIT_MS);
	char *chunk = malloc(60000);
	assert_non_null(chunk);
	memset(chunk, 'w', 60000);
	/* Far more than the kernel buffers and the 64-message queue hold; the
	 * sender keeps reading its own echoes. */
	for (int i = 0; i < 600; i++) {
		assert_int_equal(ws_raw_send_binary(&sender, chunk, 60000), 0);
		struct ws_raw_frame f;
		while (ws_raw_read_frame(&sender, &f, 0) == WS_FRAME)
			ws_raw_frame_free(&f);
		if (scrape("wsrelay_connected_clients") == 1)
			break;
	}
	free(chunk);
	/* Out of the hub at once; the connection itself ends once the close
	 * frame 1008, which it does not read, has had its 5 s. */
	expect_metric("wsrelay_connected_clients", 1);
	expect_metric_within("wsrelay_disconnections_total{reason=\"slow_consumer\"}",
	                     base_slow + 1, 60000);
	/* Cut off for want of reading, not for a failed write. */
	assert_true(relay_fixture_sample(scrape_text, "wsrelay_broadcast_write_errors_total") ==
	            base_err);
	ws_raw_close(&stalled);
	close_client(&sender);
	expect_metric("wsrelay_connected_clients", 0);
	assert_true(relay_fixture_sample(
	                scrape_text, "wsrelay_disconnections_total{reason=\"slow_consumer\"}") ==
	            base_slow + 1);
	expect_invariant();
}

static void test_metrics_absent_from_websocket_port(void **state)
{
	(void)state;
	char resp[1024];
	int status = http_request(relay.port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", resp,
	                          sizeof(resp), WAIT_MS);
	assert_int_equal(status, 404);
	/* And the metrics port serves nothing else. */
	assert_int_equal(fetch("/ws"), 404);
	assert_int_equal(fetch("/"), 404);
}

static void test_healthz_ok(void **state)
{
	(void)state;
	assert_int_equal(fetch("/healthz"), 200);
	assert_non_null(strstr(scrape_text, "\r\n\r\nok\n"));
}

/* Runs a command through the shell; returns its exit status. */
static int shell(const char *command, char *output, size_t cap)
{
	char *argv[] = {"sh", "-c", (char *)(uintptr_t)command, NULL};
	return relay_run("/bin/sh", argv, output, cap, 60000);
}

static bool have(const char *tool)
{
	char command[256], out[256];
	snprintf(command, sizeof(command), "command -v %s", tool);
	if (shell(command, out, sizeof(out)) == 0)
		return true;
	if (getenv("CI"))
		fail_msg("%s is missing: .ci/install-deps installs it", tool);
	return false;
}

static void test_promtool_accepts_a_live_scrape(void **state)
{
	(void)state;
	if (!have("promtool")) {
		skip();
		return;
	}
	char path[] = "/tmp/wsrelay-scrape-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	char command[512], out[8192];
	snprintf(command, sizeof(command),
	         "curl -sf http://127.0.0.1:%u/metrics > %s || "
	         "wget -qO %s http://127.0.0.1:%u/metrics",
	         relay.metrics_port, path, path, relay.metrics_port);
	if (shell(command, out, sizeof(out)) != 0) {
		/* No curl or wget: write the body we fetch ourselves. */
		assert_int_equal(fetch("/metrics"), 200);
		const char *body = strstr(scrape_text, "\r\n\r\n");
		assert_non_null(body);
		assert_int_equal(test_file_write(path, body + 4), 0);
	}
	snprintf(command, sizeof(command), "promtool check metrics < %s 2>&1", path);
	int rc = shell(command, out, sizeof(out));
	unlink(path);
	if (rc != 0 || out[0] != '\0')
		fail_msg("promtool check metrics (exit %d): %s", rc, out);
}

/* A real Prometheus scrapes the relay; its query API must report the
 * connections this test made. */
static void test_prometheus_scrapes_the_relay(void **state)
{
	(void)state;
	if (!have("prometheus")) {
		skip();
		return;
	}
	struct ws_raw c[2];
	for (int i = 0; i < 2; i++)
		relay_fixture_connect(&c[i], relay.port, WAIT_MS);
	for (int i = 0; i < 2; i++)
		close_client(&c[i]);
	expect_metric("wsrelay_connected_clients", 0);
	double connections = scrape("wsrelay_connections_total");

	char dir[] = "/tmp/wsrelay-prometheus-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char config_path[256], log_path[256], storage[256], yaml[512];
	snprintf(config_path, sizeof(config_path), "%s/prometheus.yml", dir);
	snprintf(log_path, sizeof(log_path), "%s/prometheus.log", dir);
	snprintf(storage, sizeof(storage), "--storage.tsdb.path=%s/data", dir);
	snprintf(yaml, sizeof(yaml),
	         "global:\n  scrape_interval: 1s\n"
	         "scrape_configs:\n  - job_name: wsrelay\n"
	         "    static_configs:\n      - targets: ['127.0.0.1:%u']\n",
	         relay.metrics_port);
	assert_int_equal(test_file_write(config_path, yaml), 0);
	uint16_t web_port = free_loopback_port();
	char config_arg[300], listen_arg[64];
	snprintf(config_arg, sizeof(config_arg), "--config.file=%s", config_path);
	snprintf(listen_arg, sizeof(listen_arg), "--web.listen-address=127.0.0.1:%u", web_port);
	char *argv[] = {"prometheus", config_arg, storage, listen_arg, NULL};
	pid_t pid = process_spawn("prometheus", argv, log_path);
	assert_true(pid > 0);

	/* Prometheus answers once it has started and scraped at least once. */
	char want[64];
	snprintf(want, sizeof(want), "\"%.0f\"]", connections);
	bool found = false;
	char resp[8192] = "";
	for (int waited = 0; waited < 60000 && !found; waited += 250) {
		usleep(250 * 1000);
		int status = http_request(web_port,
		                          "GET /api/v1/query?query=wsrelay_connections_total "
		                          "HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n",
		                          resp, sizeof(resp), 2000);
		found = status == 200 && strstr(resp, want) != NULL;
	}
	process_stop(pid, SIGTERM, 15000);
	char cleanup[600], out[256];
	snprintf(cleanup, sizeof(cleanup), "rm -rf %s", dir);
	if (!found) {
		char *log = test_file_read(log_path, NULL);
		fprintf(stderr, "prometheus log:\n%s\nlast answer:\n%s\n", log ? log : "", resp);
		free(log);
	}
	shell(cleanup, out, sizeof(out));
	if (!found)
		fail_msg("Prometheus never reported wsrelay_connections_total = %.0f", connections);
}

/* /healthz turns 503 once the shutdown begins, while /metrics still answers. */
static void test_healthz_503_during_shutdown(void **state)
{
	(void)state;
	struct ws_raw quiet;
	relay_fixture_connect(&quiet, relay.port, WAIT_MS);
	kill(relay.pid, SIGTERM);
	int status = 0;
	for (int waited = 0; waited < WAIT_MS && status != 503; waited += 20) {
		status = fetch("/healthz");
		usleep(20 * 1000);
	}
	assert_int_equal(status, 503);
	assert_int_equal(fetch("/metrics"), 200);
	/* The quiet client does not answer the close: the drain lasts until
	 * the timeout. */
	assert_int_equal(relay_stop(&relay, 0, 60000), 0);
	ws_raw_close(&quiet);
	assert_true(relay_fixture_sample(scrape_text, "wsrelay_connected_clients") <= 1);
}

static int start_disabled(void **state)
{
	*state = &relay; /* for relay_fixture_stop */
	return relay_start(&relay, WSRELAY_BIN,
	                   "server:\n  listen: \"127.0.0.1:@PORT@\"\n  document_root: \"\"\n"
	                   "  max_connections: 8\n"
	                   "metrics:\n  enabled: false\n  listen: \"127.0.0.1:@METRICS_PORT@\"\n");
}

static void test_disabled_metrics_leave_the_port_closed(void **state)
{
	(void)state;
	assert_true(tcp_connect_loopback(relay.metrics_port, 500) < 0);
}

int main(void)
{
	const struct CMUnitTest live[] = {
	    cmocka_unit_test(test_families_present_before_anything_happens),
	    cmocka_unit_test(test_counters_after_traffic),
	    cmocka_unit_test(test_protocol_and_size_disconnections),
	    cmocka_unit_test(test_rejected_handshakes),
	    cmocka_unit_test(test_stalled_receiver_is_a_slow_consumer),
	    cmocka_unit_test(test_metrics_absent_from_websocket_port),
	    cmocka_unit_test(test_healthz_ok),
	    cmocka_unit_test(test_promtool_accepts_a_live_scrape),
	    cmocka_unit_test(test_prometheus_scrapes_the_relay),
	    cmocka_unit_test(test_healthz_503_during_shutdown),
	};
	const struct CMUnitTest disabled[] = {
	    cmocka_unit_test(test_disabled_metrics_leave_the_port_closed),
	};
	int failed = cmocka_run_group_tests_name("metrics", live, start_relay, NULL);
	/* The last test stopped the relay itself. */
	failed +=
	    cmocka_run_group_tests_name("disabled", disabled, start_disabled, relay_fixture_stop);
	return failed;
}
