/* The three modes behind one decision: none (everyone, with the anonymous
 * grant), jwt (jwt_verify.c with the keys in service) and http
 * (http_check.c). The keys in service are swapped whole on reload; a check
 * holds a reference to the set it started with. */
#include "auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "auth_keys.h"
#include "clock.h"
#include "jwt_verify.h"
#include "stats.h"

/* HTTP check durations, in nanoseconds: 1 ms to 10 s. */
static const uint64_t http_buckets[] = {
    1000000,   2500000,   5000000,    10000000,   25000000,   50000000,    100000000,
    250000000, 500000000, 1000000000, 2500000000, 5000000000, 10000000000,
};

struct auth {
	const struct config *cfg;
	struct jwt_rules rules;
	pthread_mutex_t keys_lock; /* guards the pointer only */
	struct auth_keys *keys;    /* mode jwt */
	bool curl_ready;
	struct auth_stats stats;
};

const char *auth_reason_name(enum auth_reason reason)
{
	static const char *const names[AUTH_REASON_COUNT] = {
	    [AUTH_OK] = "ok",
	    [AUTH_MISSING] = "missing",
	    [AUTH_MALFORMED] = "malformed",
	    [AUTH_SIGNATURE] = "signature",
	    [AUTH_ALGORITHM] = "algorithm",
	    [AUTH_EXPIRED] = "expired",
	    [AUTH_NOT_YET_VALID] = "not_yet_valid",
	    [AUTH_ISSUER] = "issuer",
	    [AUTH_AUDIENCE] = "audience",
	    [AUTH_FORBIDDEN_ROOM] = "forbidden_room",
	    [AUTH_HTTP_DENIED] = "http_denied",
	    [AUTH_HTTP_ERROR] = "http_error",
	};
	return (unsigned)reason < AUTH_REASON_COUNT ? names[reason] : "unknown";
}

struct auth *auth_create(const struct config *cfg, char *err, size_t errlen)
{
	struct auth *a = calloc(1, sizeof(*a));
	if (!a) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	a->cfg = cfg;
	pthread_mutex_init(&a->keys_lock, NULL);
	histogram_init(&a->stats.http_duration, http_buckets,
	               sizeof(http_buckets) / sizeof(http_buckets[0]));
	a->rules = (struct jwt_rules){
	    .algorithms = cfg->auth.jwt.algorithms,
	    .algorithm_count = cfg->auth.jwt.algorithm_count,
	    .issuer = cfg->auth.jwt.issuer,
	    .audience = cfg->auth.jwt.audience,
	    .leeway_seconds = cfg->auth.jwt.leeway_seconds,
	};
	if (cfg->auth.mode == AUTH_MODE_JWT) {
		a->keys = auth_keys_load(cfg->auth.jwt.secret_file, cfg->auth.jwt.public_keys_file,
		                         err, errlen);
		if (!a->keys) {
			auth_free(a);
			return NULL;
		}
	} else if (cfg->auth.mode == AUTH_MODE_HTTP) {
		if (http_check_global_init() != 0) {
			snprintf(err, errlen, "auth.http: cannot initialise libcurl");
			auth_free(a);
			return NULL;
		}
		a->curl_ready = true;
	}
	return a;
}

void auth_free(struct auth *a)
{
	if (!a)
		return;
	auth_keys_unref(a->keys);
	if (a->curl_ready)
		http_check_global_cleanup();
	pthread_mutex_destroy(&a->keys_lock);
	free(a);
}

enum auth_mode auth_mode(const struct auth *a)
{
	return a->cfg->auth.mode;
}

const struct auth_stats *auth_stats(const struct auth *a)
{
	return &a->stats;
}

