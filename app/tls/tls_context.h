/* A listener's TLS settings as an OpenSSL SSL_CTX, and the certificate it
 * serves, which SIGHUP can replace without touching open connections. */
#ifndef WSRELAY_TLS_CONTEXT_H
#define WSRELAY_TLS_CONTEXT_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

struct tls_context;

/* Loads and checks the certificate, key and client CA that cfg names and
 * builds the SSL_CTX. section ("server.tls") prefixes messages. On error
 * returns NULL and writes one line naming the file and what is wrong. An
 * expired certificate is not an error: it is logged as a warning. */
struct tls_context *tls_context_create(const struct tls_config *cfg, const char *section, char *err,
                                       size_t errlen);
void tls_context_free(struct tls_context *tls);

/* The SSL_CTX to hand to CivetWeb (external_ssl_ctx); owned by tls. */
void *tls_context_ssl_ctx(struct tls_context *tls);

/* Reads certificate and key again from the same paths. New handshakes get
 * the new pair; connections already open keep theirs. On error the old
 * pair stays in service, -1 is returned and err says why. */
int tls_context_reload(struct tls_context *tls, char *err, size_t errlen);

/* Reloads so far that worked and that failed. */
void tls_context_reload_counts(struct tls_context *tls, uint64_t *ok, uint64_t *failed);

/* Handshakes that ended in a fatal TLS alert. A client that just hangs up
 * in the middle is not counted. */
uint64_t tls_context_handshake_failures(struct tls_context *tls);

/* The serving certificate's notAfter, in seconds since the epoch. */
int64_t tls_context_not_after(struct tls_context *tls);

#endif
