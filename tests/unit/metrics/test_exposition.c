/* The Prometheus text renderer and the histograms behind it. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "exposition.h"
#include "histogram.h"

static void test_family_and_plain_samples(void **state)
{
	(void)state;
	struct exposition e;
	exposition_init(&e);
	exposition_family(&e, "x_total", "counter", "Things.");
	exposition_uint(&e, "x_total", NULL, 18446744073709551615ULL);
	exposition_double(&e, "y", NULL, 0.76);
	exposition_double(&e, "z", NULL, 1795722827.6013272);
	assert_false(e.failed);
	assert_string_equal(e.text, "# HELP x_total Things.\n"
	                            "# TYPE x_total counter\n"
	                            "x_total 18446744073709551615\n"
	                            "y 0.76\n"
	                            "z 1795722827.6013272\n");
	exposition_free(&e);
}

static void test_label_values_and_help_are_escaped(void **state)
{
	(void)state;
	struct exposition e;
	exposition_init(&e);
	exposition_family(&e, "m", "gauge", "back\\slash and\nnewline, \"quotes\" stay");
	const char *labels[] = {"a", "q\"uote", "b", "back\\slash", "c", "new\nline", NULL};
	exposition_uint(&e, "m", labels, 1);
	assert_string_equal(e.text, "# HELP m back\\\\slash and\\nnewline, \"quotes\" stay\n"
	                            "# TYPE m gauge\n"
	                            "m{a=\"q\\\"uote\",b=\"back\\\\slash\",c=\"new\\nline\"} 1\n");
	exposition_free(&e);
}

static const uint64_t bounds[] = {10, 100, 1000};

static void test_histogram_is_cumulative_with_inf_sum_count(void **state)
{
	(void)state;
	static struct histogram h;
	histogram_init(&h, bounds, 3);
	const uint64_t observations[] = {0, 10, 11, 100, 999, 1000, 1001, 5000000};
	for (size_t i = 0; i < sizeof(observations) / sizeof(observations[0]); i++)
		histogram_observe(&h, observations[i]);

	struct exposition e;
	exposition_init(&e);
	exposition_histogram(&e, "lat_seconds", "Latency.", &h, 0.001);
	assert_string_equal(e.text, "# HELP lat_seconds Latency.\n"
	                            "# TYPE lat_seconds histogram\n"
	                            "lat_seconds_bucket{le=\"0.01\"} 2\n"
	                            "lat_seconds_bucket{le=\"0.1\"} 4\n"
	                            "lat_seconds_bucket{le=\"1\"} 6\n"
	                            "lat_seconds_bucket{le=\"+Inf\"} 8\n"
	                            "lat_seconds_sum 5003.121\n"
	                            "lat_seconds_count 8\n");
	exposition_free(&e);
}

static void test_empty_histogram(void **state)
{
	(void)state;
	static struct histogram h;
	histogram_init(&h, bounds, 3);
	struct histogram_snapshot snap;
	histogram_read(&h, &snap);
	assert_int_equal(snap.bucket_count, 3);
	for (size_t i = 0; i <= 3; i++)
		assert_int_equal(snap.cumulative[i], 0);
	assert_int_equal(snap.sum, 0);
}

static void test_large_output_grows(void **state)
{
	(void)state;
	struct exposition e;
	exposition_init(&e);
	char help[1000];
	memset(help, 'h', sizeof(help) - 1);
	help[sizeof(help) - 1] = '\0';
	for (int i = 0; i < 100; i++)
		exposition_family(&e, "big", "gauge", help);
	assert_false(e.failed);
	assert_int_equal(e.len, strlen(e.text));
	assert_true(e.len > (size_t)100 * 999);
	exposition_free(&e);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_family_and_plain_samples),
	    cmocka_unit_test(test_label_values_and_help_are_escaped),
	    cmocka_unit_test(test_histogram_is_cumulative_with_inf_sum_count),
	    cmocka_unit_test(test_empty_histogram),
	    cmocka_unit_test(test_large_output_grows),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
