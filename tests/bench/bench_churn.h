/* --churn: joins and leaves in other rooms beside a load run. */
#ifndef WSRELAY_BENCH_CHURN_H
#define WSRELAY_BENCH_CHURN_H

#include <stdint.h>

#include "bench_options.h"

struct bench_churn;

/* Starts joining and leaving at opts->churn per second on a thread of its
 * own; NULL when opts->churn is 0 (or the thread cannot start). */
struct bench_churn *bench_churn_start(const struct bench_options *opts);

/* Stops it (ch may be NULL) and reports joins that completed and failed. */
void bench_churn_stop(struct bench_churn *ch, uint64_t *done, uint64_t *failed);

#endif
