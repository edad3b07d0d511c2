/* Turns one YAML value into one struct config member, by the field's kind.
 * Values are strict: a wrong type, a string YAML would have read as a bool
 * or a number outside its range is an error, never a guess. */
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "broker_url.h"
#include "config_lifetime.h"
#include "config_load_values.h"
#include "path.h"
#include "decimal.h"
#include "listen_addr.h"
#include "net_address.h"
#include "origin.h"
#include "yaml_node.h"

#define MAX_LISTEN       16
#define MAX_BROKER_URLS  16
#define MAX_URL_PATH_LEN 255
/* Room for a reason from listen_addr_parse() or origin_validate(). */
#define WHY_SIZE (3 * QUOTE_SIZE)

static bool printable(unsigned long cp)
{
	/* Also excludes NEL, LS and PS: YAML 1.1 reads them as line breaks. */
	return (cp >= 0x20 && cp <= 0x7e) ||
	       (cp >= 0xa0 && cp <= 0xd7ff && cp != 0x2028 && cp != 0x2029) ||
	       (cp >= 0xe000 && cp <= 0xfffd && cp != 0xfeff) || (cp >= 0x10000 && cp <= 0x10ffff);
}

/* The first code point of s that cannot stand unescaped in a one-line quoted
 * YAML string, or -1. Refusing them keeps config_print output loadable and
 * every string safe to print on one line. */
static long first_unprintable(const char *s, size_t len)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0;

	while (i < len) {
		unsigned long cp = p[i];
		size_t n = cp < 0x80 ? 1 : cp >= 0xf0 ? 4 : cp >= 0xe0 ? 3 : cp >= 0xc0 ? 2 : 0;

		if (n == 0 || i + n > len)
			return (long)cp;
		if (n > 1)
			cp &= 0x3fu >> (n - 1);
		for (size_t k = 1; k < n; k++) {
			if ((p[i + k] & 0xc0) != 0x80)
				return (long)p[i];
			cp = cp << 6 | (p[i + k] & 0x3fu);
		}
		if (!printable(cp))
			return (long)cp;
		i += n;
	}
	return -1;
}

/* A string value: any scalar except null and unquoted true/false. */
static int get_string(struct config_loader *ld, const yaml_node_t *node, const char *what,
                      const char **out)
{
	char got[DESCRIBE_SIZE];
	long bad;

	/* The failures return -1 themselves, not config_loader_fail_value's result: the
	 * callers read *out on 0, and the analyzer cannot see into that other
	 * file to know it is never 0. */
	if (node->type != YAML_SCALAR_NODE || yaml_node_is_null(node) ||
	    yaml_node_is_bool_word(node)) {
		config_loader_fail_value(ld, node, "expected %s, got %s", what,
		                         yaml_node_describe(node, got));
		return -1;
	}
	bad = first_unprintable(yaml_node_text(node), node->data.scalar.length);
	if (bad >= 0) {
		config_loader_fail_value(ld, node,
		                         "contains a control or non-printable character (U+%04lX)",
		                         (unsigned long)bad);
		return -1;
	}
	*out = yaml_node_text(node);
	return 0;
}

/* Puts value, newly allocated or NULL, in place of the string in *slot. */
static int replace_string(struct config_loader *ld, const yaml_node_t *node, char **slot,
                          char *value)
{
	if (!value)
		return config_loader_out_of_memory(ld, node);
	free(*slot);
	*slot = value;
	return 0;
}

static int load_bool(struct config_loader *ld, const yaml_node_t *node, bool *out)
{
	char got[DESCRIBE_SIZE];

	if (yaml_node_is_plain(node) && strcmp(yaml_node_text(node), "true") == 0)
		*out = true;
	else if (yaml_node_is_plain(node) && strcmp(yaml_node_text(node), "false") == 0)
		*out = false;
	else
		return config_loader_fail_value(ld, node, "expected true or false, got %s",
		                                yaml_node_describe(node, got));
	return 0;
}

