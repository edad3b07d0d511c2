/* The HTTP check (auth.mode "http"): the application's own endpoint decides,
 * per handshake, with a GET carrying the client's chosen headers. A blocking
 * request with a timeout, on the handshake's own worker thread. */
#ifndef WSRELAY_HTTP_CHECK_H
#define WSRELAY_HTTP_CHECK_H

#include <stddef.h>
#include <stdint.h>

#include "auth_grant.h"
#include "auth_reason.h"

#define HTTP_CHECK_CHALLENGE_MAX 256

struct http_check_request {
	const char *url;
	uint32_t timeout_ms;
	char *const *forward_headers; /* names of the client's headers to send on */
	size_t forward_header_count;
	/* The client's header of that name, or NULL. */
	const char *(*header)(void *ctx, const char *name);
	void *ctx;
	const char *original_uri; /* sent as X-Original-URI */
	const char *remote_addr;  /* sent as X-Forwarded-For */
};

struct http_check_result {
	enum auth_reason reason;  /* AUTH_OK, AUTH_HTTP_DENIED, AUTH_HTTP_ERROR, AUTH_EXPIRED */
	int status;               /* 0 (allowed), 401, 403 or 503 */
	struct auth_grant *grant; /* when allowed: the caller's to free */
	/* The application's WWW-Authenticate on a 401, or "". */
	char challenge[HTTP_CHECK_CHALLENGE_MAX];
};

/* Once, from the main thread, before any check (curl's global state). */
int http_check_global_init(void);
void http_check_global_cleanup(void);

/* Asks the endpoint. 2xx allows, with the permissions of X-Wsrelay-Publish
 * ("true"/"false"), X-Wsrelay-Rooms (comma-separated patterns),
 * X-Wsrelay-Expires (Unix seconds) and X-Wsrelay-Subject; a malformed one
 * of those is an error (the client is refused: fail closed). 401 and 403
 * refuse with that status; anything else, a failure or the timeout refuse
 * with 503. Any thread; blocks up to timeout_ms. */
void http_check_run(const struct http_check_request *req, int64_t now,
                    struct http_check_result *out);

#endif
