/* Access control in the handshake (auth.mode jwt or http): the token or the
 * application's answer decides before the upgrade, so a refused client gets
 * an HTTP status and never a WebSocket. The grant of an accepted client is
 * handed to the connect handler through a thread-local slot: CivetWeb runs
 * begin_request and the connect handler one after the other on the same
 * worker thread. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth.h"
#include "log.h"
#include "server_internal.h"
#include "token_mask.h"

/* The grant between handshake_auth and the connect handler of the same
 * request on this worker thread. */
static _Thread_local struct auth_grant *pending_grant;

struct auth_grant *handshake_auth_take_grant(void)
{
	struct auth_grant *g = pending_grant;
	pending_grant = NULL;
	return g;
}

void handshake_auth_forget(const struct mg_connection *conn)
{
	(void)conn;
	auth_grant_free(handshake_auth_take_grant());
}

static const char *request_header(void *ctx, const char *name)
{
	return mg_get_header(ctx, name);
}

/* A query parameter or cookie, URL-decoded, in a fresh buffer as long as
 * where it came from (so it always fits); NULL if absent. */
static char *query_value(const char *query, const char *name)
{
	if (!query)
		return NULL;
	size_t len = strlen(query);
	char *buf = malloc(len + 1);
	if (buf && mg_get_var(query, len, name, buf, len + 1) < 0) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

static char *cookie_value(const char *cookies, const char *name)
{
	if (!cookies || !name[0])
		return NULL;
	size_t len = strlen(cookies);
	char *buf = malloc(len + 1);
	if (buf && mg_get_cookie(cookies, name, buf, len + 1) < 0) {
		free(buf);
		buf = NULL;
	}
	return buf;
}

static int refuse_auth(struct server *srv, struct mg_connection *conn,
                       const struct mg_request_info *ri, const struct auth_decision *d)
{
	/* The query may carry the token: it never reaches the log. */
	char uri[512], masked[512];
	snprintf(uri, sizeof(uri), "%s%s%s", ri->local_uri, ri->query_string ? "?" : "",
	         ri->query_string ? ri->query_string : "");
	token_mask(uri, masked, sizeof(masked));
	const struct log_field fields[] = {{"client", ri->remote_addr, false},
	                                   {"reason", auth_reason_name(d->reason), false},
	                                   {"uri", masked, false}};
	log_event(LOG_LEVEL_INFO, fields, 3, "refused handshake from %s for %s: %d (%s)",
	          ri->remote_addr, masked, d->status, auth_reason_name(d->reason));

	char body[160];
	switch (d->status) {
	case 401:
		snprintf(body, sizeof(body), "%s\n",
		         d->reason == AUTH_MISSING
		             ? "A token is needed: \"Authorization: Bearer <token>\" or "
		               "?access_token=<token>."
		             : "The token was refused.");
		return handshake_refuse(srv, REJECT_UNAUTHORIZED, conn, 401, "WWW-Authenticate",
		                        d->challenge, body);
	case 403:
		return handshake_refuse(srv, REJECT_UNAUTHORIZED, conn, 403, NULL, NULL,
		                        d->reason == AUTH_FORBIDDEN_ROOM
		                            ? "Not allowed in this room.\n"
		                            : "Not allowed.\n");
	default:
		return handshake_refuse(srv, REJECT_UNAUTHORIZED, conn, 503, "Retry-After", "5",
		                        "The access check is not available; try again later.\n");
	}
}

int handshake_auth(struct server *srv, struct mg_connection *conn, const char *room)
{
	/* A grant left by a request on this thread that never reached its
	 * connect handler. */
	auth_grant_free(handshake_auth_take_grant());
	if (auth_mode(srv->auth) == AUTH_MODE_NONE)
		return 0;

	const struct mg_request_info *ri = mg_get_request_info(conn);
	char *query_token = query_value(ri->query_string, "access_token");
	char *cookie_token = cookie_value(mg_get_header(conn, "Cookie"), srv->cfg->auth.jwt.cookie);
	char original_uri[4096];
	snprintf(original_uri, sizeof(original_uri), "%s%s%s", ri->request_uri,
	         ri->query_string ? "?" : "", ri->query_string ? ri->query_string : "");
	struct auth_request req = {
	    .authorization = mg_get_header(conn, "Authorization"),
	    .query_token = query_token,
	    .cookie_token = cookie_token,
	    .header = request_header,
	    .ctx = conn,
	    .original_uri = original_uri,
	    .remote_addr = ri->remote_addr,
	};
	struct auth_decision d;
	auth_decide(srv->auth, &req, &d);
	auth_check_room(srv->auth, room, &d);
	free(query_token);
	free(cookie_token);
	if (d.status != 0)
		return refuse_auth(srv, conn, ri, &d);
	if (d.grant && d.grant->subject[0])
		log_debug("handshake from %s: authenticated as %s", ri->remote_addr,
		          d.grant->subject);
	pending_grant = d.grant;
	return 0;
}
