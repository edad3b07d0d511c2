/* wsrelay-client's command line. */
#ifndef WSRELAY_CLIENT_OPTIONS_H
#define WSRELAY_CLIENT_OPTIONS_H

#include <stdbool.h>
#include <stdio.h>

#include "ws_url.h"

#define CLIENT_DEFAULT_URL "ws://localhost:8443/ws"

enum client_exit { CLIENT_EXIT_OK = 0, CLIENT_EXIT_FAILURE = 1, CLIENT_EXIT_USAGE = 2 };

struct client_options {
	struct ws_url url;
	const char *url_text;
	bool binary;
	bool insecure;
	const char *ca_file;      /* NULL: the system's CA bundle (wss only) */
	unsigned long count;      /* 0: no limit */
	const char *send_text;    /* NULL: send stdin lines */
	unsigned timeout_seconds; /* 0 only with --count and no --timeout: no limit */
	bool timeout_given;
	/* Access control (client_token.h). */
	const char *token;      /* sent as "Authorization: Bearer", or NULL */
	bool token_query;       /* ... or as ?access_token= instead */
	const char *make_token; /* a secret file: print a token and exit */
	const char *subject;    /* --make-token's sub */
	unsigned long lifetime; /* --make-token's seconds to exp */
	bool subscribe_only;    /* --make-token: publish false */
};

/* Fills opts from argv. Returns -1 to go on, or the exit status to leave
 * with: 0 after --help or --version (printed on out), 2 after a usage error
 * (one line on err, then a pointer to --help). */
int client_options_parse(int argc, char **argv, struct client_options *opts, FILE *out, FILE *err);

void client_options_help(FILE *out);

#endif