static int load_uint(struct config_loader *ld, const struct config_field *f,
                     const yaml_node_t *node, void *out)
{
	char got[DESCRIBE_SIZE];
	const char *s, *digits;
	size_t n;
	uint64_t value;

	if (!yaml_node_is_plain(node) || yaml_node_is_null(node))
		return config_loader_fail_value(ld, node, "expected an integer, got %s",
		                                yaml_node_describe(node, got));
	s = yaml_node_text(node);
	/* The sign is read so that "-5" is reported as out of range, not as a
	 * non-number; "-0" is 0. */
	digits = s[0] == '-' ? s + 1 : s;
	n = decimal_scan(digits, &value);
	if (n == 0 || digits[n] != '\0')
		return config_loader_fail_value(ld, node, "expected a decimal integer, got %s",
		                                yaml_node_describe(node, got));
	if (n > 1 && digits[0] == '0')
		return config_loader_fail_value(
		    ld, node, "%s has a leading zero (YAML 1.1 would read it as octal)",
		    yaml_node_describe(node, got));
	if ((digits != s && value != 0) || value < f->min || value > f->max)
		return config_loader_fail_value(
		    ld, node, "%s is out of range (%" PRIu64 "..%" PRIu64 ")", s, f->min, f->max);
	if (f->size == sizeof(uint32_t))
		*(uint32_t *)out = (uint32_t)value;
	else
		*(uint64_t *)out = value;
	return 0;
}

static int load_url_path(struct config_loader *ld, const yaml_node_t *node, char **out)
{
	char quoted[QUOTE_SIZE];
	const char *s;

	if (get_string(ld, node, "a path starting with \"/\"", &s))
		return -1;
	if (s[0] != '/')
		return config_loader_fail_value(ld, node, "%s must start with \"/\"",
		                                quote_shortened(s, quoted));
	if (strchr(s, ' '))
		return config_loader_fail_value(ld, node, "%s must not contain spaces",
		                                quote_shortened(s, quoted));
	if (strlen(s) > MAX_URL_PATH_LEN)
		return config_loader_fail_value(ld, node, "is too long (%zu bytes, at most %d)",
		                                strlen(s), MAX_URL_PATH_LEN);
	return replace_string(ld, node, out, strdup(s));
}

static int load_file_path(struct config_loader *ld, const yaml_node_t *node, char **out)
{
	const char *s;

	if (get_string(ld, node, "a file path (or \"\")", &s))
		return -1;
	return replace_string(ld, node, out, path_resolve(ld->base, s));
}

/* An enum member by its name in f's table. */
static int load_enum(struct config_loader *ld, const struct config_field *f,
                     const yaml_node_t *node, int *out)
{
	const struct config_enum *e = f->names;
	char quoted[QUOTE_SIZE], expected[128];
	size_t used = 0;
	const char *s;

	if (get_string(ld, node, e->what, &s))
		return -1;
	if (config_enum_value(e, s, out))
		return 0;
	/* "expected "a" or "b"", or "expected one of "a", "b", "c"". */
	for (size_t i = 0; i < e->count && used < sizeof(expected); i++)
		used += (size_t)snprintf(expected + used, sizeof(expected) - used, "%s\"%s\"",
		                         i == 0          ? ""
		                         : e->count == 2 ? " or "
		                                         : ", ",
		                         e->names[i].name);
	return config_loader_fail_value(ld, node, "expected %s%s, got %s",
	                                e->count > 2 ? "one of " : "", expected,
	                                quote_shortened(s, quoted));
}

static int load_string(struct config_loader *ld, const yaml_node_t *node, char **out)
{
	const char *s;

	if (get_string(ld, node, "a string", &s))
		return -1;
	return replace_string(ld, node, out, strdup(s));
}

static int load_listen(struct config_loader *ld, const yaml_node_t *node, bool allow_scheme,
                       struct listen_addr *out)
{
	char why[WHY_SIZE];
	const char *s;

	if (get_string(ld, node, "a \"host:port\" string", &s))
		return -1;
	if (listen_addr_parse(s, allow_scheme, out, why, sizeof(why)))
		return config_loader_fail_value(ld, node, "%s", why);
	return 0;
}

