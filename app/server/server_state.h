/* Read-only views of a running server for the layers above it (metrics),
 * so that nothing outside server/ reads server_internal.h. */
#ifndef WSRELAY_SERVER_STATE_H
#define WSRELAY_SERVER_STATE_H

#include "cluster.h"
#include "server.h"
#include "relay_stats.h"

/* The relay's counters; they live as long as srv. */
const struct relay_stats *server_stats(struct server *srv);

/* The broker link, or NULL unless cluster.enabled. */
struct cluster *server_cluster(struct server *srv);

/* When the server started, in seconds since the Unix epoch. */
double server_start_time(struct server *srv);

#endif
