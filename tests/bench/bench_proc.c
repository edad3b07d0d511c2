/* Server CPU from /proc/PID/stat (the runner's "server CPU-seconds"), memory
 * from status and smaps_rollup. PSS rather than RSS where possible, so that
 * shared library pages count once however many processes map them. */
#include "bench_proc.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static double read_cpu_s(pid_t pid, bool *ok)
{
	char path[64];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f) {
		*ok = false;
		return 0;
	}
	char line[1024];
	bool got = fgets(line, sizeof(line), f) != NULL;
	(void)fclose(f);
	/* The command name may hold spaces and parentheses: fields are counted
	 * from the last ')'. utime and stime are the 12th and 13th after it. */
	char *p = got ? strrchr(line, ')') : NULL;
	if (!p) {
		*ok = false;
		return 0;
	}
	p++;
	unsigned long long ticks[2] = {0, 0};
	for (int field = 1; field <= 13; field++) {
		while (*p == ' ')
			p++;
		char *end = p;
		while (*end && *end != ' ')
			end++;
		if (end == p) {
			*ok = false;
			return 0;
		}
		if (field >= 12)
			ticks[field - 12] = strtoull(p, NULL, 10);
		p = end;
	}
	unsigned long long utime = ticks[0];
	unsigned long long stime = ticks[1];
	long hz = sysconf(_SC_CLK_TCK);
	return (double)(utime + stime) / (double)(hz > 0 ? hz : 100);
}

/* The value after "key" in a "Key:   123 kB" file, or -1. */
static long read_kib(const char *path, const char *key)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return -1;
	char line[256];
	long value = -1;
	size_t klen = strlen(key);
	while (fgets(line, sizeof(line), f)) {
		if (strncmp(line, key, klen) == 0) {
			value = strtol(line + klen, NULL, 10);
			break;
		}
	}
	(void)fclose(f);
	return value;
}

struct proc_sample proc_sample(pid_t pid)
{
	struct proc_sample s = {.ok = true};
	char path[64];
	s.cpu_s = read_cpu_s(pid, &s.ok);
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	s.rss_kib = read_kib(path, "VmRSS:");
	s.threads = read_kib(path, "Threads:");
	snprintf(path, sizeof(path), "/proc/%d/smaps_rollup", (int)pid);
	s.pss_kib = read_kib(path, "Pss:");
	if (s.rss_kib < 0)
		s.ok = false;
	return s;
}
