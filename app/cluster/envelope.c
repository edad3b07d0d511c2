#include "envelope.h"

#include <string.h>

#include "room_name.h"

static void put_u64(uint8_t *out, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		out[i] = (uint8_t)(v >> (56 - 8 * i));
}

static uint64_t get_u64(const uint8_t *p)
{
	uint64_t v = 0;
	for (size_t i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

void envelope_write_header(uint8_t *out, uint8_t opcode, const char *node_id, size_t node_id_len,
                           const char *room, size_t room_len, uint64_t epoch, uint64_t seq)
{
	out[0] = ENVELOPE_MAGIC;
	out[1] = room_len ? ENVELOPE_VERSION_2 : ENVELOPE_VERSION;
	out[2] = opcode;
	out[3] = (uint8_t)node_id_len;
	memcpy(out + 4, node_id, node_id_len);
	uint8_t *p = out + 4 + node_id_len;
	if (room_len) {
		*p++ = (uint8_t)room_len;
		memcpy(p, room, room_len);
		p += room_len;
		put_u64(p, epoch);
		p += 8;
	}
	put_u64(p, seq);
}

enum envelope_status envelope_decode(const void *data, size_t len, struct envelope *out)
{
	const uint8_t *p = data;

	memset(out, 0, sizeof(*out));
	if (len < 4)
		return len > 0 && p[0] != ENVELOPE_MAGIC ? ENVELOPE_BAD_MAGIC : ENVELOPE_TRUNCATED;
	if (p[0] != ENVELOPE_MAGIC)
		return ENVELOPE_BAD_MAGIC;
	uint8_t version = p[1];
	if (version != ENVELOPE_VERSION && version != ENVELOPE_VERSION_2)
		return ENVELOPE_BAD_VERSION;
	if (p[2] != 1 && p[2] != 2)
		return ENVELOPE_BAD_OPCODE;
	size_t id_len = p[3];
	if (id_len == 0)
		return ENVELOPE_BAD_NODE_ID;
	const uint8_t *room = NULL;
	size_t room_len = 0;
	if (version == ENVELOPE_VERSION_2) {
		if (len < 5 + id_len)
			return ENVELOPE_TRUNCATED;
		room_len = p[4 + id_len];
		room = p + 5 + id_len;
		if (room_len == 0 || room_len > ROOM_NAME_MAX)
			return ENVELOPE_BAD_ROOM;
	}
	size_t header = envelope_header_size(id_len, room_len);
	if (len < header)
		return ENVELOPE_TRUNCATED;
	/* Anyone who can publish on the channel could have sent it: the name
	 * becomes a lookup key, a log field and a broker subject. */
	if (room && !room_name_valid((const char *)room, room_len))
		return ENVELOPE_BAD_ROOM;

	out->version = version;
	out->opcode = p[2];
	out->node_id = (const char *)p + 4;
	out->node_id_len = id_len;
	if (room) {
		out->room = (const char *)room;
		out->room_len = room_len;
		out->epoch = get_u64(room + room_len);
	}
	out->seq = get_u64(p + header - 8);
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
	case ENVELOPE_BAD_ROOM:
		return "room name empty or invalid";
	}
	return "unknown";
}
