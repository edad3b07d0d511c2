/* Private to the config_load*.c files: the state of one config_load() call
 * and what its parts offer each other. */
#ifndef WSRELAY_CONFIG_LOAD_H
#define WSRELAY_CONFIG_LOAD_H

#include <stddef.h>
#include <yaml.h>

#include "config.h"
#include "config_schema.h"

struct config_loader {
	const char *path; /* of the file, as given, for messages */
	char *err;
	size_t errlen;
	yaml_document_t *doc;
	struct config *cfg; /* being filled; freed by the caller on error */
	const char *base;   /* absolute folder that relative paths resolve against */
	char name[96];      /* dotted name of the key being loaded, e.g. "server.listen" */
};

static inline yaml_node_t *loader_node(const struct config_loader *ld, int index)
{
	return yaml_document_get_node(ld->doc, index);
}

/* ---- config_load_errors.c: each writes "path:line:column: ..." and returns -1 ---- */

__attribute__((format(printf, 3, 4))) int loader_fail_at(struct config_loader *ld, yaml_mark_t mark,
                                                         const char *fmt, ...);

/* An error about the value of the key being loaded, prefixed with its name. */
__attribute__((format(printf, 3, 4))) int
loader_fail_value(struct config_loader *ld, const yaml_node_t *node, const char *fmt, ...);

int loader_out_of_memory(struct config_loader *ld, const yaml_node_t *node);

/* ---- config_load_sections.c ---- */

/* Loads a mapping, or a null that stands for an empty one, by sec's table. */
int loader_load_section(struct config_loader *ld, const struct config_section *sec,
                        yaml_node_t *node);

/* ---- config_load_values.c ---- */

/* Loads node into f's member; f is of any kind but KIND_SECTION. */
int loader_load_value(struct config_loader *ld, const struct config_field *f, yaml_node_t *node);

#endif
