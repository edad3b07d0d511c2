/* Turns the data frames of one connection into whole messages, ready to be
 * relayed as one frame each.
 *
 * CivetWeb hands the data handler one frame at a time and always sets FIN
 * when it writes, so a fragmented message must be joined here before it can
 * be relayed whole. Payloads are stored after WS_FRAME_HEADER_MAX bytes of
 * headroom, so the outgoing header is written in front of them in place and
 * each message is copied exactly once. */
#ifndef WSRELAY_ASSEMBLER_H
#define WSRELAY_ASSEMBLER_H

#include <stddef.h>
#include <stdint.h>

struct assembler {
	uint8_t *buf;
	size_t cap;     /* bytes allocated, headroom included */
	size_t len;     /* payload bytes gathered so far */
	uint8_t opcode; /* of the message in progress; 0 when none */
	uint64_t max_len;
};

/* A complete message, framed for sending: frame[0..frame_len) is the header
 * followed by the payload. Valid until the next assembler call. */
struct message {
	uint8_t opcode;
	const uint8_t *payload;
	size_t len;
	const uint8_t *frame;
	size_t frame_len;
};

enum assemble_status {
	ASSEMBLE_INCOMPLETE,     /* a fragment was stored; no message yet */
	ASSEMBLE_MESSAGE,        /* *out holds a complete message */
	ASSEMBLE_PROTOCOL_ERROR, /* continuation without a start, or a new start mid-message */
	ASSEMBLE_TOO_BIG,        /* the message would exceed max_len */
	ASSEMBLE_INVALID_UTF8,   /* a text message that is not UTF-8 */
	ASSEMBLE_NO_MEMORY,
};

void assembler_init(struct assembler *as, uint64_t max_len);
void assembler_free(struct assembler *as);

/* Adds one data frame (opcode text, binary or continuation; first_byte is the
 * frame's first header byte, FIN included). */
enum assemble_status assembler_add(struct assembler *as, uint8_t first_byte, const void *data,
                                   size_t len, struct message *out);

/* The message assembler_add returned was relayed: a buffer grown for it
 * goes back now, not when the next message starts (a client may send
 * nothing more for hours). */
void assembler_message_done(struct assembler *as);

#endif
