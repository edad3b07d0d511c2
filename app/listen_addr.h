/* "host:port" listener addresses: the text form the config uses for struct
 * listen_addr, both ways. */
#ifndef WSRELAY_LISTEN_ADDR_H
#define WSRELAY_LISTEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"

/* Enough for "wss://[" host "]:" port and the terminator. */
#define LISTEN_ADDR_TEXT_SIZE (sizeof(((struct listen_addr *)0)->host) + 24)

/* Parses "IPv4:port" or "[IPv6]:port" into out; with allow_scheme, a
 * "ws://" or "wss://" in front too. On failure returns -1 and writes the
 * reason, which quotes spec, into why. */
int listen_addr_parse(const char *spec, bool allow_scheme, struct listen_addr *out, char *why,
                      size_t whylen);

/* addr as listen_addr_parse reads it back, scheme included. */
void listen_addr_format(const struct listen_addr *addr, char buf[static LISTEN_ADDR_TEXT_SIZE]);

bool listen_addr_equal(const struct listen_addr *a, const struct listen_addr *b);

#endif
