/* Key files: the HMAC secret, PEM public keys and JWKS documents (RFC 7517),
 * the last turned into OpenSSL keys from their parameters. */
#include "auth_keys.h"

#include <errno.h>
#include <jansson.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "b64url.h"

#define MAX_KEYS      64
#define MAX_FILE_SIZE ((size_t)1024 * 1024)

struct auth_keys {
	atomic_int refs;
	unsigned char *secret;
	size_t secret_len;
	size_t count;
	EVP_PKEY *keys[MAX_KEYS];
	char *kids[MAX_KEYS];
};

static void keys_free(struct auth_keys *k)
{
	if (k->secret)
		OPENSSL_cleanse(k->secret, k->secret_len);
	free(k->secret);
	for (size_t i = 0; i < k->count; i++) {
		EVP_PKEY_free(k->keys[i]);
		free(k->kids[i]);
	}
	free(k);
}

struct auth_keys *auth_keys_ref(struct auth_keys *keys)
{
	atomic_fetch_add(&keys->refs, 1);
	return keys;
}

void auth_keys_unref(struct auth_keys *keys)
{
	if (keys && atomic_fetch_sub(&keys->refs, 1) == 1)
		keys_free(keys);
}

const unsigned char *auth_keys_secret(const struct auth_keys *keys, size_t *len)
{
	*len = keys->secret_len;
	return keys->secret;
}

size_t auth_keys_count(const struct auth_keys *keys)
{
	return keys->count;
}

EVP_PKEY *auth_keys_public(const struct auth_keys *keys, size_t i)
{
	return keys->keys[i];
}

const char *auth_keys_kid(const struct auth_keys *keys, size_t i)
{
	return keys->kids[i];
}

/* The whole file, NUL-terminated (*len without the NUL); NULL with err. */
static unsigned char *read_whole(const char *path, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		/* strerror may hand every thread the same buffer. */
		char why[128];
		snprintf(err, errlen, "%s: %s", path, strerror_r(errno, why, sizeof(why)));
		return NULL;
	}
	unsigned char *buf = malloc(MAX_FILE_SIZE + 1);
	size_t n = buf ? fread(buf, 1, MAX_FILE_SIZE + 1, f) : 0;
	bool failed = buf && ferror(f);
	(void)fclose(f); /* read only: nothing to lose */
	if (!buf || failed || n > MAX_FILE_SIZE) {
		snprintf(err, errlen, "%s: %s", path,
		         !buf     ? "out of memory"
		         : failed ? "read error"
		                  : "larger than 1 MiB");
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

static int add_key(struct auth_keys *k, EVP_PKEY *pkey, const char *kid, const char *path,
                   char *err, size_t errlen)
{
	if (k->count == MAX_KEYS) {
		snprintf(err, errlen, "%s: more than %d keys", path, MAX_KEYS);
		EVP_PKEY_free(pkey);
		return -1;
	}
	if (!EVP_PKEY_is_a(pkey, "RSA") && !EVP_PKEY_is_a(pkey, "EC")) {
		snprintf(err, errlen, "%s: key %zu is neither RSA nor EC", path, k->count + 1);
		EVP_PKEY_free(pkey);
		return -1;
	}
	/* RFC 7518 section 3.3: RS* and PS* keys of 2048 bits or more. */
	if (EVP_PKEY_is_a(pkey, "RSA") && EVP_PKEY_get_bits(pkey) < 2048) {
		snprintf(err, errlen, "%s: key %zu: RSA keys need 2048 bits or more (has %d)", path,
		         k->count + 1, EVP_PKEY_get_bits(pkey));
		EVP_PKEY_free(pkey);
		return -1;
	}
	k->kids[k->count] = kid ? strdup(kid) : NULL;
	k->keys[k->count++] = pkey;
	if (kid && !k->kids[k->count - 1]) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	return 0;
}

/* Every PEM block must be a "PUBLIC KEY": a certificate or a private key
 * in this file is a mistake worth stopping for. */
static int load_pem(struct auth_keys *k, const unsigned char *text, size_t len, const char *path,
                    char *err, size_t errlen)
{
	BIO *bio = BIO_new_mem_buf(text, (int)len);
	if (!bio) {
		snprintf(err, errlen, "%s: out of memory", path);
		return -1;
	}
	int rc = 0;
	char *name = NULL, *header = NULL;
	unsigned char *data = NULL;
	long data_len = 0;
	while (rc == 0 && PEM_read_bio(bio, &name, &header, &data, &data_len) == 1) {
		const unsigned char *p = data;
		EVP_PKEY *pkey =
		    strcmp(name, "PUBLIC KEY") == 0 ? d2i_PUBKEY(NULL, &p, data_len) : NULL;
		if (!pkey) {
			snprintf(err, errlen, "%s: key %zu: a \"%s\" block, not a valid PUBLIC KEY",
			         path, k->count + 1, name);
			rc = -1;
		} else {
			rc = add_key(k, pkey, NULL, path, err, errlen);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_free(data);
	}
	ERR_clear_error();
	BIO_free(bio);
	if (rc == 0 && k->count == 0) {
		snprintf(err, errlen,
		         "%s: no PEM public key (\"-----BEGIN PUBLIC KEY-----\") in it", path);
		rc = -1;
	}
	return rc;
}

/* A JWKS member holding a base64url number or octet string. */
static long jwk_bytes(json_t *jwk, const char *name, unsigned char *out, size_t cap)
{
	const char *s = json_string_value(json_object_get(jwk, name));
	if (!s)
		return -1;
	size_t len = strlen(s);
	if (B64URL_DECODED_MAX(len) > cap)
		return -1;
	return b64url_decode(s, len, out);
}

static EVP_PKEY *pkey_from_params(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *pkey = NULL;
	if (!params || !ctx || EVP_PKEY_fromdata_init(ctx) <= 0 ||
	    EVP_PKEY_fromdata(ctx, &pkey, EVP_PKEY_PUBLIC_KEY, params) <= 0)
		pkey = NULL;
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return pkey;
}

static EVP_PKEY *jwk_rsa(json_t *jwk)
{
	unsigned char n[1024], e[16];
	long nlen = jwk_bytes(jwk, "n", n, sizeof(n));
	long elen = jwk_bytes(jwk, "e", e, sizeof(e));
	if (nlen <= 0 || elen <= 0)
		return NULL;
	BIGNUM *bn_n = BN_bin2bn(n, (int)nlen, NULL);
	BIGNUM *bn_e = BN_bin2bn(e, (int)elen, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	EVP_PKEY *pkey = NULL;
	if (bn_n && bn_e && bld && OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn_n) &&
	    OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, bn_e))
		pkey = pkey_from_params("RSA", bld);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn_n);
	BN_free(bn_e);
	return pkey;
}

