/* The frame ring on its own: the index sums across the wrap, growth while
 * wrapped, a partly written head kept by a drop, and consume's counts. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "frame_ring.h"
#include "ws_frame.h"

/* A text frame of n payload bytes, each one tag: header 0x81 n, payload. */
static struct shared_frame *text_frame(uint8_t tag, size_t n)
{
	uint8_t buf[2 + 125];
	assert_true(n <= 125);
	buf[0] = 0x81;
	buf[1] = (uint8_t)n;
	memset(buf + 2, tag, n);
	struct shared_frame *f = shared_frame_new(buf, 2 + n, n);
	assert_non_null(f);
	return f;
}

static void push(struct frame_ring *r, uint8_t tag, size_t n)
{
	assert_int_equal(frame_ring_push(r, text_frame(tag, n)), 0);
}

/* The tag of the frame i places behind the head. */
static uint8_t tag_at(const struct frame_ring *r, size_t i)
{
	return r->slots[(r->head + i) % r->cap]->data[2];
}

/* What one frame_ring_consume counted. */
struct counts {
	size_t frames, messages;
	uint64_t payload;
};

static struct counts consume(struct frame_ring *r, size_t written)
{
	struct counts c = {0};
	frame_ring_consume(r, written, &c.frames, &c.messages, &c.payload);
	return c;
}

static void consume_frames(struct frame_ring *r, size_t count, size_t frame_len)
{
	struct counts c = consume(r, count * frame_len);
	assert_int_equal(c.frames, count);
	assert_int_equal(c.messages, count);
	assert_int_equal(c.payload, count * (frame_len - 2));
}

/* Fills the 16 first slots, takes 10 off the head and pushes 10 more:
 * the tail wraps to the start of the slots. Then head_written bytes of the
 * head frame (fewer than its 6) are written. */
static void wrapped_ring(struct frame_ring *r, size_t head_written)
{
	for (uint8_t t = 0; t < 16; t++)
		push(r, t, 4);
	assert_int_equal(r->cap, 16);
	consume_frames(r, 10, 6);
	for (uint8_t t = 16; t < 26; t++)
		push(r, t, 4);
	assert_int_equal(r->cap, 16);
	assert_int_equal(r->head, 10);
	assert_int_equal(r->count, 16);
	assert_int_equal(r->bytes, 16 * 6);
	assert_int_equal(consume(r, head_written).frames, 0);
}

static void test_wrap_around_keeps_order(void **state)
{
	(void)state;
	struct frame_ring r = {0};
	wrapped_ring(&r, 0);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(tag_at(&r, i), 10 + i);
	frame_ring_clear(&r);
	assert_null(r.slots);
	assert_int_equal(r.count, 0);
}

static void test_growth_while_wrapped(void **state)
{
	(void)state;
	struct frame_ring r = {0};
	wrapped_ring(&r, 0);
	push(&r, 26, 4); /* full: grows, unwrapping into the new slots */
	assert_int_equal(r.cap, 32);
	assert_int_equal(r.head, 0);
	assert_int_equal(r.count, 17);
	for (size_t i = 0; i < 17; i++)
		assert_int_equal(tag_at(&r, i), 10 + i);
	assert_int_equal(r.bytes, 17 * 6);
	frame_ring_clear(&r);
}

static void test_consume_across_the_wrap(void **state)
{
	(void)state;
	struct frame_ring r = {0};
	wrapped_ring(&r, 0);
	/* 6 whole frames (to the end of the slots) and 3 bytes of the next,
	 * the first one past the wrap. */
	struct counts c = consume(&r, 6 * 6 + 3);
	assert_int_equal(c.frames, 6);
	assert_int_equal(c.messages, 6);
	assert_int_equal(c.payload, 6 * 4);
	assert_int_equal(r.head, 0);
	assert_int_equal(r.head_offset, 3);
	assert_int_equal(r.count, 10);
	assert_int_equal(r.bytes, 10 * 6 - 3);
	assert_int_equal(tag_at(&r, 0), 16);
	/* The rest of that frame and one more. */
	assert_int_equal(consume(&r, 3 + 6).frames, 2);
	assert_int_equal(r.head_offset, 0);
	assert_int_equal(tag_at(&r, 0), 18);
	frame_ring_clear(&r);
}

