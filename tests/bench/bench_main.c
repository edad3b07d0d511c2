/* wsrelay-bench: the load generator users run to size a wsrelay deployment
 * (and our benchmark's client). One thread and one epoll set drive every
 * connection, so the generator's own cost stays small next to the server's
 * on a shared machine. */
#include <signal.h>
#include <stdio.h>
#include <sys/resource.h>

#include "bench_options.h"
#include "bench_run.h"

/* Idle holds open thousands of sockets: take every descriptor allowed. */
static void raise_fd_limit(void)
{
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < rl.rlim_max) {
		rl.rlim_cur = rl.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &rl);
	}
}

int main(int argc, char **argv)
{
	struct bench_options opts;
	int rc = bench_options_parse(&opts, argc, argv);
	if (rc != 0)
		return rc > 0 ? 0 : 2;
	/* A server that goes away mid-write must not kill the report. */
	if (signal(SIGPIPE, SIG_IGN) == SIG_ERR) {
		fprintf(stderr, "wsrelay-bench: cannot ignore SIGPIPE\n");
		return 1;
	}
	raise_fd_limit();
	return opts.mode == BENCH_MODE_IDLE ? bench_run_idle(&opts) : bench_run_load(&opts);
}
