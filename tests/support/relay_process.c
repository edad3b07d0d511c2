#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* pipe2, close_range, readlinkat, O_CLOEXEC, getline */
#endif

#include "relay_process.h"

#include "ws_raw.h"
#include "test_file.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

/* strerror may hand every thread one buffer, and tests start servers from
 * several; the compound literal lives to the end of the enclosing block. */
#define ERRNO_TEXT() strerror_r(errno, (char[128]){0}, 128)

/* A deadline, not a wait: a sanitizer build starting a thousand worker
 * threads on a busy machine takes seconds. */
#define START_TIMEOUT_MS 60000
#define START_POLL_MS    20
#define STOP_POLL_MS     10
#define START_RETRIES    3

extern char **environ;

static const char default_yaml[] = "server:\n"
                                   "  listen: \"127.0.0.1:@PORT@\"\n"
                                   "  max_connections: 64\n"
                                   "  document_root: \"\"\n"
                                   "metrics:\n"
                                   "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
                                   "logging:\n"
                                   "  level: \"debug\"\n";

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void sleep_ms(int ms)
{
	struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (long)(ms % 1000) * 1000000};

	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static pid_t waitpid_nointr(pid_t pid, int *status, int flags)
{
	pid_t r;

	do
		r = waitpid(pid, status, flags);
	while (r < 0 && errno == EINTR);
	return r;
}

uint16_t free_loopback_port(void)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	socklen_t sl = sizeof(sa);
	uint16_t port = 0;
	int fd;

	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return 0;
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 &&
	    getsockname(fd, (struct sockaddr *)&sa, &sl) == 0)
		port = ntohs(sa.sin_port);
	close(fd);
	return port;
}

int relay_wait_port(uint16_t port, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		int fd = tcp_connect_loopback(port, START_POLL_MS * 5);
		if (fd >= 0) {
			close(fd);
			return 0;
		}
		if (now_ms() >= deadline)
			return -1;
		sleep_ms(START_POLL_MS);
	}
}

/* Whether pid has a listening TCP socket on port (any address, IPv4 or IPv6):
 * 1 yes, 0 no, -1 when /proc cannot tell. Unlike a probe connection this
 * leaves no trace in the server (no accepted connection, log line or metric)
 * and cannot mistake another process that grabbed the port for ours. */
static int owns_listener(pid_t pid, uint16_t port)
{
	static const char *const tables[] = {"/proc/net/tcp", "/proc/net/tcp6"};
	unsigned long inodes[32];
	size_t ninodes = 0;
	bool readable = false;
	char *line = NULL;
	size_t cap = 0;

	for (size_t t = 0; t < sizeof(tables) / sizeof(tables[0]); t++) {
		FILE *f = fopen(tables[t], "re");
		if (!f)
			continue;
		readable = true;
		while (getline(&line, &cap, f) >= 0 &&
		       ninodes < sizeof(inodes) / sizeof(inodes[0])) {
			unsigned lport;
			unsigned state;
			unsigned long inode;
			/* "sl local rem st tx:rx tr:when retrnsmt uid timeout inode"; the
			 * header line fails the conversion and is skipped. */
			/* Kernel-printed fields, each read into the type it is
			 * printed from, so none can be out of range. */
			// NOLINTNEXTLINE(cert-err34-c)
			if (sscanf(line, "%*s %*[0-9A-Fa-f]:%x %*s %x %*s %*s %*s %*s %*s %lu",
			           &lport, &state, &inode) == 3 &&
			    lport == port && state == 0x0A && inode != 0)
				inodes[ninodes++] = inode;
		}
		/* Read-only: closing cannot lose data. */
		(void)fclose(f);
	}
	free(line);
	if (!readable)
		return -1;
	if (ninodes == 0)
		return 0;

	char fddir[64];
	snprintf(fddir, sizeof(fddir), "/proc/%d/fd", (int)pid);
	DIR *d = opendir(fddir);
	if (!d)
		return -1;
	int found = 0;
	struct dirent *de;
	while (!found && (de = readdir(d)) != NULL) {
		char target[64];
		unsigned long inode;
		ssize_t n = readlinkat(dirfd(d), de->d_name, target, sizeof(target) - 1);
		if (n <= 0)
			continue;
		target[n] = '\0';
		/* The kernel prints an inode number (unsigned long) here. */
		// NOLINTNEXTLINE(cert-err34-c)
		if (sscanf(target, "socket:[%lu]", &inode) != 1)
			continue;
		for (size_t i = 0; i < ninodes; i++) {
			if (inodes[i] == inode)
				found = 1;
		}
	}
	closedir(d);
	return found;
}

