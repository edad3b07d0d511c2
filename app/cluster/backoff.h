/* How long to wait before the next attempt to reach a broker: capped
 * exponential backoff with jitter, so that a broker coming back is not hit
 * by every node of a cluster in the same millisecond. */
#ifndef WSRELAY_BACKOFF_H
#define WSRELAY_BACKOFF_H

#include <stdint.h>

#define BACKOFF_BASE_MS 100u
#define BACKOFF_CAP_MS  5000u

/* The delay before attempt number attempt (0 for the first retry):
 * d = min(cap_ms, base_ms * 2^attempt), then a random point in [d/2, d]
 * chosen by random. A pure function, for the tests. */
uint32_t backoff_delay_ms(uint32_t attempt, uint32_t base_ms, uint32_t cap_ms, uint32_t random);

/* A random number for backoff_delay_ms; not for secrets. */
uint32_t backoff_random(void);

#endif
