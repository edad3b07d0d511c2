/* Readiness for systemd against the real server: the sd_notify datagrams
 * (READY=1 once both listeners accept, STOPPING=1 when the drain begins) on
 * a socket the test provides as NOTIFY_SOCKET, as a path and as an abstract
 * name, and no READY=1 from a start that fails. */
#include <errno.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <netinet/in.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "relay_process.h"
#include "test_file.h"
#include "ws_raw.h"

/* Generous: sanitizer builds start slowly, and nothing here waits for a
 * deadline to pass unless a check fails. */
#define WAIT_MS 60000

struct notify_socket {
	int fd;
	char address[108]; /* as NOTIFY_SOCKET spells it */
	char dir[64];      /* the folder of a path socket, or "" */
};

/* A datagram socket bound to a fresh path (abstract false) or abstract name. */
static void notify_open(struct notify_socket *ns, bool abstract)
{
	memset(ns, 0, sizeof(*ns));
	ns->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	assert_true(ns->fd >= 0);
	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	socklen_t len;
	if (abstract) {
		snprintf(ns->address, sizeof(ns->address), "@wsrelay-test-notify-%ld-%ld",
		         (long)getpid(), (long)random());
		size_t n = strlen(ns->address);
		memcpy(sa.sun_path, ns->address, n);
		sa.sun_path[0] = '\0';
		len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	} else {
		snprintf(ns->dir, sizeof(ns->dir), "/tmp/wsrelay-notify-XXXXXX");
		assert_non_null(mkdtemp(ns->dir));
		snprintf(ns->address, sizeof(ns->address), "%s/notify", ns->dir);
		snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", ns->address);
		len = sizeof(sa);
	}
	assert_int_equal(bind(ns->fd, (struct sockaddr *)&sa, len), 0);
}

static void notify_close(struct notify_socket *ns)
{
	close(ns->fd);
	if (ns->dir[0]) {
		unlink(ns->address);
		rmdir(ns->dir);
	}
}

/* The next datagram, NUL-terminated, or "" when none arrives in timeout_ms. */
static void notify_read(struct notify_socket *ns, char *buf, size_t cap, int timeout_ms)
{
	buf[0] = '\0';
	struct pollfd p = {.fd = ns->fd, .events = POLLIN};
	if (poll(&p, 1, timeout_ms) != 1)
		return;
	ssize_t n = recv(ns->fd, buf, cap - 1, 0);
	assert_true(n >= 0);
	buf[n] = '\0';
}

/* Starts the relay with NOTIFY_SOCKET set to address, on fresh ports written
 * into a config of its own. */
static pid_t spawn_relay(const char *address, uint16_t port, uint16_t mport, char *dir,
                         size_t dircap)
{
	snprintf(dir, dircap, "/tmp/wsrelay-ops-XXXXXX");
	assert_non_null(mkdtemp(dir));
	char config[PATH_MAX], log[PATH_MAX], yaml[512];
	snprintf(config, sizeof(config), "%s/config.yaml", dir);
	snprintf(log, sizeof(log), "%s/stderr", dir);
	snprintf(yaml, sizeof(yaml),
	         "server:\n  listen: \"127.0.0.1:%u\"\n  document_root: \"\"\n"
	         "  max_connections: 64\nmetrics:\n  listen: \"127.0.0.1:%u\"\n"
	         "shutdown:\n  timeout_seconds: 5\nlogging:\n  level: debug\n",
	         port, mport);
	assert_int_equal(test_file_write(config, yaml), 0);
	/* The test is single-threaded: nothing reads the environment meanwhile. */
	// NOLINTNEXTLINE(concurrency-mt-unsafe)
	assert_int_equal(setenv("NOTIFY_SOCKET", address, 1), 0);
	char *argv[] = {"wsrelay", "--config-file", config, NULL};
	pid_t pid = process_spawn(WSRELAY_BIN, argv, log);
	// NOLINTNEXTLINE(concurrency-mt-unsafe)
	unsetenv("NOTIFY_SOCKET");
	assert_true(pid > 0);
	return pid;
}

static void remove_dir(const char *dir)
{
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/config.yaml", dir);
	unlink(path);
	snprintf(path, sizeof(path), "%s/stderr", dir);
	unlink(path);
	rmdir(dir);
}

