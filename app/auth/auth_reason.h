/* Why a client was refused: the reason label of
 * wsrelay_auth_failures_total (README.md lists them). */
#ifndef WSRELAY_AUTH_REASON_H
#define WSRELAY_AUTH_REASON_H

enum auth_reason {
	AUTH_OK = 0,
	AUTH_MISSING,        /* no token at all */
	AUTH_MALFORMED,      /* not three base64url parts of JSON, no exp, over 8 KiB */
	AUTH_SIGNATURE,      /* no key verifies it (re-encoded parts included) */
	AUTH_ALGORITHM,      /* "none", or not in auth.jwt.algorithms */
	AUTH_EXPIRED,        /* exp (plus leeway) is past */
	AUTH_NOT_YET_VALID,  /* nbf or iat (less leeway) is ahead */
	AUTH_ISSUER,         /* iss is not auth.jwt.issuer */
	AUTH_AUDIENCE,       /* aud does not name auth.jwt.audience */
	AUTH_FORBIDDEN_ROOM, /* the token does not grant the room asked for */
	AUTH_HTTP_DENIED,    /* the HTTP check said 401 or 403 */
	AUTH_HTTP_ERROR,     /* the HTTP check failed, timed out or answered oddly */
	AUTH_REASON_COUNT
};

/* The label: "missing", "malformed", ... */
const char *auth_reason_name(enum auth_reason reason);

#endif
