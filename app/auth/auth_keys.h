/* The keys tokens are checked with: the HMAC secret (HS*) and the public
 * keys (RS*, PS*, ES*), read from the files auth.jwt names. A key set never
 * changes once loaded; a reload makes a new one (auth.c swaps them), and
 * reference counts keep an old set alive for a check still using it. */
#ifndef WSRELAY_AUTH_KEYS_H
#define WSRELAY_AUTH_KEYS_H

#include <openssl/evp.h>
#include <stddef.h>

struct auth_keys;

/* Reads secret_file (its bytes are the secret) and public_keys_file (one or
 * more PEM "PUBLIC KEY" blocks, or a JWKS document: {"keys": [...]} with
 * RSA and EC keys, "kid" optional); "" skips a file. On error returns NULL
 * and writes one line naming the file into err. */
struct auth_keys *auth_keys_load(const char *secret_file, const char *public_keys_file, char *err,
                                 size_t errlen);

/* Any thread. */
struct auth_keys *auth_keys_ref(struct auth_keys *keys);
void auth_keys_unref(struct auth_keys *keys);

/* The HMAC secret; *len 0 when there is none. */
const unsigned char *auth_keys_secret(const struct auth_keys *keys, size_t *len);

/* The public keys in file order, and their kids (NULL for a key without
 * one: every PEM key). */
size_t auth_keys_count(const struct auth_keys *keys);
EVP_PKEY *auth_keys_public(const struct auth_keys *keys, size_t i);
const char *auth_keys_kid(const struct auth_keys *keys, size_t i);

#endif
