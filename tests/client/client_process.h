/* Runs wsrelay-client as a child with its stdin, stdout and stderr on pipes,
 * so a test can type lines, read what it prints while it runs, and check its
 * exit status. Children die with the test (PR_SET_PDEATHSIG). */
#ifndef WSRELAY_TESTS_CLIENT_PROCESS_H
#define WSRELAY_TESTS_CLIENT_PROCESS_H

#include <stddef.h>
#include <sys/types.h>

#define CLIENT_OUTPUT_CAP 65536

struct client_process {
	pid_t pid; /* -1 once reaped */
	int stdin_fd;
	int stdout_fd;
	int stderr_fd;
	/* Everything read so far, NUL-terminated (binary output may hold NULs
	 * of its own: use the lengths). */
	char out[CLIENT_OUTPUT_CAP];
	size_t out_len;
	char err[CLIENT_OUTPUT_CAP];
	size_t err_len;
};

/* Starts binary with argv (argv[0] included, NULL-terminated); stdin is a
 * pipe unless stdin_devnull. Returns 0 or -1. */
int client_start(struct client_process *p, const char *binary, char *const argv[],
                 int stdin_devnull);

/* Writes all of data to the child's stdin. Returns 0 or -1. */
int client_type(struct client_process *p, const void *data, size_t len);

/* Closes the child's stdin, i.e. sends it end of input. */
void client_end_input(struct client_process *p);

/* Reads stdout and stderr until stdout holds needle (needle_len bytes).
 * Returns 0, or -1 at timeout or when the child closed stdout first. */
int client_wait_stdout(struct client_process *p, const void *needle, size_t needle_len,
                       int timeout_ms);

/* Reads all output until the child exits. Returns its exit status, -1 if a
 * signal ended it, -2 on timeout (then it is SIGKILLed and reaped). */
int client_wait_exit(struct client_process *p, int timeout_ms);

/* Kills a child still running and closes the pipes; safe to call twice. */
void client_cleanup(struct client_process *p);

/* Runs binary to completion with stdin from /dev/null; returns like
 * client_wait_exit, with the output left in p. */
int client_run(struct client_process *p, const char *binary, char *const argv[], int timeout_ms);

#endif
