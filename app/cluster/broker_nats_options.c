/* cluster.nats: everything is handed to the NATS client library's own
 * options; we only read the token file (the library takes the token as a
 * string) and name the setting at fault when something is refused. */
#include "broker_nats_options.h"

#include <errno.h>
#include <openssl/crypto.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "nkey.h"

#define TOKEN_MAX 4096

static int refused(const char *setting, const char *path, natsStatus s, char *err, size_t errlen)
{
	const char *why = nats_GetLastError(NULL);
	snprintf(err, errlen, "%s: %s: %s", setting, path, why ? why : natsStatus_GetText(s));
	return -1;
}

/* The first line of path, without its line break; the token never reaches
 * err. */
static int read_token(const char *path, char *out, size_t cap, char *err, size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		char why[128];
		snprintf(err, errlen, "cluster.nats.token_file: cannot read %s: %s", path,
		         strerror_r(errno, why, sizeof(why)));
		return -1;
	}
	bool got = fgets(out, (int)cap, f) != NULL;
	(void)fclose(f);
	size_t len = got ? strcspn(out, "\r\n") : 0;
	out[len] = '\0';
	if (len == 0 || len == cap - 1) {
		OPENSSL_cleanse(out, cap);
		snprintf(err, errlen, "cluster.nats.token_file: %s: %s", path,
		         len == 0 ? "no token on its first line" : "a token longer than 4 KiB");
		return -1;
	}
	return 0;
}

/* libnats 3.4 frees OpenSSL's list of compression methods in its own exit
 * handler without clearing OpenSSL's pointer to it, so OPENSSL_cleanup,
 * which runs after it, frees it again and the process crashes on its way
 * out (seen as a SIGSEGV in OPENSSL_sk_pop_free after "stopped"). Exit
 * handlers run last-registered first: one registered after the library's
 * (natsOptions_SetSecure made it register) cleans OpenSSL up before the
 * library looks, and then finds the list already gone. */
static void openssl_cleanup_before_nats(void)
{
	OPENSSL_cleanup();
}

static void register_cleanup(void)
{
	if (atexit(openssl_cleanup_before_nats) != 0)
		return; /* only the exit would be affected */
}

static bool any_tls_url(const struct config *cfg)
{
	for (size_t i = 0; i < cfg->cluster.url_count; i++)
		if (strncmp(cfg->cluster.urls[i], "tls://", 6) == 0)
			return true;
	return false;
}

static int set_tls(natsOptions *o, const struct config *cfg, char *err, size_t errlen)
{
	const char *ca = cfg->cluster.nats.tls.ca;
	const char *cert = cfg->cluster.nats.tls.certificate;
	const char *key = cfg->cluster.nats.tls.private_key;
	if (!any_tls_url(cfg) && !ca[0] && !cert[0])
		return 0;
	natsStatus s = natsOptions_SetSecure(o, true);
	if (s != NATS_OK)
		return refused("cluster.nats.tls", "TLS", s, err, errlen);
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, register_cleanup);
	if (ca[0] && (s = natsOptions_LoadCATrustedCertificates(o, ca)) != NATS_OK)
		return refused("cluster.nats.tls.ca", ca, s, err, errlen);
	if (cert[0] && (s = natsOptions_LoadCertificatesChain(o, cert, key)) != NATS_OK)
		return refused("cluster.nats.tls.certificate", cert, s, err, errlen);
	return 0;
}

int broker_nats_options_set_security(natsOptions *o, const struct config *cfg, char *err,
                                     size_t errlen)
{
	if (set_tls(o, cfg, err, errlen) != 0)
		return -1;
	const char *token_file = cfg->cluster.nats.token_file;
	const char *seed_file = cfg->cluster.nats.nkey_seed_file;
	const char *creds = cfg->cluster.nats.credentials_file;
	natsStatus s;
	if (token_file[0]) {
		char token[TOKEN_MAX];
		if (read_token(token_file, token, sizeof(token), err, errlen) != 0)
			return -1;
		s = natsOptions_SetToken(o, token);
		OPENSSL_cleanse(token, sizeof(token));
		if (s != NATS_OK)
			return refused("cluster.nats.token_file", token_file, s, err, errlen);
	}
	if (seed_file[0]) {
		/* The library signs the server's nonce with the seed, but wants the
		 * public key as well: it is derived from the seed. */
		char public_key[NKEY_PUBLIC_SIZE];
		if (nkey_public_from_seed_file(seed_file, public_key, err, errlen) != 0)
			return -1;
		s = natsOptions_SetNKeyFromSeed(o, public_key, seed_file);
		if (s != NATS_OK)
			return refused("cluster.nats.nkey_seed_file", seed_file, s, err, errlen);
	}
	if (creds[0] && (s = natsOptions_SetUserCredentialsFromFiles(o, creds, NULL)) != NATS_OK)
		return refused("cluster.nats.credentials_file", creds, s, err, errlen);
	return 0;
}
