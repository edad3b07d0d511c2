/* A load run: publishers send timestamped messages, at a fixed rate or as
 * fast as their in-flight window allows; subscribers time every message that
 * was sent inside the measured window. A message counts as delivered when it
 * reaches a subscriber within --drain of being sent; everything else that
 * should have arrived is loss. */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bench_churn.h"
#include "bench_pool.h"
#include "bench_proc.h"
#include "bench_run.h"
#include "bench_stats.h"

/* A publisher stops queueing while this much is still waiting for its
 * socket: the window bounds messages, this bounds bytes. */
#define PUBLISHER_BACKLOG ((size_t)256 * 1024)
/* How long stalled clients get, after the run, to show whether the server
 * cut them (their socket is read again: a close frame, a reset or EOF). */
#define STALLED_CHECK_NS 3000000000ull
/* The longest a rate-driven publisher catches up in one go after the
 * generator itself fell behind. */
#define MAX_CATCH_UP 1000u

struct load_run {
	const struct bench_options *opts;
	struct bench_pool pool;
	uint64_t measure_start;
	uint64_t measure_end;
	uint64_t drain_ns;
	uint64_t sent_measured;
	/* Per room (one slot without --rooms): messages sent in the measured
	 * window, and subscribers open to receive them. */
	uint64_t *room_sent;
	uint64_t *room_subscribers;
	unsigned room_count;
	uint64_t wrong_room; /* messages a subscriber got from another room */
	uint64_t churn_done, churn_failed;
	uint64_t delivered;
	uint64_t late;
	struct latency_histogram latency;
	uint8_t *payload;
	size_t subscribers_open;
};

/* Text frames must be UTF-8: there the stamp is written in hex. */
#define TEXT_STAMP_BYTES 24u

static uint64_t get_hex(const uint8_t *p, int digits)
{
	uint64_t v = 0;
	for (int i = 0; i < digits; i++) {
		uint8_t ch = p[i];
		v = v << 4 | (uint64_t)(ch <= '9' ? ch - '0' : ch - 'a' + 10);
	}
	return v;
}

