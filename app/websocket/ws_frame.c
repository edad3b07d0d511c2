#include "ws_frame.h"

#include <string.h>

size_t ws_frame_header_len(uint64_t len)
{
	return len < 126 ? 2 : len <= 0xFFFF ? 4 : 10;
}

uint8_t *ws_frame_prepend_header(uint8_t *payload_start, uint8_t opcode, uint64_t len)
{
	uint8_t *h = payload_start - ws_frame_header_len(len);
	if (len < 126) {
		h[1] = (uint8_t)len;
	} else if (len <= 0xFFFF) {
		h[1] = 126;
		h[2] = (uint8_t)(len >> 8);
		h[3] = (uint8_t)len;
	} else {
		h[1] = 127;
		for (int i = 0; i < 8; i++)
			h[2 + i] = (uint8_t)(len >> (56 - 8 * i));
	}
	h[0] = (uint8_t)(WS_FIN | opcode);
	return h;
}

size_t ws_frame_close(uint8_t *out, uint16_t code, const char *reason)
{
	size_t reason_len = reason ? strlen(reason) : 0;
	if (reason_len > WS_CONTROL_PAYLOAD_MAX - 2)
		reason_len = WS_CONTROL_PAYLOAD_MAX - 2;
	out[0] = WS_FIN | WS_OPCODE_CLOSE;
	out[1] = (uint8_t)(2 + reason_len);
	out[2] = (uint8_t)(code >> 8);
	out[3] = (uint8_t)code;
	/* The reason goes on the wire as counted bytes, never NUL-terminated. */
	if (reason_len)
		memcpy(out + 4, reason, reason_len); // NOLINT(bugprone-not-null-terminated-result)
	return 4 + reason_len;
}

bool ws_frame_close_code_valid(uint16_t code)
{
	if (code >= 3000 && code <= 4999)
		return true;
	switch (code) {
	case 1000:
	case 1001:
	case 1002:
	case 1003:
	case 1007:
	case 1008:
	case 1009:
	case 1010:
	case 1011:
	case 1012:
	case 1013:
	case 1014:
		return true;
	default:
		return false;
	}
}