int relay_wait_listener(const struct relay_process *rp, uint16_t port, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;

	for (;;) {
		int r = owns_listener(rp->pid, port);
		if (r < 0)
			return relay_wait_port(port, (int)(deadline - now_ms()));
		if (r == 1)
			return 0;
		if (now_ms() >= deadline)
			return -1;
		sleep_ms(START_POLL_MS);
	}
}

/* Forks and execs binary with args, stdin from /dev/null and stdout/stderr on
 * out_fd/err_fd. Returns the pid, or -1 with errno set (also when exec itself
 * failed, which a close-on-exec pipe reports back). */
/* envp: the child's environment, or NULL for ours. */
static pid_t spawn_env(const char *binary, char *const args[], int out_fd, int err_fd,
                       char *const envp[]);

static pid_t spawn(const char *binary, char *const args[], int out_fd, int err_fd)
{
	return spawn_env(binary, args, out_fd, err_fd, NULL);
}

static pid_t spawn_env(const char *binary, char *const args[], int out_fd, int err_fd,
                       char *const envp[])
{
	const pid_t parent = getpid();
	const bool search_path = strchr(binary, '/') == NULL;
	long max_fd = sysconf(_SC_OPEN_MAX);
	int errpipe[2];
	int child_errno;
	ssize_t r;
	pid_t pid;

	if (max_fd < 0 || max_fd > 65536)
		max_fd = 65536;
	if (pipe2(errpipe, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		int saved = errno;
		close(errpipe[0]);
		close(errpipe[1]);
		errno = saved;
		return -1;
	}
	if (pid == 0) {
		/* Only async-signal-safe calls from here: the test may be threaded. */
		sigset_t none;
		struct sigaction dfl = {.sa_handler = SIG_DFL};
		static const int reset[] = {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD};

		sigemptyset(&none);
		sigemptyset(&dfl.sa_mask);
		for (size_t i = 0; i < sizeof(reset) / sizeof(reset[0]); i++)
			sigaction(reset[i], &dfl, NULL);
		/* Forked from a threaded process, where sigprocmask is unspecified. */
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		if (prctl(PR_SET_PDEATHSIG, SIGKILL) < 0 || getppid() != parent)
			_exit(127);

		int devnull = open("/dev/null", O_RDONLY);
		if (devnull < 0 || dup2(devnull, STDIN_FILENO) < 0 ||
		    dup2(out_fd, STDOUT_FILENO) < 0 || dup2(err_fd, STDERR_FILENO) < 0)
			goto child_fail;
		/* Test sockets left open in the parent must not outlive their
		 * test inside the server; only the exec-error pipe survives. */
		int keep = errpipe[1];
		if (keep < 3 || (keep > 3 && close_range(3, (unsigned)keep - 1, 0) < 0) ||
		    close_range((unsigned)keep + 1, ~0U, 0) < 0) {
			for (int fd = 3; fd < max_fd; fd++) {
				if (fd != keep)
					close(fd);
			}
		}
		if (envp)
			execve(binary, args, envp);
		else if (search_path)
			execvp(binary, args);
		else
			execv(binary, args);
	child_fail:
		child_errno = errno;
		while (write(errpipe[1], &child_errno, sizeof(child_errno)) < 0 && errno == EINTR)
			;
		_exit(127);
	}

	close(errpipe[1]);
	do
		r = read(errpipe[0], &child_errno, sizeof(child_errno));
	while (r < 0 && errno == EINTR);
	close(errpipe[0]);
	if (r == (ssize_t)sizeof(child_errno)) {
		waitpid_nointr(pid, NULL, 0);
		errno = child_errno;
		return -1;
	}
	return pid;
}

static void free_args(char **args)
{
	if (!args)
		return;
	for (char **a = args; *a; a++)
		free(*a);
	free(args);
}

/* A private copy of argv with argv[0] replaced by binary and up to two
 * arguments appended (exec wants mutable strings); free with free_args. */
static char **make_args(const char *binary, char *const argv[], const char *extra1,
                        const char *extra2)
{
	size_t n = 0;

	if (argv && argv[0]) {
		while (argv[n + 1])
			n++;
	}
	char **args = calloc(n + 4, sizeof(*args));
	if (!args)
		return NULL;
	size_t k = 0;
	bool ok = (args[k++] = strdup(binary)) != NULL;
	for (size_t i = 1; ok && i <= n; i++)
		ok = (args[k++] = strdup(argv[i])) != NULL;
	if (ok && extra1)
		ok = (args[k++] = strdup(extra1)) != NULL;
	if (ok && extra2)
		ok = (args[k++] = strdup(extra2)) != NULL;
	if (!ok) {
		free_args(args);
		return NULL;
	}
	return args;
}

/* Replaces every @NAME@ token of the template; unknown tokens stay. */
static char *expand_template(const char *tpl, const struct relay_process *rp)
{
	char port[8];
	char mport[8];
	const struct {
		const char *token;
		const char *value;
	} subst[] = {
	    {"@PORT@", port},
	    {"@METRICS_PORT@", mport},
	    {"@DIR@", rp->dir},
	};
	size_t cap = strlen(tpl) + 1;
	size_t n = 0;
	char *out;

	snprintf(port, sizeof(port), "%u", rp->port);
	snprintf(mport, sizeof(mport), "%u", rp->metrics_port);
	for (size_t i = 0; i < sizeof(subst) / sizeof(subst[0]); i++)
		cap += strlen(subst[i].value) * 8; /* grown below if a token repeats */
	out = malloc(cap);
	if (!out)
		return NULL;
	while (*tpl) {
		const char *piece = tpl;
		size_t plen = 1;
		size_t skip = 1;

		for (size_t i = 0; i < sizeof(subst) / sizeof(subst[0]); i++) {
			size_t tl = strlen(subst[i].token);
			if (strncmp(tpl, subst[i].token, tl) == 0) {
				piece = subst[i].value;
				plen = strlen(piece);
				skip = tl;
				break;
			}
		}
		if (cap - n <= plen) {
			size_t ncap = (cap + plen) * 2;
			char *nb = realloc(out, ncap);
			if (!nb) {
				free(out);
				return NULL;
			}
			out = nb;
			cap = ncap;
		}
		memcpy(out + n, piece, plen);
		n += plen;
		tpl += skip;
	}
	out[n] = '\0';
	return out;
}

static void remove_dir(struct relay_process *rp)
{
	if (rp->dir[0] == '\0')
		return;
	if (getenv("WSRELAY_KEEP_TEST_DIRS"))
		fprintf(stderr, "relay_process: keeping %s\n", rp->dir);
	else
		test_file_remove_tree(rp->dir);
	rp->dir[0] = '\0';
}

static void dump_stderr(const struct relay_process *rp)
{
	char *text = test_file_read(rp->stderr_path, NULL);

	fprintf(stderr, "relay_process: server stderr (%s):\n%s\n", rp->stderr_path,
	        text ? text : "(unreadable)");
	free(text);
}

static bool mentions_port(const char *text, uint16_t port)
{
	char digits[8];
	size_t dl;

	dl = (size_t)snprintf(digits, sizeof(digits), "%u", port);
	for (const char *p = strstr(text, digits); p; p = strstr(p + 1, digits)) {
		bool left_ok = p == text || p[-1] < '0' || p[-1] > '9';
		bool right_ok = p[dl] < '0' || p[dl] > '9';
		if (left_ok && right_ok)
			return true;
	}
	return false;
}

static int pick_ports(struct relay_process *rp)
{
	rp->port = free_loopback_port();
	for (int i = 0; i < 10; i++) {
		rp->metrics_port = free_loopback_port();
		if (rp->metrics_port != rp->port)
			break;
	}
	return rp->port && rp->metrics_port && rp->port != rp->metrics_port ? 0 : -1;
}

/* Every client of a test comes from 127.0.0.1, standing for many clients:
 * the per-address limits are off unless the test's config has a limits
 * section of its own. Returns yaml, grown, or NULL (yaml freed). */
static char *limits_off_unless_set(char *yaml)
{
	static const char off[] = "limits:\n"
	                          "  max_connections_per_address: 0\n"
	                          "  handshakes_per_address_per_second: 0\n";
	if (!yaml || strncmp(yaml, "limits:", 7) == 0 || strstr(yaml, "\nlimits:"))
		return yaml;
	size_t len = strlen(yaml);
	char *grown = realloc(yaml, len + sizeof(off) + 1);
	if (!grown) {
		free(yaml);
		return NULL;
	}
	/* A template without a final line break still gets its own line. */
	snprintf(grown + len, sizeof(off) + 1, "%s%s", len && grown[len - 1] != '\n' ? "\n" : "",
	         off);
	return grown;
}

/* One launch. Returns 0 when ready, 1 when it died of a port race worth
 * retrying, -1 on any other failure; rp->pid is -1 unless 0 is returned. */
/* Our environment plus NOTIFY_SOCKET=path, for the child; free() it. */
static char **env_with_notify(const char *path, char *entry, size_t entry_cap)
{
	extern char **environ;
	size_t n = 0;
	while (environ[n])
		n++;
	char **envp = calloc(n + 2, sizeof(*envp));
	if (!envp)
		return NULL;
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		if (strncmp(environ[i], "NOTIFY_SOCKET=", 14) != 0)
			envp[k++] = environ[i];
	snprintf(entry, entry_cap, "NOTIFY_SOCKET=%s", path);
	envp[k] = entry;
	return envp;
}

/* A datagram socket at path for the relay's "READY=1", or -1. */
static int notify_socket(const char *path)
{
	struct sockaddr_un addr = {.sun_family = AF_UNIX};
	size_t len = strlen(path);
	if (len >= sizeof(addr.sun_path))
		return -1;
	memcpy(addr.sun_path, path, len + 1);
	int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd >= 0 && bind(fd, (struct sockaddr *)&addr, sizeof(addr)) != 0) {
		close(fd);
		fd = -1;
	}
	return fd;
}

