/* Frames made once and shared by every receiver (shared_frame.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdlib.h>

#include "shared_frame.h"

static void test_frames_for_remote_messages(void **state)
{
	(void)state;
	static const size_t lens[] = {0, 125, 126, 65535, 65536};
	static const size_t headers[] = {2, 2, 4, 4, 10};
	uint8_t *payload = calloc(1, 65536);

	assert_non_null(payload);
	for (size_t i = 0; i < sizeof(lens) / sizeof(lens[0]); i++) {
		struct shared_frame *f = shared_frame_from_payload(2, payload, lens[i]);
		assert_non_null(f);
		assert_int_equal(f->len, headers[i] + lens[i]);
		assert_int_equal(f->payload_len, lens[i]);
		assert_int_equal(f->data[0], 0x82);
		shared_frame_unref(f);
	}
	free(payload);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_frames_for_remote_messages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
