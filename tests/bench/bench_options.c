/* wsrelay-bench's options: defaults, parsing with strict number checks, and
 * the --help text. */
#include "bench_options.h"

#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The timestamp (8 bytes) and the publisher's number (4 bytes) ride in each
 * payload. */
#define MIN_PAYLOAD 12u
#define MAX_PAYLOAD ((size_t)16 * 1024 * 1024)

static const char usage[] =
    "usage: wsrelay-bench --port PORT [options]          (load run)\n"
    "       wsrelay-bench --port PORT --idle K [--hold S] (idle hold)\n"
    "\n"
    "A WebSocket load generator for wsrelay (or any broadcast relay): every\n"
    "message a publisher sends should reach every subscriber. Prints one JSON\n"
    "line: deliveries/s, loss, latency percentiles and, with --server-pid, the\n"
    "server's CPU-seconds, memory and threads.\n"
    "\n"
    "  --host ADDR          IPv4 address of the server (default 127.0.0.1)\n"
    "  --port PORT          the server's WebSocket port (required)\n"
    "  --path PATH          WebSocket path (default /ws)\n"
    "  --subs N             subscribers: read and time every message (default 10)\n"
    "  --pubs N             publishers: send messages (default 1)\n"
    "  --stalled N          extra subscribers that never read: does the server cut\n"
    "                       them loose and keep the others fast? (default 0)\n"
    "  --size BYTES         payload size, at least 12 (default 64)\n"
    "  --rate R             messages per second per publisher; 0 = as fast as the\n"
    "                       window allows (default 0)\n"
    "  --window N           with --rate 0: a publisher's messages in flight, sent\n"
    "                       but not yet relayed back to it (default 64)\n"
    "  --duration S         measured seconds (default 10)\n"
    "  --warmup S           seconds of sending before the measurement (default 2)\n"
    "  --drain S            a message later than this counts as lost (default 3)\n"
    "  --idle K             idle mode: open K connections and hold them\n"
    "  --hold S             idle mode: seconds to hold them (default 20)\n"
    "  --connect-rate C     new connections per second, 0 = no limit (default 2000)\n"
    "  --server-pid PID     report this process's CPU, memory and threads\n"
    "  --text               send text frames, the stamp written in hex (then\n"
    "                       --size is at least 24)\n"
    "  --rooms N            spread subscribers and publishers over N rooms\n"
    "                       (PATH/r0 .. PATH/r<N-1>, a relay with rooms.enabled):\n"
    "                       client i joins room i mod N, and each message is\n"
    "                       expected by its own room's subscribers only (default\n"
    "                       0: everyone at PATH)\n"
    "  --churn R            meanwhile, R clients per second join a room of their\n"
    "                       own (PATH/churn-0 .. churn-99) and leave it at once,\n"
    "                       on a thread of their own (default 0)\n"
    "  --tls                wss:// (TLS 1.2 or later); the server's certificate\n"
    "                       is checked against the system's CAs and must name\n"
    "                       --host, unless one of:\n"
    "  --ca FILE            check it against the CA certificates in FILE (PEM)\n"
    "  --insecure           do not check it (a self-signed test certificate)\n"
    "  --help               this text\n"
    "\n"
    "Messages are binary frames whose payload starts with the send time\n"
    "(CLOCK_MONOTONIC, ns, 8 bytes little-endian) and the publisher's number (4\n"
    "bytes), so latency is measured on one clock. Exit status: 0 done, 1 the run failed\n"
    "(no connection, server gone), 2 bad options.\n";

static int bad(const char *what, const char *value)
{
	fprintf(stderr, "wsrelay-bench: %s: '%s' (see --help)\n", what, value);
	return -1;
}

static int parse_unsigned(const char *text, unsigned long max, unsigned *out)
{
	char *end = NULL;
	errno = 0;
	if (text[0] < '0' || text[0] > '9')
		return -1;
	unsigned long v = strtoul(text, &end, 10);
	if (errno != 0 || *end != '\0' || v > max)
		return -1;
	*out = (unsigned)v;
	return 0;
}

static int parse_seconds(const char *text, double max, double *out)
{
	char *end = NULL;
	errno = 0;
	if ((text[0] < '0' || text[0] > '9') && text[0] != '.')
		return -1;
	double v = strtod(text, &end);
	if (errno != 0 || *end != '\0' || !isfinite(v) || v < 0 || v > max)
		return -1;
	*out = v;
	return 0;
}

