/* ws:// and wss:// URLs, as wsrelay-client takes them on its command line. */
#ifndef WSRELAY_CLIENT_WS_URL_H
#define WSRELAY_CLIENT_WS_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A DNS name is at most 253 characters; an IPv6 literal far less. */
#define WS_URL_HOST_MAX 254
#define WS_URL_PATH_MAX 2048

struct ws_url {
	bool tls;                   /* wss:// */
	bool host_is_ipv6;          /* the URL had [brackets]; host holds them stripped */
	char host[WS_URL_HOST_MAX]; /* as written (brackets removed), NUL-terminated */
	uint16_t port;              /* explicit, or 80 (ws) / 443 (wss) */
	char path[WS_URL_PATH_MAX]; /* path and query, at least "/" */
};

/* Parses scheme://host[:port][/path][?query]. The scheme is ws or wss (any
 * case); host is a name, an IPv4 address or an IPv6 address in brackets
 * (no zone id). User info and fragments are refused, since a WebSocket URI
 * cannot carry them (RFC 6455 section 3). Returns 0, or -1 with a one-line
 * reason in err (err may be NULL when errlen is 0). */
int ws_url_parse(const char *text, struct ws_url *out, char *err, size_t errlen);

/* Writes the URL back in canonical form (lower-case scheme, brackets around
 * IPv6, the port always shown). Returns what snprintf returns. */
int ws_url_format(const struct ws_url *url, char *buf, size_t cap);

#endif
