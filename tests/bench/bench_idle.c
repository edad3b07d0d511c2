/* An idle hold: K connections that only answer the server's pings, held for
 * a while, and what they cost the server. The cost is the growth of the
 * server's memory from before the first connection to the end of the hold,
 * divided by the connections that were open: the figure to multiply by a
 * deployment's client count. */
#include <stdio.h>

#include "bench_pool.h"
#include "bench_proc.h"
#include "bench_run.h"

static void ignore_message(void *ctx, struct bench_conn *c, const uint8_t *payload, size_t len)
{
	(void)ctx;
	(void)c;
	(void)payload;
	(void)len;
}

/* PSS where both samples have it (shared pages counted once), else RSS. */
static double kib_per_connection(struct proc_sample before, struct proc_sample after,
                                 size_t connections)
{
	if (connections == 0)
		return 0;
	long b = before.pss_kib >= 0 && after.pss_kib >= 0 ? before.pss_kib : before.rss_kib;
	long a = before.pss_kib >= 0 && after.pss_kib >= 0 ? after.pss_kib : after.rss_kib;
	return (double)(a - b) / (double)connections;
}

int bench_run_idle(const struct bench_options *o)
{
	struct bench_pool pool;
	if (pool_init(&pool, o, o->idle, ignore_message, NULL) != 0) {
		pool_free(&pool);
		return 1;
	}
	for (size_t i = 0; i < pool.count; i++)
		pool.conns[i].role = ROLE_IDLE;
	struct proc_sample before = {0};
	if (o->server_pid > 0)
		before = proc_sample(o->server_pid);
	uint64_t start = bench_now_ns();
	size_t connected = pool_connect(&pool, o->connect_rate, 120.0);
	double connect_s = (double)(bench_now_ns() - start) / 1e9;
	/* The server's CPU for the connect wave alone: on a shared machine a
	 * steadier figure than the wave's length. */
	struct proc_sample connected_at = {0};
	if (o->server_pid > 0)
		connected_at = proc_sample(o->server_pid);
	fprintf(stderr, "wsrelay-bench: %zu of %u connected in %.1f s; holding %g s\n", connected,
	        o->idle, connect_s, o->hold_s);
	uint64_t until = bench_now_ns() + (uint64_t)(o->hold_s * 1e9);
	while (bench_now_ns() < until)
		pool_poll(&pool, 100);
	struct proc_sample after = {0};
	if (o->server_pid > 0)
		after = proc_sample(o->server_pid);

	printf("{\"mode\":\"idle\",\"requested\":%u,\"connected\":%zu,\"connect_errors\":%zu,"
	       "\"survived\":%zu,\"connect_s\":%.2f,\"hold_s\":%g",
	       o->idle, connected + pool.lost, pool.failed, pool.open_count, connect_s, o->hold_s);
	if (o->server_pid > 0 && before.ok && after.ok) {
		printf(",\"server\":{\"pid\":%d,\"rss_start_kb\":%ld,\"rss_kb\":%ld,"
		       "\"pss_start_kb\":%ld,\"pss_kb\":%ld,\"threads\":%ld,\"kb_per_conn\":%.1f,"
		       "\"connect_cpu_s\":%.2f}",
		       (int)o->server_pid, before.rss_kib, after.rss_kib, before.pss_kib,
		       after.pss_kib, after.threads,
		       kib_per_connection(before, after, pool.open_count),
		       connected_at.ok ? connected_at.cpu_s - before.cpu_s : -1.0);
	}
	printf("}\n");
	(void)fflush(stdout);
	pool_free(&pool);
	return connected > 0 ? 0 : 1;
}
