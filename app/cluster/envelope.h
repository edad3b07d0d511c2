/* The envelope around every message the nodes of a cluster exchange over
 * the broker:
 *
 *   0      magic 0x77 ('w')
 *   1      version, 1
 *   2      WebSocket opcode: 1 text, 2 binary
 *   3      n, the length of the sender's node id (1..255)
 *   4      the node id, n bytes
 *   4+n    the sender's sequence number, 64 bits big-endian
 *   12+n   the message's payload, to the end
 *
 * Binary and small (12 bytes plus the node id) so that the payload is never
 * escaped or copied twice. Decoding is a pure function of its input: the
 * broker is another program, and whatever it hands us is checked here. */
#ifndef WSRELAY_ENVELOPE_H
#define WSRELAY_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#define ENVELOPE_MAGIC       0x77u
#define ENVELOPE_VERSION     1u
#define ENVELOPE_NODE_ID_MAX 255u

struct envelope {
	uint8_t opcode;
	const char *node_id; /* not NUL-terminated */
	size_t node_id_len;
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
};

/* Bytes before the payload, for a node id of node_id_len (1..255) bytes. */
static inline size_t envelope_header_size(size_t node_id_len)
{
	return 12 + node_id_len;
}

/* Writes the header into out, which has envelope_header_size() bytes. */
void envelope_write_header(uint8_t *out, uint8_t opcode, const char *node_id, size_t node_id_len,
                           uint64_t seq);

/* Splits data[0..len) into out (pointing into data) when it is a well-formed
 * envelope; otherwise says what is wrong and leaves out zeroed. */
enum envelope_status envelope_decode(const void *data, size_t len, struct envelope *out);

/* A few words for a log line. */
const char *envelope_status_text(enum envelope_status status);

#endif
