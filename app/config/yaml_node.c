/* libyaml hands over every scalar as text with its quoting style; the rules
 * for which unquoted words are nulls or booleans live here, once, so that
 * loading and its messages agree on them. */
#include "yaml_node.h"

#include <string.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool is_one_of(const char *s, const char *const *words, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

const char *yaml_node_text(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

bool yaml_node_is_plain(const yaml_node_t *node)
{
	return node->type == YAML_SCALAR_NODE && node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

bool yaml_node_is_null(const yaml_node_t *node)
{
	static const char *const nulls[] = {"", "~", "null", "Null", "NULL"};

	return yaml_node_is_plain(node) && is_one_of(yaml_node_text(node), nulls, ARRAY_LEN(nulls));
}

/* Such words must not silently become strings: document_root: false does not
 * turn static files off. */
bool yaml_node_is_bool_word(const yaml_node_t *node)
{
	static const char *const bools[] = {"true", "false", "True", "False", "TRUE", "FALSE"};

	return yaml_node_is_plain(node) && is_one_of(yaml_node_text(node), bools, ARRAY_LEN(bools));
}

const char *yaml_node_describe(const yaml_node_t *node, char buf[static DESCRIBE_SIZE])
{
	char quoted[QUOTE_SIZE];

	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		if (yaml_node_is_null(node))
			return yaml_node_text(node)[0] == '\0' ? "an empty value" : "null";
		/* "the string" tells a quoted "5" apart from the number 5. */
		snprintf(buf, DESCRIBE_SIZE, "%s%s", yaml_node_is_plain(node) ? "" : "the string ",
		         quote_shortened(yaml_node_text(node), quoted));
		return buf;
	case YAML_NO_NODE:
		break;
	}
	return "nothing";
}