/* One string, or a list of 1..MAX_LISTEN of them, into a fresh array. */
static int load_listen_list(struct config_loader *ld, yaml_node_t *node, struct listen_addr **out,
                            size_t *count)
{
	char got[DESCRIBE_SIZE], quoted[QUOTE_SIZE];
	yaml_node_item_t *items = NULL;
	size_t n = 1;

	if (node->type == YAML_SEQUENCE_NODE) {
		items = node->data.sequence.items.start;
		n = (size_t)(node->data.sequence.items.top - items);
		if (n == 0)
			return config_loader_fail_value(ld, node,
			                                "needs at least one \"host:port\"");
	} else if (node->type != YAML_SCALAR_NODE || yaml_node_is_null(node)) {
		return config_loader_fail_value(ld, node,
		                                "expected \"host:port\" or a list of them, got %s",
		                                yaml_node_describe(node, got));
	}

	free(*out);
	*count = 0;
	*out = calloc(n < MAX_LISTEN ? n : MAX_LISTEN, sizeof(**out));
	if (!*out)
		return config_loader_out_of_memory(ld, node);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = items ? config_loader_node(ld, items[i]) : node;
		struct listen_addr addr;

		if (i == MAX_LISTEN)
			return config_loader_fail_value(ld, item, "too many addresses (at most %d)",
			                                MAX_LISTEN);
		if (load_listen(ld, item, true, &addr))
			return -1;
		for (size_t j = 0; j < *count; j++)
			if (listen_addr_equal(&(*out)[j], &addr))
				return config_loader_fail_value(
				    ld, item, "%s is listed twice",
				    quote_shortened(yaml_node_text(item), quoted));
		(*out)[(*count)++] = addr;
	}
	return 0;
}

/* Checks one string of a list: 0, or -1 with the reason in why. */
typedef int (*list_item_check)(const char *s, char *why, size_t whylen);

/* Appends item's string to list[*count], for which there is room, once it
 * passes check and is not in the list already. */
static int append_unique(struct config_loader *ld, const yaml_node_t *item, const char *what,
                         list_item_check check, char **list, size_t *count)
{
	char quoted[QUOTE_SIZE], why[WHY_SIZE];
	const char *s;

	if (get_string(ld, item, what, &s))
		return -1;
	if (check(s, why, sizeof(why)))
		return config_loader_fail_value(ld, item, "%s", why);
	for (size_t j = 0; j < *count; j++) {
		if (strcmp(list[j], s) == 0) {
			/* A broker URL may hold a password: never quoted as written. */
			char shown[512];
			broker_url_redact(s, shown, sizeof(shown));
			return config_loader_fail_value(ld, item, "%s is listed twice",
			                                quote_shortened(shown, quoted));
		}
	}
	list[*count] = strdup(s);
	if (!list[*count])
		return config_loader_out_of_memory(ld, item);
	(*count)++;
	return 0;
}

/* A YAML sequence of distinct strings, each passing check, into a fresh
 * list; list_what names the whole for the error ("a list of ..."), item_what
 * one item. */
static int load_string_list(struct config_loader *ld, yaml_node_t *node, const char *list_what,
                            const char *item_what, list_item_check check, char ***out,
                            size_t *count)
{
	char got[DESCRIBE_SIZE];
	yaml_node_item_t *items;
	size_t n;

	if (node->type != YAML_SEQUENCE_NODE)
		return config_loader_fail_value(ld, node, "expected %s, got %s", list_what,
		                                yaml_node_describe(node, got));
	items = node->data.sequence.items.start;
	n = (size_t)(node->data.sequence.items.top - items);

	config_free_strings(*out, *count);
	*out = NULL;
	*count = 0;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return config_loader_out_of_memory(ld, node);
	for (size_t i = 0; i < n; i++)
		if (append_unique(ld, config_loader_node(ld, items[i]), item_what, check, *out,
		                  count))
			return -1;
	return 0;
}

static int load_origins(struct config_loader *ld, yaml_node_t *node, char ***out, size_t *count)
{
	return load_string_list(ld, node, "a list of origins, e.g. [\"https://example.com\"]",
	                        "an origin string", origin_validate, out, count);
}

static int check_network(const char *s, char *why, size_t whylen)
{
	struct net_cidr net;
	return net_cidr_parse(s, &net, why, whylen);
}

static int load_networks(struct config_loader *ld, yaml_node_t *node, char ***out, size_t *count)
{
	return load_string_list(ld, node, "a list of networks, e.g. [\"10.0.0.0/8\"]",
	                        "a network like \"10.0.0.0/8\"", check_network, out, count);
}

