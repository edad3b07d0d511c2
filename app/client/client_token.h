/* wsrelay-client and access control: sending a token (header or query), and
 * making an HS256 token for trying a relay out (--make-token, for testing
 * only: a real application signs its tokens itself). */
#ifndef WSRELAY_CLIENT_TOKEN_H
#define WSRELAY_CLIENT_TOKEN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "ws_url.h"

#define CLIENT_TOKEN_MAX 8192

/* A JWS compact token's characters only (base64url and '.'), 1 to
 * CLIENT_TOKEN_MAX of them: nothing that could end a header line. */
bool client_token_valid(const char *token);

/* Appends access_token=TOKEN to url's query. Returns 0, or -1 when the path
 * would not fit. */
int client_token_add_query(struct ws_url *url, const char *token);

/* Prints an HS256 token signed with the bytes of secret_file (as the relay's
 * auth.jwt.secret_file reads them): sub, exp lifetime seconds ahead, and
 * {"wsrelay": {"publish": false}} when subscribe_only. Returns 0, or -1
 * after a one-line message on err. */
int client_token_make(const char *secret_file, const char *subject, unsigned long lifetime,
                      bool subscribe_only, FILE *out, FILE *err);

#endif
