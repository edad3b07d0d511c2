/* Query tokens masked in log lines (token_mask.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "token_mask.h"

static void expect(const char *in, const char *want)
{
	char out[256];
	token_mask(in, out, sizeof(out));
	assert_string_equal(out, want);
}

static void test_masking(void **state)
{
	(void)state;
	expect("/ws", "/ws");
	expect("/ws?access_token=abc.def.ghi", "/ws?access_token=***");
	expect("/ws?room=a&access_token=abc&x=1", "/ws?room=a&access_token=***&x=1");
	expect("/ws?ACCESS_TOKEN=abc#frag", "/ws?ACCESS_TOKEN=***#frag");
	expect("GET /ws?access_token=abc HTTP/1.1", "GET /ws?access_token=*** HTTP/1.1");
	expect("a access_token=1 b access_token=2", "a access_token=*** b access_token=***");
	expect("access_token=", "access_token=***");
}

static void test_cut_never_leaks(void **state)
{
	(void)state;
	char out[24];
	token_mask("/ws?access_token=secretsecretsecret", out, sizeof(out));
	assert_null(strstr(out, "secret"));
	assert_true(strlen(out) < sizeof(out));
	char tiny[1];
	token_mask("/ws", tiny, sizeof(tiny));
	assert_string_equal(tiny, "");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_masking),
	    cmocka_unit_test(test_cut_never_leaks),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
