#include "utf8.h"

#include <stdint.h>

bool utf8_valid(const void *data, size_t len)
{
	const uint8_t *s = data;
	size_t i = 0;
	while (i < len) {
		uint8_t b = s[i];
		if (b < 0x80) {
			i++;
			continue;
		}
		size_t extra;
		/* The allowed range of the first continuation byte is what rules
		 * out overlong forms, surrogates and code points past U+10FFFF. */
		uint8_t lo = 0x80, hi = 0xBF;
		if (b >= 0xC2 && b <= 0xDF) {
			extra = 1;
		} else if (b >= 0xE0 && b <= 0xEF) {
			extra = 2;
			if (b == 0xE0)
				lo = 0xA0;
			else if (b == 0xED)
				hi = 0x9F;
		} else if (b >= 0xF0 && b <= 0xF4) {
			extra = 3;
			if (b == 0xF0)
				lo = 0x90;
			else if (b == 0xF4)
				hi = 0x8F;
		} else {
			return false;
		}
		if (len - i <= extra)
			return false;
		if (s[i + 1] < lo || s[i + 1] > hi)
			return false;
		for (size_t k = 2; k <= extra; k++) {
			if ((s[i + k] & 0xC0) != 0x80)
				return false;
		}
		i += extra + 1;
	}
	return true;
}
