/* UTF-8 validation as RFC 6455 requires for text messages and close reasons. */
#ifndef WSRELAY_UTF8_H
#define WSRELAY_UTF8_H

#include <stdbool.h>
#include <stddef.h>

/* True when data is well-formed UTF-8 (RFC 3629: no overlong forms, no
 * surrogates, nothing above U+10FFFF). */
bool utf8_valid(const void *data, size_t len);

#endif
