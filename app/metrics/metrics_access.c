#include "metrics_access.h"

#include <ctype.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "net_address.h"

/* More than any real token; a longer file is a mistake (a key, a log). */
#define TOKEN_MAX 4096

char *metrics_access_acl(const struct config *cfg)
{
	size_t n = cfg->metrics.allowed_networks_count;
	char *acl = calloc(n * (NET_CIDR_ACL_SIZE + 2) + 1, 1);
	if (!acl)
		return NULL;
	size_t used = 0;
	for (size_t i = 0; i < n; i++) {
		struct net_cidr net;
		char why[160], one[NET_CIDR_ACL_SIZE];
		/* The loader checked every entry. */
		if (net_cidr_parse(cfg->metrics.allowed_networks[i], &net, why, sizeof(why)) != 0)
			continue;
		net_cidr_format_acl(&net, one);
		used += (size_t)sprintf(acl + used, "%s+%s", used ? "," : "", one);
	}
	return acl;
}

char *metrics_access_read_token(const char *path, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		char why[128];
		snprintf(err, errlen, "metrics.bearer_token_file: cannot read %s: %s", path,
		         strerror_r(errno, why, sizeof(why)));
		return NULL;
	}
	char *buf = calloc(TOKEN_MAX + 2, 1);
	size_t len = buf ? fread(buf, 1, TOKEN_MAX + 1, f) : 0;
	(void)fclose(f); /* read-only: nothing to lose */
	if (!buf) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	buf[len] = '\0';
	char *start = buf;
	while (*start && isspace((unsigned char)*start))
		start++;
	size_t tlen = strcspn(start, "\r\n");
	while (tlen > 0 && isspace((unsigned char)start[tlen - 1]))
		tlen--;
	char *token = NULL;
	if (len > TOKEN_MAX)
		snprintf(err, errlen, "metrics.bearer_token_file: %s is longer than %d bytes", path,
		         TOKEN_MAX);
	else if (tlen == 0)
		snprintf(err, errlen, "metrics.bearer_token_file: %s holds no token", path);
	else if ((token = strndup(start, tlen)) == NULL)
		snprintf(err, errlen, "out of memory");
	OPENSSL_cleanse(buf, TOKEN_MAX + 2);
	free(buf);
	return token;
}

bool metrics_access_bearer_ok(const char *authorization, const char *token)
{
	if (!authorization || strncasecmp(authorization, "Bearer ", 7) != 0)
		return false;
	const char *given = authorization + 7;
	while (*given == ' ')
		given++;
	size_t len = strlen(token);
	/* The length is no secret worth the trouble; the bytes are. */
	return strlen(given) == len && CRYPTO_memcmp(given, token, len) == 0;
}
