/* CivetWeb's worker pool grows on demand (patch 0013): it starts with a few
 * spare workers, starts one per client beyond them, and lets idle workers
 * beyond the spare ones exit. Against the real binary, over ws:// and over
 * wss:// (a worker that did TLS exits with OpenSSL's per-thread state):
 * more clients than spare workers are all served and relayed to, the
 * thread count comes back once they leave (the exited workers joined,
 * their slots reused by the next wave), and a stop with a pool grown big
 * is clean (the sanitizer builds fail the exit status on a leaked or
 * racing thread). No timing assertion: each wait is for a condition, with
 * a generous deadline. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <openssl/ssl.h>

#include "relay_process.h"
#include "relay_fixture.h"
#include "test_pki.h"
#include "ws_raw.h"

#define WAIT_MS 10000
/* More clients than CivetWeb's spare workers (8), few enough for a
 * sanitizer build on a shared machine. */
#define CLIENTS 60
/* Idle workers exit after 10 s without a connection; sanitizer builds on a
 * busy machine may take many times longer to get there. */
#define SHRINK_DEADLINE_S 180

/* %s: the listener and, for wss://, its server.tls lines. */
static const char pool_yaml[] = "server:\n"
                                "  listen: \"%s127.0.0.1:@PORT@\"\n"
                                "  max_connections: 500\n"
                                "  document_root: \"\"\n"
                                "%s"
                                "limits:\n"
                                "  max_connections_per_address: 0\n"
                                "  handshakes_per_address_per_second: 0\n"
                                "metrics:\n"
                                "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
                                "logging:\n"
                                "  level: \"info\"\n";

/* One run's server and how its clients connect: tls is NULL for ws://, or
 * a client context that trusts anything (the certificate is not what is
 * tested here). */
struct pool_run {
	struct relay_process rp;
	SSL_CTX *tls;
	char dir[64];
	char cert[128];
	char key[128];
};

/* Threads of pid now, from /proc/pid/task, or -1. */
static int thread_count(pid_t pid)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/task", (int)pid);
	DIR *d = opendir(path);
	if (!d)
		return -1;
	int n = 0;
	for (const struct dirent *e = readdir(d); e; e = readdir(d))
		if (e->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}

/* Polls until pid has at most `most` threads; the last count seen. */
static int wait_threads_at_most(pid_t pid, int most, int deadline_s)
{
	struct timespec start, now;
	clock_gettime(CLOCK_MONOTONIC, &start);
	int n = thread_count(pid);
	while (n > most) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		if (now.tv_sec - start.tv_sec > deadline_s)
			break;
		usleep(100 * 1000);
		n = thread_count(pid);
	}
	return n;
}

/* Connects CLIENTS clients, has the first send one message and checks that
 * every client (the sender too) gets it. */
static void connect_and_relay(const struct pool_run *run, struct ws_raw *c, const char *text)
{
	const struct relay_process *rp = &run->rp;
	for (int i = 0; i < CLIENTS; i++) {
		if (!run->tls) {
			relay_fixture_connect(&c[i], rp->port, WAIT_MS);
			continue;
		}
		int status = 0;
		if (ws_raw_connect_tls(&c[i], rp->port, run->tls, "/ws", NULL, &status, WAIT_MS) !=
		    0)
			fail_msg("client %d: wss handshake failed: status %d, %s", i, status,
			         c[i].err);
	}
	/* Every client holds a worker for its life: the pool grew past the
	 * spare workers to serve them. */
	assert_true(thread_count(rp->pid) >= CLIENTS);
	assert_int_equal(ws_raw_send_text(&c[0], text), 0);
	for (int i = 0; i < CLIENTS; i++) {
		struct ws_raw_frame f;
		int r = ws_raw_read_message(&c[i], &f, WAIT_MS);
		if (r != WS_FRAME)
			fail_msg("client %d: no message: result %d (%s)", i, r, c[i].err);
		assert_int_equal(f.opcode, WS_OP_TEXT);
		assert_string_equal((const char *)f.payload, text);
		ws_raw_frame_free(&f);
	}
}

