/* Wire integrity against the real server: every byte to a client goes out in
 * frame order from one writer. Control frames (our pongs, our keepalive
 * pings) never land inside a relayed frame, a client flooding pings costs
 * the others nothing, a client that stops inside a payload is timed out, and
 * a 64-bit length with its top bit set gets close 1002.
 *
 * The subscribers here parse the byte stream themselves, strictly, reading
 * slowly through a small receive buffer so that the relay's sends are
 * partial, which is where a control frame written by another thread used to
 * slip in. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <openssl/ssl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay_fixture.h"
#include "relay_process.h"
#include "test_pki.h"
#include "ws_raw.h"

#define WAIT_MS 10000
/* The relayed messages: above the 256 KiB a TLS write takes at once, and
 * far above what a slow reader's socket holds. */
#define BIG_MESSAGE   ((size_t)3 * 1024 * 1024)
#define BIG_COUNT     3
#define BIG_BYTE      0xAA
#define SLOW_RCVBUF   8192
#define SLOW_CHUNK    8192
#define SLOW_PAUSE_US 5000

static char pki_dir[64];

static double seconds_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void sleep_ms(long ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

/* Two at a time: a certificate's path and its key's. */
static const char *pki_path(const char *name)
{
	static char p[2][PATH_MAX];
	static int next;
	next = !next;
	snprintf(p[next], sizeof(p[next]), "%s/%s", pki_dir, name);
	return p[next];
}

static int make_pki(void **state)
{
	(void)state;
	snprintf(pki_dir, sizeof(pki_dir), "/tmp/wsrelay-wire-test-XXXXXX");
	if (!mkdtemp(pki_dir))
		return -1;
	const long day = 86400;
	struct pki_entity *ca = pki_issue(PKI_CA, "wsrelay wire test CA", 1, -day, day, NULL);
	struct pki_entity *leaf = ca ? pki_issue(PKI_SERVER, "localhost", 2, -day, day, ca) : NULL;
	int rc = leaf ? pki_write(leaf, pki_path("server.pem"), pki_path("server.key"), true) : -1;
	pki_free(leaf);
	pki_free(ca);
	return rc;
}

static int remove_pki(void **state)
{
	(void)state;
	(void)unlink(pki_path("server.pem"));
	(void)unlink(pki_path("server.key"));
	return rmdir(pki_dir);
}

/* The config of the corruption cases, over TLS when tls. */
static void start_relay(struct relay_process *rp, bool tls, unsigned ping_s, unsigned idle_s)
{
	char tls_yaml[2 * PATH_MAX + 128] = "";
	if (tls)
		snprintf(tls_yaml, sizeof(tls_yaml),
		         "  tls:\n    enabled: true\n    certificate: \"%s\"\n",
		         pki_path("server.pem"));
	if (tls)
		snprintf(tls_yaml + strlen(tls_yaml), sizeof(tls_yaml) - strlen(tls_yaml),
		         "    private_key: \"%s\"\n", pki_path("server.key"));
	char yaml[sizeof(tls_yaml) + 512];
	snprintf(yaml, sizeof(yaml),
	         "server:\n  listen: \"%s127.0.0.1:@PORT@\"\n  document_root: \"\"\n"
	         "  max_connections: 128\n  max_message_bytes: 8388608\n"
	         "  ping_interval_seconds: %u\n  idle_timeout_seconds: %u\n%s"
	         "relay:\n  echo_to_sender: false\n  client_queue_bytes: 67108864\n"
	         "metrics:\n  listen: \"127.0.0.1:@METRICS_PORT@\"\n",
	         tls ? "wss://" : "", ping_s, idle_s, tls_yaml);
	assert_int_equal(relay_start(rp, WSRELAY_BIN, yaml), 0);
	assert_int_equal(relay_wait_listener(rp, rp->metrics_port, WAIT_MS), 0);
}

static SSL_CTX *client_tls_ctx(void)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(ctx);
	SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
	return ctx;
}

