/* libFuzzer target: the cluster envelope decoder, which reads whatever the
 * broker hands a node. A well-formed envelope (version 1 or 2) must point
 * inside the input, carry a valid room name in version 2 and re-encode to
 * the same header; anything else must be refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"
#include "room_name.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env;
	if (envelope_decode(data, size, &env) != ENVELOPE_OK)
		return 0;
	size_t header = envelope_header_size(env.node_id_len, env.room_len);
	if (env.node_id_len == 0 || env.node_id_len > ENVELOPE_NODE_ID_MAX || header > size ||
	    header > ENVELOPE_HEADER_MAX || env.payload != data + header ||
	    env.payload_len != size - header || (const uint8_t *)env.node_id != data + 4 ||
	    (env.opcode != 1 && env.opcode != 2))
		abort();
	if (env.version == 2 && ((const uint8_t *)env.room != data + 5 + env.node_id_len ||
	                         !room_name_valid(env.room, env.room_len)))
		abort();
	if (env.version != 2 && (env.room || env.room_len || env.epoch))
		abort();
	uint8_t again[ENVELOPE_HEADER_MAX];
	envelope_write_header(again, env.opcode, env.node_id, env.node_id_len, env.room,
	                      env.room_len, env.epoch, env.seq);
	if (memcmp(again, data, header) != 0)
		abort();
	return 0;
}