/* READY=1 comes only once both listeners accept: connects made right after
 * it arrives, without retrying, succeed, and /healthz answers 200. Then
 * SIGTERM brings STOPPING=1 and a clean exit. */
static void ready_then_stopping(bool abstract)
{
	struct notify_socket ns;
	notify_open(&ns, abstract);
	uint16_t port = free_loopback_port(), mport = free_loopback_port();
	char dir[64];
	pid_t pid = spawn_relay(ns.address, port, mport, dir, sizeof(dir));

	char msg[256];
	notify_read(&ns, msg, sizeof(msg), WAIT_MS);
	assert_string_equal(msg, "READY=1");
	int fd = tcp_connect_loopback(port, 1000);
	assert_true(fd >= 0);
	close(fd);
	char resp[512];
	assert_int_equal(http_request(mport, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n", resp,
	                              sizeof(resp), WAIT_MS),
	                 200);
	struct ws_raw c;
	ws_raw_init(&c);
	int status = 0;
	assert_int_equal(ws_raw_connect(&c, port, "/ws", NULL, &status, WAIT_MS), 0);

	assert_int_equal(kill(pid, SIGTERM), 0);
	notify_read(&ns, msg, sizeof(msg), WAIT_MS);
	assert_string_equal(msg, "STOPPING=1");
	/* The drain is under way: the client gets its 1001. */
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_message(&c, &f, WAIT_MS), WS_FRAME);
	assert_int_equal(f.close_code, 1001);
	ws_raw_frame_free(&f);
	ws_raw_close(&c);
	assert_int_equal(process_stop(pid, 0, WAIT_MS), 0);
	/* Nothing more was said. */
	notify_read(&ns, msg, sizeof(msg), 0);
	assert_string_equal(msg, "");
	notify_close(&ns);
	remove_dir(dir);
}

static void test_notify_path_socket(void **state)
{
	(void)state;
	ready_then_stopping(false);
}

static void test_notify_abstract_socket(void **state)
{
	(void)state;
	ready_then_stopping(true);
}

/* A listening socket on a free loopback port, so the relay cannot bind it. */
static int hold_port(uint16_t *port)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t len = sizeof(sa);
	assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(listen(fd, 1), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &len), 0);
	*port = ntohs(sa.sin_port);
	return fd;
}

/* Starts the relay with its WebSocket port (metrics false) or its metrics
 * port taken, and checks that it exits 1 without READY=1. Returns its
 * stderr (free it) and the taken port in *taken. */
static char *failed_start(bool metrics, uint16_t *taken)
{
	struct notify_socket ns;
	notify_open(&ns, false);
	int holder = hold_port(taken);
	uint16_t other = free_loopback_port();
	char dir[64];
	pid_t pid = spawn_relay(ns.address, metrics ? other : *taken, metrics ? *taken : other, dir,
	                        sizeof(dir));
	assert_int_equal(process_stop(pid, 0, WAIT_MS), 1);
	char msg[256];
	notify_read(&ns, msg, sizeof(msg), 0);
	assert_string_equal(msg, "");
	char path[PATH_MAX];
	snprintf(path, sizeof(path), "%s/stderr", dir);
	char *err = test_file_read(path, NULL);
	assert_non_null(err);
	close(holder);
	notify_close(&ns);
	remove_dir(dir);
	return err;
}

/* A start that fails (the WebSocket port is taken) exits 1 without
 * READY=1. */
static void test_no_ready_when_start_fails(void **state)
{
	(void)state;
	uint16_t port;
	free(failed_start(false, &port));
}

/* The metrics port taken: exit 1, no READY=1, and the error names the
 * listener as a URL (not CivetWeb's "127.0.0.1:9090" + "s" port syntax). */
static void test_metrics_port_taken(void **state)
{
	(void)state;
	uint16_t mport;
	char *err = failed_start(true, &mport);
	char want[96];
	snprintf(want, sizeof(want),
	         "cannot start the metrics listener on http://127.0.0.1:%u: ", mport);
	if (!strstr(err, want))
		fail_msg("stderr lacks \"%s\":\n%s", want, err);
	free(err);
}

int main(void)
{
	srandom((unsigned)getpid());
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_notify_path_socket),
	    cmocka_unit_test(test_notify_abstract_socket),
	    cmocka_unit_test(test_no_ready_when_start_fails),
	    cmocka_unit_test(test_metrics_port_taken),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