static void connect_client(struct ws_raw *c, uint16_t port, SSL_CTX *tls)
{
	int status = 0;
	ws_raw_init(c);
	int rc = tls ? ws_raw_connect_tls(c, port, tls, "/ws", NULL, &status, WAIT_MS)
	             : ws_raw_connect(c, port, "/ws", NULL, &status, WAIT_MS);
	if (rc != 0)
		fail_msg("handshake: status %d, %s", status, c->err);
}

/* ---- a strict reader of the server's byte stream ---- */

struct stream_check {
	uint8_t head[14];
	size_t head_len;
	uint64_t payload_left;
	uint8_t opcode;
	bool corrupt_frame; /* the data frame being read holds a foreign byte */
	/* results */
	unsigned intact, corrupted, pongs, pings;
	bool broken; /* the stream no longer parses as frames */
	char why[128];
};

/* The header is complete once its length field and (forbidden) mask are. */
static size_t header_need(const uint8_t *h, size_t have)
{
	if (have < 2)
		return 2;
	unsigned len7 = h[1] & 0x7Fu;
	size_t need = 2 + (len7 == 126 ? 2 : len7 == 127 ? 8 : 0);
	return need;
}

static void stream_header_done(struct stream_check *s)
{
	const uint8_t *h = s->head;
	unsigned len7 = h[1] & 0x7Fu;
	uint64_t len = len7;
	if (len7 == 126)
		len = (uint64_t)h[2] << 8 | h[3];
	else if (len7 == 127)
		for (int i = 0; i < 8; i++)
			len = len << 8 | h[2 + i];
	s->opcode = h[0] & 0x0Fu;
	s->payload_left = len;
	s->corrupt_frame = false;
	s->head_len = 0;
	bool fin = (h[0] & 0x80u) != 0;
	if ((h[0] & 0x70u) || (h[1] & 0x80u))
		snprintf(s->why, sizeof(s->why), "RSV or mask bit in header %02x %02x", h[0], h[1]);
	else if (s->opcode == WS_OP_BINARY && (!fin || len != BIG_MESSAGE))
		snprintf(s->why, sizeof(s->why), "binary frame of %llu bytes, fin %d",
		         (unsigned long long)len, fin);
	else if ((s->opcode == WS_OP_PING || s->opcode == WS_OP_PONG) && (!fin || len > 125))
		snprintf(s->why, sizeof(s->why), "control frame of %llu bytes, fin %d",
		         (unsigned long long)len, fin);
	else if (s->opcode != WS_OP_BINARY && s->opcode != WS_OP_PING && s->opcode != WS_OP_PONG)
		snprintf(s->why, sizeof(s->why), "unexpected opcode %u", s->opcode);
	else {
		s->pongs += s->opcode == WS_OP_PONG;
		s->pings += s->opcode == WS_OP_PING;
		return;
	}
	s->broken = true;
}

static void stream_frame_done(struct stream_check *s)
{
	if (s->opcode != WS_OP_BINARY)
		return;
	if (s->corrupt_frame)
		s->corrupted++;
	else
		s->intact++;
}

static void stream_feed(struct stream_check *s, const uint8_t *p, size_t n)
{
	while (n > 0 && !s->broken) {
		if (s->payload_left == 0 && s->head_len < header_need(s->head, s->head_len)) {
			s->head[s->head_len++] = *p++;
			n--;
			if (s->head_len == header_need(s->head, s->head_len)) {
				stream_header_done(s);
				if (!s->broken && s->payload_left == 0)
					stream_frame_done(s);
			}
			continue;
		}
		size_t take = s->payload_left < n ? (size_t)s->payload_left : n;
		if (s->opcode == WS_OP_BINARY)
			for (size_t i = 0; i < take; i++)
				s->corrupt_frame |= p[i] != BIG_BYTE;
		p += take;
		n -= take;
		s->payload_left -= take;
		if (s->payload_left == 0)
			stream_frame_done(s);
	}
}

