/* Encoding of the frames the server sends (RFC 6455 section 5.2): final,
 * unmasked, with the shortest length form. */
#ifndef WSRELAY_WS_FRAME_H
#define WSRELAY_WS_FRAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

enum ws_opcode {
	WS_OPCODE_CONTINUATION = 0x0,
	WS_OPCODE_TEXT = 0x1,
	WS_OPCODE_BINARY = 0x2,
	WS_OPCODE_CLOSE = 0x8,
	WS_OPCODE_PING = 0x9,
	WS_OPCODE_PONG = 0xA,
};

#define WS_FIN                 0x80u
#define WS_RSV_MASK            0x70u
#define WS_OPCODE_MASK         0x0Fu
#define WS_FRAME_HEADER_MAX    10
#define WS_CONTROL_PAYLOAD_MAX 125

enum ws_close_code {
	WS_CLOSE_NORMAL = 1000,
	WS_CLOSE_GOING_AWAY = 1001,
	WS_CLOSE_PROTOCOL_ERROR = 1002,
	WS_CLOSE_INVALID_DATA = 1007,
	WS_CLOSE_POLICY = 1008,
	WS_CLOSE_TOO_BIG = 1009,
	WS_CLOSE_INTERNAL_ERROR = 1011,
};

/* Bytes of the header of a server frame (unmasked) with len payload bytes. */
size_t ws_frame_header_len(uint64_t len);

/* Writes the header for a payload of len bytes into the WS_FRAME_HEADER_MAX
 * bytes that end at payload_start, so header and payload are contiguous and go
 * out in one write. Returns a pointer to the first header byte. */
uint8_t *ws_frame_prepend_header(uint8_t *payload_start, uint8_t opcode, uint64_t len);

/* Builds a whole close frame with code and reason (truncated to fit a control
 * frame) into out, which holds 2 + WS_CONTROL_PAYLOAD_MAX bytes. Returns its
 * length. */
size_t ws_frame_close(uint8_t *out, uint16_t code, const char *reason);

/* True for a close code a peer may send (RFC 6455 section 7.4). */
bool ws_frame_close_code_valid(uint16_t code);

#endif
