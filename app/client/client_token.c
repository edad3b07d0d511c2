/* Tokens in wsrelay-client. Making one uses libjwt (Debian's libjwt0),
 * which signs HS256 well; the relay verifies with its own code
 * (app/auth/jwt_verify.c says why). */
#include "client_token.h"

#include <errno.h>
#include <jwt.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

bool client_token_valid(const char *token)
{
	size_t len = strlen(token);
	if (len == 0 || len > CLIENT_TOKEN_MAX)
		return false;
	return strspn(token, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.") ==
	       len;
}

int client_token_add_query(struct ws_url *url, const char *token)
{
	size_t used = strlen(url->path);
	int n = snprintf(url->path + used, sizeof(url->path) - used, "%saccess_token=%s",
	                 strchr(url->path, '?') ? "&" : "?", token);
	if (n < 0 || (size_t)n >= sizeof(url->path) - used) {
		url->path[used] = '\0';
		return -1;
	}
	return 0;
}

static unsigned char *read_secret(const char *path, size_t *len, FILE *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		char why[128];
		fprintf(err, "wsrelay-client: %s: %s\n", path, strerror_r(errno, why, sizeof(why)));
		return NULL;
	}
	unsigned char *buf = malloc(65537);
	size_t n = buf ? fread(buf, 1, 65537, f) : 0;
	(void)fclose(f); /* read only */
	if (!buf || n == 0 || n > 65536) {
		fprintf(err, "wsrelay-client: %s: %s\n", path,
		        !buf     ? "out of memory"
		        : n == 0 ? "empty"
		                 : "larger than 64 KiB");
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

int client_token_make(const char *secret_file, const char *subject, unsigned long lifetime,
                      bool subscribe_only, FILE *out, FILE *err)
{
	size_t key_len = 0;
	unsigned char *key = read_secret(secret_file, &key_len, err);
	if (!key)
		return -1;
	jwt_t *jwt = NULL;
	char *token = NULL;
	long exp = (long)time(NULL) + (long)lifetime;
	if (jwt_new(&jwt) == 0 && jwt_set_alg(jwt, JWT_ALG_HS256, key, (int)key_len) == 0 &&
	    jwt_add_grant(jwt, "sub", subject) == 0 && jwt_add_grant_int(jwt, "exp", exp) == 0 &&
	    (!subscribe_only || jwt_add_grants_json(jwt, "{\"wsrelay\":{\"publish\":false}}") == 0))
		token = jwt_encode_str(jwt);
	jwt_free(jwt);
	free(key);
	if (!token) {
		fprintf(err, "wsrelay-client: cannot make the token\n");
		return -1;
	}
	fprintf(out, "%s\n", token);
	free(token);
	return 0;
}
