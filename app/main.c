/* wsrelay: command line, start-up checks and the signal-driven lifecycle. */
#include <civetweb.h>
#include <getopt.h>
#include <inttypes.h>
#include <openssl/opensslv.h>
#include <signal.h>
#include <stdio.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth.h"
#include "clock.h"
#include "config.h"
#include "cluster.h"
#include "log.h"
#include "metrics_server.h"
#include "tls_context.h"
#include "resource_limits.h"
#include "sd_notify.h"
#include "server.h"
#include "server_state.h"

#ifndef WSRELAY_VERSION
#define WSRELAY_VERSION "unknown"
#endif

enum exit_code { EXIT_OK = 0, EXIT_STARTUP = 1, EXIT_USAGE = 2 };

/* Descriptors a worker may hold besides its client socket: static files,
 * listeners, the log. */
#define FD_RESERVE     64UL
#define THREAD_RESERVE 32UL

static void usage(FILE *out)
{
	fprintf(out, "usage: wsrelay [--config-file PATH] [--check-config] [--version] [--help]\n"
	             "\n"
	             "WebSocket broadcast relay: every message a client sends goes to every\n"
	             "connected client.\n"
	             "\n"
	             "  --config-file PATH  YAML configuration (default: built-in defaults,\n"
	             "                      as documented in conf/wsrelay.yaml)\n"
	             "  --check-config      validate the configuration, print the effective\n"
	             "                      settings and exit (0 valid, 2 invalid)\n"
	             "  --version           print the version and exit\n"
	             "  --help              print this help and exit\n"
	             "\n"
	             "Exit status: 0 after a clean stop, 1 when the server cannot start,\n"
	             "2 for a usage or configuration error.\n");
}

/* After the line naming the problem: a hint, not the whole help. */
static int usage_error(void)
{
	fputs("Try 'wsrelay --help'.\n", stderr);
	return EXIT_USAGE;
}

struct options {
	const char *config_file;
	bool check_config;
};

/* Returns -1 to go on, or the exit status to leave with. */
static int parse_args(int argc, char **argv, struct options *opts)
{
	static const struct option long_opts[] = {
	    {"config-file", required_argument, NULL, 'c'},
	    {"check-config", no_argument, NULL, 'k'},
	    {"version", no_argument, NULL, 'V'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0},
	};
	opterr = 0;
	int ch;
	/* getopt_long keeps global state; this runs before any thread exists. */
	// NOLINTNEXTLINE(concurrency-mt-unsafe)
	while ((ch = getopt_long(argc, argv, ":h", long_opts, NULL)) != -1) {
		switch (ch) {
		case 'c':
			opts->config_file = optarg;
			break;
		case 'k':
			opts->check_config = true;
			break;
		case 'V':
			printf("wsrelay %s (CivetWeb %s, %s)\n", WSRELAY_VERSION, mg_version(),
			       OPENSSL_VERSION_TEXT);
			return EXIT_OK;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		case ':':
			fprintf(stderr, "wsrelay: option %s needs a value\n", argv[optind - 1]);
			return usage_error();
		default:
			fprintf(stderr, "wsrelay: unknown option %s\n", argv[optind - 1]);
			return usage_error();
		}
	}
	if (optind < argc) {
		fprintf(stderr, "wsrelay: unexpected argument %s\n", argv[optind]);
		return usage_error();
	}
	return -1;
}

/* The drain after SIGINT/SIGTERM: close 1001 to everyone, then wait for
 * their close replies until the timeout or another signal. The close frames
 * are only queued here (the sender threads write them), so nothing blocks
 * the timeout or the second signal. */
static void drain(struct server *srv, const struct config *cfg, const sigset_t *signals)
{
	clock_mono_t start = clock_now();
	size_t sent = server_begin_drain(srv);
	log_info("shutting down: sent close 1001 to %zu clients, waiting up to %u s", sent,
	         cfg->shutdown.timeout_seconds);

	uint64_t limit_ms = (uint64_t)cfg->shutdown.timeout_seconds * 1000;
	size_t left = server_client_count(srv);
	while (left > 0 && clock_elapsed_ms(start) < limit_ms) {
		struct timespec tick = {.tv_sec = 0, .tv_nsec = 20 * 1000000L};
		if (sigtimedwait(signals, NULL, &tick) > 0) {
			log_warn("second signal: not waiting for the remaining clients");
			break;
		}
		left = server_client_count(srv);
	}
	if (left > 0)
		server_abort_clients(srv);
	log_info("shutdown: %zu clients closed cleanly, %zu cut off, after %" PRIu64 " ms",
	         sent > left ? sent - left : 0, left, clock_elapsed_ms(start));
}

/* SIGHUP: the certificates are read again from the same paths; open
 * connections keep theirs, and a pair that fails its checks is refused with
 * the old one left in service. */
static void reload_certificates(struct server *srv, struct metrics_server *metrics)
{
	struct {
		const char *section;
		struct tls_context *tls;
	} listeners[] = {{"server.tls", server_tls(srv)},
	                 {"metrics.tls", metrics_server_tls(metrics)}};
	bool any = false;
	for (size_t i = 0; i < sizeof(listeners) / sizeof(listeners[0]); i++) {
		if (!listeners[i].tls)
			continue;
		any = true;
		char err[1024];
		if (tls_context_reload(listeners[i].tls, err, sizeof(err)) == 0)
			log_info("%s: certificate and key reloaded", listeners[i].section);
		else
			log_error("%s; the previous certificate stays in service", err);
	}
	if (!any)
		log_info("SIGHUP: no listener serves TLS, no certificate to reload");
}

