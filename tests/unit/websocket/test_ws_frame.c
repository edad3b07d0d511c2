/* Outgoing frame headers, close frames and close codes (ws_frame.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "ws_frame.h"

static void check_header(uint64_t len, const uint8_t *want, size_t want_len)
{
	uint8_t buf[WS_FRAME_HEADER_MAX + 1];
	uint8_t *payload = buf + WS_FRAME_HEADER_MAX;
	uint8_t *h = ws_frame_prepend_header(payload, WS_OPCODE_BINARY, len);
	assert_int_equal((size_t)(payload - h), want_len);
	assert_memory_equal(h, want, want_len);
}

static void test_frame_header_length_forms(void **state)
{
	(void)state;
	check_header(0, (const uint8_t[]){0x82, 0}, 2);
	check_header(125, (const uint8_t[]){0x82, 125}, 2);
	check_header(126, (const uint8_t[]){0x82, 126, 0x00, 126}, 4);
	check_header(65535, (const uint8_t[]){0x82, 126, 0xFF, 0xFF}, 4);
	check_header(65536, (const uint8_t[]){0x82, 127, 0, 0, 0, 0, 0, 1, 0, 0}, 10);
	check_header(0x0102030405ULL, (const uint8_t[]){0x82, 127, 0, 0, 0, 1, 2, 3, 4, 5}, 10);
}

static void test_close_frame(void **state)
{
	(void)state;
	uint8_t frame[2 + WS_CONTROL_PAYLOAD_MAX];
	size_t n = ws_frame_close(frame, WS_CLOSE_GOING_AWAY, "bye");
	assert_int_equal(n, 7);
	assert_memory_equal(frame,
	                    "\x88\x05\x03\xE9"
	                    "bye",
	                    7);

	/* A reason longer than a control frame allows is cut to fit. */
	char longer[300];
	memset(longer, 'r', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	n = ws_frame_close(frame, WS_CLOSE_TOO_BIG, longer);
	assert_int_equal(n, 2 + WS_CONTROL_PAYLOAD_MAX);
	assert_int_equal(frame[1], WS_CONTROL_PAYLOAD_MAX);
}

static void test_close_codes(void **state)
{
	(void)state;
	assert_true(ws_frame_close_code_valid(1000));
	assert_true(ws_frame_close_code_valid(1001));
	assert_true(ws_frame_close_code_valid(1011));
	assert_true(ws_frame_close_code_valid(3000));
	assert_true(ws_frame_close_code_valid(4999));
	assert_false(ws_frame_close_code_valid(999));
	assert_false(ws_frame_close_code_valid(1004));
	assert_false(ws_frame_close_code_valid(1005));
	assert_false(ws_frame_close_code_valid(1006));
	assert_false(ws_frame_close_code_valid(1015));
	assert_false(ws_frame_close_code_valid(2999));
	assert_false(ws_frame_close_code_valid(5000));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frame_header_length_forms),
	    cmocka_unit_test(test_close_frame),
	    cmocka_unit_test(test_close_codes),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
