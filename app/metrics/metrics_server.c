#include "metrics_server.h"

#include <civetweb.h>
#include <openssl/crypto.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>

#include "exposition.h"
#include "listen_addr.h"
#include "log.h"
#include "metrics_access.h"
#include "process_metrics.h"
#include "relay_metrics.h"
#include "server.h"
#include "tls_context.h"

/* Scrapes and health checks are short, and these workers are not taken
 * from the WebSocket pool. A connection that drips its request holds a
 * worker until its head is late: that timeout is short (a scraper sends its
 * request at once), and there are workers enough that /healthz finds one
 * while a hundred such connections wait; with 32, /healthz waited up to
 * 1.2 s behind them (docs/security.md has the measurements). */
#if defined(__SANITIZE_THREAD__)
#define METRICS_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define METRICS_TSAN 1
#endif
#endif
#ifdef METRICS_TSAN
/* TSan's bookkeeping of every synchronised operation grows with the number
 * of threads: 128 idle workers made the relay's peak memory under TSan grow
 * by 100 MiB in test_protocol's allocation check. The TSan build only
 * checks that /healthz answers, not how fast. */
#define METRICS_THREADS "32"
#else
#define METRICS_THREADS "128"
#endif
/* From the first byte to the end of the head: with TCP_DEFER_ACCEPT below,
 * a scrape is accepted only once its request arrived, so this only cuts
 * heads that drip. TLS adds its handshake's round trips. */
#define METRICS_REQUEST_TIMEOUT_MS     "250"
#define METRICS_TLS_REQUEST_TIMEOUT_MS "2000"
/* A connection that has sent nothing is not handed to CivetWeb at all for
 * this long (TCP_DEFER_ACCEPT): idle sockets cost no worker. */
#define METRICS_DEFER_ACCEPT_S 30
#define METRICS_LISTEN_BACKLOG "4096"

struct metrics_server {
	const struct config *cfg;
	struct server *srv;
	struct mg_context *ctx;
	struct tls_context *tls; /* metrics.tls, or NULL */
	char *token;             /* metrics.bearer_token_file's token, or NULL */
};

static void send_text(struct mg_connection *conn, int status, const char *content_type,
                      const char *body, size_t len, bool head)
{
	char length[24];
	snprintf(length, sizeof(length), "%zu", len);
	mg_response_header_start(conn, status);
	mg_response_header_add(conn, "Content-Type", content_type, -1);
	mg_response_header_add(conn, "Content-Length", length, -1);
	mg_response_header_add(conn, "Cache-Control", "no-store", -1);
	mg_response_header_send(conn);
	if (!head)
		mg_write(conn, body, len);
}

/* Returns true for GET and HEAD; answers 405 to anything else. */
static bool readable_method(struct mg_connection *conn, bool *head)
{
	const char *method = mg_get_request_info(conn)->request_method;
	*head = strcmp(method, "HEAD") == 0;
	if (*head || strcmp(method, "GET") == 0)
		return true;
	mg_response_header_start(conn, 405);
	mg_response_header_add(conn, "Allow", "GET, HEAD", -1);
	mg_response_header_add(conn, "Content-Length", "0", -1);
	mg_response_header_send(conn);
	return false;
}

/* Only listeners that serve TLS have a certificate to report. */
static void write_tls_metrics(struct metrics_server *ms, struct exposition *e)
{
	struct {
		const char *listener;
		struct tls_context *tls;
	} served[] = {{"websocket", server_tls(ms->srv)}, {"metrics", ms->tls}};
	if (!served[0].tls && !served[1].tls)
		return;
	int64_t now = (int64_t)time(NULL);
	exposition_family(e, "wsrelay_tls_certificate_expiry_seconds", "gauge",
	                  "Seconds until the served certificate expires (negative once it has), "
	                  "by listener.");
	for (size_t i = 0; i < 2; i++) {
		if (!served[i].tls)
			continue;
		const char *labels[] = {"listener", served[i].listener, NULL};
		exposition_double(e, "wsrelay_tls_certificate_expiry_seconds", labels,
		                  (double)(tls_context_not_after(served[i].tls) - now));
	}
	exposition_family(e, "wsrelay_tls_certificate_reloads_total", "counter",
	                  "Certificate reloads (SIGHUP), by listener and result; a failed one "
	                  "leaves the previous certificate in service.");
	for (size_t i = 0; i < 2; i++) {
		if (!served[i].tls)
			continue;
		uint64_t ok, failed;
		tls_context_reload_counts(served[i].tls, &ok, &failed);
		const char *ok_labels[] = {"listener", served[i].listener, "result", "success",
		                           NULL};
		const char *failed_labels[] = {"listener", served[i].listener, "result", "failure",
		                               NULL};
		exposition_uint(e, "wsrelay_tls_certificate_reloads_total", ok_labels, ok);
		exposition_uint(e, "wsrelay_tls_certificate_reloads_total", failed_labels, failed);
	}
	exposition_family(e, "wsrelay_tls_handshake_failures_total", "counter",
	                  "TLS handshakes that ended in a fatal alert (no client certificate, no "
	                  "shared version or cipher, our certificate refused), by listener.");
	for (size_t i = 0; i < 2; i++) {
		if (!served[i].tls)
			continue;
		const char *labels[] = {"listener", served[i].listener, NULL};
		exposition_uint(e, "wsrelay_tls_handshake_failures_total", labels,
		                tls_context_handshake_failures(served[i].tls));
	}
}

