#include "frame_ring.h"

#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

/* The slot of the frame i places behind the head. */
static size_t slot_of(const struct frame_ring *r, size_t i)
{
	return (r->head + i) % r->cap;
}

static int grow(struct frame_ring *r)
{
	size_t cap = r->cap ? r->cap * 2 : 16;
	/* An array of pointers: the element size is a pointer's on purpose. */
	// NOLINTNEXTLINE(bugprone-sizeof-expression)
	struct shared_frame **slots = malloc(cap * sizeof(*slots));
	if (!slots)
		return -1;
	for (size_t i = 0; i < r->count; i++)
		slots[i] = r->slots[slot_of(r, i)];
	free(r->slots);
	r->slots = slots;
	r->cap = cap;
	r->head = 0;
	return 0;
}

int frame_ring_push(struct frame_ring *r, struct shared_frame *frame)
{
	if (r->count == r->cap && grow(r) != 0)
		return -1;
	r->slots[slot_of(r, r->count)] = frame;
	r->count++;
	r->bytes += frame->len;
	return 0;
}

void frame_ring_drop(struct frame_ring *r, bool keep_partial_head)
{
	size_t keep = (keep_partial_head && r->head_offset > 0) ? 1 : 0;
	while (r->count > keep) {
		struct shared_frame *f = r->slots[slot_of(r, r->count - 1)];
		r->bytes -= r->count == 1 ? f->len - r->head_offset : f->len;
		shared_frame_unref(f);
		r->count--;
	}
	if (r->count == 0)
		r->head_offset = 0;
}

size_t frame_ring_gather(const struct frame_ring *r, uint8_t *batch, size_t batch_size,
                         bool head_only, const uint8_t **out)
{
	const struct shared_frame *first = r->slots[r->head];
	size_t first_rest = first->len - r->head_offset;
	if (head_only || first_rest >= batch_size / 2 || r->count == 1) {
		*out = first->data + r->head_offset;
		return first_rest;
	}
	size_t len = 0;
	size_t offset = r->head_offset;
	for (size_t i = 0; i < r->count && len < batch_size; i++) {
		const struct shared_frame *f = r->slots[slot_of(r, i)];
		size_t part = f->len - offset;
		if (part > batch_size - len)
			part = batch_size - len;
		memcpy(batch + len, f->data + offset, part);
		len += part;
		offset = 0;
	}
	*out = batch;
	return len;
}

void frame_ring_consume(struct frame_ring *r, size_t written, size_t *frames, size_t *messages,
                        uint64_t *payload)
{
	while (written > 0) {
		struct shared_frame *f = r->slots[r->head];
		size_t rest = f->len - r->head_offset;
		if (written < rest) {
			r->head_offset += written;
			r->bytes -= written;
			return;
		}
		written -= rest;
		r->bytes -= rest;
		(*frames)++;
		/* Deliveries are messages: our close frame is not one. */
		if ((f->data[0] & WS_OPCODE_MASK) != WS_OPCODE_CLOSE) {
			(*messages)++;
			*payload += f->payload_len;
		}
		r->head_offset = 0;
		r->head = slot_of(r, 1);
		r->count--;
		shared_frame_unref(f);
	}
}

void frame_ring_clear(struct frame_ring *r)
{
	frame_ring_drop(r, false);
	free(r->slots);
	*r = (struct frame_ring){0};
}
