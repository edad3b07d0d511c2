#include "backoff.h"

#include <stdatomic.h>
#include <sys/random.h>
#include <time.h>

#include "clock.h"

uint32_t backoff_delay_ms(uint32_t attempt, uint32_t base_ms, uint32_t cap_ms, uint32_t random)
{
	uint64_t d = base_ms;
	for (uint32_t i = 0; i < attempt && d < cap_ms; i++)
		d *= 2;
	if (d > cap_ms)
		d = cap_ms;
	uint64_t half = d / 2;
	return (uint32_t)(d - half + (half ? random % (half + 1) : 0));
}

uint32_t backoff_random(void)
{
	uint32_t r;
	if (getrandom(&r, sizeof(r), GRND_NONBLOCK) == (ssize_t)sizeof(r))
		return r;
	/* Only without entropy at early boot: any spread is better than none. */
	static atomic_uint fallback;
	return (uint32_t)clock_now() ^ atomic_fetch_add(&fallback, 2654435761u);
}
