/* One listener's TLS: the SSL_CTX built from its tls_config, and the
 * certificate pair it serves.
 *
 * The pair is not loaded into the SSL_CTX: a certificate callback hands
 * each new handshake the current pair under a mutex. Swapping that pointer
 * is what a reload does; connections already open hold their own
 * references to the old pair, so they are never touched, and changing an
 * SSL_CTX that other threads are using to make connections is avoided. */
#include "tls_context.h"

#include <errno.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log.h"

struct cert_pair {
	X509 *leaf;
	STACK_OF(X509) * chain;
	EVP_PKEY *key;
	int64_t not_after;
};

struct tls_context {
	SSL_CTX *ctx;
	char section[32];
	char *certificate, *private_key;
	pthread_mutex_t lock; /* guards pair and the counts */
	struct cert_pair *pair;
	uint64_t reloads_ok, reloads_failed;
	atomic_uint_fast64_t handshake_failures;
};

static void pair_free(struct cert_pair *pair)
{
	if (!pair)
		return;
	X509_free(pair->leaf);
	sk_X509_pop_free(pair->chain, X509_free);
	EVP_PKEY_free(pair->key);
	free(pair);
}

/* The most specific OpenSSL reason left in its error queue, for messages. */
static const char *openssl_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	const char *why = e ? ERR_reason_error_string(e) : NULL;
	return why ? why : "unknown OpenSSL error";
}

static FILE *open_pem(const char *section, const char *key, const char *path, char *err,
                      size_t errlen)
{
	FILE *f = fopen(path, "re");
	if (!f) {
		/* strerror may hand every thread the same buffer. */
		char why[128];
		snprintf(err, errlen, "%s.%s: cannot read %s: %s", section, key, path,
		         strerror_r(errno, why, sizeof(why)));
	}
	return f;
}

/* An encrypted key would make OpenSSL prompt on the terminal; refuse it. */
static int no_passphrase(char *buf, int size, int rwflag, void *u)
{
	(void)buf;
	(void)size;
	(void)rwflag;
	(void)u;
	return -1;
}

static int read_certificates(const struct tls_context *tls, struct cert_pair *pair, char *err,
                             size_t errlen)
{
	FILE *f = open_pem(tls->section, "certificate", tls->certificate, err, errlen);
	if (!f)
		return -1;
	int rc = -1;
	pair->leaf = PEM_read_X509(f, NULL, NULL, NULL);
	pair->chain = sk_X509_new_null();
	if (!pair->leaf) {
		snprintf(err, errlen, "%s.certificate: %s holds no PEM certificate (%s)",
		         tls->section, tls->certificate, openssl_reason());
		goto out;
	}
	for (;;) {
		X509 *next = PEM_read_X509(f, NULL, NULL, NULL);
		if (!next)
			break;
		if (!pair->chain || !sk_X509_push(pair->chain, next)) {
			X509_free(next);
			snprintf(err, errlen, "%s.certificate: out of memory", tls->section);
			goto out;
		}
	}
	/* The loop ends at the end of the file, which OpenSSL reports as "no
	 * start line"; anything else is a damaged certificate in the chain. */
	unsigned long e = ERR_peek_last_error();
	if (e && ERR_GET_REASON(e) != PEM_R_NO_START_LINE) {
		snprintf(err, errlen,
		         "%s.certificate: %s: certificate %d of the chain is not valid (%s)",
		         tls->section, tls->certificate, sk_X509_num(pair->chain) + 2,
		         openssl_reason());
		goto out;
	}
	rc = 0;
out:
	(void)fclose(f);
	return rc;
}

static int read_key(const struct tls_context *tls, struct cert_pair *pair, char *err, size_t errlen)
{
	FILE *f = open_pem(tls->section, "private_key", tls->private_key, err, errlen);
	if (!f)
		return -1;
	pair->key = PEM_read_PrivateKey(f, NULL, no_passphrase, NULL);
	(void)fclose(f);
	if (!pair->key) {
		snprintf(err, errlen,
		         "%s.private_key: %s holds no PEM private key, or one protected by a "
		         "passphrase (%s)",
		         tls->section, tls->private_key, openssl_reason());
		return -1;
	}
	if (X509_check_private_key(pair->leaf, pair->key) != 1) {
		snprintf(err, errlen, "%s.private_key: %s does not match the certificate in %s",
		         tls->section, tls->private_key, tls->certificate);
		return -1;
	}
	return 0;
}

