/* One clock for durations and deadlines. clock_mono_t counts nanoseconds
 * of CLOCK_MONOTONIC, which no change of the wall clock moves; the wall
 * clock is read only for what is shown to people or other machines, and
 * for the deadlines of pthread_cond_timedwait on condition variables made
 * with default attributes, which count in CLOCK_REALTIME. Safe from any
 * thread. */
#ifndef WSRELAY_CLOCK_H
#define WSRELAY_CLOCK_H

#include <stdint.h>
#include <time.h>

typedef uint64_t clock_mono_t;

#define CLOCK_NS_PER_MS  UINT64_C(1000000)
#define CLOCK_NS_PER_SEC UINT64_C(1000000000)

static inline uint64_t clock_ns_of(const struct timespec *ts)
{
	return (uint64_t)ts->tv_sec * CLOCK_NS_PER_SEC + (uint64_t)ts->tv_nsec;
}

/* Now, on the monotonic clock. */
static inline clock_mono_t clock_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return clock_ns_of(&ts);
}

/* Nanoseconds from since until now (0 if since is in the future). */
static inline uint64_t clock_elapsed_ns(clock_mono_t since)
{
	clock_mono_t now = clock_now();
	return now > since ? now - since : 0;
}

static inline uint64_t clock_elapsed_ms(clock_mono_t since)
{
	return clock_elapsed_ns(since) / CLOCK_NS_PER_MS;
}

/* Milliseconds since the Unix epoch, on the wall clock. */
static inline uint64_t clock_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return clock_ns_of(&ts) / CLOCK_NS_PER_MS;
}

/* The deadline ms milliseconds from now for pthread_cond_timedwait on a
 * condition variable with default attributes (CLOCK_REALTIME). */
static inline struct timespec clock_wait_deadline_ms(uint64_t ms)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	uint64_t ns = (uint64_t)ts.tv_nsec + (ms % 1000) * CLOCK_NS_PER_MS;
	ts.tv_sec += (time_t)(ms / 1000 + ns / CLOCK_NS_PER_SEC);
	ts.tv_nsec = (long)(ns % CLOCK_NS_PER_SEC);
	return ts;
}

#endif
