/* JWS compact tokens: header.payload.signature, each base64url. The header
 * decides nothing on its own: its alg must be one the configuration lists,
 * and the key is chosen by the algorithm's family (the HMAC secret only for
 * HS*, public keys only for the others), so no token can make a public key
 * serve as an HMAC secret. */
#include "jwt_verify.h"

#include <jansson.h>
#include <math.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>
#include <openssl/err.h>
#include <openssl/hmac.h>
#include <openssl/rsa.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "b64url.h"

enum family { FAMILY_HMAC, FAMILY_RSA, FAMILY_PSS, FAMILY_EC };

struct algorithm {
	const char *name;
	enum family family;
	const EVP_MD *(*md)(void);
	const char *group; /* EC: the curve the key must be on */
	size_t coordinate; /* EC: bytes of r and of s in the signature */
};

static const struct algorithm algorithms[] = {
    {"HS256", FAMILY_HMAC, EVP_sha256, NULL, 0},
    {"HS384", FAMILY_HMAC, EVP_sha384, NULL, 0},
    {"HS512", FAMILY_HMAC, EVP_sha512, NULL, 0},
    {"RS256", FAMILY_RSA, EVP_sha256, NULL, 0},
    {"RS384", FAMILY_RSA, EVP_sha384, NULL, 0},
    {"RS512", FAMILY_RSA, EVP_sha512, NULL, 0},
    {"PS256", FAMILY_PSS, EVP_sha256, NULL, 0},
    {"PS384", FAMILY_PSS, EVP_sha384, NULL, 0},
    {"PS512", FAMILY_PSS, EVP_sha512, NULL, 0},
    {"ES256", FAMILY_EC, EVP_sha256, "prime256v1", 32},
    {"ES384", FAMILY_EC, EVP_sha384, "secp384r1", 48},
    {"ES512", FAMILY_EC, EVP_sha512, "secp521r1", 66},
};

/* The algorithm named alg if the rules list it, else NULL ("none" is in no
 * table). */
static const struct algorithm *allowed_algorithm(const char *alg, const struct jwt_rules *rules)
{
	bool listed = false;
	for (size_t i = 0; i < rules->algorithm_count; i++)
		listed |= strcmp(rules->algorithms[i], alg) == 0;
	if (!listed)
		return NULL;
	for (size_t i = 0; i < sizeof(algorithms) / sizeof(algorithms[0]); i++)
		if (strcmp(algorithms[i].name, alg) == 0)
			return &algorithms[i];
	return NULL;
}

/* A base64url part that must hold a JSON object; NULL if it does not.
 * Duplicate members are refused: two "exp" could mean two things. */
static json_t *decode_object(const char *part, size_t len)
{
	unsigned char *raw = malloc(B64URL_DECODED_MAX(len) + 1);
	if (!raw)
		return NULL;
	long n = b64url_decode(part, len, raw);
	json_t *obj = NULL;
	if (n > 0)
		obj = json_loadb((const char *)raw, (size_t)n, JSON_REJECT_DUPLICATES, NULL);
	free(raw);
	if (obj && !json_is_object(obj)) {
		json_decref(obj);
		obj = NULL;
	}
	return obj;
}

static bool verify_hmac(const struct algorithm *a, const struct auth_keys *keys, const char *input,
                        size_t input_len, const unsigned char *sig, size_t sig_len)
{
	size_t secret_len;
	const unsigned char *secret = auth_keys_secret(keys, &secret_len);
	unsigned char mac[EVP_MAX_MD_SIZE];
	unsigned int mac_len = 0;
	if (secret_len == 0 || !HMAC(a->md(), secret, (int)secret_len, (const unsigned char *)input,
	                             input_len, mac, &mac_len))
		return false;
	/* The length is public (the algorithm says it); the bytes are compared
	 * in constant time. */
	return sig_len == mac_len && CRYPTO_memcmp(mac, sig, mac_len) == 0;
}

/* JWS carries ECDSA signatures as r || s (RFC 7518 section 3.4); OpenSSL
 * verifies DER. Returns the DER length, or 0. */
static size_t ec_raw_to_der(const struct algorithm *a, const unsigned char *sig, size_t sig_len,
                            unsigned char *der, size_t cap)
{
	if (sig_len != 2 * a->coordinate)
		return 0;
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)a->coordinate, NULL);
	BIGNUM *s = BN_bin2bn(sig + a->coordinate, (int)a->coordinate, NULL);
	size_t len = 0;
	if (es && r && s && ECDSA_SIG_set0(es, r, s) == 1) {
		r = s = NULL; /* es owns them */
		if ((size_t)i2d_ECDSA_SIG(es, NULL) <= cap) {
			unsigned char *p = der;
			int n = i2d_ECDSA_SIG(es, &p);
			len = n > 0 ? (size_t)n : 0;
		}
	}
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return len;
}

