/* "host:port" listener addresses: the text form the config uses for struct
 * listen_addr, both ways. */
#ifndef WSRELAY_LISTEN_ADDR_H
#define WSRELAY_LISTEN_ADDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address in server.listen may carry a scheme: ws:// is plain whatever
 * server.tls says, wss:// is TLS; without one it follows server.tls.enabled. */
enum listen_scheme { LISTEN_SCHEME_NONE, LISTEN_SCHEME_WS, LISTEN_SCHEME_WSS };

/* One "host:port" listener, already split and checked. host is an IP literal
 * without brackets ("0.0.0.0", "::1"); ipv6 tells which family it is. */
struct listen_addr {
	char host[64];
	uint16_t port; /* 0 only when the config asked for an ephemeral port */
	bool ipv6;
	enum listen_scheme scheme;
};

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
