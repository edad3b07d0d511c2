/* The metrics listener: /metrics and /healthz on a CivetWeb context of their
 * own, so they answer even when every WebSocket worker is taken. */
#ifndef WSRELAY_METRICS_SERVER_H
#define WSRELAY_METRICS_SERVER_H

#include <stddef.h>

#include "config.h"

struct server;
struct metrics_server;
struct tls_context;

/* NULL with a one-line reason in err when the listener cannot start. srv
 * must outlive the metrics server. */
struct metrics_server *metrics_server_start(const struct config *cfg, struct server *srv, char *err,
                                            size_t errlen);
void metrics_server_stop(struct metrics_server *ms);

/* The listener's TLS (metrics.tls), or NULL when it serves plain HTTP. */
struct tls_context *metrics_server_tls(struct metrics_server *ms);

#endif
