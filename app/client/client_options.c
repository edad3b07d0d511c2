/* wsrelay-client's command line: options, help text, usage errors. */
#include "client_options.h"

#include <civetweb.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "client_token.h"

#ifndef WSRELAY_VERSION
#define WSRELAY_VERSION "unknown"
#endif

#define TIMEOUT_DEFAULT_SECONDS 5U
#define TIMEOUT_MAX_SECONDS     86400UL

void client_options_help(FILE *out)
{
	fputs("NAME\n"
	      "    wsrelay-client - talk to a WebSocket relay from the command line\n"
	      "\n"
	      "SYNOPSIS\n"
	      "    wsrelay-client [--insecure] [--ca FILE] [--binary] [--count N]\n"
	      "                   [--send TEXT] [--timeout SECONDS]\n"
	      "                   [--token TOKEN [--token-query]] [URL]\n"
	      "    wsrelay-client --make-token SECRET_FILE [--subject NAME]\n"
	      "                   [--lifetime SECONDS] [--subscribe-only]\n"
	      "    wsrelay-client --help | --version\n"
	      "\n"
	      "DESCRIPTION\n"
	      "    Connects to URL (default " CLIENT_DEFAULT_URL "), sends each line\n"
	      "    read from standard input as one message (without its newline), and\n"
	      "    prints each message it receives on standard output, followed by a\n"
	      "    newline. A relay echoes messages to their sender by default, so your\n"
	      "    own lines come back too. At the end of standard input the client sends\n"
	      "    a close frame, waits up to 2 seconds for the server's reply, and exits.\n"
	      "    SIGINT (Ctrl-C), SIGTERM and SIGHUP end the session the same way.\n"
	      "\n"
	      "    URL is ws://HOST[:PORT][/PATH] or wss://HOST[:PORT][/PATH]. HOST is a\n"
	      "    name, an IPv4 address or an IPv6 address in brackets, e.g.\n"
	      "    ws://[::1]:8443/ws. PORT defaults to 80 for ws and 443 for wss.\n"
	      "\n"
	      "    Received messages, text or binary, are printed byte for byte; a\n"
	      "    message that itself holds newlines therefore spans several lines.\n"
	      "\n"
	      "OPTIONS\n"
	      "    --binary\n"
	      "        Send binary messages instead of text ones. Text messages must be\n"
	      "        valid UTF-8: the relay closes a client that sends anything else.\n"
	      "\n"
	      "    --count N\n"
	      "        Exit with status 0 once N messages have been received (and printed).\n"
	      "        The end of standard input then no longer ends the session, so\n"
	      "        `wsrelay-client --count 5 </dev/null` just listens.\n"
	      "\n"
	      "    --send TEXT\n"
	      "        Send TEXT as one message instead of reading standard input, and\n"
	      "        exit with status 0 as soon as the relay sends it back (status 1 if\n"
	      "        that does not happen within the timeout). Cannot be combined with\n"
	      "        --count.\n"
	      "\n"
	      "    --timeout SECONDS\n"
	      "        With --send, how long to wait for the echo (default 5). With\n"
	      "        --count, how long to wait for the N messages (default: no limit).\n"
	      "        Counted from the moment the connection is open.\n"
	      "\n"
	      "    --ca FILE\n"
	      "        wss only: accept the server's certificate only if it chains to a\n"
	      "        CA certificate in the PEM file FILE. Without --ca, the system's CA\n"
	      "        bundle is used.\n"
	      "\n"
	      "    --insecure\n"
	      "        wss only: do not verify the server's certificate at all. The\n"
	      "        connection is encrypted but anyone can impersonate the server.\n"
	      "\n"
	      "    --token TOKEN\n"
	      "        Send TOKEN (a JWT) in \"Authorization: Bearer TOKEN\", for a relay\n"
	      "        with auth.mode jwt (or an HTTP check that reads it).\n"
	      "\n"
	      "    --token-query\n"
	      "        Send the token as the access_token query parameter instead, as a\n"
	      "        browser must (it cannot set headers on a WebSocket).\n"
	      "\n"
	      "    --make-token SECRET_FILE\n"
	      "        For testing only: print an HS256 token signed with the bytes of\n"
	      "        SECRET_FILE (the relay's auth.jwt.secret_file) and exit. It has\n"
	      "        sub NAME (--subject, default \"wsrelay-client\"), expires after\n"
	      "        SECONDS (--lifetime, default 3600) and with --subscribe-only\n"
	      "        carries {\"wsrelay\": {\"publish\": false}}. Real tokens come from\n"
	      "        the application that knows its users.\n"
	      "\n"
	      "    --help\n"
	      "        Print this help and exit.\n"
	      "\n"
	      "    --version\n"
	      "        Print the version and exit.\n"
	      "\n"
	      "SECURITY\n"
	      "    The server's host name is NEVER checked against its certificate:\n"
	      "    CivetWeb, on which this client is built, has no host name\n"
	      "    verification. Any certificate that chains to a trusted CA is\n"
	      "    accepted, whatever name it was issued for. For real protection use\n"
	      "    --ca with a private CA that signs nothing but your relay's\n"
	      "    certificate.\n"
	      "\n"
	      "EXIT STATUS\n"
	      "    0   standard input ended and the server answered the close handshake;\n"
	      "        or --count messages were received; or --send was echoed\n"
	      "    1   cannot connect, the connection failed or was closed by the server,\n"
	      "        the timeout expired, or standard output could not be written\n"
	      "    2   usage error\n"
	      "\n"
	      "EXAMPLES\n"
	      "    echo hello | wsrelay-client ws://127.0.0.1:8443/ws\n"
	      "    wsrelay-client --send ping --timeout 2\n"
	      "    wsrelay-client --count 10 </dev/null >ten-messages.txt\n"
	      "    wsrelay-client --ca my-ca.pem wss://relay.example.com/ws\n"
	      "    wsrelay-client --token \"$(wsrelay-client --make-token secret)\" --send hi\n",
	      out);
}

