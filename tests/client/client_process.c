/* Child process plumbing for the wsrelay-client tests. */
#include "client_process.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

int client_start(struct client_process *p, const char *binary, char *const argv[],
                 int stdin_devnull)
{
	int in[2] = {-1, -1}, out[2] = {-1, -1}, err[2] = {-1, -1};

	memset(p, 0, sizeof(*p));
	p->pid = -1;
	p->stdin_fd = p->stdout_fd = p->stderr_fd = -1;
	if ((!stdin_devnull && pipe2(in, O_CLOEXEC) < 0) || pipe2(out, O_CLOEXEC) < 0 ||
	    pipe2(err, O_CLOEXEC) < 0)
		goto fail;
	pid_t parent = getpid();
	pid_t pid = fork();
	if (pid < 0)
		goto fail;
	if (pid == 0) {
		/* A test that crashes must not leave clients behind. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != parent)
			_exit(127);
		int devnull = stdin_devnull ? open("/dev/null", O_RDONLY) : in[0];
		if (devnull < 0 || dup2(devnull, 0) < 0 || dup2(out[1], 1) < 0 ||
		    dup2(err[1], 2) < 0)
			_exit(127);
		sigset_t none;
		sigemptyset(&none);
		pthread_sigmask(SIG_SETMASK, &none, NULL);
		(void)signal(SIGPIPE, SIG_DFL); /* cannot fail for a valid signal */
		execv(binary, argv);
		_exit(127);
	}
	p->pid = pid;
	close_fd(&in[0]);
	close_fd(&out[1]);
	close_fd(&err[1]);
	p->stdin_fd = in[1];
	p->stdout_fd = out[0];
	p->stderr_fd = err[0];
	fcntl(p->stdout_fd, F_SETFL, O_NONBLOCK);
	fcntl(p->stderr_fd, F_SETFL, O_NONBLOCK);
	return 0;
fail:
	for (int i = 0; i < 2; i++) {
		close_fd(&in[i]);
		close_fd(&out[i]);
		close_fd(&err[i]);
	}
	return -1;
}

int client_type(struct client_process *p, const void *data, size_t len)
{
	const char *c = data;
	while (len > 0) {
		ssize_t n = write(p->stdin_fd, c, len);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return -1;
		c += n;
		len -= (size_t)n;
	}
	return 0;
}

void client_end_input(struct client_process *p)
{
	close_fd(&p->stdin_fd);
}

/* Appends what fd has now; closes it at EOF. */
static void drain(int *fd, char *buf, size_t *len)
{
	while (*fd >= 0) {
		char chunk[4096];
		ssize_t n = read(*fd, chunk, sizeof(chunk));
		if (n > 0) {
			size_t room = CLIENT_OUTPUT_CAP - 1 - *len;
			size_t take = (size_t)n < room ? (size_t)n : room;
			memcpy(buf + *len, chunk, take);
			*len += take;
			buf[*len] = '\0';
		} else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
			close_fd(fd);
		} else if (errno == EAGAIN) {
			return;
		}
	}
}

/* Waits up to ms for output, then takes it in. */
static void pump(struct client_process *p, int ms)
{
	struct pollfd fds[2] = {{.fd = p->stdout_fd, .events = POLLIN},
	                        {.fd = p->stderr_fd, .events = POLLIN}};
	if (p->stdout_fd >= 0 || p->stderr_fd >= 0)
		poll(fds, 2, ms);
	else
		usleep((useconds_t)ms * 1000);
	drain(&p->stdout_fd, p->out, &p->out_len);
	drain(&p->stderr_fd, p->err, &p->err_len);
}

int client_wait_stdout(struct client_process *p, const void *needle, size_t needle_len,
                       int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	for (;;) {
		if (memmem(p->out, p->out_len, needle, needle_len))
			return 0;
		long long left = deadline - now_ms();
		if (left <= 0 || p->stdout_fd < 0)
			return -1;
		pump(p, left < 50 ? (int)left : 50);
	}
}

int client_wait_exit(struct client_process *p, int timeout_ms)
{
	long long deadline = now_ms() + timeout_ms;
	int status = 0;
	if (p->pid < 0)
		return -1;
	for (;;) {
		pid_t w = waitpid(p->pid, &status, WNOHANG);
		if (w == p->pid)
			break;
		if (w < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= deadline) {
			kill(p->pid, SIGKILL);
			waitpid(p->pid, &status, 0);
			p->pid = -1;
			pump(p, 0);
			fprintf(stderr, "client_wait_exit: still running after %d ms, killed\n",
			        timeout_ms);
			return -2;
		}
		pump(p, 20);
	}
	p->pid = -1;
	/* The pipes may still hold the last words; the bound is for a
	 * descendant that kept them open. */
	long long drain_until = now_ms() + 2000;
	while ((p->stdout_fd >= 0 || p->stderr_fd >= 0) && now_ms() < drain_until)
		pump(p, 100);
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

void client_cleanup(struct client_process *p)
{
	if (p->pid > 0) {
		kill(p->pid, SIGKILL);
		waitpid(p->pid, NULL, 0);
		p->pid = -1;
	}
	close_fd(&p->stdin_fd);
	close_fd(&p->stdout_fd);
	close_fd(&p->stderr_fd);
}

int client_run(struct client_process *p, const char *binary, char *const argv[], int timeout_ms)
{
	if (client_start(p, binary, argv, 1) < 0)
		return -1;
	int status = client_wait_exit(p, timeout_ms);
	client_cleanup(p);
	return status;
}
