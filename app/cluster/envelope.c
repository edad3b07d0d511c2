#include "envelope.h"

#include <string.h>

void envelope_write_header(uint8_t *out, uint8_t opcode, const char *node_id, size_t node_id_len,
                           uint64_t seq)
{
	out[0] = ENVELOPE_MAGIC;
	out[1] = ENVELOPE_VERSION;
	out[2] = opcode;
	out[3] = (uint8_t)node_id_len;
	memcpy(out + 4, node_id, node_id_len);
	uint8_t *s = out + 4 + node_id_len;
	for (int i = 0; i < 8; i++)
		s[i] = (uint8_t)(seq >> (56 - 8 * i));
}

enum envelope_status envelope_decode(const void *data, size_t len, struct envelope *out)
{
	const uint8_t *p = data;

	memset(out, 0, sizeof(*out));
	if (len < 4)
		return len > 0 && p[0] != ENVELOPE_MAGIC ? ENVELOPE_BAD_MAGIC : ENVELOPE_TRUNCATED;
	if (p[0] != ENVELOPE_MAGIC)
		return ENVELOPE_BAD_MAGIC;
	if (p[1] != ENVELOPE_VERSION)
		return ENVELOPE_BAD_VERSION;
	if (p[2] != 1 && p[2] != 2)
		return ENVELOPE_BAD_OPCODE;
	size_t id_len = p[3];
	if (id_len == 0)
		return ENVELOPE_BAD_NODE_ID;
	size_t header = envelope_header_size(id_len);
	if (len < header)
		return ENVELOPE_TRUNCATED;
	uint64_t seq = 0;
	for (size_t i = 0; i < 8; i++)
		seq = seq << 8 | p[4 + id_len + i];

	out->opcode = p[2];
	out->node_id = (const char *)p + 4;
	out->node_id_len = id_len;
	out->seq = seq;
	out->payload = p + header;
	out->payload_len = len - header;
	return ENVELOPE_OK;
}

const char *envelope_status_text(enum envelope_status status)
{
	switch (status) {
	case ENVELOPE_OK:
		return "ok";
	case ENVELOPE_TRUNCATED:
		return "truncated";
	case ENVELOPE_BAD_MAGIC:
		return "not a wsrelay envelope";
	case ENVELOPE_BAD_VERSION:
		return "unknown envelope version";
	case ENVELOPE_BAD_OPCODE:
		return "opcode neither text nor binary";
	case ENVELOPE_BAD_NODE_ID:
		return "empty node id";
	}
	return "unknown";
}