static int on_metrics(struct mg_connection *conn, void *cbdata)
{
	struct metrics_server *ms = cbdata;
	/* CivetWeb also routes "<path>/anything" here. */
	if (strcmp(mg_get_request_info(conn)->local_uri, ms->cfg->metrics.path) != 0)
		return 0;
	bool head;
	if (!readable_method(conn, &head))
		return 405;
	if (ms->token &&
	    !metrics_access_bearer_ok(mg_get_header(conn, "Authorization"), ms->token)) {
		mg_response_header_start(conn, 401);
		mg_response_header_add(conn, "WWW-Authenticate", "Bearer realm=\"wsrelay metrics\"",
		                       -1);
		mg_response_header_add(conn, "Content-Length", "0", -1);
		mg_response_header_send(conn);
		return 401;
	}

	struct exposition e;
	exposition_init(&e);
	relay_metrics_write(ms->srv, &e);
	write_tls_metrics(ms, &e);
	process_metrics_write(&e);
	if (e.failed) {
		exposition_free(&e);
		send_text(conn, 500, "text/plain; charset=utf-8", "out of memory\n", 14, head);
		return 500;
	}
	send_text(conn, 200, EXPOSITION_CONTENT_TYPE, e.text, e.len, head);
	exposition_free(&e);
	return 200;
}

/* 200 while the relay takes clients, 503 from the start of the shutdown, so
 * a load balancer stops sending new clients before they would be refused. */
static int on_healthz(struct mg_connection *conn, void *cbdata)
{
	struct metrics_server *ms = cbdata;
	if (strcmp(mg_get_request_info(conn)->local_uri, "/healthz") != 0)
		return 0;
	bool head;
	if (!readable_method(conn, &head))
		return 405;
	bool ok = !server_draining(ms->srv);
	const char *body = ok ? "ok\n" : "shutting down\n";
	send_text(conn, ok ? 200 : 503, "text/plain; charset=utf-8", body, strlen(body), head);
	return ok ? 200 : 503;
}

static int on_log_message(const struct mg_connection *conn, const char *message)
{
	(void)conn;
	log_warn("civetweb (metrics): %s", message);
	return 1;
}

/* Runs inside mg_start before any worker exists, so no request can arrive
 * before the handlers are in place. */
static void on_init_context(const struct mg_context *ctx)
{
	struct metrics_server *ms = mg_get_user_data(ctx);
	struct mg_context *writable = (struct mg_context *)(uintptr_t)ctx;
	mg_set_request_handler(writable, ms->cfg->metrics.path, on_metrics, ms);
	mg_set_request_handler(writable, "/healthz", on_healthz, ms);
}

static int provide_ssl_ctx(void **ssl_ctx, void *user_data)
{
	struct metrics_server *ms = user_data;
	if (!ms->tls)
		return 0;
	*ssl_ctx = tls_context_ssl_ctx(ms->tls);
	return 1;
}

/* CivetWeb does not hand out its listening sockets: the one bound to port
 * is found among the process's descriptors (at start, before any other
 * thread of ours opens one) and told to defer accepting until data came.
 * Returns whether it was found. */
