#include "broker_process.h"

#include <errno.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ws_raw.h"
#include "test_file.h"

#define READY_TIMEOUT_MS 10000
#define IO_TIMEOUT_MS    5000

int broker_kind_from_name(const char *name, enum test_broker *kind)
{
	if (strcmp(name, "redis") == 0)
		*kind = TEST_BROKER_REDIS;
	else if (strcmp(name, "nats") == 0)
		*kind = TEST_BROKER_NATS;
	else
		return -1;
	return 0;
}

const char *broker_kind_name(enum test_broker kind)
{
	return kind == TEST_BROKER_NATS ? "nats" : "redis";
}

int broker_init(struct broker_process *bp, enum test_broker kind)
{
	memset(bp, 0, sizeof(*bp));
	bp->kind = kind;
	bp->pid = -1;
	bp->port = free_loopback_port();
	snprintf(bp->dir, sizeof(bp->dir), "/tmp/wsrelay-broker-XXXXXX");
	if (bp->port == 0 || !mkdtemp(bp->dir))
		return -1;
	snprintf(bp->log_path, sizeof(bp->log_path), "%s/%s.log", bp->dir, broker_kind_name(kind));
	return 0;
}

/* Debian puts redis-server in /usr/bin and nats-server in /usr/sbin, which
 * a test's PATH may not include. */
static const char *find_program(const char *name, char *path, size_t cap)
{
	static const char *const dirs[] = {"/usr/bin", "/usr/sbin", "/usr/local/bin",
	                                   "/usr/local/sbin"};
	for (size_t i = 0; i < sizeof(dirs) / sizeof(dirs[0]); i++) {
		snprintf(path, cap, "%s/%s", dirs[i], name);
		if (access(path, X_OK) == 0)
			return path;
	}
	snprintf(path, cap, "%s", name);
	return path;
}

int broker_start(struct broker_process *bp)
{
	char program[64];
	char port[8];
	snprintf(port, sizeof(port), "%u", bp->port);
	char conf[PATH_MAX];
	snprintf(conf, sizeof(conf), "%s/broker.conf", bp->dir);
	if (test_file_write(conf, bp->config_text) != 0)
		return -1;
	if (bp->kind == TEST_BROKER_REDIS) {
		/* No persistence: a restarted broker starts empty, as pub/sub
		 * does anyway. */
		char *const argv[] = {"redis-server", conf,     "--port", port,    "--bind",
		                      "127.0.0.1",    "--save", "",       "--dir", bp->dir,
		                      "--appendonly", "no",     NULL};
		bp->pid = process_spawn(find_program(argv[0], program, sizeof(program)), argv,
		                        bp->log_path);
	} else if (bp->config_text[0]) {
		char *const argv[] = {"nats-server", "-c", conf, "-a",
		                      "127.0.0.1",   "-p", port, NULL};
		bp->pid = process_spawn(find_program(argv[0], program, sizeof(program)), argv,
		                        bp->log_path);
	} else {
		char *const argv[] = {"nats-server", "-a", "127.0.0.1", "-p", port, NULL};
		bp->pid = process_spawn(find_program(argv[0], program, sizeof(program)), argv,
		                        bp->log_path);
	}
	if (bp->pid > 0 && relay_wait_port(bp->port, READY_TIMEOUT_MS) == 0)
		return 0;
	fprintf(stderr, "%s-server did not start on port %u (installed? .ci/install-deps --test)\n",
	        broker_kind_name(bp->kind), bp->port);
	char *log = test_file_read(bp->log_path, NULL);
	if (log)
		fprintf(stderr, "%s\n", log);
	free(log);
	if (bp->pid > 0)
		process_stop(bp->pid, SIGKILL, READY_TIMEOUT_MS);
	bp->pid = -1;
	return -1;
}

int broker_stop(struct broker_process *bp)
{
	if (bp->pid <= 0)
		return 0;
	int rc = process_stop(bp->pid, SIGTERM, 10000);
	bp->pid = -1;
	return rc == -2 ? -1 : 0;
}

void broker_cleanup(struct broker_process *bp)
{
	broker_stop(bp);
	if (bp->dir[0] && !getenv("WSRELAY_KEEP_TEST_DIRS"))
		test_file_remove_tree(bp->dir);
	bp->dir[0] = '\0';
}

void broker_url(const struct broker_process *bp, char *out, size_t cap)
{
	snprintf(out, cap, "%s://127.0.0.1:%u", broker_kind_name(bp->kind), bp->port);
}

static int send_all(int fd, const void *data, size_t len)
{
	const char *p = data;
	while (len > 0) {
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		p += n;
		len -= (size_t)n;
	}
	return 0;
}

/* Reads until the received text contains want. */
static int read_until(int fd, const char *want)
{
	char buf[4096];
	size_t used = 0;
	for (;;) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (poll(&p, 1, IO_TIMEOUT_MS) <= 0)
			return -1;
		if (used == sizeof(buf) - 1)
			used = 0; /* what we look for is short and comes last */
		ssize_t n = recv(fd, buf + used, sizeof(buf) - 1 - used, 0);
		if (n <= 0)
			return -1;
		used += (size_t)n;
		buf[used] = '\0';
		if (strstr(buf, want))
			return 0;
	}
}

int broker_publish_raw(const struct broker_process *bp, const char *channel, const void *data,
                       size_t len)
{
	int fd = tcp_connect_loopback(bp->port, IO_TIMEOUT_MS);
	if (fd < 0)
		return -1;
	char head[512];
	int rc = -1;
	if (bp->kind == TEST_BROKER_REDIS) {
		/* RESP: an array of bulk strings, answered with ":<receivers>". */
		snprintf(head, sizeof(head), "*3\r\n$7\r\nPUBLISH\r\n$%zu\r\n%s\r\n$%zu\r\n",
		         strlen(channel), channel, len);
		if (send_all(fd, head, strlen(head)) == 0 && send_all(fd, data, len) == 0 &&
		    send_all(fd, "\r\n", 2) == 0)
			rc = read_until(fd, "\r\n");
	} else {
		/* The server greets with INFO; the PONG to our PING says the
		 * PUB before it was processed. */
		snprintf(head, sizeof(head),
		         "CONNECT {\"verbose\":false,\"pedantic\":false}\r\nPUB %s %zu\r\n",
		         channel, len);
		if (read_until(fd, "\r\n") == 0 && send_all(fd, head, strlen(head)) == 0 &&
		    send_all(fd, data, len) == 0 && send_all(fd, "\r\nPING\r\n", 8) == 0)
			rc = read_until(fd, "PONG\r\n");
	}
	close(fd);
	return rc;
}
