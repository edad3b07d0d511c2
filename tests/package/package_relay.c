/* The .deb as installed, run: its binary with its own configuration, with
 * only the listen addresses (free loopback ports) and the document root's
 * location (inside the scratch root that package_contents unpacked it into)
 * changed. It must relay, serve the packaged test page and report itself on
 * the metrics port.
 *
 * usage: package_relay ROOT */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "relay_process.h"
#include "ws_raw.h"
#include "test_file.h"
#include "relay_fixture.h"

#define WAIT_MS 20000 /* only a failure waits this long */

static const char *root;
static struct relay_process relay;

/* One whole line of the packaged configuration and its replacement. */
struct edit {
	const char *line;
	const char *with;
	int seen;
};

/* text with each edit's line replaced, or NULL unless every edit's line
 * occurs exactly once: a reshaped packaged file should fail here loudly
 * rather than leave the relay on its production ports. */
static char *edit_lines(const char *text, struct edit *edits, size_t count)
{
	char *out = NULL;
	size_t out_len = 0;
	FILE *f = open_memstream(&out, &out_len);
	if (!f)
		return NULL;
	for (const char *p = text; *p;) {
		const char *end = strchr(p, '\n');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		bool replaced = false;
		for (size_t i = 0; i < count && !replaced; i++) {
			if (strlen(edits[i].line) == len && memcmp(p, edits[i].line, len) == 0) {
				fputs(edits[i].with, f);
				edits[i].seen++;
				replaced = true;
			}
		}
		if (!replaced)
			fwrite(p, 1, len, f);
		fputc('\n', f);
		p += end ? len + 1 : len;
	}
	bool ok = fclose(f) == 0;
	for (size_t i = 0; i < count; i++) {
		if (edits[i].seen != 1) {
			fprintf(stderr,
			        "package_relay: '%s' occurs %d times in the packaged config\n",
			        edits[i].line, edits[i].seen);
			ok = false;
		}
	}
	if (!ok) {
		free(out);
		return NULL;
	}
	return out;
}

static int start_packaged_relay(void **state)
{
	(void)state;
	char path[PATH_MAX];
	char docroot[PATH_MAX + 64];

	snprintf(path, sizeof(path), "%s/etc/wsrelay/wsrelay.yaml", root);
	char *packaged = test_file_read(path, NULL);
	if (!packaged) {
		fprintf(stderr, "package_relay: cannot read %s\n", path);
		return -1;
	}
	snprintf(docroot, sizeof(docroot), "  document_root: \"%s/usr/share/wsrelay/www\"", root);
	struct edit edits[] = {
	    {"  listen: \"0.0.0.0:8443\"", "  listen: \"127.0.0.1:@PORT@\"", 0},
	    {"  listen: \"0.0.0.0:9090\"", "  listen: \"127.0.0.1:@METRICS_PORT@\"", 0},
	    {"  document_root: \"/usr/share/wsrelay/www\"", docroot, 0},
	};
	char *config = edit_lines(packaged, edits, sizeof(edits) / sizeof(edits[0]));
	free(packaged);
	if (!config)
		return -1;

	snprintf(path, sizeof(path), "%s/usr/bin/wsrelay", root);
	int rc = relay_start(&relay, path, config);
	free(config);
	if (rc == 0 && relay_wait_listener(&relay, relay.metrics_port, WAIT_MS) != 0)
		rc = -1;
	return rc;
}

static int stop_packaged_relay(void **state)
{
	(void)state;
	/* A clean drain ends with status 0. */
	return relay_stop(&relay, SIGTERM, 15000) == 0 ? 0 : -1;
}

static void expect_text(struct ws_raw *c, const char *text)
{
	struct ws_raw_frame f;
	int r = ws_raw_read_message(c, &f, WAIT_MS);
	if (r != WS_FRAME)
		fail_msg("no message: result %d (%s)", r, c->err);
	assert_int_equal(f.opcode, WS_OP_TEXT);
	assert_string_equal((const char *)f.payload, text);
	ws_raw_frame_free(&f);
}

/* The body of a GET, or a failed test. */
static char *get(uint16_t port, const char *path, size_t cap)
{
	char request[256];
	char *resp = malloc(cap);
	assert_non_null(resp);
	snprintf(request, sizeof(request),
	         "GET %s HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n", path);
	assert_int_equal(http_request(port, request, resp, cap, WAIT_MS), 200);
	char *body = strstr(resp, "\r\n\r\n");
	assert_non_null(body);
	memmove(resp, body + 4, strlen(body + 4) + 1);
	return resp;
}

static void test_relays_a_message(void **state)
{
	(void)state;
	static const char text[] = "relayed by the installed package";
	struct ws_raw sender, receiver;

	relay_fixture_connect(&sender, relay.port, WAIT_MS);
	relay_fixture_connect(&receiver, relay.port, WAIT_MS);
	assert_int_equal(ws_raw_send_text(&sender, text), 0);
	expect_text(&receiver, text);
	/* The packaged configuration keeps the default echo_to_sender: true. */
	expect_text(&sender, text);
	ws_raw_close(&sender);
	ws_raw_close(&receiver);

	/* The counters are bumped on the relay's threads just after the writes
	 * the clients have read: wait for them rather than racing the sender. */
	assert_true(
	    relay_fixture_wait_metric(relay.metrics_port, "wsrelay_messages_total", 1, WAIT_MS));
	assert_true(relay_fixture_wait_metric(relay.metrics_port,
	                                      "wsrelay_messages_delivered_total", 2, WAIT_MS));
	char *metrics = get(relay.metrics_port, "/metrics", (size_t)256 * 1024);
	assert_non_null(
	    strstr(metrics, "\nwsrelay_build_info{version=\"" WSRELAY_VERSION_STRING "\","));
	free(metrics);
}

static void test_serves_the_packaged_page(void **state)
{
	(void)state;
	char path[PATH_MAX];
	size_t len = 0;

	snprintf(path, sizeof(path), "%s/usr/share/wsrelay/www/index.html", root);
	char *page = test_file_read(path, &len);
	assert_non_null(page);
	char *body = get(relay.port, "/", len + 4096);
	assert_string_equal(body, page);
	free(body);
	free(page);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: package_relay ROOT\n");
		return 2;
	}
	root = argv[1];
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relays_a_message),
	    cmocka_unit_test(test_serves_the_packaged_page),
	};
	return cmocka_run_group_tests(tests, start_packaged_relay, stop_packaged_relay);
}