static bool defer_accept(unsigned port)
{
	struct rlimit files;
	int max = getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur < 65536
	              ? (int)files.rlim_cur
	              : 65536;
	for (int fd = 0; fd < max; fd++) {
		int listening = 0;
		socklen_t len = sizeof(listening);
		struct sockaddr_storage addr = {0};
		socklen_t alen = sizeof(addr);
		if (getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) != 0 ||
		    !listening || getsockname(fd, (struct sockaddr *)&addr, &alen) != 0)
			continue;
		unsigned bound =
		    addr.ss_family == AF_INET    ? ntohs(((struct sockaddr_in *)&addr)->sin_port)
		    : addr.ss_family == AF_INET6 ? ntohs(((struct sockaddr_in6 *)&addr)->sin6_port)
		                                 : 0;
		int seconds = METRICS_DEFER_ACCEPT_S;
		if (bound == port &&
		    setsockopt(fd, IPPROTO_TCP, TCP_DEFER_ACCEPT, &seconds, sizeof(seconds)) == 0)
			return true;
	}
	return false;
}

struct metrics_server *metrics_server_start(const struct config *cfg, struct server *srv, char *err,
                                            size_t errlen)
{
	struct metrics_server *ms = calloc(1, sizeof(*ms));
	if (!ms) {
		snprintf(err, errlen, "out of memory");
		return NULL;
	}
	ms->cfg = cfg;
	ms->srv = srv;
	if (cfg->metrics.bearer_token_file[0]) {
		ms->token = metrics_access_read_token(cfg->metrics.bearer_token_file, err, errlen);
		if (!ms->token) {
			free(ms);
			return NULL;
		}
	}
	char *acl = metrics_access_acl(cfg);
	if (!acl) {
		snprintf(err, errlen, "out of memory");
		free(ms->token);
		free(ms);
		return NULL;
	}

	bool tls = cfg->metrics.tls.enabled;
	if (tls) {
		ms->tls = tls_context_create(&cfg->metrics.tls, "metrics.tls", err, errlen);
		if (!ms->tls) {
			free(acl);
			free(ms->token);
			free(ms);
			return NULL;
		}
	}
	char addr[LISTEN_ADDR_TEXT_SIZE], port[LISTEN_ADDR_TEXT_SIZE + 1];
	listen_addr_format(&cfg->metrics.listen, addr);
	snprintf(port, sizeof(port), "%s%s", addr, tls ? "s" : "");
	const char *options[] = {
	    "listening_ports",
	    port,
	    "num_threads",
	    METRICS_THREADS,
	    "request_timeout_ms",
	    tls ? METRICS_TLS_REQUEST_TIMEOUT_MS : METRICS_REQUEST_TIMEOUT_MS,
	    /* Deferred connections wait in the listener's queue: room for
	     * thousands, so a probe's SYN is never the one dropped. */
	    "listen_backlog",
	    METRICS_LISTEN_BACKLOG,
	    /* Filled below when metrics.allowed_networks lists any. */
	    NULL,
	    NULL,
	    NULL,
	};
	if (acl[0]) {
		options[8] = "access_control_list";
		options[9] = acl;
	}
	struct mg_callbacks callbacks;
	memset(&callbacks, 0, sizeof(callbacks));
	callbacks.log_message = on_log_message;
	callbacks.init_context = on_init_context;
	callbacks.external_ssl_ctx = provide_ssl_ctx;

	char mg_err[256] = "";
	struct mg_error_data error = {.text = mg_err, .text_buffer_size = sizeof(mg_err)};
	struct mg_init_data init = {
	    .callbacks = &callbacks, .user_data = ms, .configuration_options = options};
	ms->ctx = mg_start2(&init, &error);
	free(acl);
	if (!ms->ctx) {
		snprintf(err, errlen, "cannot start the metrics listener on %s://%s: %s",
		         tls ? "https" : "http", addr, mg_err[0] ? mg_err : "unknown error");
		tls_context_free(ms->tls);
		free(ms->token);
		free(ms);
		return NULL;
	}
	if (!defer_accept(cfg->metrics.listen.port))
		log_warn(
		    "metrics listener: TCP_DEFER_ACCEPT not set; idle connections take workers");
	log_info("metrics on %s://%s%s, health on /healthz", tls ? "https" : "http", addr,
	         cfg->metrics.path);
	return ms;
}

void metrics_server_stop(struct metrics_server *ms)
{
	if (!ms)
		return;
	mg_stop(ms->ctx);
	tls_context_free(ms->tls);
	if (ms->token)
		OPENSSL_cleanse(ms->token, strlen(ms->token));
	free(ms->token);
	free(ms);
}

struct tls_context *metrics_server_tls(struct metrics_server *ms)
{
	return ms ? ms->tls : NULL;
}