/* ---- the corruption cases ---- */

/* Owned by its reading thread until joined. */
struct slow_subscriber {
	struct ws_raw c;
	bool ping; /* send a ping every 50 ms while reading */
	unsigned expect;
	double give_up; /* only keeps a broken relay from hanging the test */
	struct stream_check check;
	pthread_t thread;
};

/* Reads about SLOW_CHUNK bytes per SLOW_PAUSE_US until every expected
 * message was parsed, the stream broke, or the test gives up. */
static void *slow_read(void *arg)
{
	struct slow_subscriber *sub = arg;
	uint8_t *chunk = malloc(SLOW_CHUNK);
	double next_ping = seconds_now();
	uint32_t seq = 0;
	while (chunk && seconds_now() < sub->give_up && !sub->check.broken &&
	       sub->check.intact + sub->check.corrupted < sub->expect) {
		if (sub->ping && seconds_now() >= next_ping) {
			seq++;
			if (ws_raw_send_frame(&sub->c, WS_FIN | WS_OP_PING, &seq, sizeof(seq),
			                      true) != 0)
				break;
			next_ping = seconds_now() + 0.05;
		}
		long n = ws_raw_read_bytes(&sub->c, chunk, SLOW_CHUNK, 50);
		if (n == 0)
			break;
		if (n > 0)
			stream_feed(&sub->check, chunk, (size_t)n);
		usleep(SLOW_PAUSE_US);
	}
	free(chunk);
	return NULL;
}

static void corruption_case(bool tls, bool client_pings)
{
	struct relay_process rp;
	/* Keepalive pings every second when the client is silent; the idle
	 * limit stays out of reach of this test. */
	start_relay(&rp, tls, 1, 300);
	SSL_CTX *ctx = tls ? client_tls_ctx() : NULL;

	struct slow_subscriber *sub = calloc(1, sizeof(*sub));
	assert_non_null(sub);
	int status = 0;
	if (ws_raw_connect_rcvbuf(&sub->c, rp.port, ctx, "/ws", SLOW_RCVBUF, &status, WAIT_MS) != 0)
		fail_msg("handshake: status %d, %s", status, sub->c.err);
	sub->ping = client_pings;
	sub->expect = BIG_COUNT;
	sub->give_up = seconds_now() + 120;
	struct ws_raw pub;
	connect_client(&pub, rp.port, ctx);
	assert_int_equal(pthread_create(&sub->thread, NULL, slow_read, sub), 0);

	uint8_t *big = malloc(BIG_MESSAGE);
	assert_non_null(big);
	memset(big, BIG_BYTE, BIG_MESSAGE);
	for (int i = 0; i < BIG_COUNT; i++) {
		assert_int_equal(ws_raw_send_binary(&pub, big, BIG_MESSAGE), 0);
		/* Apart, so the subscriber's queue empties and fills again, and
		 * a silent subscriber gets the keepalive's pings in between. */
		sleep_ms(1000);
	}
	free(big);

	/* The reader ends by itself once it has parsed every message, the
	 * stream broke, or it gave up. */
	pthread_join(sub->thread, NULL);

	struct stream_check r = sub->check;
	print_message("%s, %s: %u of %u messages intact, %u corrupted, stream %s%s%s; "
	              "%u pongs, %u pings read\n",
	              tls ? "wss" : "ws", client_pings ? "client pings" : "relay's keepalive",
	              r.intact, BIG_COUNT, r.corrupted, r.broken ? "broken: " : "whole",
	              r.broken ? r.why : "", "", r.pongs, r.pings);
	ws_raw_close(&pub);
	ws_raw_close(&sub->c);
	free(sub);
	if (ctx)
		SSL_CTX_free(ctx);
	assert_int_equal(relay_stop(&rp, SIGTERM, 30000), 0);

	assert_false(r.broken);
	assert_int_equal(r.corrupted, 0);
	assert_int_equal(r.intact, BIG_COUNT);
	/* The case was exercised: control frames did arrive between them. */
	if (client_pings)
		assert_true(r.pongs > 0);
	else
		assert_true(r.pings > 0);
}

