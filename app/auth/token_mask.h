/* Keeping query-string tokens out of logs: RFC 6750 2.3 tokens ride in the
 * URL, and a URL is what logs print. */
#ifndef WSRELAY_TOKEN_MASK_H
#define WSRELAY_TOKEN_MASK_H

#include <stddef.h>

/* Copies text into out (cap > 0 bytes, always NUL-terminated, cut if it does
 * not fit) with the value of every "access_token=" (any case) replaced by
 * "***", up to the next '&', '#', blank, quote or the end. Any thread. */
void token_mask(const char *text, char *out, size_t cap);

#endif