static int usage_error(FILE *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int usage_error(FILE *err, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("wsrelay-client: ", err);
	vfprintf(err, fmt, ap);
	fputs("\nTry 'wsrelay-client --help' for more information.\n", err);
	va_end(ap);
	return CLIENT_EXIT_USAGE;
}

/* Decimal only and in range: a typo must not silently become 0 or a huge
 * number. */
static int parse_number(const char *text, unsigned long max, unsigned long *value)
{
	if (text[0] < '0' || text[0] > '9')
		return -1;
	char *end = NULL;
	errno = 0;
	unsigned long v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v == 0 || v > max)
		return -1;
	*value = v;
	return 0;
}

enum option_id {
	OPT_BINARY = 1,
	OPT_COUNT,
	OPT_SEND,
	OPT_TIMEOUT,
	OPT_CA,
	OPT_INSECURE,
	OPT_VERSION,
	OPT_TOKEN,
	OPT_TOKEN_QUERY,
	OPT_MAKE_TOKEN,
	OPT_SUBJECT,
	OPT_LIFETIME,
	OPT_SUBSCRIBE_ONLY
};

/* The token options among themselves. */
static int check_token_options(struct client_options *opts, FILE *err)
{
	if (opts->make_token)
		return -1;
	if (opts->subject || opts->lifetime || opts->subscribe_only)
		return usage_error(
		    err, "%s", "--subject, --lifetime and --subscribe-only go with --make-token");
	if (opts->token_query && !opts->token)
		return usage_error(err, "%s", "--token-query needs --token");
	if (opts->token && !client_token_valid(opts->token))
		return usage_error(
		    err, "%s", "--token takes a JWT: up to 8192 characters of A-Z a-z 0-9 - _ .");
	/* The query gets the token only after main() has formatted the URL
	 * for messages, so the token never appears in one. */
	struct ws_url probe = opts->url;
	if (opts->token_query && client_token_add_query(&probe, opts->token) < 0)
		return usage_error(err, "%s", "the URL with the token is too long");
	return -1;
}

