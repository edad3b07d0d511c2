/* Broker URLs: strict enough that a typo is a config error naming the file
 * and line, not a reconnect loop against a wrong address at run time. */
#include "broker_url.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "decimal.h"
#include "quote.h"

#define REDIS_DEFAULT_PORT 6379
#define NATS_DEFAULT_PORT  4222

static bool host_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '-' || c == '_';
}

static bool ipv6_char(char c)
{
	return (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F') || (c >= '0' && c <= '9') ||
	       c == ':' || c == '.';
}

/* Splits "host[:port]" or "[v6][:port]"; rest is what follows the scheme
 * and any user info. */
static int parse_host_port(const char *rest, struct broker_url *out, const char **problem)
{
	const char *host = rest, *end;
	size_t len;

	if (rest[0] == '[') {
		host = rest + 1;
		end = strchr(host, ']');
		if (!end) {
			*problem = "has an unclosed \"[\"";
			return -1;
		}
		for (const char *p = host; p < end; p++)
			if (!ipv6_char(*p)) {
				*problem = "has an invalid IPv6 address";
				return -1;
			}
		len = (size_t)(end - host);
		end++;
	} else {
		end = host;
		while (host_char(*end))
			end++;
		len = (size_t)(end - host);
	}
	if (len == 0) {
		*problem = "names no host";
		return -1;
	}
	if (len > BROKER_HOST_MAX) {
		*problem = "has a host name longer than 255 bytes";
		return -1;
	}
	memcpy(out->host, host, len);
	out->host[len] = '\0';
	if (*end == '\0')
		return 0;
	if (*end != ':') {
		*problem =
		    *end == '/' ? "must not have a path" : "has an invalid character in the host";
		return -1;
	}
	uint64_t port;
	size_t digits = decimal_scan(end + 1, &port);
	if (digits == 0 || end[1 + digits] != '\0' || port < 1 || port > 65535) {
		*problem = "needs a port from 1 to 65535 after \":\"";
		return -1;
	}
	out->port = (uint16_t)port;
	return 0;
}

int broker_url_parse(const char *s, struct broker_url *out, char *why, size_t whylen)
{
	char quoted[QUOTE_SIZE];
	const char *problem = NULL;
	const char *rest;

	memset(out, 0, sizeof(*out));
	if (strncmp(s, "redis://", 8) == 0) {
		out->scheme = CLUSTER_BROKER_REDIS;
		out->port = REDIS_DEFAULT_PORT;
		rest = s + 8;
	} else if (strncmp(s, "nats://", 7) == 0) {
		out->scheme = CLUSTER_BROKER_NATS;
		out->port = NATS_DEFAULT_PORT;
		rest = s + 7;
	} else {
		snprintf(why, whylen, "%s must start with \"redis://\" or \"nats://\"",
		         quote_shortened(s, quoted));
		return -1;
	}
	const char *at = strrchr(rest, '@');
	if (at && out->scheme == CLUSTER_BROKER_REDIS) {
		/* hiredis 0.14 has no AUTH of its own; a password here would be
		 * silently ignored, which is worse than refusing it. */
		problem = "has user info, which redis:// URLs do not support here";
	} else {
		if (at)
			rest = at + 1;
		parse_host_port(rest, out, &problem);
	}
	if (problem) {
		snprintf(why, whylen, "%s %s", quote_shortened(s, quoted), problem);
		return -1;
	}
	return 0;
}
