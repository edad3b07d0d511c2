/* cmocka fixtures shared by the tests that run the real relay. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "relay_fixture.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* A full /metrics page with every family, with room to spare. */
#define SCRAPE_CAP ((size_t)256 * 1024)

int relay_fixture_stop(void **state)
{
	struct relay_process *rp = *state;
	return rp && relay_stop(rp, SIGTERM, 15000) == 0 ? 0 : -1;
}

void relay_fixture_connect(struct ws_raw *c, uint16_t port, int wait_ms)
{
	int status = 0;
	ws_raw_init(c);
	if (ws_raw_connect(c, port, "/ws", NULL, &status, wait_ms) != 0)
		fail_msg("handshake failed: status %d, %s", status, c->err);
	assert_int_equal(status, 101);
}

double relay_fixture_metric(uint16_t metrics_port, const char *series, int wait_ms)
{
	char *text = malloc(SCRAPE_CAP);
	double value = -1;

	assert_non_null(text);
	if (http_request(metrics_port, "GET /metrics HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n", text,
	                 SCRAPE_CAP, wait_ms) == 200)
		value = relay_fixture_sample(text, series);
	free(text);
	return value;
}

double relay_fixture_sample(const char *text, const char *series)
{
	size_t n = strlen(series);
	for (const char *line = text; line && *line; line = strchr(line, '\n')) {
		if (*line == '\n')
			line++;
		if (strncmp(line, series, n) == 0 && line[n] == ' ')
			return strtod(line + n + 1, NULL);
	}
	return -1;
}

bool relay_fixture_wait_metric(uint16_t metrics_port, const char *series, double want,
                               int timeout_ms)
{
	double got = -1;
	for (int waited = 0; waited <= timeout_ms; waited += 20) {
		got = relay_fixture_metric(metrics_port, series, timeout_ms);
		if (got == want)
			return true;
		usleep(20 * 1000);
	}
	print_error("%s is %g, expected %g\n", series, got, want);
	return false;
}