/* Whether the relay said READY=1 on fd. */
static bool notified_ready(int fd)
{
	char msg[256];
	ssize_t n;
	while ((n = recv(fd, msg, sizeof(msg) - 1, 0)) > 0) {
		msg[n] = '\0';
		if (strstr(msg, "READY=1"))
			return true;
	}
	return false;
}

static int start_once(struct relay_process *rp, const char *binary, const char *yaml_extra)
{
	char *yaml = NULL;
	char **args = NULL;
	int out_fd = -1;
	int err_fd = -1;
	int notify_fd = -1;
	char **envp = NULL;
	bool said_ready = false;
	int rc = -1;
	int status;

	if (pick_ports(rp) < 0) {
		fprintf(stderr, "relay_process: no free loopback port\n");
		return -1;
	}
	yaml = limits_off_unless_set(expand_template(yaml_extra ? yaml_extra : default_yaml, rp));
	if (!yaml || test_file_write(rp->config_path, yaml) < 0) {
		fprintf(stderr, "relay_process: cannot write %s: %s\n", rp->config_path,
		        ERRNO_TEXT());
		goto out;
	}
	out_fd = open(rp->stdout_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	err_fd = open(rp->stderr_path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	args = make_args(binary, NULL, "--config-file", rp->config_path);
	if (out_fd < 0 || err_fd < 0 || !args) {
		fprintf(stderr, "relay_process: cannot set up output files in %s: %s\n", rp->dir,
		        ERRNO_TEXT());
		goto out;
	}
	/* Ready means what the relay says: its port listens from the start
	 * of CivetWeb's set-up, but clients are served only once every worker
	 * thread is up, which takes seconds under TSan with a thousand. */
	char notify_path[PATH_MAX + 32];
	char notify_entry[PATH_MAX + 64];
	snprintf(notify_path, sizeof(notify_path), "%s/notify.sock", rp->dir);
	(void)unlink(notify_path);
	notify_fd = notify_socket(notify_path);
	envp = notify_fd >= 0 ? env_with_notify(notify_path, notify_entry, sizeof(notify_entry))
	                      : NULL;
	if (!envp) {
		fprintf(stderr, "relay_process: cannot make %s: %s\n", notify_path, ERRNO_TEXT());
		goto out;
	}
	rp->pid = spawn_env(binary, args, out_fd, err_fd, envp);
	if (rp->pid < 0) {
		fprintf(stderr, "relay_process: cannot run %s: %s\n", binary, ERRNO_TEXT());
		goto out;
	}

	int64_t deadline = now_ms() + START_TIMEOUT_MS;
	for (;;) {
		pid_t w = waitpid_nointr(rp->pid, &status, WNOHANG);
		if (w == rp->pid) {
			rp->pid = -1;
			break;
		}
		said_ready = said_ready || notified_ready(notify_fd);
		int ready = said_ready ? owns_listener(rp->pid, rp->port) : 0;
		if (ready < 0) {
			/* No /proc: fall back to knocking on the door. */
			int fd = tcp_connect_loopback(rp->port, START_POLL_MS * 5);
			if (fd >= 0)
				close(fd);
			ready = fd >= 0;
		}
		if (ready) {
			rc = 0;
			goto out;
		}
		if (now_ms() >= deadline) {
			fprintf(stderr, "relay_process: %s not %s on port %u after %d ms\n", binary,
			        said_ready ? "listening" : "ready", rp->port, START_TIMEOUT_MS);
			kill(rp->pid, SIGKILL);
			waitpid_nointr(rp->pid, NULL, 0);
			rp->pid = -1;
			goto out;
		}
		sleep_ms(START_POLL_MS);
	}

	if (WIFEXITED(status) && WEXITSTATUS(status) == 1) {
		char *text = test_file_read(rp->stderr_path, NULL);
		if (text &&
		    (mentions_port(text, rp->port) || mentions_port(text, rp->metrics_port)))
			rc = 1;
		free(text);
	}
	if (rc < 0) {
		if (WIFEXITED(status))
			fprintf(stderr, "relay_process: %s exited with status %d during startup\n",
			        binary, WEXITSTATUS(status));
		else
			fprintf(stderr, "relay_process: %s killed by signal %d during startup\n",
			        binary, WTERMSIG(status));
	}
out:
	if (out_fd >= 0)
		close(out_fd);
	if (err_fd >= 0)
		close(err_fd);
	if (notify_fd >= 0)
		close(notify_fd);
	free(envp);
	free_args(args);
	free(yaml);
	return rc;
}

static int join_path(char dst[PATH_MAX], const char *dir, const char *name)
{
	int n = snprintf(dst, PATH_MAX, "%s/%s", dir, name);

	return n < 0 || n >= PATH_MAX ? -1 : 0;
}

int relay_start(struct relay_process *rp, const char *binary, const char *yaml_extra)
{
	const char *tmp = getenv("TMPDIR");
	int r = -1;

	memset(rp, 0, sizeof(*rp));
	rp->pid = -1;
	if (!tmp || !*tmp)
		tmp = "/tmp";
	if ((size_t)snprintf(rp->dir, sizeof(rp->dir), "%s/wsrelay-test-XXXXXX", tmp) >=
	        sizeof(rp->dir) - 32 ||
	    !mkdtemp(rp->dir)) {
		fprintf(stderr, "relay_process: cannot create a directory under %s: %s\n", tmp,
		        ERRNO_TEXT());
		rp->dir[0] = '\0';
		return -1;
	}
	/* The length check above leaves room for these names. */
	if (join_path(rp->config_path, rp->dir, "config.yaml") < 0 ||
	    join_path(rp->stdout_path, rp->dir, "stdout.log") < 0 ||
	    join_path(rp->stderr_path, rp->dir, "stderr.log") < 0) {
		remove_dir(rp);
		return -1;
	}

	for (int attempt = 0; attempt <= START_RETRIES; attempt++) {
		r = start_once(rp, binary, yaml_extra);
		if (r != 1)
			break;
		fprintf(stderr, "relay_process: port %u or %u taken meanwhile, retrying\n",
		        rp->port, rp->metrics_port);
	}
	if (r != 0) {
		dump_stderr(rp);
		remove_dir(rp);
		return -1;
	}
	return 0;
}

int relay_stop(struct relay_process *rp, int sig, int timeout_ms)
{
	return relay_stop_capture(rp, sig, timeout_ms, NULL, 0);
}

int process_stop(pid_t pid, int sig, int timeout_ms)
{
	int status = 0;
	if (sig != 0)
		kill(pid, sig);
	int64_t deadline = now_ms() + timeout_ms;
	for (;;) {
		pid_t w = waitpid_nointr(pid, &status, WNOHANG);
		if (w == pid)
			return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
		if (w < 0)
			return -1;
		if (now_ms() >= deadline) {
			fprintf(stderr,
			        "relay_process: pid %d still running %d ms after signal %d\n",
			        (int)pid, timeout_ms, sig);
			kill(pid, SIGKILL);
			waitpid_nointr(pid, NULL, 0);
			return -2;
		}
		sleep_ms(STOP_POLL_MS);
	}
}

pid_t process_spawn(const char *binary, char *const argv[], const char *log_path)
{
	int fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0)
		return -1;
	pid_t pid = spawn(binary, argv, fd, fd);
	close(fd);
	return pid;
}

int relay_stop_capture(struct relay_process *rp, int sig, int timeout_ms, char *err_out,
                       size_t err_cap)
{
	if (err_out && err_cap > 0)
		err_out[0] = '\0';
	if (rp->pid <= 0) {
		remove_dir(rp);
		return -1;
	}
	int rc = process_stop(rp->pid, sig, timeout_ms);
	rp->pid = -1;
	if (err_out && err_cap > 0) {
		char *text = test_file_read(rp->stderr_path, NULL);
		if (text)
			snprintf(err_out, err_cap, "%s", text);
		free(text);
	}
	remove_dir(rp);
	return rc;
}

/* Moves whatever the pipe holds now into out, discarding what does not fit.
 * Returns true at EOF. */
static bool drain(int fd, char *out, size_t out_cap, size_t *used)
{
	char chunk[4096];

	for (;;) {
		ssize_t r = read(fd, chunk, sizeof(chunk));
		if (r == 0)
			return true;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return errno != EAGAIN && errno != EWOULDBLOCK;
		}
		if (out_cap > 0 && *used < out_cap - 1) {
			size_t n = (size_t)r;
			if (n > out_cap - 1 - *used)
				n = out_cap - 1 - *used;
			memcpy(out + *used, chunk, n);
			*used += n;
			out[*used] = '\0';
		}
	}
}