/* A word: what an algorithm or an HTTP header is called. */
static int check_word(const char *s, char *why, size_t whylen)
{
	char quoted[QUOTE_SIZE];
	size_t len = strlen(s);
	bool ok = len > 0 && len <= 64;
	for (size_t i = 0; ok && i < len; i++)
		ok = (s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		     (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_';
	if (ok)
		return 0;
	snprintf(why, whylen, "%s must be 1 to 64 letters, digits, - or _",
	         quote_shortened(s, quoted));
	return -1;
}

static int load_words(struct config_loader *ld, yaml_node_t *node, char ***out, size_t *count)
{
	return load_string_list(ld, node, "a list of names", "a name", check_word, out, count);
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '_' || c == '-' || c == ':' || c == '.';
}

/* Names that are valid both as a Redis channel and as a NATS subject (no
 * spaces, no wildcards, no empty dot-separated token), so that switching
 * brokers never needs a new name. */
static int load_name(struct config_loader *ld, const struct config_field *f,
                     const yaml_node_t *node, char **out)
{
	char quoted[QUOTE_SIZE];
	const char *s;

	if (get_string(ld, node, "a name", &s))
		return -1;
	size_t len = strlen(s);
	if (len < f->min || len > f->max)
		return config_loader_fail_value(ld, node,
		                                "%s must be %" PRIu64 " to %" PRIu64 " bytes long",
		                                quote_shortened(s, quoted), f->min, f->max);
	for (size_t i = 0; i < len; i++)
		if (!name_char(s[i]))
			return config_loader_fail_value(
			    ld, node, "%s may only contain letters, digits and _ - : .",
			    quote_shortened(s, quoted));
	if (len > 0 && (s[0] == '.' || s[len - 1] == '.' || strstr(s, "..")))
		return config_loader_fail_value(
		    ld, node, "%s must not start or end with \".\" or contain \"..\"",
		    quote_shortened(s, quoted));
	return replace_string(ld, node, out, strdup(s));
}

static int check_broker_url(const char *s, char *why, size_t whylen)
{
	struct broker_url url;
	return broker_url_parse(s, &url, why, whylen);
}

/* One URL, or a list of 1..MAX_BROKER_URLS of them, into a fresh list. */
static int load_broker_urls(struct config_loader *ld, yaml_node_t *node, char ***out, size_t *count)
{
	char got[DESCRIBE_SIZE];
	yaml_node_item_t *items = NULL;
	size_t n = 1;

	if (node->type == YAML_SEQUENCE_NODE) {
		items = node->data.sequence.items.start;
		n = (size_t)(node->data.sequence.items.top - items);
		if (n == 0)
			return config_loader_fail_value(ld, node, "needs at least one URL");
	} else if (node->type != YAML_SCALAR_NODE || yaml_node_is_null(node)) {
		return config_loader_fail_value(ld, node,
		                                "expected a URL or a list of them, got %s",
		                                yaml_node_describe(node, got));
	}

	config_free_strings(*out, *count);
	*count = 0;
	*out = calloc(n < MAX_BROKER_URLS ? n : MAX_BROKER_URLS, sizeof(**out));
	if (!*out)
		return config_loader_out_of_memory(ld, node);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = items ? config_loader_node(ld, items[i]) : node;

		if (i == MAX_BROKER_URLS)
			return config_loader_fail_value(ld, item, "too many URLs (at most %d)",
			                                MAX_BROKER_URLS);
		if (append_unique(ld, item, "a URL", check_broker_url, *out, count))
			return -1;
	}
	return 0;
}

int config_load_value(struct config_loader *ld, const struct config_field *f, void *self,
                      yaml_node_t *node)
{
	void *slot = config_member(self, f->offset);
	size_t *count = config_member(self, f->count_offset); /* list kinds only */

	switch (f->kind) {
	case KIND_SECTION:
		break; /* config_load_section's job */
	case KIND_BOOL:
		return load_bool(ld, node, slot);
	case KIND_UINT:
		return load_uint(ld, f, node, slot);
	case KIND_URL_PATH:
		return load_url_path(ld, node, slot);
	case KIND_FILE:
		return load_file_path(ld, node, slot);
	case KIND_LISTEN:
		return load_listen(ld, node, false, slot);
	case KIND_LISTEN_LIST:
		return load_listen_list(ld, node, slot, count);
	case KIND_ORIGINS:
		return load_origins(ld, node, slot, count);
	case KIND_STRING:
		return load_string(ld, node, slot);
	case KIND_ENUM:
		return load_enum(ld, f, node, slot);
	case KIND_BROKER_URLS:
		return load_broker_urls(ld, node, slot, count);
	case KIND_NAME:
		return load_name(ld, f, node, slot);
	case KIND_NETWORKS:
		return load_networks(ld, node, slot, count);
	case KIND_WORDS:
		return load_words(ld, node, slot, count);
	}
	return -1;
}