int auth_reload(struct auth *a, char *err, size_t errlen)
{
	if (a->cfg->auth.mode != AUTH_MODE_JWT)
		return 1;
	struct auth_keys *fresh = auth_keys_load(a->cfg->auth.jwt.secret_file,
	                                         a->cfg->auth.jwt.public_keys_file, err, errlen);
	if (!fresh) {
		stats_add(&a->stats.reloads_error, 1);
		return -1;
	}
	pthread_mutex_lock(&a->keys_lock);
	struct auth_keys *old = a->keys;
	a->keys = fresh;
	pthread_mutex_unlock(&a->keys_lock);
	auth_keys_unref(old);
	stats_add(&a->stats.reloads_ok, 1);
	return 0;
}

static struct auth_keys *keys_in_service(struct auth *a)
{
	pthread_mutex_lock(&a->keys_lock);
	struct auth_keys *k = auth_keys_ref(a->keys);
	pthread_mutex_unlock(&a->keys_lock);
	return k;
}

/* The token: "Authorization: Bearer", else the query, else the cookie
 * (RFC 6750 section 2's three ways, the cookie standing in for the form
 * body, which a WebSocket handshake has not). */
static const char *find_token(const struct auth_request *req)
{
	const char *h = req->authorization;
	if (h && strncasecmp(h, "Bearer ", 7) == 0) {
		h += 7;
		while (*h == ' ')
			h++;
		return h;
	}
	if (req->query_token)
		return req->query_token;
	return req->cookie_token;
}

static int64_t unix_now(void)
{
	struct timespec now;
	clock_gettime(CLOCK_REALTIME, &now);
	return (int64_t)now.tv_sec;
}

static void decide_jwt(struct auth *a, const struct auth_request *req, struct auth_decision *out)
{
	const char *token = find_token(req);
	if (!token || !token[0]) {
		/* RFC 6750 section 3.1: no error code when no token came. */
		out->reason = AUTH_MISSING;
		out->status = 401;
		snprintf(out->challenge, sizeof(out->challenge), "Bearer");
		return;
	}
	struct auth_keys *keys = keys_in_service(a);
	size_t len = strnlen(token, JWT_MAX_LENGTH + 1);
	out->reason = jwt_verify(token, len, keys, &a->rules, unix_now(), &out->grant);
	auth_keys_unref(keys);
	if (out->reason == AUTH_OK)
		return;
	out->status = out->reason == AUTH_FORBIDDEN_ROOM ? 403 : 401;
	snprintf(out->challenge, sizeof(out->challenge), "Bearer error=\"invalid_token\"");
}

static void decide_http(struct auth *a, const struct auth_request *req, struct auth_decision *out)
{
	const struct config *cfg = a->cfg;
	struct http_check_request hreq = {
	    .url = cfg->auth.http.url,
	    .timeout_ms = cfg->auth.http.timeout_ms,
	    .forward_headers = cfg->auth.http.forward_headers,
	    .forward_header_count = cfg->auth.http.forward_header_count,
	    .header = req->header,
	    .ctx = req->ctx,
	    .original_uri = req->original_uri,
	    .remote_addr = req->remote_addr,
	};
	struct http_check_result res;
	clock_mono_t start = clock_now();
	http_check_run(&hreq, unix_now(), &res);
	histogram_observe(&a->stats.http_duration, clock_elapsed_ns(start));
	out->reason = res.reason;
	out->status = res.status;
	out->grant = res.grant;
	if (res.status == 401)
		snprintf(out->challenge, sizeof(out->challenge), "%s",
		         res.challenge[0] ? res.challenge : "Bearer");
}

void auth_decide(struct auth *a, const struct auth_request *req, struct auth_decision *out)
{
	memset(out, 0, sizeof(*out));
	switch (a->cfg->auth.mode) {
	case AUTH_MODE_NONE:
		/* No grant: the server applies auth.anonymous_publish. */
		return;
	case AUTH_MODE_JWT:
		decide_jwt(a, req, out);
		break;
	case AUTH_MODE_HTTP:
		decide_http(a, req, out);
		break;
	}
	if (out->reason != AUTH_OK)
		stats_add(&a->stats.failures[out->reason], 1);
}
