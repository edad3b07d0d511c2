/* Cross-node latency: starts a broker (Debian's redis-server or
 * nats-server) and two relay nodes on free loopback ports, sends messages
 * from a client of node 1 at a fixed rate and times their arrival at a
 * client of node 2, with and without cluster.secret_file. Prints one line
 * per run: p50, p99 and p99.9 in microseconds. Never part of ctest. With
 * "rooms" last, both nodes run with rooms on and the two clients meet in
 * the default room, over its own channel (version 2 envelopes).
 *
 * usage: wsrelay-bench-cluster WSRELAY_BINARY redis|nats [messages] [rate] [size] [rooms] */
#include <openssl/rand.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "broker_process.h"
#include "paced_sender.h"
#include "relay_process.h"
#include "ws_raw.h"

static const char node_config[] = "server:\n"
                                  "  listen: \"127.0.0.1:@PORT@\"\n"
                                  "  document_root: \"\"\n"
                                  "  max_message_bytes: 1047552\n"
                                  "relay:\n"
                                  "  echo_to_sender: false\n"
                                  "metrics:\n"
                                  "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
                                  "cluster:\n"
                                  "  enabled: true\n"
                                  "  broker: \"%s\"\n"
                                  "  url: \"%s\"\n"
                                  "  channel: \"bench.%ld\"\n"
                                  "  node_id: \"n%d\"\n"
                                  "%s"
                                  "logging:\n"
                                  "  level: \"warn\"\n";

static int64_t now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* The send time, for the receiver to subtract. */
static int time_head(char *head, long i)
{
	(void)i;
	return snprintf(head, PACED_HEAD_CAP, "%020lld", (long long)now_ns());
}

static int cmp(const void *a, const void *b)
{
	int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
	return (x > y) - (x < y);
}

static bool rooms_on;

static int run(const char *bin, enum test_broker kind, bool sign, long count, long rate,
               size_t size)
{
	struct broker_process broker;
	struct relay_process nodes[2];
	char url[128], extra[512] = "", yaml[2048], key_path[] = "/tmp/wsrelay-bench-key-XXXXXX";
	if (broker_init(&broker, kind) != 0 || broker_start(&broker) != 0)
		return -1;
	broker_url(&broker, url, sizeof(url));
	if (sign) {
		uint8_t key[32];
		char hex[70];
		int fd = mkstemp(key_path);
		if (fd < 0 || RAND_bytes(key, 32) != 1)
			return -1;
		for (size_t i = 0; i < 32; i++)
			snprintf(hex + 2 * i, 3, "%02x", key[i]);
		hex[64] = '\n';
		hex[65] = '\0';
		if (write(fd, hex, strlen(hex)) < 0)
			return -1;
		close(fd);
		snprintf(extra, sizeof(extra), "  secret_file: \"%s\"\n", key_path);
	}
	if (rooms_on)
		snprintf(extra + strlen(extra), sizeof(extra) - strlen(extra),
		         "rooms:\n  enabled: true\n");
	for (int i = 0; i < 2; i++) {
		snprintf(yaml, sizeof(yaml), node_config, broker_kind_name(kind), url,
		         (long)getpid(), i + 1, extra);
		if (relay_start(&nodes[i], bin, yaml) != 0)
			return -1;
	}
	struct ws_raw a, b;
	int status;
	ws_raw_init(&a);
	ws_raw_init(&b);
	if (ws_raw_connect(&a, nodes[0].port, "/ws", NULL, &status, 5000) != 0 ||
	    ws_raw_connect(&b, nodes[1].port, "/ws", NULL, &status, 5000) != 0)
		return -1;
	/* Until the link is up both ways. */
	for (int i = 0;; i++) {
		struct ws_raw_frame f;
		if (i == 200)
			return -1;
		ws_raw_send_text(&a, "00000000000000000000 warm-up");
		if (ws_raw_read_message(&b, &f, 100) == WS_FRAME) {
			ws_raw_frame_free(&f);
			break;
		}
	}
	struct ws_raw_frame f;
	while (ws_raw_read_message(&b, &f, 300) == WS_FRAME)
		ws_raw_frame_free(&f);

	int64_t *lat = calloc((size_t)count, sizeof(*lat));
	struct paced_sender s = {
	    .ws = &a, .count = count, .rate = rate, .size = size, .head = time_head};
	if (!lat || paced_sender_start(&s) != 0) {
		free(lat);
		return -1;
	}
	long got = 0;
	while (got < count && ws_raw_read_message(&b, &f, 5000) == WS_FRAME) {
		lat[got++] = now_ns() - strtoll((const char *)f.payload, NULL, 10);
		ws_raw_frame_free(&f);
	}
	bool sent_all = paced_sender_join(&s);
	qsort(lat, (size_t)got, sizeof(*lat), cmp);
	long p50 = got / 2, p99 = got * 99 / 100, p999 = got * 999 / 1000;
	if (got > 0)
		printf("%s rooms=%s signed=%s messages=%ld/%ld rate=%ld/s size=%zu p50_us=%.1f "
		       "p99_us=%.1f p999_us=%.1f\n",
		       broker_kind_name(kind), rooms_on ? "yes" : "no", sign ? "yes" : "no", got,
		       count, rate, size, (double)lat[p50] / 1e3, (double)lat[p99] / 1e3,
		       (double)lat[p999] / 1e3);
	free(lat);
	ws_raw_close(&a);
	ws_raw_close(&b);
	for (int i = 0; i < 2; i++)
		relay_stop(&nodes[i], SIGTERM, 15000);
	broker_cleanup(&broker);
	if (sign)
		unlink(key_path);
	return got == count && sent_all ? 0 : -1;
}

int main(int argc, char **argv)
{
	enum test_broker kind;
	if (argc < 3 || broker_kind_from_name(argv[2], &kind) != 0) {
		fprintf(stderr, "usage: wsrelay-bench-cluster WSRELAY_BINARY redis|nats [messages] "
		                "[rate] [size] [rooms]\n");
		return 2;
	}
	long count = argc > 3 ? strtol(argv[3], NULL, 10) : 20000;
	long rate = argc > 4 ? strtol(argv[4], NULL, 10) : 2000;
	size_t size = argc > 5 ? (size_t)strtol(argv[5], NULL, 10) : 256;
	rooms_on = argc > 6 && strcmp(argv[6], "rooms") == 0;
	if (count <= 0 || rate <= 0 || size < 24 || (argc > 6 && !rooms_on))
		return 2;
	int rc = 0;
	for (int signed_run = 0; signed_run < 2; signed_run++)
		if (run(argv[1], kind, signed_run == 1, count, rate, size) != 0)
			rc = 1;
	return rc;
}
