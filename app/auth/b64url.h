/* Base64url without padding (RFC 7515 section 2), strictly: the decoding a
 * JWS needs, where a token has exactly one spelling. */
#ifndef WSRELAY_B64URL_H
#define WSRELAY_B64URL_H

#include <stddef.h>

/* Bytes that b64url_decode may write for len characters. */
#define B64URL_DECODED_MAX(len) ((len) / 4 * 3 + 2)

/* Decodes in[0..len) into out (B64URL_DECODED_MAX(len) bytes). Returns the
 * byte count, or -1 unless in is canonical unpadded base64url: only
 * A-Z a-z 0-9 - _, no '=', no length of 4n+1, and zero bits where the last
 * character holds fewer than six. So every byte string has one encoding,
 * and a re-encoded token segment cannot pass for the one that was signed. */
long b64url_decode(const char *in, size_t len, unsigned char *out);

/* Encodes in[0..len) into out (at least (len * 4 + 2) / 3 + 1 bytes), NUL
 * terminated; returns the length written. */
size_t b64url_encode(const unsigned char *in, size_t len, char *out);

#endif
