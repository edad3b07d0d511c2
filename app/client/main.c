/* wsrelay-client: stdin lines out as messages, received messages to stdout.
 * The main thread owns stdin and the decisions; CivetWeb's reader thread
 * prints (see session.h). */
#include <civetweb.h>
#include <errno.h>
#include <openssl/x509.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/signalfd.h>
#include <time.h>
#include <unistd.h>

#include "client_options.h"
#include "client_token.h"
#include "line_reader.h"
#include "session.h"

/* How long the server gets to answer our close frame. Without its answer
 * CivetWeb can only stop the reader at its next 2 s poll wake-up. */
#define CLOSE_WAIT_MS 2000

/* strerror may share one buffer between threads, and CivetWeb's reader
 * thread runs beside ours. */
#define ERRNO_TEXT(e) strerror_r((e), (char[128]){0}, 128)

struct run {
	const struct client_options *opts;
	struct session session;
	struct line_reader input;
	bool reading_stdin;
	int signal_fd;
	long long deadline_ms; /* 0: none */
	char url[WS_URL_HOST_MAX + WS_URL_PATH_MAX + 32];
};

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static const char *close_code_name(uint16_t code)
{
	switch (code) {
	case 1000:
		return "normal closure";
	case 1001:
		return "going away";
	case 1002:
		return "protocol error";
	case 1003:
		return "unsupported data";
	case 1007:
		return "invalid data";
	case 1008:
		return "policy violation";
	case 1009:
		return "message too big";
	case 1011:
		return "server error";
	default:
		return "";
	}
}

static void report_lost_connection(const struct run *r, const struct session_status *st)
{
	if (st->message_too_big)
		fprintf(stderr, "wsrelay-client: %s sent a message over %zu bytes; giving up\n",
		        r->url, SESSION_MAX_MESSAGE);
	else if (st->close_received && st->close_code == 0)
		fprintf(stderr, "wsrelay-client: %s closed the connection\n", r->url);
	else if (st->close_received)
		fprintf(stderr, "wsrelay-client: %s closed the connection: %u %s%s%s\n", r->url,
		        (unsigned)st->close_code, close_code_name(st->close_code),
		        st->close_reason[0] ? ": " : "", st->close_reason);
	else
		fprintf(stderr, "wsrelay-client: connection to %s lost\n", r->url);
}

/* The end of a session we chose to end. Returns the exit status. */
static int finish(struct run *r, int status)
{
	bool answered = session_close(&r->session, CLOSE_WAIT_MS);
	if (status != CLIENT_EXIT_OK)
		return status;
	if (!answered) {
		fprintf(stderr, "wsrelay-client: %s did not answer the close handshake\n", r->url);
		return CLIENT_EXIT_FAILURE;
	}
	/* The server's close may not be the answer to ours but its own verdict
	 * on something we sent before (e.g. 1007 for text that is not UTF-8). */
	struct session_status st;
	session_status(&r->session, &st);
	if (st.close_received && st.close_code != 0 && st.close_code != 1000) {
		report_lost_connection(r, &st);
		return CLIENT_EXIT_FAILURE;
	}
	return CLIENT_EXIT_OK;
}

/* Sends the complete lines read so far. Returns 0, or -1 when the
 * connection can no longer take them. */
static int send_lines(struct run *r)
{
	const char *line;
	size_t len;
	int opcode = r->opts->binary ? SESSION_BINARY : SESSION_TEXT;
	while (line_reader_next(&r->input, &line, &len) == 1)
		if (session_send(&r->session, opcode, line, len) < 0)
			return -1;
	return 0;
}

/* Reads stdin once it polled readable. Returns 1 to go on, 0 at its end,
 * -1 on a read error (reported), -2 when a line could not be sent. */
static int read_stdin(struct run *r)
{
	int n = line_reader_fill(&r->input);
	if (n < 0) {
		if (errno == ENOMEM)
			fprintf(stderr, "wsrelay-client: an input line is longer than %zu bytes\n",
			        SESSION_MAX_MESSAGE);
		else
			fprintf(stderr, "wsrelay-client: cannot read standard input: %s\n",
			        ERRNO_TEXT(errno));
		return -1;
	}
	/* At the end, a last line without '\n' still goes out. */
	if (send_lines(r) < 0)
		return -2;
	return n;
}

