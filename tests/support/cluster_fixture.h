/* cmocka fixtures of the cluster tests: one real broker (Debian's
 * redis-server or nats-server, named on the command line) and relay nodes on
 * it, on a channel of the run's own, torn down together after each test. */
#ifndef WSRELAY_TESTS_CLUSTER_FIXTURE_H
#define WSRELAY_TESTS_CLUSTER_FIXTURE_H

#include <stddef.h>
#include <stdint.h>

#include "broker_process.h"
#include "relay_process.h"

#define CLUSTER_FIXTURE_MAX_NODES 3

struct cluster_fixture {
	enum test_broker kind;
	struct broker_process broker;
	struct relay_process nodes[CLUSTER_FIXTURE_MAX_NODES];
	size_t node_count; /* nodes[0 .. node_count) were started */
	char channel[64];
};

/* The program's one argument, "redis" or "nats", into cf->kind: 0, or -1
 * after printing program's usage. */
int cluster_fixture_args(struct cluster_fixture *cf, int argc, char **argv, const char *program);

/* A test's setup: no node yet, a channel "<prefix>.<pid>" of its own (so
 * that overlapping runs never mix), the broker given a free port and a
 * folder but not started. 0 or -1. */
int cluster_fixture_setup(struct cluster_fixture *cf, const char *prefix);

/* A test's teardown: every node still running stopped with SIGTERM (each
 * must exit 0 within 60 s), then the broker, its folder removed. 0 or -1. */
int cluster_fixture_teardown(struct cluster_fixture *cf);

/* Starts binary as node i (below CLUSTER_FIXTURE_MAX_NODES) with yaml,
 * relay_start's config with its placeholders, and waits for its metrics
 * port; fails the test otherwise. node_count then covers i. */
void cluster_fixture_start_node(struct cluster_fixture *cf, size_t i, const char *binary,
                                const char *yaml);

/* A version 1 envelope (no rooms) as node_id would publish it, made here
 * independently of the relay's encoder: the magic 0x77, version 1, a text
 * opcode, the node id, the sequence number (8 bytes, big-endian), then
 * text. out needs 12 + strlen(node_id) + strlen(text) bytes; returns that
 * length. */
size_t cluster_fixture_envelope(uint8_t *out, const char *node_id, uint64_t seq, const char *text);

#endif
