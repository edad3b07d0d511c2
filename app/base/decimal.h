/* Unsigned decimal numbers as the config writes them: digits only. */
#ifndef WSRELAY_DECIMAL_H
#define WSRELAY_DECIMAL_H

#include <stddef.h>
#include <stdint.h>

/* Reads the digits at the start of s into *value, saturating at UINT64_MAX
 * (far outside every range the config allows), and returns how many there
 * were. Unlike strtoul it takes no sign, spaces or base prefix, so callers
 * see exactly what was written. */
size_t decimal_scan(const char *s, uint64_t *value);

#endif