/* Each client sends a close; the server echoes it and closes. */
static void leave_all(struct ws_raw *c)
{
	for (int i = 0; i < CLIENTS; i++)
		assert_int_equal(ws_raw_send_close(&c[i], 1000, "bye"), 0);
	for (int i = 0; i < CLIENTS; i++) {
		assert_int_equal(ws_raw_expect_eof(&c[i], WAIT_MS), 0);
		ws_raw_close(&c[i]);
	}
}

/* Starts the relay: over wss:// with a certificate made here when tls. */
static void start_run(struct pool_run *run, bool tls)
{
	memset(run, 0, sizeof(*run));
	char tls_yaml[512] = "";
	if (tls) {
		snprintf(run->dir, sizeof(run->dir), "/tmp/wsrelay-pool-XXXXXX");
		assert_non_null(mkdtemp(run->dir));
		snprintf(run->cert, sizeof(run->cert), "%s/server.pem", run->dir);
		snprintf(run->key, sizeof(run->key), "%s/server.key", run->dir);
		struct pki_entity *ca = pki_issue(PKI_CA, "pool test CA", 1, -60, 3600, NULL);
		struct pki_entity *server = pki_issue(PKI_SERVER, "localhost", 2, -60, 3600, ca);
		assert_non_null(ca);
		assert_non_null(server);
		assert_int_equal(pki_write(server, run->cert, run->key, true), 0);
		pki_free(server);
		pki_free(ca);
		snprintf(tls_yaml, sizeof(tls_yaml),
		         "  tls:\n    enabled: true\n    certificate: \"%s\"\n"
		         "    private_key: \"%s\"\n",
		         run->cert, run->key);
		run->tls = SSL_CTX_new(TLS_client_method());
		assert_non_null(run->tls);
	}
	char yaml[2048];
	snprintf(yaml, sizeof(yaml), pool_yaml, tls ? "wss://" : "", tls_yaml);
	assert_int_equal(relay_start(&run->rp, WSRELAY_BIN, yaml), 0);
}

static void end_run(struct pool_run *run)
{
	SSL_CTX_free(run->tls);
	if (run->dir[0]) {
		(void)unlink(run->cert);
		(void)unlink(run->key);
		(void)rmdir(run->dir);
	}
}

static void pool_grows_shrinks_and_stops_clean(bool tls)
{
	struct pool_run run;
	struct ws_raw c[CLIENTS];
	start_run(&run, tls);
	const struct relay_process *rp = &run.rp;
	int at_start = thread_count(rp->pid);
	assert_true(at_start > 0);
	/* max_connections 500 would have been 516 workers before patch 0013. */
	assert_true(at_start < CLIENTS);

	connect_and_relay(&run, c, "first wave");
	leave_all(c);
	/* The workers beyond the spare ones exit and are joined: the pool is
	 * back to its size at start (the metrics listener's too: untouched). */
	int after = wait_threads_at_most(rp->pid, at_start, SHRINK_DEADLINE_S);
	if (after > at_start)
		fail_msg("%d threads %d s after the clients left, %d at start", after,
		         SHRINK_DEADLINE_S, at_start);

	/* A second wave reuses the slots of the workers that exited. */
	connect_and_relay(&run, c, "second wave");
	/* Stopped with the pool grown: every worker is joined, exit 0. */
	assert_int_equal(relay_stop(&run.rp, SIGTERM, 60000), 0);
	for (int i = 0; i < CLIENTS; i++)
		ws_raw_close(&c[i]);
	end_run(&run);
}

static void test_pool_grows_shrinks_and_stops_clean(void **state)
{
	(void)state;
	pool_grows_shrinks_and_stops_clean(false);
}

static void test_tls_pool_grows_shrinks_and_stops_clean(void **state)
{
	(void)state;
	pool_grows_shrinks_and_stops_clean(true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pool_grows_shrinks_and_stops_clean),
	    cmocka_unit_test(test_tls_pool_grows_shrinks_and_stops_clean),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
