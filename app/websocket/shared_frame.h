/* A frame encoded once and shared, reference-counted, by the outboxes of all
 * its receivers. */
#ifndef WSRELAY_SHARED_FRAME_H
#define WSRELAY_SHARED_FRAME_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

struct shared_frame {
	atomic_uint refs;
	size_t payload_len; /* for byte counters: the frame minus its header */
	size_t len;
	uint8_t data[];
};

/* A copy of frame[0..len) with one reference; NULL when out of memory. */
struct shared_frame *shared_frame_new(const void *frame, size_t len, size_t payload_len);
/* A final frame of opcode around a copy of payload[0..len), with one
 * reference: how a message that did not come from a local client (one
 * relayed by another cluster node) is encoded once. NULL when out of
 * memory. */
struct shared_frame *shared_frame_from_payload(uint8_t opcode, const void *payload, size_t len);
void shared_frame_ref(struct shared_frame *f);
void shared_frame_unref(struct shared_frame *f);

#endif
