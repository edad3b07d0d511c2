#include "resource_limits.h"

#include <stdio.h>
#include <sys/resource.h>

/* Headroom left for the rest of the machine: running the PID space dry
 * breaks fork() for every process, not just ours. */
#define SPARE_TASKS 1024UL
#define SPARE_MAPS  4096UL

static long read_long(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	long v = -1;
	/* The /proc/sys files read here hold kernel ints: a long always fits. */
	// NOLINTNEXTLINE(cert-err34-c)
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	/* Read-only: closing cannot lose data. */
	(void)fclose(f);
	return v;
}

/* Threads alive on the whole machine: the fourth field of /proc/loadavg is
 * "running/total" scheduling entities. */
static long tasks_in_use(void)
{
	FILE *f = fopen("/proc/loadavg", "r");
	if (!f)
		return -1;
	long total = -1;
	/* A kernel-printed int; a long always fits. */
	// NOLINTNEXTLINE(cert-err34-c)
	if (fscanf(f, "%*s %*s %*s %*d/%ld", &total) != 1)
		total = -1;
	(void)fclose(f);
	return total;
}

static int check_threads(unsigned long threads, char *err, size_t errlen)
{
	long pid_max = read_long("/proc/sys/kernel/pid_max");
	long threads_max = read_long("/proc/sys/kernel/threads-max");
	long in_use = tasks_in_use();
	if (pid_max > 0 && threads_max > 0 && threads_max < pid_max)
		pid_max = threads_max;
	if (pid_max > 0 && in_use >= 0) {
		long room = pid_max - in_use - (long)SPARE_TASKS;
		if (room < 0 || (unsigned long)room < threads) {
			snprintf(err, errlen,
			         "need %lu threads (one per WebSocket client: lower "
			         "server.max_connections), but the machine has room for %ld "
			         "(kernel limit %ld, %ld in use, %lu kept spare)",
			         threads, room < 0 ? 0 : room, pid_max, in_use, SPARE_TASKS);
			return -1;
		}
	}

	struct rlimit nproc;
	if (getrlimit(RLIMIT_NPROC, &nproc) == 0 && nproc.rlim_cur != RLIM_INFINITY &&
	    nproc.rlim_cur < threads + SPARE_TASKS / 8) {
		snprintf(err, errlen,
		         "need %lu threads but RLIMIT_NPROC is %llu: raise it (ulimit -u) or lower "
		         "server.max_connections",
		         threads, (unsigned long long)nproc.rlim_cur);
		return -1;
	}

	/* Each thread maps a stack and a guard page. */
	long max_maps = read_long("/proc/sys/vm/max_map_count");
	if (max_maps > 0 && (unsigned long)max_maps < 2 * threads + SPARE_MAPS) {
		snprintf(err, errlen,
		         "need about %lu memory maps for %lu threads but vm.max_map_count is %ld",
		         2 * threads + SPARE_MAPS, threads, max_maps);
		return -1;
	}
	return 0;
}

static int check_fds(unsigned long fds, char *err, size_t errlen)
{
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) != 0)
		return 0;
	if (nofile.rlim_cur != RLIM_INFINITY && nofile.rlim_cur < fds) {
		if (nofile.rlim_max != RLIM_INFINITY && nofile.rlim_max < fds) {
			snprintf(
			    err, errlen,
			    "need %lu file descriptors but the hard RLIMIT_NOFILE is %llu: "
			    "raise it (ulimit -Hn, LimitNOFILE=) or lower server.max_connections",
			    fds, (unsigned long long)nofile.rlim_max);
			return -1;
		}
		nofile.rlim_cur = fds;
		if (setrlimit(RLIMIT_NOFILE, &nofile) != 0) {
			snprintf(err, errlen, "cannot raise RLIMIT_NOFILE to %lu", fds);
			return -1;
		}
	}
	return 0;
}

int resource_limits_check(unsigned long threads, unsigned long fds, char *err, size_t errlen)
{
	if (check_threads(threads, err, errlen) != 0)
		return -1;
	return check_fds(fds, err, errlen);
}