static bool key_fits(const struct algorithm *a, EVP_PKEY *pkey)
{
	if (a->family != FAMILY_EC)
		return EVP_PKEY_is_a(pkey, "RSA");
	char group[64];
	size_t glen = 0;
	return EVP_PKEY_is_a(pkey, "EC") &&
	       EVP_PKEY_get_group_name(pkey, group, sizeof(group), &glen) == 1 &&
	       strcmp(group, a->group) == 0;
}

static bool verify_with_key(const struct algorithm *a, EVP_PKEY *pkey, const char *input,
                            size_t input_len, const unsigned char *sig, size_t sig_len)
{
	unsigned char der[2 * 66 + 16];
	if (a->family == FAMILY_EC) {
		sig_len = ec_raw_to_der(a, sig, sig_len, der, sizeof(der));
		if (sig_len == 0)
			return false;
		sig = der;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	bool ok = ctx && EVP_DigestVerifyInit(ctx, &pctx, a->md(), NULL, pkey) == 1;
	if (ok && a->family == FAMILY_PSS) {
		/* RFC 7518 section 3.5: MGF1 with the same hash, salt as long
		 * as the hash. */
		ok = EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING) == 1 &&
		     EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST) == 1 &&
		     EVP_PKEY_CTX_set_rsa_mgf1_md(pctx, a->md()) == 1;
	}
	ok =
	    ok && EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)input, input_len) == 1;
	EVP_MD_CTX_free(ctx);
	ERR_clear_error();
	return ok;
}

/* With a kid, only the key of that kid; without, any key that fits (a PEM
 * file's keys have no kid). */
static bool verify_public(const struct algorithm *a, const struct auth_keys *keys, const char *kid,
                          const char *input, size_t input_len, const unsigned char *sig,
                          size_t sig_len)
{
	for (size_t i = 0; i < auth_keys_count(keys); i++) {
		const char *key_kid = auth_keys_kid(keys, i);
		if (kid && key_kid && strcmp(kid, key_kid) != 0)
			continue;
		EVP_PKEY *pkey = auth_keys_public(keys, i);
		if (key_fits(a, pkey) && verify_with_key(a, pkey, input, input_len, sig, sig_len))
			return true;
	}
	return false;
}

/* A NumericDate (RFC 7519 section 2): a JSON number, fractions allowed. */
static bool numeric_date(json_t *v, double *out)
{
	if (!json_is_number(v))
		return false;
	double d = json_number_value(v);
	if (!isfinite(d) || d < 0 || d > 1e15)
		return false;
	*out = d;
	return true;
}

static bool audience_matches(json_t *aud, const char *want)
{
	if (json_is_string(aud))
		return strcmp(json_string_value(aud), want) == 0;
	size_t i;
	json_t *item;
	json_array_foreach(aud, i, item)
	{
		if (json_is_string(item) && strcmp(json_string_value(item), want) == 0)
			return true;
	}
	return false;
}

/* The "wsrelay" claim: {"publish": bool, "rooms": [patterns]}, both
 * optional. */
static enum auth_reason read_permissions(json_t *claims, struct auth_grant *g)
{
	json_t *perm = json_object_get(claims, "wsrelay");
	if (!perm)
		return AUTH_OK;
	if (!json_is_object(perm))
		return AUTH_MALFORMED;
	json_t *publish = json_object_get(perm, "publish");
	if (publish) {
		if (!json_is_boolean(publish))
			return AUTH_MALFORMED;
		g->publish = json_is_true(publish);
	}
	json_t *rooms = json_object_get(perm, "rooms");
	if (rooms) {
		if (!json_is_array(rooms))
			return AUTH_MALFORMED;
		size_t i;
		json_t *room;
		json_array_foreach(rooms, i, room)
		{
			if (!json_is_string(room) ||
			    auth_grant_add_room(g, json_string_value(room),
			                        json_string_length(room)) != 0)
				return AUTH_MALFORMED;
		}
	}
	return AUTH_OK;
}