static void set_defaults(struct bench_options *o)
{
	memset(o, 0, sizeof(*o));
	o->mode = BENCH_MODE_LOAD;
	snprintf(o->host, sizeof(o->host), "127.0.0.1");
	snprintf(o->path, sizeof(o->path), "/ws");
	o->subscribers = 10;
	o->publishers = 1;
	o->size = 64;
	o->window = 64;
	o->duration_s = 10;
	o->warmup_s = 2;
	o->drain_s = 3;
	o->hold_s = 20;
	o->connect_rate = 2000;
}

enum {
	OPT_HOST = 256,
	OPT_PORT,
	OPT_PATH,
	OPT_SUBS,
	OPT_PUBS,
	OPT_STALLED,
	OPT_SIZE,
	OPT_RATE,
	OPT_WINDOW,
	OPT_DURATION,
	OPT_WARMUP,
	OPT_DRAIN,
	OPT_IDLE,
	OPT_HOLD,
	OPT_CONNECT_RATE,
	OPT_SERVER_PID,
	OPT_TEXT,
	OPT_ROOMS,
	OPT_CHURN,
	OPT_TLS,
	OPT_CA,
	OPT_INSECURE,
	OPT_HELP,
};

static const struct option long_options[] = {
    {"host", required_argument, NULL, OPT_HOST},
    {"port", required_argument, NULL, OPT_PORT},
    {"path", required_argument, NULL, OPT_PATH},
    {"subs", required_argument, NULL, OPT_SUBS},
    {"pubs", required_argument, NULL, OPT_PUBS},
    {"stalled", required_argument, NULL, OPT_STALLED},
    {"size", required_argument, NULL, OPT_SIZE},
    {"rate", required_argument, NULL, OPT_RATE},
    {"window", required_argument, NULL, OPT_WINDOW},
    {"duration", required_argument, NULL, OPT_DURATION},
    {"warmup", required_argument, NULL, OPT_WARMUP},
    {"drain", required_argument, NULL, OPT_DRAIN},
    {"idle", required_argument, NULL, OPT_IDLE},
    {"hold", required_argument, NULL, OPT_HOLD},
    {"connect-rate", required_argument, NULL, OPT_CONNECT_RATE},
    {"server-pid", required_argument, NULL, OPT_SERVER_PID},
    {"text", no_argument, NULL, OPT_TEXT},
    {"rooms", required_argument, NULL, OPT_ROOMS},
    {"churn", required_argument, NULL, OPT_CHURN},
    {"tls", no_argument, NULL, OPT_TLS},
    {"ca", required_argument, NULL, OPT_CA},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"help", no_argument, NULL, OPT_HELP},
    {NULL, 0, NULL, 0},
};

