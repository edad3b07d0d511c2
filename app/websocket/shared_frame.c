#include "shared_frame.h"

#include <stdlib.h>
#include <string.h>

#include "ws_frame.h"

struct shared_frame *shared_frame_new(const void *frame, size_t len, size_t payload_len)
{
	struct shared_frame *f = malloc(sizeof(*f) + len);
	if (!f)
		return NULL;
	atomic_init(&f->refs, 1);
	f->payload_len = payload_len;
	f->len = len;
	memcpy(f->data, frame, len);
	return f;
}

struct shared_frame *shared_frame_from_payload(uint8_t opcode, const void *payload, size_t len)
{
	size_t header = ws_frame_header_len(len);
	struct shared_frame *f = malloc(sizeof(*f) + header + len);
	if (!f)
		return NULL;
	atomic_init(&f->refs, 1);
	f->payload_len = len;
	f->len = header + len;
	if (len)
		memcpy(f->data + header, payload, len);
	ws_frame_prepend_header(f->data + header, opcode, len);
	return f;
}

void shared_frame_ref(struct shared_frame *f)
{
	atomic_fetch_add_explicit(&f->refs, 1, memory_order_relaxed);
}

void shared_frame_unref(struct shared_frame *f)
{
	/* Release, so the last owner's acquire sees every write to the frame
	 * before it frees it. */
	if (atomic_fetch_sub_explicit(&f->refs, 1, memory_order_acq_rel) == 1)
		free(f);
}
