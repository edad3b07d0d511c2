/* Message reassembly, outgoing frame headers and UTF-8 validation. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "message_assembler.h"
#include "utf8.h"
#include "ws_frame.h"

static void assert_frame(const struct message *m, uint8_t opcode, const void *payload, size_t len)
{
	assert_int_equal(m->opcode, opcode);
	assert_int_equal(m->len, len);
	assert_memory_equal(m->payload, payload, len);
	assert_int_equal(m->frame[0], WS_FIN | opcode);
	assert_ptr_equal(m->frame + m->frame_len - len, m->payload);
}

static void test_whole_text_message(void **state)
{
	(void)state;
	struct assembler as;
	struct message m;
	assembler_init(&as, 1024);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_TEXT, "hello", 5, &m),
	                 ASSEMBLE_MESSAGE);
	assert_frame(&m, WS_OPCODE_TEXT, "hello", 5);
	assert_int_equal(m.frame_len, 7);
	assert_int_equal(m.frame[1], 5);
	assembler_free(&as);
}

static void test_binary_message_keeps_bytes(void **state)
{
	(void)state;
	struct assembler as;
	struct message m;
	const uint8_t bytes[] = {0x00, 0xFF, 0x80, 0xC0, 0x0A};
	assembler_init(&as, 1024);
	/* Not UTF-8, and that is fine for binary. */
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_BINARY, bytes, sizeof(bytes), &m),
	                 ASSEMBLE_MESSAGE);
	assert_frame(&m, WS_OPCODE_BINARY, bytes, sizeof(bytes));
	assembler_free(&as);
}

static void test_empty_message(void **state)
{
	(void)state;
	struct assembler as;
	struct message m;
	assembler_init(&as, 1024);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_TEXT, "", 0, &m), ASSEMBLE_MESSAGE);
	assert_int_equal(m.len, 0);
	assert_int_equal(m.frame_len, 2);
	assembler_free(&as);
}

static void test_fragments_are_joined(void **state)
{
	(void)state;
	struct assembler as;
	struct message m;
	assembler_init(&as, 1024);
	assert_int_equal(assembler_add(&as, WS_OPCODE_TEXT, "frag", 4, &m), ASSEMBLE_INCOMPLETE);
	assert_int_equal(assembler_add(&as, WS_OPCODE_CONTINUATION, "men", 3, &m),
	                 ASSEMBLE_INCOMPLETE);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_CONTINUATION, "ted", 3, &m),
	                 ASSEMBLE_MESSAGE);
	assert_frame(&m, WS_OPCODE_TEXT, "fragmented", 10);

	/* The next message starts clean. */
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_BINARY, "b", 1, &m),
	                 ASSEMBLE_MESSAGE);
	assert_frame(&m, WS_OPCODE_BINARY, "b", 1);
	assembler_free(&as);
}

static void test_utf8_split_across_fragments(void **state)
{
	(void)state;
	struct assembler as;
	struct message m;
	assembler_init(&as, 1024);
	/* "é" is C3 A9: valid only once both fragments are in. */
	assert_int_equal(assembler_add(&as, WS_OPCODE_TEXT, "\xC3", 1, &m), ASSEMBLE_INCOMPLETE);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_CONTINUATION, "\xA9", 1, &m),
	                 ASSEMBLE_MESSAGE);
	assert_frame(&m, WS_OPCODE_TEXT, "\xC3\xA9", 2);
	assembler_free(&as);
}

static void test_continuation_without_start(void **state)
{
	(void)state;
	struct assembler as;
	struct message m;
	assembler_init(&as, 1024);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_CONTINUATION, "x", 1, &m),
	                 ASSEMBLE_PROTOCOL_ERROR);
	assembler_free(&as);
}

static void test_new_message_inside_fragmented_one(void **state)
{
	(void)state;
	struct assembler as;
	struct message m;
	assembler_init(&as, 1024);
	assert_int_equal(assembler_add(&as, WS_OPCODE_BINARY, "a", 1, &m), ASSEMBLE_INCOMPLETE);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_TEXT, "b", 1, &m),
	                 ASSEMBLE_PROTOCOL_ERROR);
	assembler_free(&as);
}

