/* Walks a section's table over a YAML mapping: each key must be one of the
 * section's, at most once, and the section's cross-key rule runs last. */
#include <string.h>

#include "config_load_sections.h"
#include "config_load_values.h"
#include "yaml_node.h"

static bool key_is(const yaml_node_t *key, const char *name)
{
	return key->data.scalar.length == strlen(name) &&
	       memcmp(key->data.scalar.value, name, key->data.scalar.length) == 0;
}

/* The pairs of a mapping; a null has none, like an empty mapping. */
static size_t pairs_of(const yaml_node_t *node, yaml_node_pair_t **pairs)
{
	if (node->type != YAML_MAPPING_NODE) {
		*pairs = NULL;
		return 0;
	}
	*pairs = node->data.mapping.pairs.start;
	return (size_t)(node->data.mapping.pairs.top - *pairs);
}

static const struct config_field *find_field(const struct config_section *sec,
                                             const yaml_node_t *key)
{
	for (size_t i = 0; i < sec->count; i++)
		if (key_is(key, sec->fields[i].name))
			return &sec->fields[i];
	return NULL;
}

/* The first of count pairs whose key is called name, or NULL. Only used on
 * keys that already passed find_field, so they are known scalars. */
static const yaml_node_pair_t *find_pair(const struct config_loader *ld,
                                         const yaml_node_pair_t *pairs, size_t count,
                                         const char *name)
{
	for (size_t i = 0; i < count; i++)
		if (key_is(config_loader_node(ld, pairs[i].key), name))
			return &pairs[i];
	return NULL;
}

static int fail_unknown_key(struct config_loader *ld, const struct config_section *sec,
                            const char *path, const yaml_node_t *key)
{
	char quoted[QUOTE_SIZE], names[256];
	size_t used = 0;

	names[0] = '\0';
	for (size_t i = 0; i < sec->count && used < sizeof(names); i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
		                         sec->fields[i].name);
	return config_loader_fail_at(
	    ld, key->start_mark, "unknown key %s%s%s (expected one of: %s)",
	    quote_shortened(yaml_node_text(key), quoted), path[0] ? " in " : "", path, names);
}

static int load_field(struct config_loader *ld, const struct config_field *f, void *self,
                      const char *path, yaml_node_t *node)
{
	char got[DESCRIBE_SIZE], inner[sizeof(ld->name)];

	snprintf(ld->name, sizeof(ld->name), "%s%s%s", path, path[0] ? "." : "", f->name);
	if (f->kind != KIND_SECTION)
		return config_load_value(ld, f, self, node);
	/* A null section, e.g. "relay:" with every key under it commented out,
	 * keeps the section's defaults just as leaving it out does. */
	if (node->type != YAML_MAPPING_NODE && !yaml_node_is_null(node))
		return config_loader_fail_value(ld, node, "expected a mapping, got %s",
		                                yaml_node_describe(node, got));
	/* ld->name changes with every key of the inner section. */
	memcpy(inner, ld->name, sizeof(inner));
	return config_load_section(ld, f->section, config_member(self, f->offset), inner, node);
}

/* The section's cross-key rule, pointing at the value it is about, or at the
 * section when that key was left out. */
static int check_section(struct config_loader *ld, const struct config_section *sec,
                         const void *self, const char *path, const yaml_node_t *node)
{
	char why[256];
	const char *key = sec->check ? sec->check(self, path, why, sizeof(why)) : NULL;
	yaml_node_pair_t *pairs;
	size_t count = pairs_of(node, &pairs);
	const yaml_node_pair_t *pair;

	if (!key)
		return 0;
	pair = find_pair(ld, pairs, count, key);
	return config_loader_fail_at(
	    ld, (pair ? config_loader_node(ld, pair->value) : node)->start_mark, "%s", why);
}

int config_load_section(struct config_loader *ld, const struct config_section *sec, void *self,
                        const char *path, yaml_node_t *node)
{
	char got[DESCRIBE_SIZE], quoted[QUOTE_SIZE];
	yaml_node_pair_t *pairs;
	size_t count = pairs_of(node, &pairs);

	for (size_t i = 0; i < count; i++) {
		yaml_node_t *key = config_loader_node(ld, pairs[i].key);
		const yaml_node_pair_t *duplicate;
		const struct config_field *f;

		if (key->type != YAML_SCALAR_NODE)
			return config_loader_fail_at(ld, key->start_mark,
			                             "keys must be names, got %s",
			                             yaml_node_describe(key, got));
		f = find_field(sec, key);
		if (!f)
			return fail_unknown_key(ld, sec, path, key);
		duplicate = find_pair(ld, pairs, i, f->name);
		if (duplicate)
			return config_loader_fail_at(
			    ld, key->start_mark, "duplicate key %s%s%s (first at line %zu)",
			    quote_shortened(f->name, quoted), path[0] ? " in " : "", path,
			    config_loader_node(ld, duplicate->key)->start_mark.line + 1);
		if (load_field(ld, f, self, path, config_loader_node(ld, pairs[i].value)))
			return -1;
	}
	return check_section(ld, sec, self, path, node);
}
