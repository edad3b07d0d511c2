/* Reconnect delays: exponential, capped, with jitter (backoff.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "backoff.h"

static void test_backoff_grows_capped_with_jitter(void **state)
{
	(void)state;
	for (uint32_t attempt = 0; attempt < 40; attempt++) {
		uint64_t d = 100;
		for (uint32_t i = 0; i < attempt && d < 5000; i++)
			d *= 2;
		if (d > 5000)
			d = 5000;
		uint32_t lowest = backoff_delay_ms(attempt, 100, 5000, 0);
		uint32_t highest = backoff_delay_ms(attempt, 100, 5000, (uint32_t)(d / 2));
		assert_int_equal(lowest, d - d / 2);
		assert_int_equal(highest, d);
		for (uint32_t r = 0; r < 1000; r += 7) {
			uint32_t ms = backoff_delay_ms(attempt, 100, 5000, r * 2654435761u);
			assert_true(ms >= lowest && ms <= highest);
		}
	}
	assert_int_equal(backoff_delay_ms(UINT32_MAX, 100, 5000, 0), 2500);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_backoff_grows_capped_with_jitter),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
