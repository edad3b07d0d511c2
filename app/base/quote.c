/* One escaping rule for every quoted value, so that what an error message
 * shows and what config_print writes are the same YAML spelling. */
#include "quote.h"

#include <string.h>

/* Long enough for "\xNN" and its terminator, or a whole UTF-8 sequence. */
#define PIECE_SIZE 8

/* How byte c is written between the quotes; returns the length. Control bytes
 * are escaped so that a value can never break an error message's line. */
static size_t escape_byte(unsigned char c, char piece[static PIECE_SIZE])
{
	if (c == '"' || c == '\\') {
		piece[0] = '\\';
		piece[1] = (char)c;
		return 2;
	}
	if (c < 0x20 || c == 0x7f)
		return (size_t)snprintf(piece, PIECE_SIZE, "\\x%02X", c);
	piece[0] = (char)c;
	return 1;
}

const char *quote_shortened(const char *s, char buf[static QUOTE_SIZE])
{
	static const char ellipsis_and_end[] = "...\"";
	size_t i = 0, o = 0;

	buf[o++] = '"';
	while (s[i] != '\0') {
		char piece[PIECE_SIZE];
		size_t used = 1, n = escape_byte((unsigned char)s[i], piece);

		if (n == 1) {
			/* Keep a UTF-8 sequence whole so shortening never splits one. */
			while (used < 4 && ((unsigned char)s[i + used] & 0xC0) == 0x80)
				used++;
			memcpy(piece, s + i, used);
			n = used;
		}
		if (o + n + sizeof(ellipsis_and_end) > QUOTE_SIZE) {
			memcpy(buf + o, ellipsis_and_end, sizeof(ellipsis_and_end));
			return buf;
		}
		memcpy(buf + o, piece, n);
		o += n;
		i += used;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

void quote_print(const char *s, FILE *out)
{
	fputc('"', out);
	/* Loading refuses control characters, but a hand-made struct config may
	 * hold them; escaping keeps the output loadable anyway. */
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		char piece[PIECE_SIZE];
		size_t n = escape_byte(*p, piece);

		fwrite(piece, 1, n, out);
	}
	fputc('"', out);
}
