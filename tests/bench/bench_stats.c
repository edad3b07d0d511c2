/* A log-linear histogram: the bucket of v keeps v's top seven bits, so each
 * bucket is at most 1/64 of its value wide. */
#include "bench_stats.h"

static unsigned bucket_of(uint64_t v)
{
	if (v < 128)
		return (unsigned)v;
	unsigned msb = 63u - (unsigned)__builtin_clzll(v); /* 7..63 */
	unsigned shift = msb - 6u;
	return shift * 64u + (unsigned)(v >> shift); /* (v >> shift) is 64..127 */
}

/* The middle of bucket i. */
static uint64_t bucket_value(unsigned i)
{
	if (i < 128)
		return i;
	unsigned shift = i / 64u - 1u;
	uint64_t low = (uint64_t)(i % 64u + 64u) << shift;
	return low + (((uint64_t)1 << shift) >> 1);
}

void latency_record(struct latency_histogram *h, uint64_t value)
{
	h->counts[bucket_of(value)]++;
	h->total++;
	if (value > h->max)
		h->max = value;
}

uint64_t latency_quantile(const struct latency_histogram *h, double q)
{
	if (h->total == 0)
		return 0;
	if (q >= 1.0)
		return h->max;
	/* The rank of the sample at q, counted from 1. */
	uint64_t rank = (uint64_t)(q * (double)h->total) + 1u;
	if (rank > h->total)
		rank = h->total;
	uint64_t seen = 0;
	for (unsigned i = 0; i < LATENCY_BUCKETS; i++) {
		seen += h->counts[i];
		if (seen >= rank) {
			uint64_t v = bucket_value(i);
			return v > h->max ? h->max : v;
		}
	}
	return h->max;
}