static void test_pongs_stay_between_frames_ws(void **state)
{
	(void)state;
	corruption_case(false, true);
}

static void test_pongs_stay_between_frames_wss(void **state)
{
	(void)state;
	corruption_case(true, true);
}

static void test_keepalive_pings_stay_between_frames_ws(void **state)
{
	(void)state;
	corruption_case(false, false);
}

static void test_keepalive_pings_stay_between_frames_wss(void **state)
{
	(void)state;
	corruption_case(true, false);
}

/* ---- a ping flood costs the other clients nothing ---- */

#define FLOOD_ATTACKERS   4
#define FLOOD_SUBSCRIBERS 40
#define FLOOD_SECONDS     8
/* CivetWeb's blocked pong write waited in 2 s slices, up to 6 s: a
 * subscriber stalled behind an attacker saw gaps of 6.2 s, against 0.1 to
 * 0.3 s without. The stream has a message every 50 ms; a gap is a stall
 * when it is this much longer than the longest pause of the publisher
 * itself (a loaded machine's scheduling delays the whole test, not only
 * the relay), which stays far from both. */
#define STALL_SECONDS 3.0

struct flood_shared {
	uint16_t port;
	atomic_bool stop;
	atomic_int connects;
};

static void *attack(void *arg)
{
	struct flood_shared *fs = arg;
	static const uint8_t payload[16] = "ping ping ping!";
	while (!atomic_load(&fs->stop)) {
		struct ws_raw c;
		int status = 0;
		if (ws_raw_connect_rcvbuf(&c, fs->port, NULL, "/ws", 2048, &status, WAIT_MS) == 0) {
			atomic_fetch_add(&fs->connects, 1);
			/* Never reads; replaced after 5 s, or when the relay stops
			 * taking its pings (the old relay's reader blocked). */
			double until = seconds_now() + 5;
			while (!atomic_load(&fs->stop) && seconds_now() < until)
				if (ws_raw_send_frame(&c, WS_FIN | WS_OP_PING, payload,
				                      sizeof(payload), true) != 0)
					break;
		}
		ws_raw_close(&c);
	}
	return NULL;
}

struct gap_watch {
	struct ws_raw c;
	atomic_bool stop;
	double largest_gap;
	atomic_uint messages;
	pthread_t thread;
};

static void *watch_gaps(void *arg)
{
	struct gap_watch *w = arg;
	double last = 0;
	while (!atomic_load(&w->stop)) {
		struct ws_raw_frame f;
		int r = ws_raw_read_message(&w->c, &f, 500);
		if (r == WS_TIMEOUT)
			continue;
		if (r != WS_FRAME)
			break;
		ws_raw_frame_free(&f);
		double now = seconds_now();
		if (last > 0 && now - last > w->largest_gap)
			w->largest_gap = now - last;
		last = now;
		atomic_fetch_add(&w->messages, 1);
	}
	return NULL;
}

