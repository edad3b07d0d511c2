/* The HTTP check on libcurl: one easy handle per handshake (a handshake has
 * its worker thread to itself, so blocking with a timeout is the simple
 * and right thing), the X-Wsrelay-* answer headers read as they arrive. */
#include "http_check.h"

#include <curl/curl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "decimal.h"
#include "log.h"

#define MAX_BODY        ((size_t)64 * 1024)
#define MAX_ROOMS_VALUE 8192
#define MAX_HEADER_LINE 8192

struct answer {
	int publish; /* -1 not said, 0, 1 */
	bool bad;    /* a X-Wsrelay-* header that does not parse */
	bool has_rooms;
	char rooms[MAX_ROOMS_VALUE];
	bool has_expires;
	int64_t expires;
	char subject[AUTH_SUBJECT_MAX + 1];
	char challenge[HTTP_CHECK_CHALLENGE_MAX];
	size_t body;
};

int http_check_global_init(void)
{
	return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_check_global_cleanup(void)
{
	curl_global_cleanup();
}

static size_t discard_body(char *data, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	(void)data;
	a->body += size * n;
	return a->body > MAX_BODY ? 0 : size * n;
}

/* value[0..len) into out (cap bytes), cut; blanks trimmed by the caller. */
static void copy_value(char *out, size_t cap, const char *value, size_t len)
{
	if (len >= cap)
		len = cap - 1;
	memcpy(out, value, len);
	out[len] = '\0';
}

static void read_header(struct answer *a, const char *name, size_t name_len, const char *value,
                        size_t len)
{
#define IS(h) (name_len == sizeof(h) - 1 && strncasecmp(name, h, name_len) == 0)
	if (IS("X-Wsrelay-Publish")) {
		if (len == 4 && strncasecmp(value, "true", 4) == 0)
			a->publish = 1;
		else if (len == 5 && strncasecmp(value, "false", 5) == 0)
			a->publish = 0;
		else
			a->bad = true;
	} else if (IS("X-Wsrelay-Rooms")) {
		a->has_rooms = true;
		if (len >= sizeof(a->rooms))
			a->bad = true;
		else
			copy_value(a->rooms, sizeof(a->rooms), value, len);
	} else if (IS("X-Wsrelay-Expires")) {
		char text[24];
		uint64_t v;
		copy_value(text, sizeof(text), value, len);
		a->has_expires = true;
		if (len == 0 || len >= sizeof(text) || decimal_scan(text, &v) != len ||
		    v > INT64_MAX / 2)
			a->bad = true;
		else
			a->expires = (int64_t)v;
	} else if (IS("X-Wsrelay-Subject")) {
		copy_value(a->subject, sizeof(a->subject), value, len);
	} else if (IS("WWW-Authenticate")) {
		copy_value(a->challenge, sizeof(a->challenge), value, len);
	}
#undef IS
}

static size_t on_header(char *line, size_t size, size_t n, void *arg)
{
	struct answer *a = arg;
	size_t len = size * n;
	if (len > MAX_HEADER_LINE)
		return len;
	if (len >= 5 && strncmp(line, "HTTP/", 5) == 0) {
		/* A new answer (after a 100 Continue): only the last counts. */
		size_t body = a->body;
		memset(a, 0, sizeof(*a));
		a->publish = -1;
		a->body = body;
		return len;
	}
	const char *colon = memchr(line, ':', len);
	if (!colon)
		return len;
	size_t name_len = (size_t)(colon - line);
	const char *v = colon + 1;
	const char *end = line + len;
	while (v < end && (*v == ' ' || *v == '\t'))
		v++;
	while (end > v && (end[-1] == '\r' || end[-1] == '\n' || end[-1] == ' ' || end[-1] == '\t'))
		end--;
	read_header(a, line, name_len, v, (size_t)(end - v));
	return len;
}

/* "Name: value" lines for the client's headers, and ours. NULL when out of
 * memory (a partial list is freed). */
static struct curl_slist *request_headers(const struct http_check_request *req)
{
	struct curl_slist *list = NULL;
	char line[MAX_HEADER_LINE + 128];
	for (size_t i = 0; i < req->forward_header_count; i++) {
		const char *value = req->header(req->ctx, req->forward_headers[i]);
		if (!value || !value[0] || strpbrk(value, "\r\n"))
			continue;
		int w = snprintf(line, sizeof(line), "%s: %s", req->forward_headers[i], value);
		if (w < 0 || (size_t)w >= sizeof(line))
			continue;
		struct curl_slist *more = curl_slist_append(list, line);
		if (!more)
			goto oom;
		list = more;
	}
	const struct {
		const char *name, *value;
	} ours[] = {{"X-Original-URI", req->original_uri}, {"X-Forwarded-For", req->remote_addr}};
	for (size_t i = 0; i < sizeof(ours) / sizeof(ours[0]); i++) {
		snprintf(line, sizeof(line), "%s: %s", ours[i].name, ours[i].value);
		struct curl_slist *more = curl_slist_append(list, line);
		if (!more)
			goto oom;
		list = more;
	}
	/* curl would send "Expect: 100-continue" for nothing here, and an
	 * Accept is noise. */
	struct curl_slist *more = curl_slist_append(list, "Accept:");
	if (!more)
		goto oom;
	return more;
oom:
	curl_slist_free_all(list);
	return NULL;
}

static void set_result(struct http_check_result *out, enum auth_reason reason, int status)
{
	out->reason = reason;
	out->status = status;
}

/* A 2xx: the grant its headers describe. */
static void allow(const struct answer *a, int64_t now, struct http_check_result *out)
{
	struct auth_grant *g = auth_grant_new();
	if (!g || a->bad ||
	    (a->has_rooms && auth_grant_add_rooms_csv(g, a->rooms, strlen(a->rooms)) != 0)) {
		auth_grant_free(g);
		set_result(out, AUTH_HTTP_ERROR, 503);
		return;
	}
	if (a->publish >= 0)
		g->publish = a->publish == 1;
	if (a->has_expires) {
		if (a->expires <= now) {
			auth_grant_free(g);
			set_result(out, AUTH_EXPIRED, 401);
			return;
		}
		g->expires = a->expires;
	}
	auth_grant_set_subject(g, a->subject, strlen(a->subject));
	out->grant = g;
	set_result(out, AUTH_OK, 0);
}

void http_check_run(const struct http_check_request *req, int64_t now,
                    struct http_check_result *out)
{
	memset(out, 0, sizeof(*out));
	set_result(out, AUTH_HTTP_ERROR, 503);
	struct answer *a = calloc(1, sizeof(*a));
	CURL *curl = curl_easy_init();
	struct curl_slist *headers = request_headers(req);
	if (!a || !curl || !headers)
		goto done;
	a->publish = -1;
	curl_easy_setopt(curl, CURLOPT_URL, req->url);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
	/* Threads: curl must not use signals for its timeouts. */
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_TIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS, (long)req->timeout_ms);
	curl_easy_setopt(curl, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(curl, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, a);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, a);
	curl_easy_setopt(curl, CURLOPT_USERAGENT, "wsrelay");

	CURLcode rc = curl_easy_perform(curl);
	long status = 0;
	if (rc == CURLE_OK)
		curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK)
		log_info("auth.http: %s: %s", req->url, curl_easy_strerror(rc));
	else if (status >= 200 && status <= 299)
		allow(a, now, out);
	else if (status == 401 || status == 403) {
		set_result(out, AUTH_HTTP_DENIED, (int)status);
		if (status == 401)
			snprintf(out->challenge, sizeof(out->challenge), "%s", a->challenge);
	}
done:
	curl_slist_free_all(headers);
	if (curl)
		curl_easy_cleanup(curl);
	free(a);
}
