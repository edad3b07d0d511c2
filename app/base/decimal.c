/* The one digit loop shared by integer values, listen ports and origin
 * ports, so that they agree on what a number is and on overflow. */
#include "decimal.h"

#include <string.h>

size_t decimal_scan(const char *s, uint64_t *value)
{
	size_t n = strspn(s, "0123456789");
	uint64_t v = 0;

	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(s[i] - '0');

		if (v > (UINT64_MAX - d) / 10) {
			v = UINT64_MAX;
			break;
		}
		v = v * 10 + d;
	}
	*value = v;
	return n;
}