static EVP_PKEY *jwk_ec(json_t *jwk)
{
	static const struct {
		const char *crv, *group;
		size_t size;
	} curves[] = {
	    {"P-256", "prime256v1", 32}, {"P-384", "secp384r1", 48}, {"P-521", "secp521r1", 66}};
	const char *crv = json_string_value(json_object_get(jwk, "crv"));
	for (size_t i = 0; crv && i < sizeof(curves) / sizeof(curves[0]); i++) {
		if (strcmp(crv, curves[i].crv) != 0)
			continue;
		/* The uncompressed point: 0x04, x, y. */
		unsigned char point[1 + 2 * 66 + 2];
		size_t size = curves[i].size;
		long xlen = jwk_bytes(jwk, "x", point + 1, 66 + 2);
		long ylen = jwk_bytes(jwk, "y", point + 1 + size, 66 + 2);
		if (xlen != (long)size || ylen != (long)size)
			return NULL;
		point[0] = 0x04;
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		EVP_PKEY *pkey = NULL;
		if (bld &&
		    OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME,
		                                    curves[i].group, 0) &&
		    OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point,
		                                     1 + 2 * size))
			pkey = pkey_from_params("EC", bld);
		OSSL_PARAM_BLD_free(bld);
		return pkey;
	}
	return NULL;
}

static int load_jwks(struct auth_keys *k, const unsigned char *text, size_t len, const char *path,
                     char *err, size_t errlen)
{
	json_error_t jerr;
	json_t *doc = json_loadb((const char *)text, len, JSON_REJECT_DUPLICATES, &jerr);
	if (!doc) {
		snprintf(err, errlen, "%s:%d:%d: not JSON: %s", path, jerr.line, jerr.column,
		         jerr.text);
		return -1;
	}
	json_t *keys = json_object_get(doc, "keys");
	int rc = 0;
	if (!json_is_array(keys) || json_array_size(keys) == 0) {
		snprintf(err, errlen, "%s: a JWKS needs a non-empty \"keys\" array", path);
		rc = -1;
	}
	for (size_t i = 0; rc == 0 && i < json_array_size(keys); i++) {
		json_t *jwk = json_array_get(keys, i);
		const char *kty = json_string_value(json_object_get(jwk, "kty"));
		const char *use = json_string_value(json_object_get(jwk, "use"));
		json_t *kid = json_object_get(jwk, "kid");
		if (use && strcmp(use, "sig") != 0)
			continue; /* an encryption key is not for us */
		if (kid && !json_is_string(kid)) {
			snprintf(err, errlen, "%s: key %zu: \"kid\" is not a string", path, i + 1);
			rc = -1;
			break;
		}
		EVP_PKEY *pkey = NULL;
		if (kty && strcmp(kty, "RSA") == 0)
			pkey = jwk_rsa(jwk);
		else if (kty && strcmp(kty, "EC") == 0)
			pkey = jwk_ec(jwk);
		else
			continue; /* "oct" and others: secrets do not go in this file */
		ERR_clear_error();
		if (!pkey) {
			snprintf(err, errlen, "%s: key %zu: not a valid %s public key", path, i + 1,
			         kty);
			rc = -1;
			break;
		}
		rc = add_key(k, pkey, json_string_value(kid), path, err, errlen);
	}
	if (rc == 0 && k->count == 0) {
		snprintf(err, errlen, "%s: the JWKS has no RSA or EC signing key", path);
		rc = -1;
	}
	json_decref(doc);
	return rc;
}

struct auth_keys *auth_keys_load(const char *secret_file, const char *public_keys_file, char *err,
                                 size_t errlen)
{
	struct auth_keys *k = calloc(1, sizeof(*k));
	if (!k) {
		snprintf(err, errlen, "out of memory for the keys");
		return NULL;
	}
	atomic_init(&k->refs, 1);
	if (secret_file[0]) {
		k->secret = read_whole(secret_file, &k->secret_len, err, errlen);
		if (!k->secret) {
			keys_free(k);
			return NULL;
		}
		if (k->secret_len == 0) {
			snprintf(err, errlen, "%s: the secret is empty", secret_file);
			keys_free(k);
			return NULL;
		}
	}
	if (public_keys_file[0]) {
		size_t len;
		unsigned char *text = read_whole(public_keys_file, &len, err, errlen);
		if (!text) {
			keys_free(k);
			return NULL;
		}
		size_t first = strspn((const char *)text, " \t\r\n");
		int rc = text[first] == '{' ? load_jwks(k, text, len, public_keys_file, err, errlen)
		                            : load_pem(k, text, len, public_keys_file, err, errlen);
		free(text);
		if (rc != 0) {
			keys_free(k);
			return NULL;
		}
	}
	return k;
}
