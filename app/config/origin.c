/* Origins are compared byte for byte with the Origin header, so anything a
 * browser would never send is refused when the config is loaded rather than
 * silently never matching at run time. */
#include "origin.h"

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "decimal.h"
#include "quote.h"

/* The end of the host that starts at host, or NULL for an invalid bracketed
 * IPv6 address. */
static const char *host_end(const char *host)
{
	char addr_text[64];
	unsigned char addr[16];
	const char *close;
	size_t len;

	if (host[0] != '[')
		return host + strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789.-_");
	close = strchr(host, ']');
	len = close ? (size_t)(close - host - 1) : 0;
	if (!close || len >= sizeof(addr_text))
		return NULL;
	memcpy(addr_text, host + 1, len);
	addr_text[len] = '\0';
	return inet_pton(AF_INET6, addr_text, addr) == 1 ? close + 1 : NULL;
}

int origin_validate(const char *s, char *why, size_t whylen)
{
	char q[QUOTE_SIZE];
	const char *host, *end, *default_port;

	quote_shortened(s, q);
	if (strpbrk(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")) {
		snprintf(why, whylen,
		         "%s has upper-case letters; browsers send origins in lower case, so it "
		         "would never match",
		         q);
		return -1;
	}
	if (strncmp(s, "https://", 8) == 0) {
		host = s + 8;
		default_port = "443";
	} else if (strncmp(s, "http://", 7) == 0) {
		host = s + 7;
		default_port = "80";
	} else {
		snprintf(
		    why, whylen,
		    "%s is not an origin: it must start with \"http://\" or \"https://\", e.g. "
		    "\"https://example.com\"",
		    q);
		return -1;
	}

	end = host_end(host);
	if (!end) {
		snprintf(why, whylen, "%s has an invalid IPv6 address", q);
		return -1;
	}
	if (end == host) {
		snprintf(why, whylen, "%s has no host", q);
		return -1;
	}

	if (end[0] == ':') {
		const char *port = end + 1;
		uint64_t value;
		size_t len = decimal_scan(port, &value);

		if (len == 0 || value == 0 || value > 65535 || port[0] == '0') {
			snprintf(why, whylen, "%s has an invalid port (expected 1..65535)", q);
			return -1;
		}
		if (len == strlen(default_port) && strncmp(port, default_port, len) == 0) {
			snprintf(why, whylen,
			         "%s names the default port, which browsers leave out; write "
			         "\"%.*s\"",
			         q, (int)(end - s), s);
			return -1;
		}
		end = port + len;
	}

	if (end[0] == '/') {
		snprintf(why, whylen,
		         "%s has a path; an origin is only scheme://host[:port], e.g. \"%.*s\"", q,
		         (int)(end - s), s);
		return -1;
	}
	if (end[0] != '\0') {
		snprintf(why, whylen,
		         "%s is not an origin: expected scheme://host[:port], e.g. "
		         "\"https://example.com\"",
		         q);
		return -1;
	}
	return 0;
}
