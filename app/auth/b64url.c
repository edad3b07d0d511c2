/* Base64url, unpadded and strict. OpenSSL's EVP_DecodeBlock takes the
 * standard alphabet, skips blanks and wants padding, which would make it
 * lenient in exactly the way a signature check must not be: these twenty
 * lines are the whole alphabet. */
#include "b64url.h"

#include <stdint.h>

static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

static int sextet(char c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '-')
		return 62;
	if (c == '_')
		return 63;
	return -1;
}

long b64url_decode(const char *in, size_t len, unsigned char *out)
{
	if (len % 4 == 1)
		return -1;
	size_t n = 0;
	uint32_t bits = 0;
	unsigned held = 0;
	for (size_t i = 0; i < len; i++) {
		int v = sextet(in[i]);
		if (v < 0)
			return -1;
		bits = (bits << 6) | (uint32_t)v;
		held += 6;
		if (held >= 8) {
			held -= 8;
			out[n++] = (unsigned char)(bits >> held);
			bits &= (1u << held) - 1;
		}
	}
	/* What is left over must be zero: "QQ" and "QR" would both be "A". */
	if (bits != 0)
		return -1;
	return (long)n;
}

size_t b64url_encode(const unsigned char *in, size_t len, char *out)
{
	size_t n = 0;
	uint32_t bits = 0;
	unsigned held = 0;
	for (size_t i = 0; i < len; i++) {
		bits = (bits << 8) | in[i];
		held += 8;
		while (held >= 6) {
			held -= 6;
			out[n++] = alphabet[(bits >> held) & 63];
		}
		bits &= (1u << held) - 1;
	}
	if (held > 0)
		out[n++] = alphabet[(bits << (6 - held)) & 63];
	out[n] = '\0';
	return n;
}
