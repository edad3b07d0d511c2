/* The standard process_* families, as Prometheus' official client libraries
 * export them on Linux, read from /proc. */
#ifndef WSRELAY_PROCESS_METRICS_H
#define WSRELAY_PROCESS_METRICS_H

#include "exposition.h"

void process_metrics_write(struct exposition *e);

#endif
