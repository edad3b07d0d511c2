/* A writer for the Prometheus text exposition format, version 0.0.4. */
#ifndef WSRELAY_EXPOSITION_H
#define WSRELAY_EXPOSITION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "histogram.h"

#define EXPOSITION_CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct exposition {
	char *text;
	size_t len;
	size_t cap;
	bool failed; /* out of memory: the text is incomplete */
};

void exposition_init(struct exposition *e);
void exposition_free(struct exposition *e);

/* The # HELP and # TYPE lines that start a family. */
void exposition_family(struct exposition *e, const char *name, const char *type, const char *help);

/* One sample. labels is NULL or a NULL-terminated list of name, value pairs;
 * values are escaped here. */
void exposition_uint(struct exposition *e, const char *name, const char *const *labels,
                     uint64_t value);
void exposition_double(struct exposition *e, const char *name, const char *const *labels,
                       double value);

/* A whole histogram family: cumulative _bucket samples ending with +Inf,
 * then _sum and _count. Observations and bounds are in units of scale
 * (1e-9 turns nanoseconds into seconds). */
void exposition_histogram(struct exposition *e, const char *name, const char *help,
                          const struct histogram *h, double scale);

#endif
