/* Message reassembly from frames (assembler.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "assembler.h"
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
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
