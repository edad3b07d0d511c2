#include "log_json.h"

#include <stdio.h>
#include <string.h>

#include "utf8.h"

/* The length of the UTF-8 sequence that lead announces, or 0 for a byte
 * that cannot start one. */
static size_t sequence_length(unsigned char lead)
{
	if (lead < 0x80)
		return 1;
	if (lead >= 0xC2 && lead <= 0xDF)
		return 2;
	if (lead >= 0xE0 && lead <= 0xEF)
		return 3;
	if (lead >= 0xF0 && lead <= 0xF4)
		return 4;
	return 0;
}

size_t log_json_string(char *dst, size_t cap, size_t pos, const char *s)
{
	/* Room kept for the closing quote and the NUL. */
	size_t limit = cap - 2;
	dst[pos++] = '"';
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		char esc[8];
		const char *piece = esc;
		size_t n;
		size_t consumed = 1;
		switch (*p) {
		case '"':
			piece = "\\\"";
			n = 2;
			break;
		case '\\':
			piece = "\\\\";
			n = 2;
			break;
		case '\n':
			piece = "\\n";
			n = 2;
			break;
		case '\r':
			piece = "\\r";
			n = 2;
			break;
		case '\t':
			piece = "\\t";
			n = 2;
			break;
		default:
			if (*p < 0x20 || *p == 0x7F) {
				n = (size_t)snprintf(esc, sizeof(esc), "\\u%04x", *p);
				break;
			}
			consumed = sequence_length(*p);
			if (consumed > 1 && strnlen((const char *)p, consumed) == consumed &&
			    utf8_valid(p, consumed)) {
				piece = (const char *)p;
				n = consumed;
			} else if (consumed == 1) {
				piece = (const char *)p;
				n = 1;
			} else {
				piece = "\\ufffd";
				n = 6;
				consumed = 1;
			}
			break;
		}
		if (pos + n > limit)
			break;
		memcpy(dst + pos, piece, n);
		pos += n;
		p += consumed;
	}
	dst[pos++] = '"';
	dst[pos] = '\0';
	return pos;
}
