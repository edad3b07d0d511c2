/* Rendering of the relay's own metric families. */
#ifndef WSRELAY_RELAY_METRICS_H
#define WSRELAY_RELAY_METRICS_H

#include "exposition.h"

struct server;

void relay_metrics_write(struct server *srv, struct exposition *e);

#endif
