/* The key file and the HMAC of signed envelopes (cluster_auth.h).
 *
 * Each key gets an EVP_MAC_CTX set up once with the key; a tag is made on
 * a copy of it, so the per-message cost is the hashing itself and one
 * small allocation, not the digest lookup a one-shot HMAC() does. */
#include "cluster_auth.h"

#include <errno.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct key_set {
	atomic_uint refs;
	size_t count;
	EVP_MAC_CTX *keys[CLUSTER_AUTH_KEYS_MAX]; /* each set up with its key */
};

struct cluster_auth {
	char *path;
	EVP_MAC *hmac;
	pthread_mutex_t lock; /* guards current (the pointer, not the set) */
	struct key_set *current;
};

static void key_set_release(struct key_set *set)
{
	if (!set || atomic_fetch_sub(&set->refs, 1) != 1)
		return;
	for (size_t i = 0; i < set->count; i++)
		EVP_MAC_CTX_free(set->keys[i]);
	free(set);
}

static struct key_set *acquire(struct cluster_auth *a)
{
	pthread_mutex_lock(&a->lock);
	struct key_set *set = a->current;
	atomic_fetch_add(&set->refs, 1);
	pthread_mutex_unlock(&a->lock);
	return set;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes the hex digits of line (trailing blanks already cut) into key;
 * the key's length, or 0 with a reason. */
static size_t decode_key(const char *line, size_t len, uint8_t *key, const char **problem)
{
	if (len % 2 != 0) {
		*problem = "an odd number of hex digits";
		return 0;
	}
	if (len / 2 > CLUSTER_AUTH_KEY_MAX) {
		*problem = "a key longer than 1024 bytes";
		return 0;
	}
	for (size_t i = 0; i < len; i += 2) {
		int hi = hex_value(line[i]), lo = hex_value(line[i + 1]);
		if (hi < 0 || lo < 0) {
			*problem = "a character that is not a hex digit";
			return 0;
		}
		key[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	if (len / 2 < CLUSTER_AUTH_KEY_MIN) {
		*problem = "a key shorter than 32 bytes (64 hex digits)";
		return 0;
	}
	return len / 2;
}

static EVP_MAC_CTX *keyed_context(EVP_MAC *hmac, const uint8_t *key, size_t len)
{
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_new(hmac);
	if (ctx && EVP_MAC_init(ctx, key, len, params) == 1)
		return ctx;
	EVP_MAC_CTX_free(ctx);
	return NULL;
}

/* Reads one key a line; the keys never reach err. */
static struct key_set *load_keys(struct cluster_auth *a, char *err, size_t errlen)
{
	FILE *f = fopen(a->path, "re");
	if (!f) {
		char why[128];
		snprintf(err, errlen, "cluster.secret_file: cannot read %s: %s", a->path,
		         strerror_r(errno, why, sizeof(why)));
		return NULL;
	}
	struct key_set *set = calloc(1, sizeof(*set));
	uint8_t *key = malloc(CLUSTER_AUTH_KEY_MAX);
	char *line = NULL;
	size_t cap = 0, lineno = 0, bad_line = 0;
	ssize_t got;
	const char *problem = NULL;

	if (!set || !key)
		problem = "out of memory";
	while (!problem && (got = getline(&line, &cap, f)) >= 0) {
		lineno++;
		size_t len = (size_t)got;
		while (len > 0 && (line[len - 1] == '\n' || line[len - 1] == '\r' ||
		                   line[len - 1] == ' ' || line[len - 1] == '\t'))
			len--;
		if (len == 0 || line[0] == '#')
			continue;
		bad_line = lineno;
		if (set->count == CLUSTER_AUTH_KEYS_MAX) {
			problem = "more than 16 keys";
			break;
		}
		size_t n = decode_key(line, len, key, &problem);
		if (n == 0)
			break;
		set->keys[set->count] = keyed_context(a->hmac, key, n);
		OPENSSL_cleanse(key, CLUSTER_AUTH_KEY_MAX);
		if (!set->keys[set->count]) {
			problem = "OpenSSL refused the key";
			break;
		}
		set->count++;
		bad_line = 0;
	}
	if (line) {
		OPENSSL_cleanse(line, cap);
		free(line);
	}
	if (key) {
		OPENSSL_cleanse(key, CLUSTER_AUTH_KEY_MAX);
		free(key);
	}
	bool read_error = ferror(f) != 0;
	(void)fclose(f);
	if (!problem && read_error)
		problem = "a read error";
	if (!problem && set->count == 0)
		problem = "no key (one a line, as hex, at least 32 bytes)";
	if (problem) {
		if (bad_line > 0)
			snprintf(err, errlen, "cluster.secret_file: %s:%zu: %s", a->path, bad_line,
			         problem);
		else
			snprintf(err, errlen, "cluster.secret_file: %s: %s", a->path, problem);
		if (set) {
			atomic_init(&set->refs, 1);
			key_set_release(set);
		}
		return NULL;
	}
	atomic_init(&set->refs, 1);
	return set;
}

struct cluster_auth *cluster_auth_create(const char *path, char *err, size_t errlen)
{
	struct cluster_auth *a = calloc(1, sizeof(*a));
	if (!a || !(a->path = strdup(path))) {
		free(a);
		snprintf(err, errlen, "cluster.secret_file: out of memory");
		return NULL;
	}
	pthread_mutex_init(&a->lock, NULL);
	a->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	if (!a->hmac) {
		snprintf(err, errlen, "cluster.secret_file: OpenSSL has no HMAC");
		cluster_auth_destroy(a);
		return NULL;
	}
	a->current = load_keys(a, err, errlen);
	if (!a->current) {
		cluster_auth_destroy(a);
		return NULL;
	}
	return a;
}

int cluster_auth_reload(struct cluster_auth *a, char *err, size_t errlen)
{
	struct key_set *set = load_keys(a, err, errlen);
	if (!set)
		return -1;
	pthread_mutex_lock(&a->lock);
	struct key_set *old = a->current;
	a->current = set;
	pthread_mutex_unlock(&a->lock);
	key_set_release(old);
	return 0;
}

size_t cluster_auth_key_count(struct cluster_auth *a)
{
	struct key_set *set = acquire(a);
	size_t n = set->count;
	key_set_release(set);
	return n;
}

/* The tag over msg[0..2) and the envelope at msg + CLUSTER_AUTH_PREFIX_SIZE. */
static int make_tag(EVP_MAC_CTX *keyed, const uint8_t *msg, size_t len,
                    uint8_t tag[CLUSTER_AUTH_TAG_SIZE])
{
	EVP_MAC_CTX *ctx = EVP_MAC_CTX_dup(keyed);
	size_t out = 0;
	int ok = ctx && EVP_MAC_update(ctx, msg, 2) == 1 &&
	         EVP_MAC_update(ctx, msg + CLUSTER_AUTH_PREFIX_SIZE,
	                        len - CLUSTER_AUTH_PREFIX_SIZE) == 1 &&
	         EVP_MAC_final(ctx, tag, &out, CLUSTER_AUTH_TAG_SIZE) == 1 &&
	         out == CLUSTER_AUTH_TAG_SIZE;
	EVP_MAC_CTX_free(ctx);
	return ok ? 0 : -1;
}

int cluster_auth_sign(struct cluster_auth *a, uint8_t *msg, size_t len)
{
	msg[0] = CLUSTER_AUTH_MAGIC;
	msg[1] = CLUSTER_AUTH_SCHEME;
	struct key_set *set = acquire(a);
	int rc = make_tag(set->keys[0], msg, len, msg + 2);
	key_set_release(set);
	return rc;
}

enum cluster_auth_verdict cluster_auth_verify(struct cluster_auth *a, const uint8_t *msg,
                                              size_t len, const uint8_t **envelope,
                                              size_t *envelope_len)
{
	if (len == 0 || msg[0] != CLUSTER_AUTH_MAGIC)
		return CLUSTER_AUTH_UNSIGNED;
	if (len < 2)
		return CLUSTER_AUTH_TRUNCATED;
	if (msg[1] != CLUSTER_AUTH_SCHEME)
		return CLUSTER_AUTH_BAD_SCHEME;
	if (len < CLUSTER_AUTH_PREFIX_SIZE)
		return CLUSTER_AUTH_TRUNCATED;

	struct key_set *set = acquire(a);
	bool valid = false;
	for (size_t i = 0; i < set->count && !valid; i++) {
		uint8_t tag[CLUSTER_AUTH_TAG_SIZE];
		valid = make_tag(set->keys[i], msg, len, tag) == 0 &&
		        CRYPTO_memcmp(tag, msg + 2, CLUSTER_AUTH_TAG_SIZE) == 0;
	}
	key_set_release(set);
	if (!valid)
		return CLUSTER_AUTH_BAD_TAG;
	*envelope = msg + CLUSTER_AUTH_PREFIX_SIZE;
	*envelope_len = len - CLUSTER_AUTH_PREFIX_SIZE;
	return CLUSTER_AUTH_VALID;
}

void cluster_auth_destroy(struct cluster_auth *a)
{
	if (!a)
		return;
	key_set_release(a->current);
	EVP_MAC_free(a->hmac);
	pthread_mutex_destroy(&a->lock);
	free(a->path);
	free(a);
}
