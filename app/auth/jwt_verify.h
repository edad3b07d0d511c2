/* Verifying a JWS compact token (RFC 7515, 7518, 7519) with OpenSSL and
 * jansson. libjwt 1.10 (Debian 12) is not used here: its jwt_decode takes the
 * algorithm from the token's own header (HS256 with an RSA public key as the
 * HMAC secret passes: algorithm confusion), has no PS*, no JWKS and no kid,
 * and does not compare HMACs in constant time. */
#ifndef WSRELAY_JWT_VERIFY_H
#define WSRELAY_JWT_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include "auth_grant.h"
#include "auth_keys.h"
#include "auth_reason.h"

/* Tokens longer than this are refused unread. */
#define JWT_MAX_LENGTH 8192

struct jwt_rules {
	char *const *algorithms; /* the only "alg" values accepted */
	size_t algorithm_count;
	const char *issuer;   /* "" or NULL: iss not checked */
	const char *audience; /* "" or NULL: aud not checked */
	uint32_t leeway_seconds;
};

/* Checks token[0..len) at time now (Unix seconds): the header's alg against
 * rules before any key is touched, the signature over the exact bytes
 * received, then exp (required), nbf, iat, iss, aud and the "wsrelay"
 * permissions. Returns AUTH_OK and a new grant in *grant (expiring at exp
 * plus the leeway), or the reason for refusing. Any thread; keys is not
 * changed. */
enum auth_reason jwt_verify(const char *token, size_t len, const struct auth_keys *keys,
                            const struct jwt_rules *rules, int64_t now, struct auth_grant **grant);

#endif
