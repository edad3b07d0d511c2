/* The client side of wss:// for wsrelay-bench. Every connection of a run
 * shares one context; each gets its own SSL object in conn_open. */
#include "bench_tls.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>

static void print_error(const char *what)
{
	char detail[256] = "";
	unsigned long e = ERR_get_error();
	if (e)
		ERR_error_string_n(e, detail, sizeof(detail));
	fprintf(stderr, "wsrelay-bench: %s%s%s\n", what, detail[0] ? ": " : "", detail);
	ERR_clear_error();
}

SSL_CTX *bench_tls_context(const char *ca_file, bool insecure)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	if (!ctx) {
		print_error("cannot make a TLS context");
		return NULL;
	}
	(void)SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION);
	/* conn_flush retries with whatever is queued by then: the buffer may
	 * have moved and grown since the write that wanted a retry. */
	SSL_CTX_set_mode(ctx, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	if (insecure) {
		SSL_CTX_set_verify(ctx, SSL_VERIFY_NONE, NULL);
		return ctx;
	}
	int loaded = ca_file ? SSL_CTX_load_verify_locations(ctx, ca_file, NULL)
	                     : SSL_CTX_set_default_verify_paths(ctx);
	if (loaded != 1) {
		print_error(ca_file ? "--ca: cannot load the certificates"
		                    : "cannot load the system's certificates");
		SSL_CTX_free(ctx);
		return NULL;
	}
	SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	return ctx;
}
