/* What signing costs per cross-node message: cluster_auth_sign (the
 * publishing node, once per message) and cluster_auth_verify (every
 * receiving node, once per message; a tag made with the second key of the
 * file costs two HMACs) for a few payload sizes. Prints one line per size;
 * never part of ctest. usage: wsrelay-bench-auth [iterations] */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "cluster_auth.h"

static double now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static struct cluster_auth *keys_file(const char *lines)
{
	char path[] = "/tmp/wsrelay-bench-auth-XXXXXX";
	int fd = mkstemp(path);
	if (fd < 0 || write(fd, lines, strlen(lines)) != (ssize_t)strlen(lines))
		return NULL;
	close(fd);
	char err[256];
	struct cluster_auth *a = cluster_auth_create(path, err, sizeof(err));
	unlink(path);
	if (!a)
		fprintf(stderr, "%s\n", err);
	return a;
}

int main(int argc, char **argv)
{
	long iterations = argc > 1 ? strtol(argv[1], NULL, 10) : 200000;
	static const char k1[] =
	    "0101010101010101010101010101010101010101010101010101010101010101\n";
	static const char k2[] =
	    "0202020202020202020202020202020202020202020202020202020202020202\n";
	char both[sizeof(k1) + sizeof(k2)];
	snprintf(both, sizeof(both), "%s%s", k1, k2);
	struct cluster_auth *signer = keys_file(k2);
	struct cluster_auth *one = keys_file(k2);
	struct cluster_auth *two = keys_file(both); /* K1 first: K2's tags match second */
	if (!signer || !one || !two || iterations <= 0)
		return 1;

	static const size_t sizes[] = {64, 1024, 16384, 65536};
	printf("payload_bytes sign_ns verify_ns verify_second_key_ns\n");
	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		size_t len = CLUSTER_AUTH_PREFIX_SIZE + 20 + sizes[s];
		uint8_t *msg = calloc(1, len);
		if (!msg)
			return 1;
		long n = sizes[s] > 4096 ? iterations / 16 : iterations;
		double t0 = now_ns();
		for (long i = 0; i < n; i++) {
			msg[len - 1] = (uint8_t)i;
			cluster_auth_sign(signer, msg, len);
		}
		double t1 = now_ns();
		const uint8_t *env;
		size_t env_len;
		long ok = 0;
		for (long i = 0; i < n; i++)
			ok += cluster_auth_verify(one, msg, len, &env, &env_len) ==
			      CLUSTER_AUTH_VALID;
		double t2 = now_ns();
		for (long i = 0; i < n; i++)
			ok += cluster_auth_verify(two, msg, len, &env, &env_len) ==
			      CLUSTER_AUTH_VALID;
		double t3 = now_ns();
		if (ok != 2 * n)
			return 1;
		printf("%zu %.0f %.0f %.0f\n", sizes[s], (t1 - t0) / (double)n,
		       (t2 - t1) / (double)n, (t3 - t2) / (double)n);
		free(msg);
	}
	cluster_auth_destroy(signer);
	cluster_auth_destroy(one);
	cluster_auth_destroy(two);
	return 0;
}