/* A write failed: usually because the server closed the connection, whose
 * reason is then the news; otherwise the stream is broken mid-frame. */
static int send_failed(struct run *r)
{
	struct session_status st;
	session_close(&r->session, CLOSE_WAIT_MS);
	session_status(&r->session, &st);
	if (st.close_received)
		report_lost_connection(r, &st);
	else
		fprintf(stderr, "wsrelay-client: cannot send to %s: the connection broke\n",
		        r->url);
	return CLIENT_EXIT_FAILURE;
}

static int timeout_status(const struct run *r, const struct session_status *st)
{
	if (r->opts->send_text)
		fprintf(stderr, "wsrelay-client: no echo from %s within %u s\n", r->url,
		        r->opts->timeout_seconds);
	else
		fprintf(stderr, "wsrelay-client: received %lu of %lu messages within %u s\n",
		        st->received, r->opts->count, r->opts->timeout_seconds);
	return CLIENT_EXIT_FAILURE;
}

static int poll_loop(struct run *r)
{
	for (;;) {
		struct session_status st;
		session_status(&r->session, &st);
		if (st.output_errno != 0) {
			/* A reader that went away (| head) is no news to the user. */
			if (st.output_errno != EPIPE)
				fprintf(stderr,
				        "wsrelay-client: cannot write to standard output: %s\n",
				        ERRNO_TEXT(st.output_errno));
			return finish(r, CLIENT_EXIT_FAILURE);
		}
		if ((r->opts->count > 0 && st.received >= r->opts->count) ||
		    (r->opts->send_text && st.echoed))
			return finish(r, CLIENT_EXIT_OK);
		if (st.closed) {
			report_lost_connection(r, &st);
			return CLIENT_EXIT_FAILURE;
		}
		int wait_ms = -1;
		if (r->deadline_ms > 0) {
			long long left = r->deadline_ms - now_ms();
			if (left <= 0)
				return finish(r, timeout_status(r, &st));
			wait_ms = (int)left;
		}

		struct pollfd fds[3] = {
		    {.fd = session_wake_fd(&r->session), .events = POLLIN},
		    {.fd = r->signal_fd, .events = POLLIN},
		    {.fd = r->reading_stdin ? STDIN_FILENO : -1, .events = POLLIN},
		};
		if (poll(fds, 3, wait_ms) < 0 && errno != EINTR) {
			fprintf(stderr, "wsrelay-client: poll: %s\n", ERRNO_TEXT(errno));
			return finish(r, CLIENT_EXIT_FAILURE);
		}
		if (fds[1].revents & POLLIN) {
			struct signalfd_siginfo si;
			if (read(r->signal_fd, &si, sizeof(si)) > 0) {
				/* Interrupting plain use is its normal end; interrupting
				 * --send or --count leaves the job undone. */
				bool plain = !r->opts->send_text && r->opts->count == 0;
				if (!plain)
					fprintf(stderr, "wsrelay-client: interrupted\n");
				return finish(r, plain ? CLIENT_EXIT_OK : CLIENT_EXIT_FAILURE);
			}
		}
		if (fds[2].revents & (POLLIN | POLLHUP | POLLERR)) {
			int n = read_stdin(r);
			if (n == -2)
				return send_failed(r);
			if (n < 0)
				return finish(r, CLIENT_EXIT_FAILURE);
			if (n == 0) {
				r->reading_stdin = false;
				if (r->opts->count == 0)
					return finish(r, CLIENT_EXIT_OK);
			}
		}
	}
}

/* The CA bundle OpenSSL was built to trust, used when --ca is not given. */
static const char *default_ca_file(void)
{
	const char *env = getenv(X509_get_default_cert_file_env());
	return env && env[0] ? env : X509_get_default_cert_file();
}

/* CivetWeb's connect errors are terse and keep the HTTP status to itself. */
static const char *connect_error_hint(const char *err)
{
	if (strcmp(err, "Unexpected server reply") == 0)
		return " (the server refused the WebSocket handshake: wrong path, origin "
		       "not allowed, or no free client slot)";
	if (strcmp(err, "SSL connection error") == 0)
		return " (TLS handshake failed: not a TLS server, or its certificate is not "
		       "trusted)";
	return "";
}

