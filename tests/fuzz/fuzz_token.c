/* libFuzzer target: the token path (jwt_verify.c), what any client can send
 * before it is anything. The input is either a token as it is, or (first
 * byte odd) three parts, header, payload and signature bytes, split at the
 * first two 0xff bytes and each base64url-encoded, so that the JSON and the
 * signature checks are reached as often as the splitting. A token must never
 * crash, leak or be accepted without a key that signed it: nothing here
 * signs, so AUTH_OK is impossible. */
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "b64url.h"
#include "jwt_verify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

static struct auth_keys *keys;
static char *algorithms[] = {"HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
                             "PS256", "PS384", "PS512", "ES256", "ES384", "ES512"};
static const struct jwt_rules rules = {
    .algorithms = algorithms,
    .algorithm_count = sizeof(algorithms) / sizeof(algorithms[0]),
    .issuer = "https://login.test",
    .audience = "wsrelay",
    .leeway_seconds = 30,
};

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char dir[] = "/tmp/wsrelay-fuzz-token-XXXXXX";
	if (!mkdtemp(dir))
		abort();
	char secret[64], pub[64];
	snprintf(secret, sizeof(secret), "%s/secret", dir);
	snprintf(pub, sizeof(pub), "%s/pub.pem", dir);
	FILE *f = fopen(secret, "w");
	fputs("fuzzing-secret", f);
	fclose(f);
	/* One key of each kind, so every family reaches OpenSSL. */
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	EVP_PKEY *rsa = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
	f = fopen(pub, "w");
	PEM_write_PUBKEY(f, ec);
	PEM_write_PUBKEY(f, rsa);
	fclose(f);
	EVP_PKEY_free(ec);
	EVP_PKEY_free(rsa);
	char err[256];
	keys = auth_keys_load(secret, pub, err, sizeof(err));
	unlink(secret);
	unlink(pub);
	rmdir(dir);
	if (!keys)
		abort();
	return 0;
}

static void check(const char *token, size_t len)
{
	struct auth_grant *grant = NULL;
	enum auth_reason r = jwt_verify(token, len, keys, &rules, 1700000000, &grant);
	if (r == AUTH_OK || grant != NULL || r >= AUTH_REASON_COUNT)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0 || size > 3 * JWT_MAX_LENGTH)
		return 0;
	if ((data[0] & 1) == 0) {
		check((const char *)data + 1, size - 1);
		return 0;
	}
	const uint8_t *parts[3] = {data + 1, NULL, NULL};
	size_t lens[3] = {0, 0, 0};
	size_t part = 0;
	for (size_t i = 1; i < size; i++) {
		if (data[i] == 0xff && part < 2) {
			parts[++part] = data + i + 1;
			continue;
		}
		lens[part]++;
	}
	if (!parts[1])
		parts[1] = data + size;
	if (!parts[2])
		parts[2] = data + size;
	char *token = malloc(size * 2 + 8);
	size_t used = 0;
	for (int p = 0; p < 3; p++) {
		used += b64url_encode(parts[p], lens[p], token + used);
		if (p < 2)
			token[used++] = '.';
	}
	check(token, used);
	free(token);
	return 0;
}
