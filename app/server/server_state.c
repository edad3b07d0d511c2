/* What the server lets the layers above it read: its counters, its cluster
 * link and its start time, for the metrics listener. Every function here is
 * safe from any thread while the server runs: the fields read never change
 * after server_start, and the counters are atomic. */
#include "server_internal.h"
#include "server_state.h"

const struct relay_stats *server_stats(struct server *srv)
{
	return &srv->stats;
}

struct cluster *server_cluster(struct server *srv)
{
	return srv->cluster;
}

double server_start_time(struct server *srv)
{
	return srv->start_time;
}