/* SIGHUP, for access control: the JWT key files are read again; a bad
 * file keeps the keys in service (and is counted). */
static void reload_auth_keys(struct server *srv)
{
	char err[1024];
	int rc = auth_reload(server_auth(srv), err, sizeof(err));
	if (rc == 0)
		log_info("auth.jwt: keys reloaded");
	else if (rc < 0)
		log_error("auth.jwt: %s; the previous keys stay in service", err);
}

/* Thread: main. A failure only costs systemd's view of the state, so it is
 * logged and the relay goes on. */
static void notify_state(const char *notify, const char *state)
{
	char err[512];
	if (sd_notify_send(notify, state, err, sizeof(err)) != 0)
		log_warn("%s", err);
	else if (notify)
		log_debug("told systemd %s", state);
}

static void *stop_metrics(void *metrics)
{
	metrics_server_stop(metrics);
	return NULL;
}

int main(int argc, char **argv)
{
	struct options opts = {0};
	int early = parse_args(argc, argv, &opts);
	if (early >= 0)
		return early;

	const char *notify = sd_notify_socket(); /* before any thread exists */
	struct config cfg;
	char err[1024];
	int rc = opts.config_file ? config_load(&cfg, opts.config_file, err, sizeof(err))
	                          : config_set_defaults(&cfg);
	if (rc != 0) {
		fprintf(stderr, "wsrelay: %s\n", opts.config_file ? err : "out of memory");
		return EXIT_USAGE;
	}
	if (opts.check_config) {
		config_print(&cfg, stdout);
		config_free(&cfg);
		return EXIT_OK;
	}
	log_set_level(cfg.logging.level);
	log_set_format(cfg.logging.format);

	unsigned long clients = cfg.server.max_connections;
	if (resource_limits_check(clients + THREAD_RESERVE, clients + FD_RESERVE, err,
	                          sizeof(err)) != 0) {
		fprintf(stderr, "wsrelay: %s\n", err);
		config_free(&cfg);
		return EXIT_STARTUP;
	}

	/* Blocked before any thread exists, so every CivetWeb thread inherits the
	 * mask and the signals reach only sigtimedwait below. */
	sigset_t signals, with_hup;
	sigemptyset(&signals);
	sigaddset(&signals, SIGINT);
	sigaddset(&signals, SIGTERM);
	with_hup = signals;
	sigaddset(&with_hup, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &with_hup, NULL);
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR)
		log_warn("cannot ignore SIGPIPE: a write to a closed socket may end the process");

	if (cfg.server.allowed_origins_count == 0)
		log_warn("server.allowed_origins is empty: pages from any web site may connect");

	mg_init_library(MG_FEATURES_TLS | MG_FEATURES_WEBSOCKET | MG_FEATURES_IPV6);
	/* /metrics and /healthz answer before the first client can connect:
	 * whoever sees the WebSocket port open may scrape at once. */
	struct server *srv = server_start(&cfg, err, sizeof(err));
	struct metrics_server *metrics = NULL;
	if (srv && cfg.metrics.enabled) {
		metrics = metrics_server_start(&cfg, srv, err, sizeof(err));
		if (!metrics) {
			server_stop(srv);
			srv = NULL;
		}
	}
	if (srv && server_listen(srv, err, sizeof(err)) != 0) {
		metrics_server_stop(metrics);
		server_stop(srv);
		srv = NULL;
	}
	if (!srv) {
		fprintf(stderr, "wsrelay: %s\n", err);
		mg_exit_library();
		config_free(&cfg);
		return EXIT_STARTUP;
	}

	/* Both listeners accept, each with its spare workers up (CivetWeb
	 * starts the rest as clients come, patch 0013; main() checked the
	 * limits for all of them before): tell systemd. */
	notify_state(notify, "READY=1");

	int sig = 0;
	for (;;) {
		if (sigwait(&with_hup, &sig) != 0)
			continue;
		if (sig != SIGHUP)
			break;
		reload_certificates(srv, metrics);
		reload_auth_keys(srv);
		cluster_reload_keys(server_cluster(srv));
	}
	log_info("received %s", sig == SIGINT ? "SIGINT" : "SIGTERM");
	notify_state(notify, "STOPPING=1");
	/* Metrics and /healthz keep answering through the drain (healthz with
	 * 503), so the last scrape sees the shutdown. */
	drain(srv, &cfg, &signals);
	/* Each mg_stop can take up to CivetWeb's 2 s poll quantum: stop the
	 * two listeners side by side rather than one after the other. */
	pthread_t metrics_stopper;
	bool parallel =
	    metrics && pthread_create(&metrics_stopper, NULL, stop_metrics, metrics) == 0;
	if (!parallel)
		metrics_server_stop(metrics);
	server_stop_listening(srv);
	/* A scrape reads the server: it is freed only after the metrics
	 * listener is gone. */
	if (parallel)
		pthread_join(metrics_stopper, NULL);
	server_stop(srv);
	mg_exit_library();
	config_free(&cfg);
	log_info("stopped");
	return EXIT_OK;
}