int client_options_parse(int argc, char **argv, struct client_options *opts, FILE *out, FILE *err)
{
	static const struct option long_opts[] = {
	    {"binary", no_argument, NULL, OPT_BINARY},
	    {"count", required_argument, NULL, OPT_COUNT},
	    {"send", required_argument, NULL, OPT_SEND},
	    {"timeout", required_argument, NULL, OPT_TIMEOUT},
	    {"ca", required_argument, NULL, OPT_CA},
	    {"insecure", no_argument, NULL, OPT_INSECURE},
	    {"version", no_argument, NULL, OPT_VERSION},
	    {"token", required_argument, NULL, OPT_TOKEN},
	    {"token-query", no_argument, NULL, OPT_TOKEN_QUERY},
	    {"make-token", required_argument, NULL, OPT_MAKE_TOKEN},
	    {"subject", required_argument, NULL, OPT_SUBJECT},
	    {"lifetime", required_argument, NULL, OPT_LIFETIME},
	    {"subscribe-only", no_argument, NULL, OPT_SUBSCRIBE_ONLY},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	unsigned long number = 0;
	int ch;

	memset(opts, 0, sizeof(*opts));
	opts->url_text = CLIENT_DEFAULT_URL;
	/* Parsing may run more than once in a process (the unit tests). */
	optind = 0;
	opterr = 0;
	// NOLINTNEXTLINE(concurrency-mt-unsafe): runs before any thread is started
	while ((ch = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (ch) {
		case OPT_BINARY:
			opts->binary = true;
			break;
		case OPT_COUNT:
			if (parse_number(optarg, (unsigned long)-1, &number) < 0)
				return usage_error(
				    err, "--count needs a whole number above 0, not '%s'", optarg);
			opts->count = number;
			break;
		case OPT_SEND:
			opts->send_text = optarg;
			break;
		case OPT_TIMEOUT:
			if (parse_number(optarg, TIMEOUT_MAX_SECONDS, &number) < 0)
				return usage_error(err,
				                   "--timeout needs whole seconds from 1 to 86400, "
				                   "not '%s'",
				                   optarg);
			opts->timeout_seconds = (unsigned)number;
			opts->timeout_given = true;
			break;
		case OPT_CA:
			opts->ca_file = optarg;
			break;
		case OPT_INSECURE:
			opts->insecure = true;
			break;
		case OPT_TOKEN:
			opts->token = optarg;
			break;
		case OPT_TOKEN_QUERY:
			opts->token_query = true;
			break;
		case OPT_MAKE_TOKEN:
			opts->make_token = optarg;
			break;
		case OPT_SUBJECT:
			opts->subject = optarg;
			break;
		case OPT_LIFETIME:
			if (parse_number(optarg, 10UL * 365 * 86400, &number) < 0)
				return usage_error(
				    err, "--lifetime needs whole seconds above 0, not '%s'",
				    optarg);
			opts->lifetime = number;
			break;
		case OPT_SUBSCRIBE_ONLY:
			opts->subscribe_only = true;
			break;
		case OPT_VERSION:
			fprintf(out, "wsrelay-client %s (CivetWeb %s)\n", WSRELAY_VERSION,
			        mg_version());
			return CLIENT_EXIT_OK;
		case 'h':
			client_options_help(out);
			return CLIENT_EXIT_OK;
		case ':':
			return usage_error(err, "option %s needs a value", argv[optind - 1]);
		default:
			return usage_error(err, "unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		opts->url_text = argv[optind++];
	if (optind < argc)
		return usage_error(err, "unexpected argument %s (only one URL)", argv[optind]);

	char why[256];
	if (ws_url_parse(opts->url_text, &opts->url, why, sizeof(why)) < 0)
		return usage_error(err, "bad URL: %s", why);
	if (opts->send_text && opts->count > 0)
		return usage_error(err, "%s", "--send and --count cannot be used together");
	if (opts->timeout_given && !opts->send_text && opts->count == 0)
		return usage_error(err, "%s", "--timeout only applies to --send or --count");
	if (opts->insecure && opts->ca_file)
		return usage_error(err, "%s", "--insecure and --ca contradict each other");
	if ((opts->insecure || opts->ca_file) && !opts->url.tls)
		return usage_error(err, "%s", "--insecure and --ca only apply to wss:// URLs");
	if (opts->send_text && !opts->timeout_given)
		opts->timeout_seconds = TIMEOUT_DEFAULT_SECONDS;
	return check_token_options(opts, err);
}
