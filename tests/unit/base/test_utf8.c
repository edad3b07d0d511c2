/* UTF-8 validation (utf8.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "utf8.h"

static void test_utf8(void **state)
{
	(void)state;
	assert_true(utf8_valid("", 0));
	assert_true(utf8_valid("plain ascii", 11));
	assert_true(utf8_valid("\xC3\xA9", 2));          /* é */
	assert_true(utf8_valid("\xE2\x82\xAC", 3));      /* € */
	assert_true(utf8_valid("\xF0\x9F\x98\x80", 4));  /* 😀 */
	assert_true(utf8_valid("\xF4\x8F\xBF\xBF", 4));  /* U+10FFFF */
	assert_true(utf8_valid("\xED\x9F\xBF", 3));      /* U+D7FF */
	assert_true(utf8_valid("a\0b", 3));              /* NUL is a character */
	assert_false(utf8_valid("\x80", 1));             /* lone continuation */
	assert_false(utf8_valid("\xC0\xAF", 2));         /* overlong '/' */
	assert_false(utf8_valid("\xC1\xBF", 2));         /* overlong */
	assert_false(utf8_valid("\xE0\x80\xAF", 3));     /* overlong */
	assert_false(utf8_valid("\xF0\x80\x80\xAF", 4)); /* overlong */
	assert_false(utf8_valid("\xED\xA0\x80", 3));     /* surrogate U+D800 */
	assert_false(utf8_valid("\xF4\x90\x80\x80", 4)); /* U+110000 */
	assert_false(utf8_valid("\xF5\x80\x80\x80", 4));
	assert_false(utf8_valid("\xFF", 1));
	assert_false(utf8_valid("\xE2\x82", 2));     /* truncated */
	assert_false(utf8_valid("\xE2\x28\xA1", 3)); /* bad continuation */
	assert_false(utf8_valid("\xF0\x9F\x98", 3));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
