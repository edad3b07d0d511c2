/* Latency histogram for wsrelay-bench: constant memory at millions of
 * samples per second, about 1.6 % relative error. */
#ifndef WSRELAY_BENCH_STATS_H
#define WSRELAY_BENCH_STATS_H

#include <stdint.h>

/* Values below 128 exactly, then 64 buckets per power of two. */
#define LATENCY_BUCKETS (58u * 64u)

struct latency_histogram {
	uint64_t counts[LATENCY_BUCKETS];
	uint64_t total;
	uint64_t max;
};

void latency_record(struct latency_histogram *h, uint64_t value);

/* The value at quantile q (0..1) of what was recorded, 0 when empty; max
 * for q == 1. */
uint64_t latency_quantile(const struct latency_histogram *h, double q);

#endif
