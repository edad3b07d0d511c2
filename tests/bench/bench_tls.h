/* wsrelay-bench over wss://: the one client SSL_CTX every connection of a
 * run is made from. */
#ifndef WSRELAY_BENCH_TLS_H
#define WSRELAY_BENCH_TLS_H

#include <stdbool.h>

struct ssl_ctx_st;

/* Makes the run's client context: TLS 1.2 or later, the server's
 * certificate checked against ca_file (PEM), or against the system's store
 * when ca_file is NULL, or not checked at all with insecure. Returns NULL
 * after printing why to stderr. Call once, before any connection. */
struct ssl_ctx_st *bench_tls_context(const char *ca_file, bool insecure);

#endif
