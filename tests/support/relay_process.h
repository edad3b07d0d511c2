/* Running the real wsrelay binary from integration tests: temporary config,
 * free loopback ports, readiness wait, shutdown and output capture.
 *
 * Children are started with fork/exec, with every inherited descriptor above
 * stderr closed (so test sockets never leak into a server), the signal mask
 * and the usual dispositions reset, and PR_SET_PDEATHSIG(SIGKILL) so that a
 * crashed or aborted test does not leave servers holding ports. Linux ties
 * that death signal to the *thread* that forked: start servers from a thread
 * that outlives them (normally the test's main thread).
 *
 * Set WSRELAY_KEEP_TEST_DIRS to any value to keep the temporary directories
 * (config, stdout, stderr) for inspection; their paths are printed. */
#ifndef WSRELAY_TESTS_RELAY_PROCESS_H
#define WSRELAY_TESTS_RELAY_PROCESS_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#ifndef PATH_MAX
#define PATH_MAX 4096
#endif

struct relay_process {
	pid_t pid; /* -1 once reaped */
	uint16_t port;
	uint16_t metrics_port;
	char dir[PATH_MAX];
	char config_path[PATH_MAX];
	char stdout_path[PATH_MAX];
	char stderr_path[PATH_MAX];
};

/* A port that was free on 127.0.0.1 a moment ago (0 on failure). Another
 * process can take it before the server binds it; relay_start retries. */
uint16_t free_loopback_port(void);

/* Polls until a TCP connect to 127.0.0.1:port succeeds. Returns 0 or -1.
 * Each probe is a real (immediately closed) connection to the server. */
int relay_wait_port(uint16_t port, int timeout_ms);

/* Polls until rp's process has a listening socket on port (any address,
 * IPv4 or IPv6), found through /proc without connecting, so the server's
 * connection counters stay untouched. Falls back to relay_wait_port when
 * /proc is unavailable. Returns 0 or -1. */
int relay_wait_listener(const struct relay_process *rp, uint16_t port, int timeout_ms);

/* Starts `binary --config-file <dir>/config.yaml` in a fresh temporary dir.
 *
 * With yaml_extra NULL the config listens on 127.0.0.1:rp->port, with
 * max_connections 64, no document root, metrics on 127.0.0.1:rp->metrics_port
 * and debug logging. Otherwise yaml_extra is the whole config, with every
 * @PORT@, @METRICS_PORT@ and @DIR@ replaced; it must make the server listen on
 * @PORT@ (on any address), since readiness means the server process owns a
 * listening socket on that port (see relay_wait_listener; no probe connection
 * is made). The relay opens its metrics listener before the WebSocket one,
 * so both answer once this returns.
 *
 * If the server exits with status 1 naming one of its ports in stderr (a port
 * stolen between our probe and its bind), it is retried with new ports up to
 * three times. Ready means the server said READY=1 on the NOTIFY_SOCKET
 * this sets for it (sd_notify: every worker is up, so a client is served at
 * once) and listens on its port. Returns 0 when it is ready within 60 s;
 * otherwise -1, after copying the server's stderr to ours and removing the
 * directory (rp->pid is then -1). */
int relay_start(struct relay_process *rp, const char *binary, const char *yaml_extra);

/* Sends sig (0: send nothing and just wait for an exit already under way)
 * and waits up to timeout_ms. Returns the exit status, -1 if a signal ended
 * the process, or -2 on timeout (it is then SIGKILLed and reaped). Removes
 * the temporary directory. Calling it again, or after a failed start,
 * returns -1 and does nothing. */
int relay_stop(struct relay_process *rp, int sig, int timeout_ms);

/* relay_stop that first copies the server's complete stderr into err_out
 * (NUL-terminated, truncated to err_cap - 1), for tests that check what the
 * server logged while shutting down. */
int relay_stop_capture(struct relay_process *rp, int sig, int timeout_ms, char *err_out,
                       size_t err_cap);

/* Runs binary with argv[1..] (argv[0] is ignored; argv may be NULL), stdin
 * from /dev/null, stdout and stderr combined into out (NUL-terminated,
 * truncated to out_cap - 1; out may be NULL when out_cap is 0). Returns the
 * exit status, or -1 when killed by a signal, timed out (then SIGKILLed) or
 * impossible to start. */
int relay_run(const char *binary, char *const argv[], char *out, size_t out_cap, int timeout_ms);

/* Starts any program in the background with the same hygiene as the relay
 * (no inherited descriptors, death signal), argv[0] included, stdout and
 * stderr appended to log_path. Returns the pid, or -1. */
pid_t process_spawn(const char *binary, char *const argv[], const char *log_path);

/* Sends sig (unless 0) and waits up to timeout_ms, then SIGKILLs. Returns the
 * exit status, -1 if a signal ended it, -2 on timeout. */
int process_stop(pid_t pid, int sig, int timeout_ms);

/* Resident and peak resident memory from /proc/<pid>/status, or -1. */
long relay_rss_kib(pid_t pid);
long relay_hwm_kib(pid_t pid);

/* 1 if the server's stderr so far contains needle, 0 if not, -1 on error. */
int relay_stderr_contains(const struct relay_process *rp, const char *needle);

#endif
