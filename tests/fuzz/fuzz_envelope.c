/* libFuzzer target: the cluster envelope decoder, which reads whatever the
 * broker hands a node. A well-formed envelope must point inside the input
 * and re-encode to the same header; anything else must be refused. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct envelope env;
	if (envelope_decode(data, size, &env) != ENVELOPE_OK)
		return 0;
	size_t header = envelope_header_size(env.node_id_len);
	if (env.node_id_len == 0 || env.node_id_len > ENVELOPE_NODE_ID_MAX || header > size ||
	    env.payload != data + header || env.payload_len != size - header ||
	    (const uint8_t *)env.node_id != data + 4 || (env.opcode != 1 && env.opcode != 2))
		abort();
	uint8_t again[12 + ENVELOPE_NODE_ID_MAX];
	envelope_write_header(again, env.opcode, env.node_id, env.node_id_len, env.seq);
	if (memcmp(again, data, header) != 0)
		abort();
	return 0;
}