static void put_hex(uint8_t *p, uint64_t v, int digits)
{
	static const char hex[] = "0123456789abcdef";
	for (int i = digits - 1; i >= 0; i--, v >>= 4)
		p[i] = (uint8_t)hex[v & 0xFu];
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put_le(uint8_t *p, uint64_t v, int bytes)
{
	for (int i = 0; i < bytes; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void on_message(void *ctx, struct bench_conn *c, const uint8_t *payload, size_t len)
{
	struct load_run *run = ctx;
	bool text = run->opts->text;
	if (len < (text ? TEXT_STAMP_BYTES : 12u))
		return;
	uint64_t sent_at = text ? get_hex(payload, 16) : get_le64(payload);
	if (c->role == ROLE_PUBLISHER) {
		uint32_t from = text ? (uint32_t)get_hex(payload + 16, 8) : get_le32(payload + 8);
		if (from == c->index)
			c->returned++;
		return;
	}
	if (c->role != ROLE_SUBSCRIBER)
		return;
	if (run->opts->rooms) {
		uint32_t from = text ? (uint32_t)get_hex(payload + 16, 8) : get_le32(payload + 8);
		if (from % run->opts->rooms != c->room) {
			run->wrong_room++;
			return;
		}
	}
	if (sent_at < run->measure_start || sent_at >= run->measure_end)
		return;
	uint64_t now = bench_now_ns();
	uint64_t latency = now > sent_at ? now - sent_at : 0;
	if (latency > run->drain_ns) {
		run->late++;
		return;
	}
	run->delivered++;
	latency_record(&run->latency, latency);
}

static void send_one(struct load_run *run, struct bench_conn *c, uint64_t now)
{
	uint8_t opcode = 0x2;
	if (run->opts->text) {
		opcode = 0x1;
		put_hex(run->payload, now, 16);
		put_hex(run->payload + 16, c->index, 8);
	} else {
		put_le(run->payload, now, 8);
		put_le(run->payload + 8, c->index, 4);
	}
	if (conn_queue_frame(c, opcode, run->payload, run->opts->size) != 0)
		return;
	c->sent++;
	if (now >= run->measure_start && now < run->measure_end) {
		run->sent_measured++;
		run->room_sent[c->room]++;
	}
}

/* Window mode: each publisher sends until its window or its backlog is
 * full. */
static void top_up(struct load_run *run, uint64_t now)
{
	for (size_t i = 0; i < run->pool.count; i++) {
		struct bench_conn *c = &run->pool.conns[i];
		if (c->role != ROLE_PUBLISHER || c->state != CONN_OPEN)
			continue;
		bool queued = false;
		while (c->sent - c->returned < run->opts->window &&
		       conn_pending(c) < PUBLISHER_BACKLOG) {
			send_one(run, c, now);
			queued = true;
		}
		if (queued)
			pool_flush(&run->pool, c);
	}
}

/* Rate mode: one message per publisher per tick. */
static void send_round(struct load_run *run, uint64_t now)
{
	for (size_t i = 0; i < run->pool.count; i++) {
		struct bench_conn *c = &run->pool.conns[i];
		if (c->role != ROLE_PUBLISHER || c->state != CONN_OPEN)
			continue;
		send_one(run, c, now);
		pool_flush(&run->pool, c);
	}
}

/* With --rooms, subscriber k and publisher k join room k mod N (a
 * publisher's room follows from the number in its payloads). */
static void assign_roles(struct bench_pool *pool, const struct bench_options *o)
{
	size_t i = 0;
	unsigned rooms = o->rooms ? o->rooms : 1;
	for (unsigned k = 0; k < o->subscribers; k++) {
		pool->conns[i].room = k % rooms;
		pool->conns[i++].role = ROLE_SUBSCRIBER;
	}
	for (unsigned k = 0; k < o->stalled; k++) {
		pool->conns[i].room = k % rooms;
		pool->conns[i++].role = ROLE_STALLED;
	}
	for (unsigned k = 0; k < o->publishers; k++) {
		pool->conns[i].role = ROLE_PUBLISHER;
		pool->conns[i].room = k % rooms;
		pool->conns[i++].index = k;
	}
}

/* Deliveries the measured messages call for: each room's messages times
 * that room's subscribers. */
static uint64_t expected_deliveries(const struct load_run *run)
{
	uint64_t n = 0;
	for (unsigned r = 0; r < run->room_count; r++)
		n += run->room_sent[r] * run->room_subscribers[r];
	return n;
}

static size_t count_open(const struct bench_pool *pool, enum conn_role role)
{
	size_t n = 0;
	for (size_t i = 0; i < pool->count; i++)
		n += pool->conns[i].role == role && pool->conns[i].state == CONN_OPEN;
	return n;
}

/* Sends (and receives) from now until the end of the measured window. */
static void send_phase(struct load_run *run)
{
	const struct bench_options *o = run->opts;
	uint64_t interval = o->rate > 0 ? (uint64_t)(1e9 / o->rate) : 0;
	uint64_t next = bench_now_ns();
	for (;;) {
		uint64_t now = bench_now_ns();
		if (now >= run->measure_end)
			return;
		int timeout_ms = 1;
		if (interval == 0) {
			top_up(run, now);
		} else {
			unsigned rounds = 0;
			while (next <= now && rounds++ < MAX_CATCH_UP) {
				send_round(run, now);
				next += interval;
			}
			if (next < now)
				next = now; /* hopelessly behind: do not burst later */
			uint64_t wait = next > now ? next - now : 0;
			timeout_ms = (int)(wait / 1000000u);
		}
		pool_poll(&run->pool, timeout_ms);
	}
}

/* Until every measured message arrived or --drain has passed. */
static void drain_phase(struct load_run *run)
{
	uint64_t until = run->measure_end + run->drain_ns;
	for (;;) {
		uint64_t expected = expected_deliveries(run);
		if (run->delivered + run->late >= expected || bench_now_ns() >= until)
			return;
		pool_poll(&run->pool, 10);
	}
}

/* Reads the stalled clients again; returns how many the server had cut. */
static size_t stalled_outcome(struct load_run *run)
{
	struct bench_pool *pool = &run->pool;
	size_t stalled = 0;
	for (size_t i = 0; i < pool->count; i++) {
		struct bench_conn *c = &pool->conns[i];
		if (c->role != ROLE_STALLED)
			continue;
		stalled++;
		if (c->state == CONN_OPEN) {
			c->role = ROLE_IDLE;
			pool_update_events(pool, c);
		}
	}
	if (stalled == 0)
		return 0;
	uint64_t until = bench_now_ns() + STALLED_CHECK_NS;
	size_t cut = 0;
	while (bench_now_ns() < until) {
		cut = 0;
		for (size_t i = 0; i < pool->count; i++) {
			const struct bench_conn *c = &pool->conns[i];
			if (c->role == ROLE_STALLED ||
			    (c->role == ROLE_IDLE && c->state == CONN_CLOSED))
				cut++;
		}
		if (cut == stalled)
			break;
		pool_poll(pool, 10);
	}
	return cut;
}

/* Subscribers and publishers the server cut during the run (stalled
 * clients are reported on their own). */
static size_t active_cut(const struct bench_pool *pool)
{
	size_t n = 0;
	for (size_t i = 0; i < pool->count; i++) {
		const struct bench_conn *c = &pool->conns[i];
		n += (c->role == ROLE_SUBSCRIBER || c->role == ROLE_PUBLISHER) &&
		     c->state == CONN_CLOSED && !c->failed_to_open;
	}
	return n;
}

static double per_s(double count, double seconds)
{
	return seconds > 0 ? count / seconds : 0;
}

static void print_report(struct load_run *run, size_t stalled_cut, struct proc_sample s0,
                         struct proc_sample s1, struct proc_sample s_end)
{
	const struct bench_options *o = run->opts;
	uint64_t expected = expected_deliveries(run);
	uint64_t lost = expected > run->delivered ? expected - run->delivered : 0;
	double loss = expected ? (double)lost / (double)expected : 0;
	const struct latency_histogram *h = &run->latency;
	printf("{\"mode\":\"load\",\"subs\":%u,\"pubs\":%u,\"stalled\":%u,\"size\":%u,"
	       "\"rate\":%g,\"window\":%u,\"duration_s\":%g,"
	       "\"connected\":%zu,\"connect_errors\":%zu,\"server_disconnects\":%zu,"
	       "\"sent\":%" PRIu64 ",\"expected\":%" PRIu64 ",\"delivered\":%" PRIu64
	       ",\"late\":%" PRIu64 ",\"lost\":%" PRIu64 ",\"loss\":%.6f,"
	       "\"delivered_per_s\":%.0f,"
	       "\"latency_us\":{\"p50\":%.1f,\"p90\":%.1f,\"p99\":%.1f,\"max\":%.1f}",
	       o->subscribers, o->publishers, o->stalled, o->size, o->rate, o->window,
	       o->duration_s, run->pool.open_count + run->pool.lost, run->pool.failed,
	       active_cut(&run->pool), run->sent_measured, expected, run->delivered, run->late,
	       lost, loss, per_s((double)run->delivered, o->duration_s),
	       (double)latency_quantile(h, 0.50) / 1e3, (double)latency_quantile(h, 0.90) / 1e3,
	       (double)latency_quantile(h, 0.99) / 1e3, (double)latency_quantile(h, 1.0) / 1e3);
	if (o->stalled > 0)
		printf(",\"stalled_cut\":%zu", stalled_cut);
	if (o->rooms > 0)
		printf(",\"rooms\":%u,\"wrong_room\":%" PRIu64, o->rooms, run->wrong_room);
	if (o->churn > 0)
		printf(",\"churn\":{\"joined_and_left\":%" PRIu64 ",\"failed\":%" PRIu64 "}",
		       run->churn_done, run->churn_failed);
	if (o->server_pid > 0 && s0.ok && s1.ok) {
		double cpu = s1.cpu_s - s0.cpu_s;
		printf(",\"server\":{\"pid\":%d,\"cpu_s\":%.2f,\"cpu_pct\":%.1f,"
		       "\"deliveries_per_cpu_s\":%.0f,\"rss_start_kb\":%ld,\"rss_kb\":%ld,"
		       "\"threads\":%ld}",
		       (int)o->server_pid, cpu, 100.0 * per_s(cpu, o->duration_s),
		       per_s((double)run->delivered, cpu), s0.rss_kib,
		       s_end.ok ? s_end.rss_kib : -1L, s1.threads);
	}
	printf("}\n");
	(void)fflush(stdout);
}

static void free_run(struct load_run *run)
{
	pool_free(&run->pool);
	free(run->room_sent);
	free(run->room_subscribers);
	free(run->payload);
	free(run);
}

int bench_run_load(const struct bench_options *o)
{
	struct load_run *run = calloc(1, sizeof(*run));
	size_t total = (size_t)o->subscribers + o->stalled + o->publishers;
	if (!run || !(run->payload = calloc(1, o->size))) {
		fprintf(stderr, "wsrelay-bench: out of memory\n");
		free(run);
		return 1;
	}
	if (pool_init(&run->pool, o, total, on_message, run) != 0) {
		pool_free(&run->pool);
		free(run->payload);
		free(run);
		return 1;
	}
	run->opts = o;
	run->room_count = o->rooms ? o->rooms : 1;
	run->room_sent = calloc(run->room_count, sizeof(*run->room_sent));
	run->room_subscribers = calloc(run->room_count, sizeof(*run->room_subscribers));
	if (!run->room_sent || !run->room_subscribers) {
		fprintf(stderr, "wsrelay-bench: out of memory\n");
		free_run(run);
		return 1;
	}
	run->drain_ns = (uint64_t)(o->drain_s * 1e9);
	/* Nothing counts before the measurement starts. */
	run->measure_start = UINT64_MAX;
	run->measure_end = UINT64_MAX;
	/* Printable filler keeps text frames valid UTF-8. */
	memset(run->payload, 'x', o->size);
	assign_roles(&run->pool, o);

	size_t open = pool_connect(&run->pool, o->connect_rate, 60.0);
	run->subscribers_open = count_open(&run->pool, ROLE_SUBSCRIBER);
	for (size_t i = 0; i < run->pool.count; i++) {
		const struct bench_conn *c = &run->pool.conns[i];
		if (c->role == ROLE_SUBSCRIBER && c->state == CONN_OPEN)
			run->room_subscribers[c->room]++;
	}
	if (open < total)
		fprintf(stderr, "wsrelay-bench: %zu of %zu connections opened\n", open, total);
	if (run->subscribers_open == 0 || count_open(&run->pool, ROLE_PUBLISHER) == 0) {
		fprintf(stderr, "wsrelay-bench: no subscriber or no publisher could connect\n");
		free_run(run);
		return 1;
	}

	uint64_t now = bench_now_ns();
	run->measure_start = now + (uint64_t)(o->warmup_s * 1e9);
	run->measure_end = run->measure_start + (uint64_t)(o->duration_s * 1e9);
	struct proc_sample s0 = {0};
	struct proc_sample s1 = {0};
	/* The warm-up: the same sending, outside the measured window. */
	uint64_t saved_end = run->measure_end;
	run->measure_end = run->measure_start;
	struct bench_churn *churn = bench_churn_start(o);
	send_phase(run);
	run->measure_end = saved_end;
	if (o->server_pid > 0)
		s0 = proc_sample(o->server_pid);
	send_phase(run);
	if (o->server_pid > 0)
		s1 = proc_sample(o->server_pid);
	bench_churn_stop(churn, &run->churn_done, &run->churn_failed);
	drain_phase(run);
	size_t cut = stalled_outcome(run);
	struct proc_sample s_end = o->server_pid > 0 ? proc_sample(o->server_pid) : s1;
	print_report(run, cut, s0, s1, s_end);
	free_run(run);
	return 0;
}
