#include "histogram.h"

void histogram_init(struct histogram *h, const uint64_t *bounds, size_t bucket_count)
{
	h->bounds = bounds;
	h->bucket_count =
	    bucket_count < HISTOGRAM_MAX_BUCKETS ? bucket_count : HISTOGRAM_MAX_BUCKETS;
	for (size_t i = 0; i <= HISTOGRAM_MAX_BUCKETS; i++)
		atomic_init(&h->counts[i], 0);
	atomic_init(&h->sum, 0);
}

void histogram_observe(struct histogram *h, uint64_t value)
{
	size_t i = 0;
	while (i < h->bucket_count && value > h->bounds[i])
		i++;
	/* Relaxed: each counter only has to be exact on its own; a scrape may
	 * see one observation in the buckets and not yet in the sum. */
	atomic_fetch_add_explicit(&h->counts[i], 1, memory_order_relaxed);
	atomic_fetch_add_explicit(&h->sum, value, memory_order_relaxed);
}

void histogram_read(const struct histogram *h, struct histogram_snapshot *out)
{
	out->bucket_count = h->bucket_count;
	uint64_t running = 0;
	for (size_t i = 0; i <= h->bucket_count; i++) {
		running += atomic_load_explicit(&h->counts[i], memory_order_relaxed);
		out->cumulative[i] = running;
	}
	out->sum = atomic_load_explicit(&h->sum, memory_order_relaxed);
}