static int64_t asn1_time_seconds(const ASN1_TIME *t)
{
	struct tm tm;
	if (ASN1_TIME_to_tm(t, &tm) != 1)
		return 0;
	return (int64_t)timegm(&tm);
}

/* An expired certificate still starts the relay (clients decide whether to
 * accept it, and refusing would turn a renewal hiccup into an outage), but
 * it must not go unnoticed. */
static void warn_about_dates(const struct tls_context *tls, const struct cert_pair *pair)
{
	int64_t now = (int64_t)time(NULL);
	int64_t not_before = asn1_time_seconds(X509_get0_notBefore(pair->leaf));
	char when[32];
	time_t t = (time_t)pair->not_after;
	struct tm tm;
	(void)strftime(when, sizeof(when), "%Y-%m-%d %H:%M:%S UTC", gmtime_r(&t, &tm));
	if (pair->not_after < now)
		log_warn("%s.certificate: %s expired on %s; serving it anyway", tls->section,
		         tls->certificate, when);
	else if (not_before > now)
		log_warn("%s.certificate: %s is not valid yet; serving it anyway", tls->section,
		         tls->certificate);
}

static struct cert_pair *load_pair(const struct tls_context *tls, char *err, size_t errlen)
{
	struct cert_pair *pair = calloc(1, sizeof(*pair));
	if (!pair) {
		snprintf(err, errlen, "%s: out of memory", tls->section);
		return NULL;
	}
	ERR_clear_error();
	int rc = read_certificates(tls, pair, err, errlen);
	if (rc == 0)
		rc = read_key(tls, pair, err, errlen);
	ERR_clear_error();
	if (rc != 0) {
		pair_free(pair);
		return NULL;
	}
	pair->not_after = asn1_time_seconds(X509_get0_notAfter(pair->leaf));
	warn_about_dates(tls, pair);
	return pair;
}

static int use_current_pair(SSL *ssl, void *arg)
{
	struct tls_context *tls = arg;
	pthread_mutex_lock(&tls->lock);
	/* Takes its own references: a reload may free our pair at any time. */
	int ok = SSL_use_cert_and_key(ssl, tls->pair->leaf, tls->pair->key, tls->pair->chain, 1);
	pthread_mutex_unlock(&tls->lock);
	return ok == 1 ? 1 : 0;
}

/* A fatal alert, sent or received, before the handshake completed is a
 * failed handshake: no client certificate, a version or cipher nobody
 * shares, a client that refused our certificate. */
static void watch_alerts(const SSL *ssl, int where, int ret)
{
	if (!(where & SSL_CB_ALERT) || (ret >> 8) != SSL3_AL_FATAL || !SSL_in_init(ssl))
		return;
	/* TLS 1.3 re-enters "init" after the handshake to send session
	 * tickets; by then the client's Finished has arrived, and a client
	 * that goes away is not a failed handshake. */
	unsigned char finished[64];
	if (SSL_get_peer_finished(ssl, finished, sizeof(finished)) > 0)
		return;
	struct tls_context *tls = SSL_CTX_get_app_data(SSL_get_SSL_CTX(ssl));
	if (!tls)
		return;
	atomic_fetch_add_explicit(&tls->handshake_failures, 1, memory_order_relaxed);
	log_debug("%s: TLS handshake failed: alert \"%s\" %s the client", tls->section,
	          SSL_alert_desc_string_long(ret), (where & SSL_CB_READ) ? "from" : "to");
}

