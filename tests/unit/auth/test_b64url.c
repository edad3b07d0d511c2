/* Strict unpadded base64url (b64url.c): the edge cases a token can hide in. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "b64url.h"

static long decode(const char *in, unsigned char *out)
{
	return b64url_decode(in, strlen(in), out);
}

static void test_round_trips(void **state)
{
	(void)state;
	unsigned char bytes[256], back[B64URL_DECODED_MAX(400)];
	char text[400];
	for (size_t i = 0; i < sizeof(bytes); i++)
		bytes[i] = (unsigned char)(i * 37 + 11);
	for (size_t len = 0; len <= sizeof(bytes); len++) {
		size_t n = b64url_encode(bytes, len, text);
		assert_int_equal(n, strlen(text));
		assert_int_equal(n, (len * 4 + 2) / 3);
		assert_int_equal(b64url_decode(text, n, back), (long)len);
		assert_memory_equal(back, bytes, len);
	}
}

static void test_known_values(void **state)
{
	(void)state;
	unsigned char out[16];
	assert_int_equal(decode("", out), 0);
	assert_int_equal(decode("QQ", out), 1);
	assert_int_equal(out[0], 'A');
	assert_int_equal(decode("QUI", out), 2);
	assert_memory_equal(out, "AB", 2);
	assert_int_equal(decode("QUJD", out), 3);
	assert_memory_equal(out, "ABC", 3);
	/* The URL alphabet: 0xfb 0xff is "-_8" ("+/8" in standard base64). */
	assert_int_equal(decode("-_8", out), 2);
	assert_int_equal(out[0], 0xfb);
	assert_int_equal(out[1], 0xff);
}

static void test_refusals(void **state)
{
	(void)state;
	unsigned char out[16];
	assert_int_equal(decode("Q", out), -1);     /* 4n+1 characters */
	assert_int_equal(decode("QUJDR", out), -1); /* 4n+1 characters */
	assert_int_equal(decode("QQ==", out), -1);  /* padding */
	assert_int_equal(decode("QQ=", out), -1);
	assert_int_equal(decode("+_8", out), -1); /* standard alphabet */
	assert_int_equal(decode("-/8", out), -1);
	assert_int_equal(decode("QU I", out), -1); /* blank */
	assert_int_equal(decode("QUI\n", out), -1);
	assert_int_equal(decode("QU.I", out), -1);
	/* Non-canonical: the bits after the last whole byte must be zero, so
	 * "QR" (also "A" to a lenient decoder) is refused. */
	assert_int_equal(decode("QR", out), -1);
	assert_int_equal(decode("QX", out), -1);
	assert_int_equal(decode("QUJ", out), -1);
	assert_int_equal(decode("QUK", out), -1);
	assert_int_equal(b64url_decode("QU\0I", 4, out), -1); /* NUL */
	assert_int_equal(decode("\xc3\xa9QQ", out), -1);      /* non-ASCII */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_round_trips),
	    cmocka_unit_test(test_known_values),
	    cmocka_unit_test(test_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
