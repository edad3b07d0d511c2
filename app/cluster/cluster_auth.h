/* Signed envelopes: the shared keys of cluster.secret_file and the
 * HMAC-SHA256 every envelope carries when the file is set.
 *
 * A signed message on the broker is
 *
 *   0      magic 0x57 ('W')
 *   1      signature scheme, 1: HMAC-SHA256
 *   2      the tag, 32 bytes, over bytes 0-1 and the envelope that follows
 *   34     the envelope (cluster_envelope.h), all of it
 *
 * so the envelope's own codec is unchanged and a node without the file
 * tells a signed message from an unsigned one by its first byte. A node
 * signs with the first key of its file and accepts a tag made with any of
 * them, which is what a rotation needs: [K1] -> [K1, K2] on every node ->
 * [K2, K1] -> [K2], the file read again on SIGHUP at each step.
 *
 * Threads: sign and verify may run on any threads at once; reload swaps
 * the key set under a mutex that sign and verify hold only to take a
 * reference, never while hashing. */
#ifndef WSRELAY_CLUSTER_AUTH_H
#define WSRELAY_CLUSTER_AUTH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLUSTER_AUTH_MAGIC    0x57u
#define CLUSTER_AUTH_SCHEME   1u
#define CLUSTER_AUTH_TAG_SIZE 32u
/* Bytes in front of the envelope. */
#define CLUSTER_AUTH_PREFIX_SIZE (2u + CLUSTER_AUTH_TAG_SIZE)
/* Shortest key accepted: the tag's own strength. */
#define CLUSTER_AUTH_KEY_MIN  32u
#define CLUSTER_AUTH_KEY_MAX  1024u
#define CLUSTER_AUTH_KEYS_MAX 16u

struct cluster_auth;

/* Reads the key file at path: one key a line as hex (at least 32 bytes),
 * blank lines and lines starting with '#' ignored. NULL with a reason in
 * err that names the file (and line) but never a key. */
struct cluster_auth *cluster_auth_create(const char *path, char *err, size_t errlen);

/* Reads the same file again; on success the new keys are used for every
 * later sign and verify, on failure (reason in err) the old ones stay. */
int cluster_auth_reload(struct cluster_auth *a, char *err, size_t errlen);

/* Keys in the set now. */
size_t cluster_auth_key_count(struct cluster_auth *a);

/* Fills msg[0..CLUSTER_AUTH_PREFIX_SIZE) for the envelope that follows it
 * in msg[CLUSTER_AUTH_PREFIX_SIZE..len). 0, or -1 when OpenSSL failed. */
int cluster_auth_sign(struct cluster_auth *a, uint8_t *msg, size_t len);

enum cluster_auth_verdict {
	CLUSTER_AUTH_VALID,
	CLUSTER_AUTH_UNSIGNED,   /* not a signed message at all */
	CLUSTER_AUTH_BAD_SCHEME, /* signed, in a scheme this node does not know */
	CLUSTER_AUTH_TRUNCATED,  /* shorter than the prefix */
	CLUSTER_AUTH_BAD_TAG,    /* made with none of our keys, or altered */
};

/* Checks msg[0..len) against every key; on CLUSTER_AUTH_VALID *envelope and
 * *envelope_len point at the envelope inside msg. */
enum cluster_auth_verdict cluster_auth_verify(struct cluster_auth *a, const uint8_t *msg,
                                              size_t len, const uint8_t **envelope,
                                              size_t *envelope_len);

void cluster_auth_destroy(struct cluster_auth *a);

#endif
