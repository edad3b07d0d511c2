/* ws:// and wss:// URL parsing (RFC 6455 section 3, RFC 3986 syntax). */
#include "ws_url.h"

#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

static int fail(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	if (err && errlen > 0) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(err, errlen, fmt, ap);
		va_end(ap);
	}
	return -1;
}

static bool is_name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '.' || c == '_';
}

/* The path goes verbatim into the HTTP request line that CivetWeb writes,
 * so anything that could end or split that line must be refused here. */
static bool is_path_char(char c)
{
	return c > 0x20 && c < 0x7f && c != '#';
}

static int parse_port(const char *p, size_t len, uint16_t *port, char *err, size_t errlen)
{
	if (len == 0)
		return fail(err, errlen, "empty port after ':'");
	unsigned long value = 0;
	for (size_t i = 0; i < len; i++) {
		if (p[i] < '0' || p[i] > '9')
			return fail(err, errlen, "port '%.*s' is not a number", (int)len, p);
		value = value * 10 + (unsigned long)(p[i] - '0');
		if (value > 65535)
			return fail(err, errlen, "port '%.*s' is out of range (1..65535)", (int)len,
			            p);
	}
	if (value == 0)
		return fail(err, errlen, "port 0 is not a port one can connect to");
	*port = (uint16_t)value;
	return 0;
}

/* host[:port] or [v6][:port], authority already cut at the path. */
static int parse_authority(const char *a, size_t len, struct ws_url *out, char *err, size_t errlen)
{
	const char *host;
	size_t host_len;
	const char *rest;

	if (memchr(a, '@', len))
		return fail(err, errlen,
		            "user names or passwords ('@') are not allowed in the URL");
	if (len > 0 && a[0] == '[') {
		const char *close = memchr(a, ']', len);
		if (!close)
			return fail(err, errlen, "missing ']' after the IPv6 address");
		host = a + 1;
		host_len = (size_t)(close - host);
		rest = close + 1;
		if (host_len == 0 || host_len >= WS_URL_HOST_MAX)
			return fail(err, errlen, "bad IPv6 address '[%.*s]'", (int)host_len, host);
		memcpy(out->host, host, host_len);
		out->host[host_len] = '\0';
		struct in6_addr addr;
		if (inet_pton(AF_INET6, out->host, &addr) != 1)
			return fail(err, errlen, "bad IPv6 address '[%s]'", out->host);
		out->host_is_ipv6 = true;
	} else {
		const char *colon = memchr(a, ':', len);
		if (colon && memchr(colon + 1, ':', len - (size_t)(colon + 1 - a)))
			return fail(err, errlen,
			            "IPv6 addresses go in brackets, e.g. ws://[::1]:8443/ws");
		host = a;
		host_len = colon ? (size_t)(colon - a) : len;
		rest = a + host_len;
		if (host_len == 0)
			return fail(err, errlen, "the URL has no host");
		if (host_len >= WS_URL_HOST_MAX)
			return fail(err, errlen, "host name too long");
		for (size_t i = 0; i < host_len; i++)
			if (!is_name_char(host[i]))
				return fail(err, errlen, "bad character '%c' in host '%.*s'",
				            host[i], (int)host_len, host);
		memcpy(out->host, host, host_len);
		out->host[host_len] = '\0';
	}

	size_t rest_len = len - (size_t)(rest - a);
	if (rest_len == 0)
		return 0;
	if (rest[0] != ':')
		return fail(err, errlen, "unexpected '%.*s' after the host", (int)rest_len, rest);
	return parse_port(rest + 1, rest_len - 1, &out->port, err, errlen);
}

int ws_url_parse(const char *text, struct ws_url *out, char *err, size_t errlen)
{
	memset(out, 0, sizeof(*out));
	const char *sep = strstr(text, "://");
	if (!sep)
		return fail(err, errlen, "'%s' is not a URL: expected ws://HOST[:PORT]/PATH", text);
	size_t scheme_len = (size_t)(sep - text);
	if (scheme_len == 2 && strncasecmp(text, "ws", 2) == 0)
		out->tls = false;
	else if (scheme_len == 3 && strncasecmp(text, "wss", 3) == 0)
		out->tls = true;
	else
		return fail(err, errlen, "scheme '%.*s' is not ws or wss", (int)scheme_len, text);
	out->port = out->tls ? 443 : 80;

	const char *authority = sep + 3;
	/* A '?' may follow the authority directly (RFC 3986 allows an empty
	 * path before the query). */
	size_t auth_len = strcspn(authority, "/?#");
	if (parse_authority(authority, auth_len, out, err, errlen) < 0)
		return -1;

	const char *path = authority + auth_len;
	if (strchr(path, '#'))
		return fail(err, errlen, "fragments ('#') are not allowed in a WebSocket URL");
	for (const char *p = path; *p; p++)
		if (!is_path_char(*p))
			return fail(err, errlen,
			            "bad character 0x%02x in the path (spaces and non-ASCII "
			            "characters must be percent-encoded)",
			            (unsigned)(unsigned char)*p);
	size_t path_len = strlen(path);
	bool need_slash = path[0] != '/';
	if (path_len + need_slash >= WS_URL_PATH_MAX)
		return fail(err, errlen, "path too long (at most %d characters)",
		            WS_URL_PATH_MAX - 1);
	snprintf(out->path, sizeof(out->path), "%s%s", need_slash ? "/" : "", path);
	return 0;
}

int ws_url_format(const struct ws_url *url, char *buf, size_t cap)
{
	return snprintf(buf, cap, "%s://%s%s%s:%u%s", url->tls ? "wss" : "ws",
	                url->host_is_ipv6 ? "[" : "", url->host, url->host_is_ipv6 ? "]" : "",
	                (unsigned)url->port, url->path);
}
