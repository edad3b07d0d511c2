/* A client's queue of frames to write: a growing ring of shared frames, the
 * first one possibly partly written. The outbox embeds one (no allocation
 * per client beyond the slots) and guards it with its own mutex; the ring
 * itself knows no lock and no thread: whoever owns it calls it. */
#ifndef WSRELAY_FRAME_RING_H
#define WSRELAY_FRAME_RING_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared_frame.h"

/* Fields read by the owner (count and bytes for its bounds); only the
 * frame_ring_ functions change them. A zeroed struct is an empty ring. */
struct frame_ring {
	struct shared_frame **slots;
	size_t cap, head, count;
	size_t bytes;       /* queued and not yet written */
	size_t head_offset; /* bytes of the head frame already written */
};

/* Appends frame, taking over one reference the caller holds; grows the ring
 * when full. Returns -1 (frame not queued, reference still the caller's)
 * when out of memory. */
int frame_ring_push(struct frame_ring *r, struct shared_frame *frame);

/* Drops frames from the tail: all of them, or all but a partly written
 * head (the peer must get whole frames). */
void frame_ring_drop(struct frame_ring *r, bool keep_partial_head);

/* The next bytes to write, from the head, count > 0. Points *out at the
 * head frame's unwritten rest when head_only, when it is the only frame or
 * when the rest is at least half of batch_size; otherwise copies up to
 * batch_size bytes of consecutive frames into batch. Returns the length. */
size_t frame_ring_gather(const struct frame_ring *r, uint8_t *batch, size_t batch_size,
                         bool head_only, const uint8_t **out);

/* Takes written bytes (at most bytes) off the head. Adds the whole frames
 * written to *frames, and among them the messages (a close frame is not one)
 * to *messages and their payload to *payload. */
void frame_ring_consume(struct frame_ring *r, size_t written, size_t *frames, size_t *messages,
                        uint64_t *payload);

/* Drops every frame and frees the slots: the ring is empty again. */
void frame_ring_clear(struct frame_ring *r);

#endif