static enum auth_reason check_claims(json_t *claims, const struct jwt_rules *rules, int64_t now,
                                     struct auth_grant *g)
{
	double leeway = rules->leeway_seconds;
	/* Absent nbf and iat are 0: the past. */
	double exp, nbf = 0, iat = 0;
	if (!numeric_date(json_object_get(claims, "exp"), &exp))
		return AUTH_MALFORMED;
	json_t *v;
	if ((v = json_object_get(claims, "nbf")) && !numeric_date(v, &nbf))
		return AUTH_MALFORMED;
	if ((v = json_object_get(claims, "iat")) && !numeric_date(v, &iat))
		return AUTH_MALFORMED;
	if ((double)now >= exp + leeway)
		return AUTH_EXPIRED;
	if ((double)now + leeway < nbf || (double)now + leeway < iat)
		return AUTH_NOT_YET_VALID;
	if (rules->issuer && rules->issuer[0]) {
		json_t *iss = json_object_get(claims, "iss");
		if (!json_is_string(iss) || strcmp(json_string_value(iss), rules->issuer) != 0)
			return AUTH_ISSUER;
	}
	if (rules->audience && rules->audience[0] &&
	    !audience_matches(json_object_get(claims, "aud"), rules->audience))
		return AUTH_AUDIENCE;
	json_t *sub = json_object_get(claims, "sub");
	if (sub && !json_is_string(sub))
		return AUTH_MALFORMED;
	if (sub)
		auth_grant_set_subject(g, json_string_value(sub), json_string_length(sub));
	g->expires = (int64_t)exp + (int64_t)rules->leeway_seconds;
	return read_permissions(claims, g);
}

/* Everything before the claims: the parts, the header, the signature. */
static enum auth_reason check_signature(const char *token, size_t len, const char *dot1,
                                        const char *dot2, const struct auth_keys *keys,
                                        const struct jwt_rules *rules)
{
	json_t *header = decode_object(token, (size_t)(dot1 - token));
	if (!header)
		return AUTH_MALFORMED;
	enum auth_reason r = AUTH_OK;
	const char *alg = json_string_value(json_object_get(header, "alg"));
	json_t *kid = json_object_get(header, "kid");
	const struct algorithm *a = alg ? allowed_algorithm(alg, rules) : NULL;
	if (alg && !a)
		r = AUTH_ALGORITHM;
	/* RFC 7515 4.1.11: no "crit" extension is understood here. */
	else if (!alg || (kid && !json_is_string(kid)) || json_object_get(header, "crit"))
		r = AUTH_MALFORMED;
	if (r != AUTH_OK) {
		json_decref(header);
		return r;
	}

	const char *sig_text = dot2 + 1;
	size_t sig_text_len = len - (size_t)(sig_text - token);
	unsigned char *sig = malloc(B64URL_DECODED_MAX(sig_text_len) + 1);
	long sig_len = sig ? b64url_decode(sig_text, sig_text_len, sig) : -1;
	size_t input_len = (size_t)(dot2 - token);
	if (sig_len <= 0)
		r = sig_text_len == 0 ? AUTH_SIGNATURE : AUTH_MALFORMED;
	else if (a->family == FAMILY_HMAC)
		r = verify_hmac(a, keys, token, input_len, sig, (size_t)sig_len) ? AUTH_OK
		                                                                 : AUTH_SIGNATURE;
	else
		r = verify_public(a, keys, json_string_value(kid), token, input_len, sig,
		                  (size_t)sig_len)
		        ? AUTH_OK
		        : AUTH_SIGNATURE;
	free(sig);
	json_decref(header);
	return r;
}

enum auth_reason jwt_verify(const char *token, size_t len, const struct auth_keys *keys,
                            const struct jwt_rules *rules, int64_t now, struct auth_grant **grant)
{
	*grant = NULL;
	if (len == 0 || len > JWT_MAX_LENGTH)
		return AUTH_MALFORMED;
	const char *dot1 = memchr(token, '.', len);
	const char *dot2 = dot1 ? memchr(dot1 + 1, '.', len - (size_t)(dot1 + 1 - token)) : NULL;
	if (!dot2 || memchr(dot2 + 1, '.', len - (size_t)(dot2 + 1 - token)))
		return AUTH_MALFORMED;

	enum auth_reason r = check_signature(token, len, dot1, dot2, keys, rules);
	if (r != AUTH_OK)
		return r;
	/* Only a signed payload is parsed as claims. */
	json_t *claims = decode_object(dot1 + 1, (size_t)(dot2 - dot1 - 1));
	if (!claims)
		return AUTH_MALFORMED;
	struct auth_grant *g = auth_grant_new();
	r = g ? check_claims(claims, rules, now, g) : AUTH_MALFORMED;
	json_decref(claims);
	if (r != AUTH_OK) {
		auth_grant_free(g);
		return r;
	}
	*grant = g;
	return AUTH_OK;
}
