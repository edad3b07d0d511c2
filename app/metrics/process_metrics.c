#include "process_metrics.h"

#include <dirent.h>
#include <stdio.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

/* The fields of /proc/self/stat the families need (proc(5) numbering). */
struct proc_stat {
	unsigned long utime_ticks;      /* 14 */
	unsigned long stime_ticks;      /* 15 */
	long threads;                   /* 20 */
	unsigned long long start_ticks; /* 22, since boot */
	unsigned long vsize_bytes;      /* 23 */
	long rss_pages;                 /* 24 */
};

static int read_proc_stat(struct proc_stat *ps)
{
	FILE *f = fopen("/proc/self/stat", "r");
	if (!f)
		return -1;
	char line[1024];
	char *ok = fgets(line, sizeof(line), f);
	/* Read-only: closing cannot lose data. */
	(void)fclose(f);
	if (!ok)
		return -1;
	/* The command name (field 2) may hold spaces and parentheses: fields
	 * are counted from the last ')'. */
	const char *p = strrchr(line, ')');
	if (!p)
		return -1;
	/* sscanf cannot report out-of-range numbers, but the kernel prints these
	 * fields from the very types they are read into. */
	// NOLINTNEXTLINE(cert-err34-c)
	int n = sscanf(p + 2,
	               "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u "  /* 3-13 */
	               "%lu %lu %*d %*d %*d %*d %ld %*d %llu %lu %ld", /* 14-24 */
	               &ps->utime_ticks, &ps->stime_ticks, &ps->threads, &ps->start_ticks,
	               &ps->vsize_bytes, &ps->rss_pages);
	return n == 6 ? 0 : -1;
}

static long boot_time_seconds(void)
{
	FILE *f = fopen("/proc/stat", "r");
	if (!f)
		return -1;
	char line[256];
	long btime = -1;
	while (fgets(line, sizeof(line), f)) {
		/* Kernel-printed seconds since the epoch: a long, never out of range. */
		// NOLINTNEXTLINE(cert-err34-c)
		if (sscanf(line, "btime %ld", &btime) == 1)
			break;
	}
	(void)fclose(f);
	return btime;
}

static long open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	long n = 0;
	const struct dirent *ent;
	while ((ent = readdir(d)) != NULL) {
		if (ent->d_name[0] != '.')
			n++;
	}
	closedir(d);
	return n - 1; /* the descriptor opendir itself holds */
}

void process_metrics_write(struct exposition *e)
{
	struct proc_stat ps;
	if (read_proc_stat(&ps) != 0)
		return;
	double ticks = (double)sysconf(_SC_CLK_TCK);
	long page = sysconf(_SC_PAGESIZE);

	exposition_family(e, "process_cpu_seconds_total", "counter",
	                  "Total user and system CPU time spent in seconds.");
	exposition_double(e, "process_cpu_seconds_total", NULL,
	                  (double)(ps.utime_ticks + ps.stime_ticks) / ticks);

	exposition_family(e, "process_resident_memory_bytes", "gauge",
	                  "Resident memory size in bytes.");
	exposition_uint(e, "process_resident_memory_bytes", NULL,
	                (uint64_t)ps.rss_pages * (uint64_t)page);

	exposition_family(e, "process_virtual_memory_bytes", "gauge",
	                  "Virtual memory size in bytes.");
	exposition_uint(e, "process_virtual_memory_bytes", NULL, ps.vsize_bytes);

	long fds = open_fds();
	if (fds >= 0) {
		exposition_family(e, "process_open_fds", "gauge",
		                  "Number of open file descriptors.");
		exposition_uint(e, "process_open_fds", NULL, (uint64_t)fds);
	}
	struct rlimit nofile;
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0) {
		exposition_family(e, "process_max_fds", "gauge",
		                  "Maximum number of open file descriptors.");
		exposition_uint(e, "process_max_fds", NULL, (uint64_t)nofile.rlim_cur);
	}

	long btime = boot_time_seconds();
	if (btime >= 0) {
		exposition_family(e, "process_start_time_seconds", "gauge",
		                  "Start time of the process since unix epoch in seconds.");
		exposition_double(e, "process_start_time_seconds", NULL,
		                  (double)btime + (double)ps.start_ticks / ticks);
	}

	exposition_family(e, "process_threads", "gauge", "Number of OS threads in the process.");
	exposition_uint(e, "process_threads", NULL, (uint64_t)ps.threads);
}