static void test_ping_flood_stalls_nobody(void **state)
{
	(void)state;
	struct relay_process rp;
	start_relay(&rp, false, 30, 300);
	double coalesced_before =
	    relay_fixture_metric(rp.metrics_port, "wsrelay_pongs_coalesced_total", WAIT_MS);

	struct gap_watch *subs = calloc(FLOOD_SUBSCRIBERS, sizeof(*subs));
	assert_non_null(subs);
	for (int i = 0; i < FLOOD_SUBSCRIBERS; i++) {
		connect_client(&subs[i].c, rp.port, NULL);
		assert_int_equal(pthread_create(&subs[i].thread, NULL, watch_gaps, &subs[i]), 0);
	}
	struct ws_raw pub;
	connect_client(&pub, rp.port, NULL);

	struct flood_shared fs = {.port = rp.port};
	pthread_t attackers[FLOOD_ATTACKERS];
	for (int i = 0; i < FLOOD_ATTACKERS; i++)
		assert_int_equal(pthread_create(&attackers[i], NULL, attack, &fs), 0);

	/* 20 messages a second while the attackers flood. */
	double end = seconds_now() + FLOOD_SECONDS;
	double last_sent = seconds_now(), publisher_gap = 0;
	unsigned sent = 0;
	while (seconds_now() < end) {
		char msg[64];
		snprintf(msg, sizeof(msg), "tick %u", sent++);
		assert_int_equal(ws_raw_send_text(&pub, msg), 0);
		double now = seconds_now();
		if (now - last_sent > publisher_gap)
			publisher_gap = now - last_sent;
		last_sent = now;
		sleep_ms(50);
	}
	atomic_store(&fs.stop, true);
	for (int i = 0; i < FLOOD_ATTACKERS; i++)
		pthread_join(attackers[i], NULL);
	/* Until the last tick has arrived everywhere, then stop watching. */
	for (double until = seconds_now() + WAIT_MS / 1000.0; seconds_now() < until;) {
		bool all = true;
		for (int i = 0; i < FLOOD_SUBSCRIBERS; i++)
			all = all && atomic_load(&subs[i].messages) >= sent;
		if (all)
			break;
		sleep_ms(20);
	}
	double largest = 0;
	unsigned fewest = sent;
	for (int i = 0; i < FLOOD_SUBSCRIBERS; i++) {
		atomic_store(&subs[i].stop, true);
		pthread_join(subs[i].thread, NULL);
		if (subs[i].largest_gap > largest)
			largest = subs[i].largest_gap;
		if (atomic_load(&subs[i].messages) < fewest)
			fewest = atomic_load(&subs[i].messages);
		ws_raw_close(&subs[i].c);
	}
	free(subs);
	/* Pongs the attackers never read, counted long before they stopped:
	 * more than none by now, whatever is still moving. */
	double coalesced =
	    relay_fixture_metric(rp.metrics_port, "wsrelay_pongs_coalesced_total", WAIT_MS) -
	    coalesced_before;
	print_message("ping flood: %d attacker connections, %u ticks sent, fewest received %u, "
	              "largest gap %.3f s (the publisher's own longest pause %.3f s), %.0f pongs "
	              "coalesced\n",
	              atomic_load(&fs.connects), sent, fewest, largest, publisher_gap, coalesced);
	ws_raw_close(&pub);
	assert_int_equal(relay_stop(&rp, SIGTERM, 30000), 0);

	/* Nobody lost a tick, and nobody waited much longer than the
	 * publisher itself paused. */
	assert_int_equal(fewest, sent);
	assert_true(largest < publisher_gap + STALL_SECONDS);
	/* The attackers never read: most of their pongs were never sent, and
	 * they cost one waiting pong each. */
	assert_true(coalesced > 0);
	assert_true(atomic_load(&fs.connects) >= FLOOD_ATTACKERS);
}

/* ---- a client that stops inside a payload ---- */

#define STALLED_CLIENTS 20
#define STALL_DECLARED  ((size_t)1024 * 1024)

