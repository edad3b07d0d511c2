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
#include <time.h>
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

/* Milliseconds on the monotonic clock. */
static int64_t fixture_now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

/* Polls series every 20 ms until it is want (or at least want); the
 * deadline is on the clock, so slow scrapes do not stretch it. */
static bool fixture_wait_metric(uint16_t metrics_port, const char *series, double want,
                                bool at_least, int timeout_ms)
{
	int64_t deadline = fixture_now_ms() + timeout_ms;
	double got;
	for (;;) {
		got = relay_fixture_metric(metrics_port, series, timeout_ms);
		if (got == want || (at_least && got > want))
			return true;
		if (fixture_now_ms() > deadline)
			break;
		usleep(20 * 1000);
	}
	print_error("%s is %g, expected %s%g\n", series, got, at_least ? "at least " : "", want);
	return false;
}

bool relay_fixture_wait_metric(uint16_t metrics_port, const char *series, double want,
                               int timeout_ms)
{
	return fixture_wait_metric(metrics_port, series, want, false, timeout_ms);
}

bool relay_fixture_wait_metric_at_least(uint16_t metrics_port, const char *series, double want,
                                        int timeout_ms)
{
	return fixture_wait_metric(metrics_port, series, want, true, timeout_ms);
}

bool relay_fixture_wait_log(const struct relay_process *rp, const char *needle, int timeout_ms)
{
	int64_t deadline = fixture_now_ms() + timeout_ms;
	for (;;) {
		if (relay_stderr_contains(rp, needle) == 1)
			return true;
		if (fixture_now_ms() > deadline)
			break;
		usleep(20 * 1000);
	}
	print_error("the server's stderr never said \"%s\"\n", needle);
	return false;
}
