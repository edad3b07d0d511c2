/* Counters for metrics: added to from any thread without a lock, read by
 * the metrics endpoint. Relaxed order: a counter orders nothing else, and a
 * reader may see it a moment late. */
#ifndef WSRELAY_STATS_H
#define WSRELAY_STATS_H

#include <stdatomic.h>
#include <stdint.h>

static inline void stats_add(atomic_uint_fast64_t *counter, uint64_t n)
{
	atomic_fetch_add_explicit(counter, n, memory_order_relaxed);
}

static inline uint64_t stats_read(const atomic_uint_fast64_t *counter)
{
	return atomic_load_explicit(counter, memory_order_relaxed);
}

#endif
