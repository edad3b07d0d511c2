/* Access control, the layer's face: built from the auth section of the
 * config, it decides for one handshake whether the client may connect and
 * with which grant, and keeps the counters behind wsrelay_auth_*.
 *
 * No CivetWeb here: the server layer hands in the request's parts. Every
 * function is safe from any thread unless it says otherwise. */
#ifndef WSRELAY_AUTH_H
#define WSRELAY_AUTH_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "auth_grant.h"
#include "auth_reason.h"
#include "config.h"
#include "histogram.h"
#include "http_check.h"

struct auth_stats {
	atomic_uint_fast64_t failures[AUTH_REASON_COUNT];
	struct histogram http_duration; /* nanoseconds */
	atomic_uint_fast64_t reloads_ok;
	atomic_uint_fast64_t reloads_error;
};

/* One handshake, as far as access control looks at it. */
struct auth_request {
	const char *authorization; /* the Authorization header, or NULL */
	const char *query_token;   /* the access_token parameter (URL-decoded), or NULL */
	const char *cookie_token;  /* the cookie auth.jwt.cookie names, or NULL */
	/* The http mode sends these on. */
	const char *(*header)(void *ctx, const char *name);
	void *ctx;
	const char *original_uri;
	const char *remote_addr;
};

struct auth_decision {
	enum auth_reason reason;
	int status; /* 0: allowed; else 401, 403 or 503 */
	/* With a 401: the WWW-Authenticate value to send. */
	char challenge[HTTP_CHECK_CHALLENGE_MAX];
	/* When allowed: the caller's to free; NULL in mode none, where
	 * auth.anonymous_publish says whether a client may publish. */
	struct auth_grant *grant;
};

struct auth;

/* Reads the keys (mode jwt) or sets curl up (mode http). The main thread,
 * before any client. NULL with one line in err (naming the file at fault). */
struct auth *auth_create(const struct config *cfg, char *err, size_t errlen);
void auth_free(struct auth *a);

/* Decides for one handshake (blocks up to auth.http.timeout_ms in mode
 * http) and counts a refusal. Any thread. */
void auth_decide(struct auth *a, const struct auth_request *req, struct auth_decision *out);

/* SIGHUP: reads the key files again. 0: new keys in service; -1: err says
 * why and the old keys stay; 1: nothing to reload (not mode jwt). Counted
 * in the reload counters. The main thread. */
int auth_reload(struct auth *a, char *err, size_t errlen);

enum auth_mode auth_mode(const struct auth *a);
const struct auth_stats *auth_stats(const struct auth *a);

#endif
