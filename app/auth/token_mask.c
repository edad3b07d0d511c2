/* The access_token parameter, masked wherever it appears in a line. */
#include "token_mask.h"

#include <string.h>
#include <strings.h>

#define PARAM     "access_token="
#define PARAM_LEN (sizeof(PARAM) - 1)
#define MASK      "***"

static size_t value_length(const char *v)
{
	return strcspn(v, "&# \t\r\n\"'");
}

void token_mask(const char *text, char *out, size_t cap)
{
	size_t used = 0;
	const char *p = text;
	while (*p && used + 1 < cap) {
		if (strncasecmp(p, PARAM, PARAM_LEN) == 0) {
			/* The name as it was, then the mask (cut with the rest if
			 * the line does not fit, never the token). */
			for (size_t i = 0; i < PARAM_LEN && used + 1 < cap; i++)
				out[used++] = p[i];
			for (size_t i = 0; i < sizeof(MASK) - 1 && used + 1 < cap; i++)
				out[used++] = MASK[i];
			p += PARAM_LEN;
			p += value_length(p);
			continue;
		}
		out[used++] = *p++;
	}
	out[used] = '\0';
}
