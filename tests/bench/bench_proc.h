/* What wsrelay-bench reads about the server process from /proc. */
#ifndef WSRELAY_BENCH_PROC_H
#define WSRELAY_BENCH_PROC_H

#include <stdbool.h>
#include <sys/types.h>

struct proc_sample {
	bool ok;
	double cpu_s; /* user + system CPU time since the process started */
	long rss_kib;
	long pss_kib; /* -1 when smaps_rollup is unreadable */
	long threads;
};

/* One sample of pid; ok is false when the process is gone. */
struct proc_sample proc_sample(pid_t pid);

#endif