/* One option's value into opts; -1 after printing why it is wrong. */
static int apply(struct bench_options *o, int opt, const char *arg)
{
	unsigned u = 0;
	switch (opt) {
	case OPT_HOST: {
		struct in_addr addr;
		if (strlen(arg) >= sizeof(o->host) || inet_pton(AF_INET, arg, &addr) != 1)
			return bad("--host wants an IPv4 address", arg);
		snprintf(o->host, sizeof(o->host), "%s", arg);
		return 0;
	}
	case OPT_PORT:
		if (parse_unsigned(arg, 65535, &u) != 0 || u == 0)
			return bad("--port wants 1..65535", arg);
		o->port = (uint16_t)u;
		return 0;
	case OPT_PATH:
		if (arg[0] != '/' || strlen(arg) >= sizeof(o->path) || strpbrk(arg, " \r\n"))
			return bad("--path wants an absolute path without spaces", arg);
		snprintf(o->path, sizeof(o->path), "%s", arg);
		return 0;
	case OPT_SUBS:
		return parse_unsigned(arg, 1000000, &o->subscribers)
		           ? bad("--subs wants a count", arg)
		           : 0;
	case OPT_PUBS:
		return parse_unsigned(arg, 100000, &o->publishers)
		           ? bad("--pubs wants a count", arg)
		           : 0;
	case OPT_STALLED:
		return parse_unsigned(arg, 100000, &o->stalled)
		           ? bad("--stalled wants a count", arg)
		           : 0;
	case OPT_SIZE:
		if (parse_unsigned(arg, MAX_PAYLOAD, &o->size) != 0 || o->size < MIN_PAYLOAD)
			return bad("--size wants 12..16777216 bytes", arg);
		return 0;
	case OPT_RATE:
		return parse_seconds(arg, 1e7, &o->rate)
		           ? bad("--rate wants messages per second", arg)
		           : 0;
	case OPT_WINDOW:
		if (parse_unsigned(arg, 1000000, &o->window) != 0 || o->window == 0)
			return bad("--window wants a count of at least 1", arg);
		return 0;
	case OPT_DURATION:
		if (parse_seconds(arg, 86400, &o->duration_s) != 0 || o->duration_s <= 0)
			return bad("--duration wants seconds above 0", arg);
		return 0;
	case OPT_WARMUP:
		return parse_seconds(arg, 3600, &o->warmup_s) ? bad("--warmup wants seconds", arg)
		                                              : 0;
	case OPT_DRAIN:
		return parse_seconds(arg, 3600, &o->drain_s) ? bad("--drain wants seconds", arg)
		                                             : 0;
	case OPT_IDLE:
		if (parse_unsigned(arg, 1000000, &o->idle) != 0 || o->idle == 0)
			return bad("--idle wants a count of at least 1", arg);
		o->mode = BENCH_MODE_IDLE;
		return 0;
	case OPT_HOLD:
		return parse_seconds(arg, 86400, &o->hold_s) ? bad("--hold wants seconds", arg) : 0;
	case OPT_CONNECT_RATE:
		return parse_seconds(arg, 1e7, &o->connect_rate)
		           ? bad("--connect-rate wants connections per second", arg)
		           : 0;
	case OPT_SERVER_PID:
		if (parse_unsigned(arg, 4194304, &u) != 0 || u == 0)
			return bad("--server-pid wants a process id", arg);
		o->server_pid = (pid_t)u;
		return 0;
	case OPT_TEXT:
		o->text = true;
		return 0;
	case OPT_CHURN:
		return parse_seconds(arg, 100000, &o->churn)
		           ? bad("--churn wants joins per second", arg)
		           : 0;
	case OPT_ROOMS:
		return parse_unsigned(arg, 1000000, &o->rooms) ? bad("--rooms wants a count", arg)
		                                               : 0;
	case OPT_TLS:
		o->tls = true;
		return 0;
	case OPT_CA:
		if (arg[0] == '\0' || strlen(arg) >= sizeof(o->ca_file))
			return bad("--ca wants a file name", arg);
		snprintf(o->ca_file, sizeof(o->ca_file), "%s", arg);
		return 0;
	case OPT_INSECURE:
		o->insecure = true;
		return 0;
	default:
		return -1;
	}
}

/* The TLS options agree with each other and with the rest; -1 after
 * printing why not. */
static int check_tls(const struct bench_options *o)
{
	const char *problem = NULL;
	if ((o->insecure || o->ca_file[0]) && !o->tls)
		problem = "--ca and --insecure go with --tls";
	else if (o->insecure && o->ca_file[0])
		problem = "--ca and --insecure exclude each other";
	else if (o->tls && o->churn > 0)
		problem = "--churn is plain ws:// only";
	if (!problem)
		return 0;
	fprintf(stderr, "wsrelay-bench: %s\n", problem);
	return -1;
}

int bench_options_parse(struct bench_options *o, int argc, char **argv)
{
	set_defaults(o);
	opterr = 0;
	optind = 1;
	int opt;
	/* getopt_long keeps global state; wsrelay-bench has one thread. */
	// NOLINTNEXTLINE(concurrency-mt-unsafe)
	while ((opt = getopt_long(argc, argv, "", long_options, NULL)) != -1) {
		if (opt == OPT_HELP) {
			fputs(usage, stdout);
			return 1;
		}
		if (opt == '?' || opt == ':') {
			const char *which = argv[optind - 1];
			if (optopt != 0)
				return bad("option needs a value", which);
			return bad("unknown option", which);
		}
		if (apply(o, opt, optarg) != 0)
			return -1;
	}
	if (optind < argc)
		return bad("unexpected argument", argv[optind]);
	if (o->port == 0) {
		fprintf(stderr, "wsrelay-bench: --port is required (see --help)\n");
		return -1;
	}
	if (o->text && o->size < 24) {
		fprintf(stderr, "wsrelay-bench: --text needs --size of at least 24\n");
		return -1;
	}
	if (check_tls(o) != 0)
		return -1;
	if (o->mode == BENCH_MODE_LOAD && o->subscribers == 0) {
		fprintf(stderr, "wsrelay-bench: a load run needs at least one subscriber\n");
		return -1;
	}
	return 0;
}
