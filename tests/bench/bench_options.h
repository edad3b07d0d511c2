/* wsrelay-bench's command line. */
#ifndef WSRELAY_BENCH_OPTIONS_H
#define WSRELAY_BENCH_OPTIONS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

enum bench_mode { BENCH_MODE_LOAD, BENCH_MODE_IDLE };

struct bench_options {
	enum bench_mode mode;
	char host[64];
	uint16_t port;
	char path[256];
	unsigned subscribers;
	unsigned publishers;
	unsigned stalled;
	unsigned size;       /* payload bytes per message */
	double rate;         /* messages per second per publisher; 0: window-bound */
	unsigned window;     /* a publisher's messages sent but not yet back to it */
	double duration_s;   /* the measured part of a load run */
	double warmup_s;     /* sending before the measurement starts */
	double drain_s;      /* how long a message may take before it counts as lost */
	unsigned idle;       /* idle mode: connections to open */
	double hold_s;       /* idle mode: how long to hold them */
	double connect_rate; /* new connections per second; 0: as fast as possible */
	pid_t server_pid;    /* 0: none */
	bool text;           /* text frames (stamp in hex) instead of binary */
	double churn;        /* joins and leaves per second in rooms churn-<k>; 0: none */
	unsigned rooms;      /* 0: everyone at --path; N: rooms path/r0 .. path/r<N-1> */
	bool tls;            /* wss:// */
	bool insecure;       /* wss:// without checking the server's certificate */
	char ca_file[512];   /* wss://: the CA to check it against; "": the system's */
};

/* Fills opts from argv. Returns 0 to run, 1 when --help was printed (exit 0),
 * or -1 after printing a one-line error to stderr (exit 2). */
int bench_options_parse(struct bench_options *opts, int argc, char **argv);

#endif
