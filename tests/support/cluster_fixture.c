/* cmocka fixtures of the cluster tests. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "cluster_fixture.h"

#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

/* Every wait here is for something that happens: only a failure waits this
 * long, and sanitizer builds on a loaded machine are slow. */
#define FIXTURE_WAIT_MS 60000

int cluster_fixture_args(struct cluster_fixture *cf, int argc, char **argv, const char *program)
{
	if (argc == 2 && broker_kind_from_name(argv[1], &cf->kind) == 0)
		return 0;
	fprintf(stderr, "usage: %s redis|nats\n", program);
	return -1;
}

int cluster_fixture_setup(struct cluster_fixture *cf, const char *prefix)
{
	snprintf(cf->channel, sizeof(cf->channel), "%s.%ld", prefix, (long)getpid());
	cf->node_count = 0;
	return broker_init(&cf->broker, cf->kind);
}

int cluster_fixture_teardown(struct cluster_fixture *cf)
{
	int rc = 0;
	for (size_t i = 0; i < cf->node_count; i++)
		if (cf->nodes[i].pid > 0 &&
		    relay_stop(&cf->nodes[i], SIGTERM, FIXTURE_WAIT_MS) != 0)
			rc = -1;
	cf->node_count = 0;
	broker_cleanup(&cf->broker);
	return rc;
}

void cluster_fixture_start_node(struct cluster_fixture *cf, size_t i, const char *binary,
                                const char *yaml)
{
	assert_true(i < CLUSTER_FIXTURE_MAX_NODES);
	assert_int_equal(relay_start(&cf->nodes[i], binary, yaml), 0);
	assert_int_equal(
	    relay_wait_listener(&cf->nodes[i], cf->nodes[i].metrics_port, FIXTURE_WAIT_MS), 0);
	if (cf->node_count < i + 1)
		cf->node_count = i + 1;
}

size_t cluster_fixture_envelope(uint8_t *out, const char *node_id, uint64_t seq, const char *text)
{
	size_t id_len = strlen(node_id), len = strlen(text);
	out[0] = 0x77;
	out[1] = 1;
	out[2] = 1;
	out[3] = (uint8_t)id_len;
	/* Counted bytes, as on the wire: no NUL after the id or the text. */
	memcpy(out + 4, node_id, id_len); // NOLINT(bugprone-not-null-terminated-result)
	for (int i = 0; i < 8; i++)
		out[4 + id_len + (size_t)i] = (uint8_t)(seq >> (56 - 8 * i));
	memcpy(out + 12 + id_len, text, len); // NOLINT(bugprone-not-null-terminated-result)
	return 12 + id_len + len;
}