static void test_gather_across_the_wrap(void **state)
{
	(void)state;
	struct frame_ring r = {0};
	wrapped_ring(&r, 2);
	uint8_t batch[1024];
	const uint8_t *out = NULL;
	size_t len = frame_ring_gather(&r, batch, sizeof(batch), false, &out);
	/* Every byte queued, in order, from the rest of the head frame on. */
	assert_ptr_equal(out, batch);
	assert_int_equal(len, r.bytes);
	size_t at = 0;
	for (size_t i = 0; i < 16; i++) {
		size_t skip = i == 0 ? 2 : 0;
		const struct shared_frame *f = r.slots[(r.head + i) % r.cap];
		assert_memory_equal(batch + at, f->data + skip, f->len - skip);
		at += f->len - skip;
	}
	/* A batch too small for the whole queue is filled exactly. */
	len = frame_ring_gather(&r, batch, 20, false, &out);
	assert_int_equal(len, 20);
	/* head_only, or a head at least half the batch: the frame itself. */
	len = frame_ring_gather(&r, batch, sizeof(batch), true, &out);
	assert_ptr_equal(out, r.slots[r.head]->data + 2);
	assert_int_equal(len, 4);
	len = frame_ring_gather(&r, batch, 8, false, &out);
	assert_ptr_equal(out, r.slots[r.head]->data + 2);
	assert_int_equal(len, 4);
	frame_ring_clear(&r);
}

static void test_drop_keeps_a_partly_written_head(void **state)
{
	(void)state;
	struct frame_ring r = {0};
	wrapped_ring(&r, 1);
	frame_ring_drop(&r, true);
	assert_int_equal(r.count, 1);
	assert_int_equal(r.head_offset, 1);
	assert_int_equal(r.bytes, 5);
	assert_int_equal(tag_at(&r, 0), 10);
	/* Without a partly written head, keep_partial_head keeps nothing. */
	assert_int_equal(consume(&r, 5).frames, 1);
	push(&r, 40, 4);
	push(&r, 41, 4);
	frame_ring_drop(&r, true);
	assert_int_equal(r.count, 0);
	assert_int_equal(r.bytes, 0);
	/* And all of it: the partly written head goes too. */
	push(&r, 42, 4);
	assert_int_equal(consume(&r, 3).frames, 0);
	frame_ring_drop(&r, false);
	assert_int_equal(r.count, 0);
	assert_int_equal(r.head_offset, 0);
	assert_int_equal(r.bytes, 0);
	frame_ring_clear(&r);
}

static void test_close_frame_is_not_a_message(void **state)
{
	(void)state;
	struct frame_ring r = {0};
	push(&r, 1, 3);
	uint8_t close[2 + WS_CONTROL_PAYLOAD_MAX];
	size_t close_len = ws_frame_close(close, 1000, "");
	struct shared_frame *cf = shared_frame_new(close, close_len, 2);
	assert_non_null(cf);
	assert_int_equal(frame_ring_push(&r, cf), 0);
	struct counts c = consume(&r, 5 + close_len);
	assert_int_equal(c.frames, 2);
	assert_int_equal(c.messages, 1);
	assert_int_equal(c.payload, 3);
	assert_int_equal(r.count, 0);
	frame_ring_clear(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wrap_around_keeps_order),
	    cmocka_unit_test(test_growth_while_wrapped),
	    cmocka_unit_test(test_consume_across_the_wrap),
	    cmocka_unit_test(test_gather_across_the_wrap),
	    cmocka_unit_test(test_drop_keeps_a_partly_written_head),
	    cmocka_unit_test(test_close_frame_is_not_a_message),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
