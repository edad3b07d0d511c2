#include "assembler.h"

#include <stdlib.h>
#include <string.h>

#include "utf8.h"
#include "ws_frame.h"

/* A buffer grown for one large message is given back afterwards, so a
 * connection that once sent 1 MiB does not keep 1 MiB for life. */
#define KEEP_CAPACITY ((size_t)64 * 1024)

void assembler_init(struct assembler *as, uint64_t max_len)
{
	memset(as, 0, sizeof(*as));
	as->max_len = max_len;
}

void assembler_free(struct assembler *as)
{
	free(as->buf);
	memset(as, 0, sizeof(*as));
}

static int reserve(struct assembler *as, size_t payload_len)
{
	size_t need = WS_FRAME_HEADER_MAX + payload_len;
	if (need <= as->cap)
		return 0;
	size_t cap = as->cap ? as->cap : 256;
	while (cap < need)
		cap *= 2;
	uint8_t *grown = realloc(as->buf, cap);
	if (!grown)
		return -1;
	as->buf = grown;
	as->cap = cap;
	return 0;
}

static void shrink_if_large(struct assembler *as)
{
	if (as->cap <= KEEP_CAPACITY)
		return;
	uint8_t *smaller = realloc(as->buf, KEEP_CAPACITY);
	if (smaller) {
		as->buf = smaller;
		as->cap = KEEP_CAPACITY;
	}
}

void assembler_message_done(struct assembler *as)
{
	as->len = 0;
	shrink_if_large(as);
}

enum assemble_status assembler_add(struct assembler *as, uint8_t first_byte, const void *data,
                                   size_t len, struct message *out)
{
	uint8_t opcode = first_byte & WS_OPCODE_MASK;
	bool fin = (first_byte & WS_FIN) != 0;

	if (opcode == WS_OPCODE_CONTINUATION) {
		if (as->opcode == 0)
			return ASSEMBLE_PROTOCOL_ERROR;
	} else {
		if (as->opcode != 0)
			return ASSEMBLE_PROTOCOL_ERROR;
		as->opcode = opcode;
		as->len = 0;
		shrink_if_large(as);
	}

	if ((uint64_t)as->len + len > as->max_len)
		return ASSEMBLE_TOO_BIG;
	if (reserve(as, as->len + len) != 0)
		return ASSEMBLE_NO_MEMORY;
	if (len)
		memcpy(as->buf + WS_FRAME_HEADER_MAX + as->len, data, len);
	as->len += len;
	if (!fin)
		return ASSEMBLE_INCOMPLETE;

	uint8_t *payload = as->buf + WS_FRAME_HEADER_MAX;
	uint8_t message_opcode = as->opcode;
	as->opcode = 0;
	if (message_opcode == WS_OPCODE_TEXT && !utf8_valid(payload, as->len))
		return ASSEMBLE_INVALID_UTF8;

	uint8_t *frame = ws_frame_prepend_header(payload, message_opcode, as->len);
	out->opcode = message_opcode;
	out->payload = payload;
	out->len = as->len;
	out->frame = frame;
	out->frame_len = (size_t)(payload - frame) + as->len;
	return ASSEMBLE_MESSAGE;
}
