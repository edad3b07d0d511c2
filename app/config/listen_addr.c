/* The "host:port" text of a struct listen_addr, both ways. Hosts are IP
 * literals, kept in inet_ntop's canonical form so that an address written
 * two ways is still recognised as the same listener. */
#include "listen_addr.h"

#include <arpa/inet.h>
#include <string.h>
#include <sys/socket.h>

#include "decimal.h"
#include "quote.h"

/* Splits spec into host text and port text; q is spec quoted, for messages. */
static int split_host_port(const char *spec, const char *q, const char **host, size_t *host_len,
                           const char **port, char *why, size_t whylen)
{
	const char *colon;

	if (spec[0] == '[') {
		const char *close = strchr(spec, ']');

		if (!close) {
			snprintf(why, whylen, "%s is missing the \"]\" that ends the IPv6 address",
			         q);
			return -1;
		}
		if (close[1] != ':') {
			snprintf(why, whylen,
			         "%s needs \":port\" after the \"]\", e.g. \"[::1]:8443\"", q);
			return -1;
		}
		*host = spec + 1;
		*host_len = (size_t)(close - *host);
		*port = close + 2;
		return 0;
	}

	colon = strrchr(spec, ':');
	if (!colon) {
		snprintf(why, whylen,
		         "%s needs a port: write \"host:port\", e.g. \"0.0.0.0:8443\" or "
		         "\"[::]:8443\"",
		         q);
		return -1;
	}
	*host = spec;
	*host_len = (size_t)(colon - spec);
	*port = colon + 1;
	if (memchr(spec, ':', *host_len)) {
		snprintf(why, whylen,
		         "%s: an IPv6 address needs brackets, \"[address]:port\", e.g. "
		         "\"[::1]:8443\"",
		         q);
		return -1;
	}
	return 0;
}

/* Takes a "ws://" or "wss://" off the front of *spec. Returns -1 for any
 * other "scheme://". */
static int take_scheme(const char **spec, bool allowed, const char *q, enum listen_scheme *scheme,
                       char *why, size_t whylen)
{
	const char *sep = strstr(*spec, "://");

	*scheme = LISTEN_SCHEME_NONE;
	if (!sep)
		return 0;
	if (!allowed) {
		snprintf(why, whylen, "%s: this address takes no scheme, just \"host:port\"", q);
		return -1;
	}
	if (sep - *spec == 2 && strncmp(*spec, "ws", 2) == 0)
		*scheme = LISTEN_SCHEME_WS;
	else if (sep - *spec == 3 && strncmp(*spec, "wss", 3) == 0)
		*scheme = LISTEN_SCHEME_WSS;
	else {
		snprintf(why, whylen,
		         "%s: the scheme must be \"ws://\" (plain) or \"wss://\" (TLS)", q);
		return -1;
	}
	*spec = sep + 3;
	return 0;
}

int listen_addr_parse(const char *spec, bool allow_scheme, struct listen_addr *out, char *why,
                      size_t whylen)
{
	char q[QUOTE_SIZE], host[sizeof(out->host)];
	unsigned char addr[16];
	const char *host_start, *port;
	size_t host_len, port_len;
	uint64_t port_value;
	enum listen_scheme scheme;

	quote_shortened(spec, q);
	if (take_scheme(&spec, allow_scheme, q, &scheme, why, whylen))
		return -1;
	if (strchr(spec, '/')) {
		snprintf(why, whylen, "%s: unexpected \"/\"; write \"host:port\"%s", q,
		         allow_scheme ? ", optionally after \"ws://\" or \"wss://\"" : "");
		return -1;
	}

	bool ipv6 = spec[0] == '[';
	int family = ipv6 ? AF_INET6 : AF_INET;
	if (split_host_port(spec, q, &host_start, &host_len, &port, why, whylen))
		return -1;

	port_len = decimal_scan(port, &port_value);
	if (port_len == 0 || port[port_len] != '\0') {
		snprintf(why, whylen, "%s needs a decimal port number (0..65535) after the \":\"",
		         q);
		return -1;
	}
	if (port_value > 65535) {
		snprintf(why, whylen, "%s: port %s is out of range (0..65535)", q, port);
		return -1;
	}

	if (host_len == 0) {
		snprintf(why, whylen,
		         "%s has no host; use \"0.0.0.0:%s\" for every IPv4 interface or "
		         "\"[::]:%s\" for IPv6",
		         q, port, port);
		return -1;
	}
	if (host_len < sizeof(host)) {
		memcpy(host, host_start, host_len);
		host[host_len] = '\0';
	}
	if (host_len >= sizeof(host) || inet_pton(family, host, addr) != 1) {
		if (ipv6)
			snprintf(why, whylen, "%s has an invalid IPv6 address", q);
		else if (strspn(host_start, "0123456789.") >= host_len)
			snprintf(why, whylen, "%s has an invalid IPv4 address", q);
		else
			snprintf(
			    why, whylen,
			    "%s needs an IP literal host, e.g. \"127.0.0.1:%s\" or \"[::1]:%s\"", q,
			    port, port);
		return -1;
	}

	memset(out, 0, sizeof(*out));
	inet_ntop(family, addr, out->host, sizeof(out->host));
	out->port = (uint16_t)port_value;
	out->ipv6 = ipv6;
	out->scheme = scheme;
	return 0;
}

void listen_addr_format(const struct listen_addr *addr, char buf[static LISTEN_ADDR_TEXT_SIZE])
{
	const char *scheme = addr->scheme == LISTEN_SCHEME_WS    ? "ws://"
	                     : addr->scheme == LISTEN_SCHEME_WSS ? "wss://"
	                                                         : "";
	snprintf(buf, LISTEN_ADDR_TEXT_SIZE, addr->ipv6 ? "%s[%s]:%u" : "%s%s:%u", scheme,
	         addr->host, (unsigned)addr->port);
}

bool listen_addr_equal(const struct listen_addr *a, const struct listen_addr *b)
{
	return a->ipv6 == b->ipv6 && a->port == b->port && strcmp(a->host, b->host) == 0;
}
