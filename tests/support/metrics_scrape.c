#include "metrics_scrape.h"

#include <stdlib.h>
#include <string.h>

#include "ws_raw.h"

#define SCRAPE_CAP     (64 * 1024)
#define SCRAPE_WAIT_MS 5000

double metrics_scrape(const struct relay_process *rp, const char *series)
{
	static char text[SCRAPE_CAP];
	if (http_request(rp->metrics_port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", text,
	                 sizeof(text), SCRAPE_WAIT_MS) != 200)
		return -1;
	size_t n = strlen(series);
	for (const char *line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, series, n) == 0 && line[n] == ' ')
			return strtod(line + n + 1, NULL);
	}
	return -1;
}
