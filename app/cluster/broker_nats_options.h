/* The NATS link's security, from cluster.url and cluster.nats: TLS (a
 * "tls://" URL or cluster.nats.tls), and one way to log in: user and
 * password in the URL, a token file, an NKey seed file or a .creds file. */
#ifndef WSRELAY_BROKER_NATS_OPTIONS_H
#define WSRELAY_BROKER_NATS_OPTIONS_H

#include <nats/nats.h>
#include <stddef.h>

#include "config.h"

/* Sets them on o; 0, or -1 with a reason in err (a file that cannot be
 * read, a key OpenSSL or the library refuses), which never holds a secret. */
int broker_nats_options_set_security(natsOptions *o, const struct config *cfg, char *err,
                                     size_t errlen);

#endif
