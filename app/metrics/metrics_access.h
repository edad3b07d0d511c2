/* Who may use the metrics listener: metrics.allowed_networks as CivetWeb's
 * access list (checked at accept, before a worker is spent), and the
 * bearer token of metrics.bearer_token_file for the metrics path. */
#ifndef WSRELAY_METRICS_ACCESS_H
#define WSRELAY_METRICS_ACCESS_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* metrics.allowed_networks as CivetWeb's access_control_list
 * ("+10.0.0.0/8,+[::1]/128"; a list denies everything it does not allow),
 * or "" when the list is empty. Newly allocated; NULL when out of memory. */
char *metrics_access_acl(const struct config *cfg);

/* The token in path: its first line, without surrounding blanks. NULL with
 * the reason in err when the file cannot be read or holds no token. */
char *metrics_access_read_token(const char *path, char *err, size_t errlen);

/* Whether authorization (an Authorization header's value, or NULL) is
 * "Bearer <token>", compared in constant time. */
bool metrics_access_bearer_ok(const char *authorization, const char *token);

#endif
