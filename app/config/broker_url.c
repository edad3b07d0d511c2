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
	if (*end == ':') {
		uint64_t port;
		size_t digits = decimal_scan(end + 1, &port);
		if (digits == 0 || (end[1 + digits] != '\0' && end[1 + digits] != '/') ||
		    port < 1 || port > 65535) {
			*problem = "needs a port from 1 to 65535 after \":\"";
			return -1;
		}
		out->port = (uint16_t)port;
		end += 1 + digits;
	}
	if (*end == '\0')
		return 0;
	if (*end != '/') {
		*problem = "has an invalid character in the host";
		return -1;
	}
	/* Only Redis has a database number (which pub/sub ignores, but a
	 * shared URL may carry one). */
	uint64_t db;
	size_t digits = decimal_scan(end + 1, &db);
	if (out->scheme != CLUSTER_BROKER_REDIS || digits == 0 || end[1 + digits] != '\0' ||
	    db > 1000000) {
		*problem = out->scheme == CLUSTER_BROKER_REDIS
		               ? "may only have a database number as its path (\"/0\")"
		               : "must not have a path";
		return -1;
	}
	out->db = (int)db;
	return 0;
}

/* "user", "user:password" or ":password" before the '@' of a Redis URL. */
static int parse_user_info(const char *info, size_t len, struct broker_url *out,
                           const char **problem)
{
	const char *colon = memchr(info, ':', len);
	size_t user_len = colon ? (size_t)(colon - info) : len;
	size_t pass_len = colon ? len - user_len - 1 : 0;
	if (user_len > BROKER_HOST_MAX || pass_len > BROKER_HOST_MAX) {
		*problem = "has a user or password longer than 255 bytes";
		return -1;
	}
	if (!colon || pass_len == 0) {
		*problem = "has user info without a password (redis://[user]:password@host)";
		return -1;
	}
	memcpy(out->user, info, user_len);
	out->user[user_len] = '\0';
	memcpy(out->password, colon + 1, pass_len);
	out->password[pass_len] = '\0';
	out->has_password = true;
	return 0;
}

void broker_url_redact(const char *s, char *out, size_t cap)
{
	const char *scheme_end = strstr(s, "://");
	const char *info = scheme_end ? scheme_end + 3 : s;
	const char *at = strrchr(info, '@');
	if (!at || cap == 0) {
		snprintf(out, cap, "%s", s);
		return;
	}
	const char *colon = memchr(info, ':', (size_t)(at - info));
	if (colon)
		snprintf(out, cap, "%.*s:***%s", (int)(colon - s), s, at);
	else
		snprintf(out, cap, "%.*s***%s", (int)(info - s), s, at);
}

int broker_url_parse(const char *s, struct broker_url *out, char *why, size_t whylen)
{
	char quoted[QUOTE_SIZE];
	const char *problem = NULL;
	const char *rest;

	memset(out, 0, sizeof(*out));
	out->db = -1;
	if (strncmp(s, "redis://", 8) == 0) {
		out->scheme = CLUSTER_BROKER_REDIS;
		out->port = REDIS_DEFAULT_PORT;
		rest = s + 8;
	} else if (strncmp(s, "nats://", 7) == 0 || strncmp(s, "tls://", 6) == 0) {
		out->scheme = CLUSTER_BROKER_NATS;
		out->port = NATS_DEFAULT_PORT;
		rest = strchr(s, '/') + 2;
	} else {
		char redacted[512];
		broker_url_redact(s, redacted, sizeof(redacted));
		snprintf(why, whylen,
		         "%s must start with \"redis://\" or \"nats://\" (or \"tls://\" for NATS "
		         "over TLS)",
		         quote_shortened(redacted, quoted));
		return -1;
	}
	const char *at = strrchr(rest, '@');
	/* NATS URLs go to the client library whole: it reads their user info. */
	if (!at || out->scheme != CLUSTER_BROKER_REDIS ||
	    parse_user_info(rest, (size_t)(at - rest), out, &problem) == 0)
		parse_host_port(at ? at + 1 : rest, out, &problem);
	if (problem) {
		char redacted[512];
		broker_url_redact(s, redacted, sizeof(redacted));
		snprintf(why, whylen, "%s %s", quote_shortened(redacted, quoted), problem);
		return -1;
	}
	return 0;
}