int relay_run(const char *binary, char *const argv[], char *out, size_t out_cap, int timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	bool eof = false;
	bool timed_out = false;
	size_t used = 0;
	int status = 0;
	int pfd[2];
	char **args;
	pid_t pid;

	if (out && out_cap > 0)
		out[0] = '\0';
	else
		out_cap = 0;
	args = make_args(binary, argv, NULL, NULL);
	if (!args)
		return -1;
	if (pipe2(pfd, O_CLOEXEC) < 0) {
		free_args(args);
		return -1;
	}
	pid = spawn(binary, args, pfd[1], pfd[1]);
	close(pfd[1]);
	free_args(args);
	if (pid < 0) {
		fprintf(stderr, "relay_run: cannot run %s: %s\n", binary, ERRNO_TEXT());
		close(pfd[0]);
		return -1;
	}
	/* Non-blocking, so that a grandchild holding the pipe open cannot keep
	 * us here after the child itself is gone. */
	fcntl(pfd[0], F_SETFL, fcntl(pfd[0], F_GETFL) | O_NONBLOCK);

	for (;;) {
		if (!eof)
			eof = drain(pfd[0], out, out_cap, &used);
		pid_t w = waitpid_nointr(pid, &status, WNOHANG);
		if (w == pid || w < 0) {
			if (!eof)
				drain(pfd[0], out, out_cap, &used);
			break;
		}
		int64_t left = deadline - now_ms();
		if (left <= 0) {
			kill(pid, SIGKILL);
			waitpid_nointr(pid, &status, 0);
			timed_out = true;
			break;
		}
		struct pollfd p = {.fd = pfd[0], .events = POLLIN};
		int wait = left < START_POLL_MS ? (int)left : START_POLL_MS;
		if (eof)
			sleep_ms(wait);
		else
			poll(&p, 1, wait);
	}
	close(pfd[0]);
	if (timed_out) {
		fprintf(stderr, "relay_run: %s still running after %d ms, killed\n", binary,
		        timeout_ms);
		return -1;
	}
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static long status_field_kib(pid_t pid, const char *field)
{
	char path[64];
	char *line = NULL;
	size_t cap = 0;
	size_t flen = strlen(field);
	long kib = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "re");
	if (!f)
		return -1;
	while (getline(&line, &cap, f) >= 0) {
		if (strncmp(line, field, flen) == 0 && line[flen] == ':') {
			char *end;
			errno = 0;
			long v = strtol(line + flen + 1, &end, 10);
			if (errno == 0 && end != line + flen + 1)
				kib = v;
			break;
		}
	}
	free(line);
	(void)fclose(f);
	return kib;
}

long relay_rss_kib(pid_t pid)
{
	return status_field_kib(pid, "VmRSS");
}

long relay_hwm_kib(pid_t pid)
{
	return status_field_kib(pid, "VmHWM");
}

int relay_stderr_contains(const struct relay_process *rp, const char *needle)
{
	char *text = test_file_read(rp->stderr_path, NULL);
	int found;

	if (!text)
		return -1;
	found = strstr(text, needle) != NULL;
	free(text);
	return found;
}