static void test_size_limit(void **state)
{
	(void)state;
	struct assembler as;
	struct message m;
	char big[17];
	memset(big, 'x', sizeof(big));
	assembler_init(&as, 16);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_TEXT, big, 16, &m),
	                 ASSEMBLE_MESSAGE);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_TEXT, big, 17, &m),
	                 ASSEMBLE_TOO_BIG);
	assembler_free(&as);

	/* The limit is on the whole message, not on each fragment. */
	assembler_init(&as, 16);
	assert_int_equal(assembler_add(&as, WS_OPCODE_BINARY, big, 10, &m), ASSEMBLE_INCOMPLETE);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_CONTINUATION, big, 7, &m),
	                 ASSEMBLE_TOO_BIG);
	assembler_free(&as);
}

static void test_invalid_utf8_text(void **state)
{
	(void)state;
	struct assembler as;
	struct message m;
	assembler_init(&as, 1024);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_TEXT, "ab\xFF", 3, &m),
	                 ASSEMBLE_INVALID_UTF8);
	/* A text message ending mid-character is invalid too. */
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_TEXT, "\xE2\x82", 2, &m),
	                 ASSEMBLE_INVALID_UTF8);
	assembler_free(&as);
}

static void test_large_message_buffer_shrinks_after(void **state)
{
	(void)state;
	struct assembler as;
	struct message m;
	size_t big_len = (size_t)512 * 1024;
	char *big = malloc(big_len);
	assert_non_null(big);
	memset(big, 'y', big_len);
	assembler_init(&as, (uint64_t)1024 * 1024);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_BINARY, big, big_len, &m),
	                 ASSEMBLE_MESSAGE);
	assert_frame(&m, WS_OPCODE_BINARY, big, big_len);
	assert_int_equal(m.frame[1], 127);
	assert_true(as.cap >= big_len);
	/* Given back as soon as the message is relayed, not at the next one. */
	assembler_message_done(&as);
	assert_true(as.cap <= (size_t)64 * 1024);
	assert_int_equal(assembler_add(&as, WS_FIN | WS_OPCODE_TEXT, "small", 5, &m),
	                 ASSEMBLE_MESSAGE);
	assert_true(as.cap <= (size_t)64 * 1024);
	assert_frame(&m, WS_OPCODE_TEXT, "small", 5);
	assembler_free(&as);
	free(big);
}

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
	size_t n = ws_close_frame(frame, WS_CLOSE_GOING_AWAY, "bye");
	assert_int_equal(n, 7);
	assert_memory_equal(frame,
	                    "\x88\x05\x03\xE9"
	                    "bye",
	                    7);

	/* A reason longer than a control frame allows is cut to fit. */
	char longer[300];
	memset(longer, 'r', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = '\0';
	n = ws_close_frame(frame, WS_CLOSE_TOO_BIG, longer);
	assert_int_equal(n, 2 + WS_CONTROL_PAYLOAD_MAX);
	assert_int_equal(frame[1], WS_CONTROL_PAYLOAD_MAX);
}

static void test_close_codes(void **state)
{
	(void)state;
	assert_true(ws_close_code_valid(1000));
	assert_true(ws_close_code_valid(1001));
	assert_true(ws_close_code_valid(1011));
	assert_true(ws_close_code_valid(3000));
	assert_true(ws_close_code_valid(4999));
	assert_false(ws_close_code_valid(999));
	assert_false(ws_close_code_valid(1004));
	assert_false(ws_close_code_valid(1005));
	assert_false(ws_close_code_valid(1006));
	assert_false(ws_close_code_valid(1015));
	assert_false(ws_close_code_valid(2999));
	assert_false(ws_close_code_valid(5000));
}

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
	    cmocka_unit_test(test_whole_text_message),
	    cmocka_unit_test(test_binary_message_keeps_bytes),
	    cmocka_unit_test(test_empty_message),
	    cmocka_unit_test(test_fragments_are_joined),
	    cmocka_unit_test(test_utf8_split_across_fragments),
	    cmocka_unit_test(test_continuation_without_start),
	    cmocka_unit_test(test_new_message_inside_fragmented_one),
	    cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_invalid_utf8_text),
	    cmocka_unit_test(test_large_message_buffer_shrinks_after),
	    cmocka_unit_test(test_frame_header_length_forms),
	    cmocka_unit_test(test_close_frame),
	    cmocka_unit_test(test_close_codes),
	    cmocka_unit_test(test_utf8),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
