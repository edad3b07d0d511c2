/* The envelope around every message the nodes of a cluster exchange over
 * the broker. Version 1, with rooms off (one room for everyone):
 *
 *   0      magic 0x77 ('w')
 *   1      version, 1
 *   2      WebSocket opcode: 1 text, 2 binary
 *   3      n, the length of the sender's node id (1..255)
 *   4      the node id, n bytes
 *   4+n    the sender's sequence number, 64 bits big-endian
 *   12+n   the message's payload, to the end
 *
 * Version 2, with rooms on, names the room and numbers messages per room:
 *
 *   0..3+n as version 1, with version 2
 *   4+n    r, the length of the room's name (1..64, a room_name_valid name)
 *   5+n    the room's name, r bytes
 *   5+n+r  the epoch: which life of that room on the sender (64 bits, BE)
 *   13+n+r the sequence number within that life, from 1 (64 bits, BE)
 *   21+n+r the message's payload, to the end
 *
 * A room lives on a node from its first member to its last leave; each life
 * gets an epoch higher than every earlier one of that node's run, and a
 * new run starts far higher still (start time in ms << 22), so a receiver
 * tells a new life from a gap (peer_table.h). Binary and small so that the
 * payload is never escaped or copied twice. Decoding is a pure function of
 * its input: the broker is another program, and whatever it hands us is
 * checked here. */
#ifndef WSRELAY_ENVELOPE_H
#define WSRELAY_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_MAGIC       0x77u
#define ENVELOPE_VERSION     1u /* no room */
#define ENVELOPE_VERSION_2   2u /* a room, its epoch */
#define ENVELOPE_NODE_ID_MAX 255u
/* The longest header: version 2, the longest node id and room name. */
#define ENVELOPE_HEADER_MAX (21u + ENVELOPE_NODE_ID_MAX + 64u)

struct envelope {
	uint8_t version;
	uint8_t opcode;
	const char *node_id; /* not NUL-terminated */
	size_t node_id_len;
	const char *room; /* not NUL-terminated; room_len 0 in version 1 */
	size_t room_len;
	uint64_t epoch; /* 0 in version 1 */
	uint64_t seq;
	const uint8_t *payload;
	size_t payload_len;
};

enum envelope_status {
	ENVELOPE_OK,
	ENVELOPE_TRUNCATED,   /* shorter than its header says */
	ENVELOPE_BAD_MAGIC,   /* not ours: something else publishes on the channel */
	ENVELOPE_BAD_VERSION, /* a newer node speaks a format this one does not know */
	ENVELOPE_BAD_OPCODE,  /* neither text nor binary */
	ENVELOPE_BAD_NODE_ID, /* empty */
	ENVELOPE_BAD_ROOM,    /* version 2 with an empty or invalid room name */
};

/* Bytes before the payload, for a node id of node_id_len (1..255) bytes and
 * a room of room_len bytes: 0 for version 1, 1..64 for version 2. */
static inline size_t envelope_header_size(size_t node_id_len, size_t room_len)
{
	return room_len ? 21 + node_id_len + room_len : 12 + node_id_len;
}

/* Writes the header into out, which has envelope_header_size() bytes:
 * version 1 when room_len is 0 (epoch unused), else version 2. */
void envelope_write_header(uint8_t *out, uint8_t opcode, const char *node_id, size_t node_id_len,
                           const char *room, size_t room_len, uint64_t epoch, uint64_t seq);

/* Splits data[0..len) into out (pointing into data) when it is a well-formed
 * envelope; otherwise says what is wrong and leaves out zeroed. */
enum envelope_status envelope_decode(const void *data, size_t len, struct envelope *out);

/* A few words for a log line. */
const char *envelope_status_text(enum envelope_status status);

#endif