static void test_stop_inside_a_payload_times_out(void **state)
{
	(void)state;
	struct relay_process rp;
	start_relay(&rp, false, 1, 3);
	double timeouts_before = relay_fixture_metric(
	    rp.metrics_port, "wsrelay_disconnections_total{reason=\"timeout\"}", WAIT_MS);
	long rss_start = relay_rss_kib(rp.pid);

	struct ws_raw *c = calloc(STALLED_CLIENTS, sizeof(*c));
	uint8_t *half = malloc(STALL_DECLARED / 2);
	assert_non_null(c);
	assert_non_null(half);
	memset(half, 'x', STALL_DECLARED / 2);
	for (int i = 0; i < STALLED_CLIENTS; i++) {
		connect_client(&c[i], rp.port, NULL);
		assert_int_equal(
		    ws_raw_send_header_only(&c[i], WS_FIN | WS_OP_BINARY, STALL_DECLARED), 0);
		/* The mask goes unused: the payload is garbage either way. */
		assert_int_equal(ws_raw_send_bytes(&c[i], half, STALL_DECLARED / 2), 0);
	}
	free(half);

	/* Each is ended where it stopped, without a word: it may be gone. */
	for (int i = 0; i < STALLED_CLIENTS; i++) {
		struct ws_raw_frame f;
		int r;
		while ((r = ws_raw_read_frame(&c[i], &f, 60000)) == WS_FRAME)
			ws_raw_frame_free(&f);
		assert_int_equal(r, WS_EOF);
		ws_raw_close(&c[i]);
	}
	free(c);
	double deadline = seconds_now() + 30;
	double timeouts = 0;
	while (seconds_now() < deadline) {
		timeouts = relay_fixture_metric(rp.metrics_port,
		                                "wsrelay_disconnections_total{reason=\"timeout\"}",
		                                WAIT_MS) -
		           timeouts_before;
		if (timeouts >= STALLED_CLIENTS)
			break;
		sleep_ms(100);
	}
	long rss_end = relay_rss_kib(rp.pid);
	long rss_peak = relay_hwm_kib(rp.pid);
	print_message("stalled mid-payload: %.0f timeouts; RSS %ld KiB at start, %ld KiB at peak, "
	              "%ld KiB after\n",
	              timeouts, rss_start, rss_peak, rss_end);
	assert_int_equal(relay_stop(&rp, SIGTERM, 30000), 0);
	assert_int_equal((int)timeouts, STALLED_CLIENTS);
#if !defined(WSRELAY_SANITIZED)
	/* Each held half of a 1 MiB buffer (10 MiB in all); ASan keeps freed
	 * memory in quarantine, so only plain builds can see it given back. */
	assert_true(rss_peak - rss_end > (long)(STALLED_CLIENTS * STALL_DECLARED / 2 / 1024) / 2);
#endif
}

/* ---- RFC 6455 section 5.2: the top bit of a 64-bit length ---- */

static void test_length_with_top_bit_gets_close_1002(void **state)
{
	(void)state;
	struct relay_process rp;
	start_relay(&rp, false, 30, 300);
	struct ws_raw c;
	connect_client(&c, rp.port, NULL);
	const uint8_t header[] = {
	    WS_FIN | WS_OP_BINARY, 0x80 | 127, 0x80, 0, 0, 0, 0, 0, 0, 1, 1, 2, 3, 4};
	assert_int_equal(ws_raw_send_bytes(&c, header, sizeof(header)), 0);
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_frame(&c, &f, WAIT_MS), WS_FRAME);
	assert_int_equal(f.opcode, WS_OP_CLOSE);
	assert_int_equal(f.close_code, 1002);
	ws_raw_frame_free(&f);
	assert_int_equal(ws_raw_expect_eof(&c, WAIT_MS), 0);
	ws_raw_close(&c);
	assert_int_equal(relay_stop(&rp, SIGTERM, 30000), 0);
}

int main(int argc, char **argv)
{
	(void)signal(SIGPIPE, SIG_IGN);
	/* One test by name, for debugging: test_wire test_ping_flood_stalls_nobody */
	if (argc > 1)
		cmocka_set_test_filter(argv[1]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pongs_stay_between_frames_ws),
	    cmocka_unit_test(test_pongs_stay_between_frames_wss),
	    cmocka_unit_test(test_keepalive_pings_stay_between_frames_ws),
	    cmocka_unit_test(test_keepalive_pings_stay_between_frames_wss),
	    cmocka_unit_test(test_ping_flood_stalls_nobody),
	    cmocka_unit_test(test_stop_inside_a_payload_times_out),
	    cmocka_unit_test(test_length_with_top_bit_gets_close_1002),
	};
	return cmocka_run_group_tests(tests, make_pki, remove_pki);
}
