/* Private to the config_load*.c files: the state of one config_load() call
 * and its error messages, each "path:line:column: ..." on one line. */
#ifndef WSRELAY_CONFIG_LOADER_H
#define WSRELAY_CONFIG_LOADER_H

#include <stddef.h>
#include <yaml.h>

#include "config.h"

struct config_loader {
	const char *path; /* of the file, as given, for messages */
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	struct config *cfg; /* being filled; freed by the caller on error */
	const char *base;   /* absolute folder that relative paths resolve against */
	char name[96];      /* dotted name of the key being loaded, e.g. "server.listen" */
};

static inline yaml_node_t *config_loader_node(const struct config_loader *ld, int index)
{
	return yaml_document_get_node(ld->doc, index);
}

/* Each writes "path:line:column: ..." into ld->err and returns -1. */
__attribute__((format(printf, 3, 4))) int
config_loader_fail_at(struct config_loader *ld, yaml_mark_t mark, const char *fmt, ...);

/* An error about the value of the key being loaded, prefixed with its name. */
__attribute__((format(printf, 3, 4))) int
config_loader_fail_value(struct config_loader *ld, const yaml_node_t *node, const char *fmt, ...);

int config_loader_out_of_memory(struct config_loader *ld, const yaml_node_t *node);

#endif