static int connect_session(struct run *r)
{
	const struct client_options *opts = r->opts;
	struct session_tls tls = {.ca_file = NULL};
	if (opts->url.tls) {
		if (!mg_check_feature(MG_FEATURES_TLS)) {
			fprintf(stderr, "wsrelay-client: this build of CivetWeb has no TLS\n");
			return -1;
		}
		if (!opts->insecure) {
			tls.ca_file = opts->ca_file ? opts->ca_file : default_ca_file();
			if (access(tls.ca_file, R_OK) < 0) {
				fprintf(stderr, "wsrelay-client: cannot read CA file %s: %s\n",
				        tls.ca_file, ERRNO_TEXT(errno));
				return -1;
			}
		}
	}
	char err[256];
	const char *bearer = opts->token_query ? NULL : opts->token;
	if (session_connect(&r->session, &opts->url, &tls, bearer, err, sizeof(err)) < 0) {
		fprintf(stderr, "wsrelay-client: cannot connect to %s: %s%s\n", r->url, err,
		        connect_error_hint(err));
		return -1;
	}
	return 0;
}

static int run_client(struct run *r)
{
	const struct client_options *opts = r->opts;
	unsigned long print_limit = opts->count;
	if (session_init(&r->session, stdout, print_limit) < 0) {
		fprintf(stderr, "wsrelay-client: %s\n", ERRNO_TEXT(errno));
		return CLIENT_EXIT_FAILURE;
	}
	int status = CLIENT_EXIT_FAILURE;
	if (connect_session(r) < 0)
		goto out;
	if (opts->timeout_seconds > 0)
		r->deadline_ms = now_ms() + (long long)opts->timeout_seconds * 1000;
	if (opts->send_text) {
		int opcode = opts->binary ? SESSION_BINARY : SESSION_TEXT;
		size_t len = strlen(opts->send_text);
		if (session_expect_echo(&r->session, opcode, opts->send_text, len) < 0 ||
		    session_send(&r->session, opcode, opts->send_text, len) < 0) {
			fprintf(stderr, "wsrelay-client: cannot send to %s\n", r->url);
			status = finish(r, CLIENT_EXIT_FAILURE);
			goto out;
		}
	} else {
		r->reading_stdin = true;
	}
	status = poll_loop(r);
out:
	session_destroy(&r->session);
	return status;
}

int main(int argc, char **argv)
{
	struct client_options opts;
	int status = client_options_parse(argc, argv, &opts, stdout, stderr);
	if (status >= 0)
		return status;
	if (opts.make_token)
		return client_token_make(opts.make_token,
		                         opts.subject ? opts.subject : "wsrelay-client",
		                         opts.lifetime ? opts.lifetime : 3600, opts.subscribe_only,
		                         stdout, stderr) == 0
		           ? CLIENT_EXIT_OK
		           : CLIENT_EXIT_FAILURE;

	struct run r = {.opts = &opts, .signal_fd = -1};
	ws_url_format(&opts.url, r.url, sizeof(r.url));
	/* After the URL for messages was made: the token stays out of them. */
	if (opts.token_query)
		(void)client_token_add_query(&opts.url, opts.token); /* fits: checked */
	line_reader_init(&r.input, STDIN_FILENO, SESSION_MAX_MESSAGE);

	/* A closed stdout must be an error we report, not a silent death; the
	 * CivetWeb reader thread would ignore SIGPIPE process-wide anyway. */
	(void)signal(SIGPIPE, SIG_IGN); /* cannot fail for a valid signal */
	/* Blocked before CivetWeb starts its thread, so that thread inherits the
	 * mask and the signals reach our poll() through the signalfd. */
	sigset_t stop_signals;
	sigemptyset(&stop_signals);
	sigaddset(&stop_signals, SIGINT);
	sigaddset(&stop_signals, SIGTERM);
	sigaddset(&stop_signals, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &stop_signals, NULL);
	r.signal_fd = signalfd(-1, &stop_signals, SFD_CLOEXEC | SFD_NONBLOCK);
	if (r.signal_fd < 0) {
		fprintf(stderr, "wsrelay-client: signalfd: %s\n", ERRNO_TEXT(errno));
		return CLIENT_EXIT_FAILURE;
	}

	mg_init_library(opts.url.tls ? MG_FEATURES_TLS : 0);
	status = run_client(&r);
	mg_exit_library();
	line_reader_free(&r.input);
	close(r.signal_fd);
	return status;
}
