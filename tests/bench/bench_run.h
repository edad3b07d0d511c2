/* The two kinds of run wsrelay-bench makes; each prints its JSON line. */
#ifndef WSRELAY_BENCH_RUN_H
#define WSRELAY_BENCH_RUN_H

#include "bench_options.h"

/* Subscribers, publishers and stalled clients: deliveries, loss, latency.
 * Returns the process exit status. */
int bench_run_load(const struct bench_options *opts);

/* Idle connections held for a while: the server's memory per connection.
 * Returns the process exit status. */
int bench_run_idle(const struct bench_options *opts);

#endif
