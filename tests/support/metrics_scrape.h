/* Reading one sample off a running relay's /metrics, for integration tests
 * that wait for a counter. */
#ifndef WSRELAY_TESTS_METRICS_SCRAPE_H
#define WSRELAY_TESTS_METRICS_SCRAPE_H

#include "relay_process.h"

/* The value of the sample whose name and labels are exactly series (e.g.
 * "wsrelay_cluster_rejected_total{reason=\"signature\"}") on rp's metrics
 * port, or -1 when absent or the scrape failed. Not thread-safe. */
double metrics_scrape(const struct relay_process *rp, const char *series);

#endif
