/* What a libyaml node holds, in the terms the config uses. */
#ifndef WSRELAY_YAML_NODE_H
#define WSRELAY_YAML_NODE_H

#include <stdbool.h>
#include <yaml.h>

#include "quote.h"

/* Room for what yaml_node_describe() writes. */
#define DESCRIBE_SIZE (QUOTE_SIZE + 16)

/* A scalar's value. */
const char *yaml_node_text(const yaml_node_t *node);

/* An unquoted scalar: the only kind YAML reads as null, a bool or a number. */
bool yaml_node_is_plain(const yaml_node_t *node);

/* One of the YAML 1.1/1.2 spellings of null, unquoted. */
bool yaml_node_is_null(const yaml_node_t *node);

/* An unquoted word YAML reads as a boolean. */
bool yaml_node_is_bool_word(const yaml_node_t *node);

/* What node is, for "expected X, got Y" messages; may use buf. */
const char *yaml_node_describe(const yaml_node_t *node, char buf[static DESCRIBE_SIZE]);

#endif
