/* JWT verification (jwt_verify.c) and the key files (auth_keys.c): every
 * refusal reason, the security rules (alg none, algorithm confusion,
 * re-encoded parts, length), each algorithm family and kid selection in a
 * JWKS. Keys are made at run time; tokens are signed here with OpenSSL. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth_keys.h"
#include "test_file.h"
#include "b64url.h"
#include "jwt_verify.h"

#define SECRET "a-secret-of-thirty-two-bytes-or-so!"

static char dir[] = "/tmp/wsrelay-jwt-test-XXXXXX";
static EVP_PKEY *rsa_a, *rsa_b, *ec256, *ec384;
static int64_t now;

/* ---- making tokens ---- */

static char *b64(const void *data, size_t len)
{
	char *out = malloc(len * 4 / 3 + 4);
	b64url_encode(data, len, out);
	return out;
}

static const EVP_MD *md_of(const char *alg)
{
	return strstr(alg, "384") ? EVP_sha384() : strstr(alg, "512") ? EVP_sha512() : EVP_sha256();
}

/* The signature of input with alg, by key (or the HMAC secret). */
static size_t sign(const char *alg, EVP_PKEY *key, const char *secret, const char *input,
                   unsigned char *sig)
{
	if (alg[0] == 'H') {
		const char *k = secret ? secret : "";
		unsigned int len = 0;
		HMAC(md_of(alg), k, (int)strlen(k), (const unsigned char *)input, strlen(input),
		     sig, &len);
		return len;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	EVP_PKEY_CTX *pctx = NULL;
	assert_int_equal(EVP_DigestSignInit(ctx, &pctx, md_of(alg), NULL, key), 1);
	if (alg[0] == 'P') {
		EVP_PKEY_CTX_set_rsa_padding(pctx, RSA_PKCS1_PSS_PADDING);
		EVP_PKEY_CTX_set_rsa_pss_saltlen(pctx, RSA_PSS_SALTLEN_DIGEST);
	}
	unsigned char der[1024];
	size_t len = sizeof(der);
	assert_int_equal(
	    EVP_DigestSign(ctx, der, &len, (const unsigned char *)input, strlen(input)), 1);
	EVP_MD_CTX_free(ctx);
	if (alg[0] != 'E') {
		memcpy(sig, der, len);
		return len;
	}
	/* DER -> r || s */
	const unsigned char *p = der;
	ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
	size_t half = strstr(alg, "256") ? 32 : strstr(alg, "384") ? 48 : 66;
	BN_bn2binpad(ECDSA_SIG_get0_r(es), sig, (int)half);
	BN_bn2binpad(ECDSA_SIG_get0_s(es), sig + half, (int)half);
	ECDSA_SIG_free(es);
	return 2 * half;
}

/* header.payload.signature; the caller frees. sign_alg may differ from the
 * header's alg (for the confusion cases). */
static char *token_signed(const char *header, const char *payload, const char *sign_alg,
                          EVP_PKEY *key, const char *secret)
{
	char *h = b64(header, strlen(header));
	char *p = b64(payload, strlen(payload));
	char *input = malloc(strlen(h) + strlen(p) + 2);
	(void)sprintf(input, "%s.%s", h, p);
	unsigned char sig[1024];
	size_t sig_len = sign_alg ? sign(sign_alg, key, secret, input, sig) : 0;
	char *s = b64(sig, sig_len);
	char *token = malloc(strlen(input) + strlen(s) + 2);
	(void)sprintf(token, "%s.%s", input, s);
	free(h);
	free(p);
	free(input);
	free(s);
	return token;
}

static char *hs256(const char *payload)
{
	return token_signed("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", payload, "HS256", NULL, SECRET);
}

/* A payload with exp an hour ahead and more members. */
static char *claims(const char *more)
{
	char *out = malloc(strlen(more) + 64);
	(void)sprintf(out, "{\"exp\":%lld%s%s}", (long long)now + 3600, more[0] ? "," : "", more);
	return out;
}

/* ---- keys ---- */

static char *path_in_dir(const char *name)
{
	char *p = malloc(strlen(dir) + strlen(name) + 2);
	(void)sprintf(p, "%s/%s", dir, name);
	return p;
}

static void write_text(const char *name, const char *text)
{
	char *p = path_in_dir(name);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	(void)fclose(f);
	free(p);
}

static void write_pem(const char *name, EVP_PKEY *const *keys, size_t n)
{
	char *p = path_in_dir(name);
	FILE *f = fopen(p, "w");
	for (size_t i = 0; i < n; i++)
		PEM_write_PUBKEY(f, keys[i]);
	(void)fclose(f);
	free(p);
}

static char *pem_text(EVP_PKEY *key)
{
	BIO *bio = BIO_new(BIO_s_mem());
	PEM_write_bio_PUBKEY(bio, key);
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	char *out = strndup(data, (size_t)len);
	BIO_free(bio);
	return out;
}

static char *bn_param(EVP_PKEY *key, const char *name)
{
	BIGNUM *bn = NULL;
	EVP_PKEY_get_bn_param(key, name, &bn);
	unsigned char buf[1024];
	int len = BN_bn2bin(bn, buf);
	BN_free(bn);
	return b64(buf, (size_t)len);
}

static char *jwk_rsa(EVP_PKEY *key, const char *kid)
{
	char *n = bn_param(key, OSSL_PKEY_PARAM_RSA_N);
	char *e = bn_param(key, OSSL_PKEY_PARAM_RSA_E);
	char *out = malloc(strlen(n) + strlen(e) + 128);
	(void)sprintf(out,
	              "{\"kty\":\"RSA\",\"use\":\"sig\",\"kid\":\"%s\",\"n\":\"%s\",\"e\":\"%s\"}",
	              kid, n, e);
	free(n);
	free(e);
	return out;
}

static char *jwk_ec(EVP_PKEY *key, const char *kid)
{
	unsigned char point[256];
	size_t len = 0;
	EVP_PKEY_get_octet_string_param(key, OSSL_PKEY_PARAM_PUB_KEY, point, sizeof(point), &len);
	size_t half = (len - 1) / 2;
	char *x = b64(point + 1, half), *y = b64(point + 1 + half, half);
	char *out = malloc(strlen(x) + strlen(y) + 128);
	(void)sprintf(out,
	              "{\"kty\":\"EC\",\"crv\":\"%s\",\"kid\":\"%s\",\"x\":\"%s\",\"y\":\"%s\"}",
	              half == 32 ? "P-256" : "P-384", kid, x, y);
	free(x);
	free(y);
	return out;
}

static struct auth_keys *load(const char *secret_name, const char *public_name)
{
	char *s = secret_name ? path_in_dir(secret_name) : strdup("");
	char *p = public_name ? path_in_dir(public_name) : strdup("");
	char err[512] = "";
	struct auth_keys *k = auth_keys_load(s, p, err, sizeof(err));
	if (!k)
		print_error("auth_keys_load: %s\n", err);
	assert_non_null(k);
	free(s);
	free(p);
	return k;
}

static int setup(void **state)
{
	(void)state;
	now = (int64_t)time(NULL);
	if (!mkdtemp(dir))
		return -1;
	rsa_a = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	rsa_b = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	ec256 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	ec384 = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
	if (!rsa_a || !rsa_b || !ec256 || !ec384)
		return -1;
	write_text("secret", SECRET);
	EVP_PKEY *all[] = {rsa_a, ec256, ec384};
	write_pem("public.pem", all, 3);
	char *j1 = jwk_rsa(rsa_a, "key-a"), *j2 = jwk_rsa(rsa_b, "key-b"),
	     *j3 = jwk_ec(ec256, "ec");
	char *jwks = malloc(strlen(j1) + strlen(j2) + strlen(j3) + 64);
	(void)sprintf(jwks, "{\"keys\":[%s,{\"kty\":\"oct\",\"k\":\"AA\"},%s,%s]}", j1, j2, j3);
	write_text("jwks.json", jwks);
	free(j1);
	free(j2);
	free(j3);
	free(jwks);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	EVP_PKEY_free(rsa_a);
	EVP_PKEY_free(rsa_b);
	EVP_PKEY_free(ec256);
	EVP_PKEY_free(ec384);
	return test_file_remove_tree(dir);
}

/* ---- checking ---- */

static char *algs_hs256[] = {"HS256"};

static struct jwt_rules rules_for(char **algs, size_t n)
{
	return (struct jwt_rules){.algorithms = algs, .algorithm_count = n, .leeway_seconds = 30};
}

static enum auth_reason check(const char *token, const struct auth_keys *k,
                              const struct jwt_rules *rules)
{
	struct auth_grant *g = NULL;
	enum auth_reason r = jwt_verify(token, strlen(token), k, rules, now, &g);
	assert_true((r == AUTH_OK) == (g != NULL));
	auth_grant_free(g);
	return r;
}

/* Signs payload with HS256 and checks it under rules. */
static enum auth_reason check_hs(const char *payload, const struct jwt_rules *rules)
{
	struct auth_keys *k = load("secret", NULL);
	char *t = hs256(payload);
	enum auth_reason r = check(t, k, rules);
	free(t);
	auth_keys_unref(k);
	return r;
}

static void test_grant_from_claims(void **state)
{
	(void)state;
	struct auth_keys *k = load("secret", NULL);
	struct jwt_rules rules = rules_for(algs_hs256, 1);
	char *p = claims("\"sub\":\"user-7\",\"wsrelay\":{\"publish\":false,\"rooms\":[\"chat-*\","
	                 "\"game-42\"]}");
	char *t = hs256(p);
	struct auth_grant *g = NULL;
	assert_int_equal(jwt_verify(t, strlen(t), k, &rules, now, &g), AUTH_OK);
	assert_string_equal(g->subject, "user-7");
	assert_false(g->publish);
	assert_int_equal(g->expires, now + 3600 + 30);
	assert_int_equal(g->room_count, 2);
	assert_true(auth_grant_room_allowed(g, "chat-lobby"));
	assert_false(auth_grant_room_allowed(g, "game-4"));
	auth_grant_free(g);
	free(t);
	free(p);
	/* Defaults: may publish, every room. */
	p = claims("");
	t = hs256(p);
	assert_int_equal(jwt_verify(t, strlen(t), k, &rules, now, &g), AUTH_OK);
	assert_true(g->publish);
	assert_true(g->all_rooms);
	auth_grant_free(g);
	free(t);
	free(p);
	auth_keys_unref(k);
}

static void test_time_claims(void **state)
{
	(void)state;
	struct jwt_rules rules = rules_for(algs_hs256, 1);
	char p[256];
	assert_int_equal(check_hs("{\"sub\":\"x\"}", &rules), AUTH_MALFORMED); /* no exp */
	assert_int_equal(check_hs("{\"exp\":\"soon\"}", &rules), AUTH_MALFORMED);
	assert_int_equal(check_hs("{\"exp\":-1}", &rules), AUTH_MALFORMED);
	snprintf(p, sizeof(p), "{\"exp\":%lld}", (long long)now - 31);
	assert_int_equal(check_hs(p, &rules), AUTH_EXPIRED);
	snprintf(p, sizeof(p), "{\"exp\":%lld}", (long long)now - 10); /* within the leeway */
	assert_int_equal(check_hs(p, &rules), AUTH_OK);
	snprintf(p, sizeof(p), "{\"exp\":%lld.5}", (long long)now + 100); /* fractions */
	assert_int_equal(check_hs(p, &rules), AUTH_OK);
	snprintf(p, sizeof(p), "{\"exp\":%lld,\"nbf\":%lld}", (long long)now + 999,
	         (long long)now + 60);
	assert_int_equal(check_hs(p, &rules), AUTH_NOT_YET_VALID);
	snprintf(p, sizeof(p), "{\"exp\":%lld,\"nbf\":%lld}", (long long)now + 999,
	         (long long)now + 20);
	assert_int_equal(check_hs(p, &rules), AUTH_OK);
	snprintf(p, sizeof(p), "{\"exp\":%lld,\"iat\":%lld}", (long long)now + 999,
	         (long long)now + 60);
	assert_int_equal(check_hs(p, &rules), AUTH_NOT_YET_VALID);
	snprintf(p, sizeof(p), "{\"exp\":%lld,\"nbf\":true}", (long long)now + 999);
	assert_int_equal(check_hs(p, &rules), AUTH_MALFORMED);
	rules.leeway_seconds = 0;
	snprintf(p, sizeof(p), "{\"exp\":%lld}", (long long)now);
	assert_int_equal(check_hs(p, &rules), AUTH_EXPIRED);
}

static void test_issuer_audience_permissions(void **state)
{
	(void)state;
	struct jwt_rules rules = rules_for(algs_hs256, 1);
	rules.issuer = "https://login.example";
	rules.audience = "wsrelay";
	struct {
		const char *more;
		enum auth_reason want;
	} cases[] = {
	    {"\"iss\":\"https://login.example\",\"aud\":\"wsrelay\"", AUTH_OK},
	    {"\"iss\":\"https://login.example\",\"aud\":[\"other\",\"wsrelay\"]", AUTH_OK},
	    {"\"aud\":\"wsrelay\"", AUTH_ISSUER},
	    {"\"iss\":\"https://evil.example\",\"aud\":\"wsrelay\"", AUTH_ISSUER},
	    {"\"iss\":7,\"aud\":\"wsrelay\"", AUTH_ISSUER},
	    {"\"iss\":\"https://login.example\"", AUTH_AUDIENCE},
	    {"\"iss\":\"https://login.example\",\"aud\":\"wsrelay2\"", AUTH_AUDIENCE},
	    {"\"iss\":\"https://login.example\",\"aud\":[\"a\",\"b\"]", AUTH_AUDIENCE},
	    {"\"iss\":\"https://login.example\",\"aud\":\"wsrelay\",\"sub\":5", AUTH_MALFORMED},
	    {"\"iss\":\"https://login.example\",\"aud\":\"wsrelay\",\"wsrelay\":[]",
	     AUTH_MALFORMED},
	    {"\"iss\":\"https://"
	     "login.example\",\"aud\":\"wsrelay\",\"wsrelay\":{\"publish\":\"no\"}",
	     AUTH_MALFORMED},
	    {"\"iss\":\"https://login.example\",\"aud\":\"wsrelay\",\"wsrelay\":{\"rooms\":\"a\"}",
	     AUTH_MALFORMED},
	    {"\"iss\":\"https://"
	     "login.example\",\"aud\":\"wsrelay\",\"wsrelay\":{\"rooms\":[\"a*b\"]}",
	     AUTH_MALFORMED},
	    {"\"iss\":\"https://login.example\",\"aud\":\"wsrelay\",\"wsrelay\":{\"rooms\":[1]}",
	     AUTH_MALFORMED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *p = claims(cases[i].more);
		enum auth_reason r = check_hs(p, &rules);
		if (r != cases[i].want)
			print_error("case %zu (%s): got %s\n", i, cases[i].more,
			            auth_reason_name(r));
		assert_int_equal(r, cases[i].want);
		free(p);
	}
}

static void test_shape(void **state)
{
	(void)state;
	struct auth_keys *k = load("secret", NULL);
	struct jwt_rules rules = rules_for(algs_hs256, 1);
	char *p = claims("");
	char *good = hs256(p);
	assert_int_equal(check(good, k, &rules), AUTH_OK);
	char buf[JWT_MAX_LENGTH + 64];

	assert_int_equal(check("", k, &rules), AUTH_MALFORMED);
	assert_int_equal(check("abc", k, &rules), AUTH_MALFORMED);
	assert_int_equal(check("a.b", k, &rules), AUTH_MALFORMED);
	snprintf(buf, sizeof(buf), "%s.x", good); /* four parts */
	assert_int_equal(check(buf, k, &rules), AUTH_MALFORMED);
	/* Header not base64url or not JSON, or not an object. */
	snprintf(buf, sizeof(buf), "e30=%s", strchr(good, '.'));
	assert_int_equal(check(buf, k, &rules), AUTH_MALFORMED);
	char *notjson = b64("{alg:HS256}", 11);
	snprintf(buf, sizeof(buf), "%s%s", notjson, strchr(good, '.'));
	assert_int_equal(check(buf, k, &rules), AUTH_MALFORMED);
	free(notjson);
	char *t = token_signed("[\"HS256\"]", p, "HS256", NULL, SECRET);
	assert_int_equal(check(t, k, &rules), AUTH_MALFORMED);
	free(t);
	t = token_signed("{\"typ\":\"JWT\"}", p, "HS256", NULL, SECRET); /* no alg */
	assert_int_equal(check(t, k, &rules), AUTH_MALFORMED);
	free(t);
	t = token_signed("{\"alg\":\"HS256\",\"alg\":\"none\"}", p, "HS256", NULL, SECRET);
	assert_int_equal(check(t, k, &rules), AUTH_MALFORMED); /* duplicate member */
	free(t);
	t = token_signed("{\"alg\":\"HS256\",\"crit\":[\"exp\"]}", p, "HS256", NULL, SECRET);
	assert_int_equal(check(t, k, &rules), AUTH_MALFORMED);
	free(t);
	/* A signed payload that is not JSON. */
	t = token_signed("{\"alg\":\"HS256\"}", "not json", "HS256", NULL, SECRET);
	assert_int_equal(check(t, k, &rules), AUTH_MALFORMED);
	free(t);
	/* Over 8 KiB: refused unread, even with a valid signature. */
	char *big_claims = malloc(JWT_MAX_LENGTH);
	memset(big_claims, 'x', JWT_MAX_LENGTH - 200);
	big_claims[JWT_MAX_LENGTH - 200] = '\0';
	char *more = malloc(JWT_MAX_LENGTH + 16);
	(void)sprintf(more, "\"pad\":\"%s\"", big_claims);
	char *bigp = claims(more);
	t = hs256(bigp);
	assert_true(strlen(t) > JWT_MAX_LENGTH);
	assert_int_equal(check(t, k, &rules), AUTH_MALFORMED);
	free(t);
	free(bigp);
	free(more);
	free(big_claims);
	/* Signature part: empty, bad base64url, truncated, flipped. */
	snprintf(buf, sizeof(buf), "%.*s", (int)(strrchr(good, '.') - good + 1), good);
	assert_int_equal(check(buf, k, &rules), AUTH_SIGNATURE);
	snprintf(buf, sizeof(buf), "%s=", good);
	assert_int_equal(check(buf, k, &rules), AUTH_MALFORMED);
	snprintf(buf, sizeof(buf), "%.*s", (int)strlen(good) - 11, good); /* 24 bytes */
	assert_int_equal(check(buf, k, &rules), AUTH_SIGNATURE);
	snprintf(buf, sizeof(buf), "%s", good);
	char *last = buf + strlen(buf) - 6;
	*last = *last == 'A' ? 'B' : 'A';
	assert_int_equal(check(buf, k, &rules), AUTH_SIGNATURE);
	free(good);
	free(p);
	auth_keys_unref(k);
}

/* The signature stays; the header or payload is spelled differently. */
static void test_reencoded_parts(void **state)
{
	(void)state;
	struct auth_keys *k = load("secret", NULL);
	struct jwt_rules rules = rules_for(algs_hs256, 1);
	char payload[128];
	snprintf(payload, sizeof(payload), "{\"exp\":%lld,\"sub\":\"a\"}", (long long)now + 600);
	char *t = hs256(payload);
	const char *sig = strrchr(t, '.');
	char *h = b64("{\"alg\":\"HS256\",\"typ\":\"JWT\"}", 27);
	char buf[1024];

	/* The same claims with a blank: the same meaning, other bytes. */
	char spaced[160];
	snprintf(spaced, sizeof(spaced), "{\"exp\": %lld,\"sub\":\"a\"}", (long long)now + 600);
	char *p2 = b64(spaced, strlen(spaced));
	snprintf(buf, sizeof(buf), "%s.%s%s", h, p2, sig);
	assert_int_equal(check(buf, k, &rules), AUTH_SIGNATURE);
	free(p2);
	/* The header with its members swapped. */
	char *h2 = b64("{\"typ\":\"JWT\",\"alg\":\"HS256\"}", 27);
	const char *payload_part = strchr(t, '.');
	snprintf(buf, sizeof(buf), "%s%s", h2, payload_part);
	assert_int_equal(check(buf, k, &rules), AUTH_SIGNATURE);
	free(h2);
	/* The payload part with a non-canonical last character (decodes to
	 * the same bytes in a lenient decoder). */
	snprintf(buf, sizeof(buf), "%s", t);
	char *dot2 = strrchr(buf, '.');
	char *c = dot2 - 1;
	const char *alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
	size_t plen = (size_t)(dot2 - strchr(buf, '.') - 1);
	if (plen % 4 != 0) {
		*c = alphabet[(strchr(alphabet, *c) - alphabet) | 1];
		assert_int_equal(check(buf, k, &rules), AUTH_SIGNATURE);
	}
	free(h);
	free(t);
	auth_keys_unref(k);
}

static void test_algorithm_rules(void **state)
{
	(void)state;
	struct auth_keys *both = load("secret", "public.pem");
	char *p = claims("");
	char *rs256_only[] = {"RS256"};
	char *rs_and_hs[] = {"RS256", "HS256"};
	struct jwt_rules rs = rules_for(rs256_only, 1);
	struct jwt_rules mixed = rules_for(rs_and_hs, 2);

	/* alg none: refused whatever the list; with or without a signature. */
	char *t = token_signed("{\"alg\":\"none\"}", p, NULL, NULL, NULL);
	assert_int_equal(check(t, both, &rs), AUTH_ALGORITHM);
	assert_int_equal(check(t, both, &mixed), AUTH_ALGORITHM);
	free(t);
	t = token_signed("{\"alg\":\"None\"}", p, "HS256", NULL, SECRET);
	assert_int_equal(check(t, both, &mixed), AUTH_ALGORITHM);
	free(t);
	/* Listed and unlisted. */
	t = hs256(p);
	assert_int_equal(check(t, both, &rs), AUTH_ALGORITHM);
	assert_int_equal(check(t, both, &mixed), AUTH_OK);
	free(t);
	t = token_signed("{\"alg\":\"HS384\"}", p, "HS384", NULL, SECRET);
	assert_int_equal(check(t, both, &mixed), AUTH_ALGORITHM);
	free(t);
	/* Algorithm confusion: HS256 with the RSA public key's PEM as its
	 * secret. Unlisted -> algorithm; listed -> the real secret is used,
	 * never the public key, so the signature fails. */
	char *pem = pem_text(rsa_a);
	t = token_signed("{\"alg\":\"HS256\"}", p, "HS256", NULL, pem);
	assert_int_equal(check(t, both, &rs), AUTH_ALGORITHM);
	assert_int_equal(check(t, both, &mixed), AUTH_SIGNATURE);
	struct auth_keys *pem_only = load(NULL, "public.pem");
	assert_int_equal(check(t, pem_only, &mixed), AUTH_SIGNATURE);
	auth_keys_unref(pem_only);
	free(t);
	free(pem);
	/* RS256 with the listed key passes; a PSS signature under RS256 and
	 * an RS256 header over an ES256 signature do not. */
	t = token_signed("{\"alg\":\"RS256\"}", p, "RS256", rsa_a, NULL);
	assert_int_equal(check(t, both, &rs), AUTH_OK);
	free(t);
	t = token_signed("{\"alg\":\"RS256\"}", p, "PS256", rsa_a, NULL);
	assert_int_equal(check(t, both, &rs), AUTH_SIGNATURE);
	free(t);
	t = token_signed("{\"alg\":\"RS256\"}", p, "ES256", ec256, NULL);
	assert_int_equal(check(t, both, &rs), AUTH_SIGNATURE);
	free(t);
	/* A key that is not in the file. */
	t = token_signed("{\"alg\":\"RS256\"}", p, "RS256", rsa_b, NULL);
	assert_int_equal(check(t, both, &rs), AUTH_SIGNATURE);
	free(t);
	free(p);
	auth_keys_unref(both);
}

static void test_each_family(void **state)
{
	(void)state;
	struct auth_keys *k = load(NULL, "public.pem");
	char *all[] = {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384"};
	struct jwt_rules rules = rules_for(all, 8);
	char *p = claims("\"sub\":\"fam\"");
	for (size_t i = 0; i < 8; i++) {
		EVP_PKEY *key = all[i][0] == 'E' ? (strstr(all[i], "384") ? ec384 : ec256) : rsa_a;
		char header[64];
		snprintf(header, sizeof(header), "{\"alg\":\"%s\"}", all[i]);
		char *t = token_signed(header, p, all[i], key, NULL);
		if (check(t, k, &rules) != AUTH_OK)
			print_error("%s refused\n", all[i]);
		assert_int_equal(check(t, k, &rules), AUTH_OK);
		free(t);
	}
	/* ES256 header, P-384 key's signature: the curve must fit. */
	char *t = token_signed("{\"alg\":\"ES256\"}", p, "ES384", ec384, NULL);
	assert_int_equal(check(t, k, &rules), AUTH_SIGNATURE);
	free(t);
	free(p);
	auth_keys_unref(k);
}

static void test_jwks_kid(void **state)
{
	(void)state;
	struct auth_keys *k = load(NULL, "jwks.json");
	assert_int_equal(auth_keys_count(k), 3); /* the "oct" key is skipped */
	assert_string_equal(auth_keys_kid(k, 1), "key-b");
	char *algs[] = {"RS256", "ES256"};
	struct jwt_rules rules = rules_for(algs, 2);
	char *p = claims("");
	struct {
		const char *header;
		const char *alg;
		EVP_PKEY *key;
		enum auth_reason want;
	} cases[] = {
	    {"{\"alg\":\"RS256\",\"kid\":\"key-b\"}", "RS256", NULL, AUTH_OK},
	    {"{\"alg\":\"RS256\",\"kid\":\"key-a\"}", "RS256", NULL, AUTH_SIGNATURE},
	    {"{\"alg\":\"RS256\",\"kid\":\"key-z\"}", "RS256", NULL, AUTH_SIGNATURE},
	    {"{\"alg\":\"RS256\"}", "RS256", NULL, AUTH_OK}, /* no kid: any key */
	    {"{\"alg\":\"ES256\",\"kid\":\"ec\"}", "ES256", NULL, AUTH_OK},
	    {"{\"alg\":\"ES256\",\"kid\":\"key-b\"}", "ES256", NULL, AUTH_SIGNATURE},
	    {"{\"alg\":\"RS256\",\"kid\":7}", "RS256", NULL, AUTH_MALFORMED},
	};
	cases[0].key = cases[1].key = cases[2].key = cases[3].key = rsa_b;
	cases[4].key = cases[5].key = ec256;
	cases[6].key = rsa_b;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = token_signed(cases[i].header, p, cases[i].alg, cases[i].key, NULL);
		assert_int_equal(check(t, k, &rules), cases[i].want);
		free(t);
	}
	free(p);
	auth_keys_unref(k);
}

static void expect_load_error(const char *secret, const char *pub, const char *want)
{
	char err[512] = "";
	assert_null(auth_keys_load(secret, pub, err, sizeof(err)));
	if (!strstr(err, want))
		print_error("want \"%s\" in \"%s\"\n", want, err);
	assert_non_null(strstr(err, want));
}

static void test_key_file_errors(void **state)
{
	(void)state;
	char *missing = path_in_dir("missing");
	char *bad = path_in_dir("bad");
	expect_load_error(missing, "", "missing: No such file or directory");
	expect_load_error("", missing, "missing: No such file");
	write_text("bad", "");
	expect_load_error(bad, "", "bad: the secret is empty");
	write_text("bad", "hello");
	expect_load_error("", bad, "bad: no PEM public key");
	write_text("bad", "{\"keys\": [");
	expect_load_error("", bad, "bad:1:");
	write_text("bad", "{\"keys\": []}");
	expect_load_error("", bad, "non-empty \"keys\" array");
	write_text("bad", "{\"keys\": [{\"kty\":\"RSA\",\"n\":\"AQAB\"}]}");
	expect_load_error("", bad, "key 1: not a valid RSA public key");
	write_text("bad",
	           "{\"keys\": [{\"kty\":\"EC\",\"crv\":\"P-256\",\"x\":\"AA\",\"y\":\"AA\"}]}");
	expect_load_error("", bad, "key 1: not a valid EC public key");
	EVP_PKEY *small = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)1024);
	write_pem("bad", &small, 1);
	expect_load_error("", bad, "RSA keys need 2048 bits or more");
	EVP_PKEY_free(small);
	free(missing);
	free(bad);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_grant_from_claims),
	    cmocka_unit_test(test_time_claims),
	    cmocka_unit_test(test_issuer_audience_permissions),
	    cmocka_unit_test(test_shape),
	    cmocka_unit_test(test_reencoded_parts),
	    cmocka_unit_test(test_algorithm_rules),
	    cmocka_unit_test(test_each_family),
	    cmocka_unit_test(test_jwks_kid),
	    cmocka_unit_test(test_key_file_errors),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