static int set_client_ca(struct tls_context *tls, const char *path, char *err, size_t errlen)
{
	FILE *f = open_pem(tls->section, "client_ca", path, err, errlen);
	if (!f)
		return -1;
	(void)fclose(f);
	STACK_OF(X509_NAME) *names = SSL_load_client_CA_file(path);
	if (!names || SSL_CTX_load_verify_locations(tls->ctx, path, NULL) != 1) {
		sk_X509_NAME_pop_free(names, X509_NAME_free);
		snprintf(err, errlen, "%s.client_ca: %s holds no PEM CA certificate (%s)",
		         tls->section, path, openssl_reason());
		return -1;
	}
	/* Only this bundle: the system's CAs (OpenSSL's default paths) are
	 * never trusted for client certificates. */
	SSL_CTX_set_client_CA_list(tls->ctx, names);
	SSL_CTX_set_verify(tls->ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
	SSL_CTX_set_verify_depth(tls->ctx, 9);
	return 0;
}

static int build_ssl_ctx(struct tls_context *tls, const struct tls_config *cfg, char *err,
                         size_t errlen)
{
	static const unsigned char session_context[] = "wsrelay";

	tls->ctx = SSL_CTX_new(TLS_server_method());
	if (!tls->ctx) {
		snprintf(err, errlen, "%s: cannot create an OpenSSL context (%s)", tls->section,
		         openssl_reason());
		return -1;
	}
	int min = cfg->min_version == TLS_MIN_VERSION_1_3 ? TLS1_3_VERSION : TLS1_2_VERSION;
	SSL_CTX_set_min_proto_version(tls->ctx, min);
	/* Renegotiation would let a peer start a handshake in the middle of
	 * relayed traffic; nobody needs it for WebSocket. */
	SSL_CTX_set_options(tls->ctx, SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
	/* An idle connection gives its record buffers back (about 34 KiB). */
	SSL_CTX_set_mode(tls->ctx, SSL_MODE_RELEASE_BUFFERS);
	/* One read() takes every record the socket holds: a publisher's burst
	 * of small messages costs one system call, not two and a poll per
	 * message. CivetWeb looks in OpenSSL's buffer before it polls (patch
	 * 0015). */
	SSL_CTX_set_read_ahead(tls->ctx, 1);
	SSL_CTX_set_session_id_context(tls->ctx, session_context, sizeof(session_context) - 1);
	if (cfg->ciphers[0] && SSL_CTX_set_cipher_list(tls->ctx, cfg->ciphers) != 1) {
		snprintf(err, errlen, "%s.ciphers: no usable cipher in \"%s\"", tls->section,
		         cfg->ciphers);
		return -1;
	}
	if (cfg->client_ca[0] && set_client_ca(tls, cfg->client_ca, err, errlen) != 0)
		return -1;
	SSL_CTX_set_cert_cb(tls->ctx, use_current_pair, tls);
	SSL_CTX_set_app_data(tls->ctx, tls);
	SSL_CTX_set_info_callback(tls->ctx, watch_alerts);
	return 0;
}

struct tls_context *tls_context_create(const struct tls_config *cfg, const char *section, char *err,
                                       size_t errlen)
{
	struct tls_context *tls = calloc(1, sizeof(*tls));
	if (!tls) {
		snprintf(err, errlen, "%s: out of memory", section);
		return NULL;
	}
	snprintf(tls->section, sizeof(tls->section), "%s", section);
	pthread_mutex_init(&tls->lock, NULL);
	tls->certificate = strdup(cfg->certificate);
	tls->private_key = strdup(cfg->private_key);
	if (!tls->certificate || !tls->private_key) {
		snprintf(err, errlen, "%s: out of memory", section);
		tls_context_free(tls);
		return NULL;
	}
	tls->pair = load_pair(tls, err, errlen);
	if (!tls->pair || build_ssl_ctx(tls, cfg, err, errlen) != 0) {
		ERR_clear_error();
		tls_context_free(tls);
		return NULL;
	}
	return tls;
}

void tls_context_free(struct tls_context *tls)
{
	if (!tls)
		return;
	SSL_CTX_free(tls->ctx);
	pair_free(tls->pair);
	free(tls->certificate);
	free(tls->private_key);
	pthread_mutex_destroy(&tls->lock);
	free(tls);
}

void *tls_context_ssl_ctx(struct tls_context *tls)
{
	return tls->ctx;
}

int tls_context_reload(struct tls_context *tls, char *err, size_t errlen)
{
	struct cert_pair *fresh = load_pair(tls, err, errlen);
	pthread_mutex_lock(&tls->lock);
	struct cert_pair *old = fresh ? tls->pair : NULL;
	if (fresh) {
		tls->pair = fresh;
		tls->reloads_ok++;
	} else {
		tls->reloads_failed++;
	}
	pthread_mutex_unlock(&tls->lock);
	pair_free(old);
	return fresh ? 0 : -1;
}

void tls_context_reload_counts(struct tls_context *tls, uint64_t *ok, uint64_t *failed)
{
	pthread_mutex_lock(&tls->lock);
	*ok = tls->reloads_ok;
	*failed = tls->reloads_failed;
	pthread_mutex_unlock(&tls->lock);
}

uint64_t tls_context_handshake_failures(struct tls_context *tls)
{
	return atomic_load_explicit(&tls->handshake_failures, memory_order_relaxed);
}

int64_t tls_context_not_after(struct tls_context *tls)
{
	pthread_mutex_lock(&tls->lock);
	int64_t t = tls->pair->not_after;
	pthread_mutex_unlock(&tls->lock);
	return t;
}
