/* A Prometheus-style histogram that many threads observe into without a
 * lock: one atomic counter per bucket and an atomic sum. */
#ifndef WSRELAY_HISTOGRAM_H
#define WSRELAY_HISTOGRAM_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#define HISTOGRAM_MAX_BUCKETS 16

struct histogram {
	/* Upper bounds in the unit observations are made in, ascending; the
	 * +Inf bucket is implicit. */
	const uint64_t *bounds;
	size_t bucket_count;
	/* Observations per bucket (not cumulative), the last one for +Inf. */
	atomic_uint_fast64_t counts[HISTOGRAM_MAX_BUCKETS + 1];
	atomic_uint_fast64_t sum;
};

void histogram_init(struct histogram *h, const uint64_t *bounds, size_t bucket_count);
void histogram_observe(struct histogram *h, uint64_t value);

/* A consistent-enough copy for rendering: cumulative counts, whose last
 * entry (+Inf) is the total count. */
struct histogram_snapshot {
	size_t bucket_count;
	uint64_t cumulative[HISTOGRAM_MAX_BUCKETS + 1];
	uint64_t sum;
};

void histogram_read(const struct histogram *h, struct histogram_snapshot *out);

#endif
