/* server.proxy_protocol: the PROXY protocol header (v1 or v2) that a TCP
 * load balancer in server.trusted_proxies writes before the client's bytes,
 * read on the raw socket before TLS and HTTP (patch 0012's
 * accept_connection) so that the client's address, not the balancer's, is
 * the one counted, logged and authorized.
 *
 * What happens (documented in docs/reverse-proxies.md):
 * - A peer in server.trusted_proxies must send a header within
 *   server.handshake_timeout_seconds of its connection being taken up;
 *   its source address becomes the connection's peer. LOCAL (v2) and
 *   UNKNOWN (v1), the balancer's own health checks, keep the balancer's
 *   address. No header, a malformed or truncated one, or a late one:
 *   closed without a byte written, counted as
 *   wsrelay_rejected_handshakes_total{reason="proxy_protocol"} (a peer
 *   that closes before sending anything, a plain TCP check, is not
 *   counted).
 * - Any other peer is served as without the option, except that one whose
 *   first bytes are a PROXY signature is closed without a byte written and
 *   counted as reason="proxy_untrusted" (a balancer missing from the list,
 *   or someone forging a client address).
 * - The metrics listener never reads a header. */
#ifndef WSRELAY_PROXY_PROTOCOL_H
#define WSRELAY_PROXY_PROTOCOL_H

#include <civetweb.h>
#include <stddef.h>

/* CivetWeb's accept_connection callback (patch 0012), installed only with
 * server.proxy_protocol: true. Returns 0 to go on with remote_addr as the
 * peer, nonzero to close. Thread: the connection's worker, before any
 * other callback of that connection; blocks for at most
 * server.handshake_timeout_seconds (less when the drain begins). */
int proxy_protocol_accept(struct mg_connection *conn, int sock, void *remote_addr,
                          size_t remote_addr_size);

/* The balancer's "address:port" when the connection this thread serves
 * had its peer replaced by a header, else "". Thread: the connection's
 * worker (a thread-local slot that proxy_protocol_accept sets for each
 * connection). */
const char *proxy_protocol_via(void);

#endif
