/* cmocka fixtures shared by the tests that run the real relay: stopping it,
 * connecting a client to it, reading one of its metrics. */
#ifndef WSRELAY_TESTS_RELAY_FIXTURE_H
#define WSRELAY_TESTS_RELAY_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>

#include "relay_process.h"
#include "ws_raw.h"

/* A group teardown: stops the relay_process that the group setup left in
 * *state with SIGTERM, and fails unless it exits cleanly within 15 s. */
int relay_fixture_stop(void **state);

/* Connects c (initialised here) to ws://127.0.0.1:port/ws; fails the test
 * unless the handshake completes (status 101) within wait_ms. */
void relay_fixture_connect(struct ws_raw *c, uint16_t port, int wait_ms);

/* The value of the sample series (a metric name with its labels, e.g.
 * "wsrelay_disconnections_total{reason=\"normal\"}") scraped from
 * http://127.0.0.1:metrics_port/metrics, or -1 when the scrape fails or
 * has no such line. */
double relay_fixture_metric(uint16_t metrics_port, const char *series, int wait_ms);

/* The value of the sample series in the exposition text, or -1 when it has
 * no such line. */
double relay_fixture_sample(const char *text, const char *series);

/* Polls relay_fixture_metric every 20 ms until series is want (counters are
 * bumped on the server's threads just after what a client can see); true
 * when it is within timeout_ms, else false after saying what it was. */
bool relay_fixture_wait_metric(uint16_t metrics_port, const char *series, double want,
                               int timeout_ms);

/* relay_fixture_wait_metric for a value that only grows: true once series
 * is at least want. */
bool relay_fixture_wait_metric_at_least(uint16_t metrics_port, const char *series, double want,
                                        int timeout_ms);

/* Polls rp's stderr every 20 ms until it contains needle (a line is logged
 * on the server's threads, often just after what a client can see); true
 * when it does within timeout_ms, else false after saying so. */
bool relay_fixture_wait_log(const struct relay_process *rp, const char *needle, int timeout_ms);

#endif
