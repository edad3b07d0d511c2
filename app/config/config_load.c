/* config_load(): reads the file, parses it with libyaml's document API and
 * hands the root to the section loader. The document API keeps the whole
 * file as a node tree whose nodes remember where they started, which is
 * what error messages point at. Every error stops loading; the first one
 * found is reported. */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "config_lifetime.h"
#include "config_load_sections.h"
#include "config_loader.h"
#include "path.h"
#include "yaml_node.h"

/* The file's bytes, to look at what a syntax error points at. */
struct input {
	const unsigned char *data;
	size_t len;
};

/* For errors that have no position in the file. */
__attribute__((format(printf, 3, 4))) static void set_error(char *err, size_t errlen,
                                                            const char *fmt, ...)
{
	va_list ap;

	if (!err || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

static int read_file(const char *path, unsigned char **data, size_t *len, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t used = 0, cap = 0, n;
	/* For strerror_r: strerror may hand every thread the same buffer. */
	char why[128];

	if (!f) {
		set_error(err, errlen, "%s: cannot open: %s", path,
		          strerror_r(errno, why, sizeof(why)));
		return -1;
	}
	do {
		if (used == cap) {
			unsigned char *bigger = realloc(buf, cap ? 2 * cap : 4096);

			if (!bigger) {
				set_error(err, errlen, "%s: out of memory", path);
				free(buf);
				/* Read-only: closing cannot lose data. */
				(void)fclose(f);
				return -1;
			}
			buf = bigger;
			cap = cap ? 2 * cap : 4096;
		}
		n = fread(buf + used, 1, cap - used, f);
		used += n;
	} while (n > 0);
	if (ferror(f)) {
		set_error(err, errlen, "%s: cannot read: %s", path,
		          strerror_r(errno, why, sizeof(why)));
		free(buf);
		(void)fclose(f);
		return -1;
	}
	(void)fclose(f);
	*data = buf;
	*len = used;
	return 0;
}

/* The byte at a libyaml mark, found by line and column because columns count
 * characters, not bytes; -1 if the mark is past the end. */
static int byte_at(const struct input *in, yaml_mark_t mark)
{
	size_t i = 0, line = 0, column = 0;

	while (i < in->len && line < mark.line)
		if (in->data[i++] == '\n')
			line++;
	while (i < in->len && in->data[i] != '\n' && column < mark.column) {
		i++;
		if (i < in->len && (in->data[i] & 0xc0) != 0x80)
			column++;
	}
	return i < in->len ? in->data[i] : -1;
}

/* Reader errors carry a byte offset instead of a mark. */
static yaml_mark_t mark_of_offset(const struct input *in, size_t offset)
{
	yaml_mark_t mark;

	memset(&mark, 0, sizeof(mark));
	for (size_t i = 0; i < offset && i < in->len; i++) {
		if (in->data[i] == '\n') {
			mark.line++;
			mark.column = 0;
		} else if ((in->data[i] & 0xc0) != 0x80) {
			mark.column++;
		}
	}
	return mark;
}

static int fail_syntax(struct config_loader *ld, const struct input *in,
                       const yaml_parser_t *parser)
{
	yaml_mark_t mark = parser->problem_mark;

	switch (parser->error) {
	case YAML_READER_ERROR:
		mark = mark_of_offset(in, parser->problem_offset);
		if (parser->problem_value != -1)
			return config_loader_fail_at(ld, mark, "invalid input: %s (0x%02X)",
			                             parser->problem,
			                             (unsigned)parser->problem_value);
		return config_loader_fail_at(ld, mark, "invalid input: %s", parser->problem);
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
	case YAML_COMPOSER_ERROR:
		if (parser->error == YAML_SCANNER_ERROR && byte_at(in, mark) == '\t')
			return config_loader_fail_at(
			    ld, mark,
			    "YAML syntax error: a tab here; YAML does not allow "
			    "tabs for indentation, use spaces");
		if (parser->context && (parser->context_mark.line != mark.line ||
		                        parser->context_mark.column != mark.column))
			return config_loader_fail_at(
			    ld, mark, "YAML syntax error: %s (%s at line %zu, column %zu)",
			    parser->problem, parser->context, parser->context_mark.line + 1,
			    parser->context_mark.column + 1);
		return config_loader_fail_at(ld, mark, "YAML syntax error: %s", parser->problem);
	default:
		set_error(ld->err, ld->errlen, "%s: %s", ld->path,
		          parser->error == YAML_MEMORY_ERROR ? "out of memory" : "cannot parse");
		return -1;
	}
}

/* Parses the file's single document and loads it over ld->cfg. */
static int load_document(struct config_loader *ld, const struct input *in, yaml_parser_t *parser)
{
	yaml_document_t doc, extra;
	yaml_node_t *root;
	bool another;
	yaml_mark_t extra_mark;
	int rc = -1;

	if (!yaml_parser_load(parser, &doc))
		return fail_syntax(ld, in, parser);
	ld->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		rc = 0; /* nothing but comments and blank lines: all defaults */
		goto out;
	}

	/* Settle the file's shape before its meaning, so a syntax error in a second
	 * document is reported as such. */
	if (!yaml_parser_load(parser, &extra)) {
		fail_syntax(ld, in, parser);
		goto out;
	}
	another = yaml_document_get_root_node(&extra) != NULL;
	extra_mark = extra.start_mark;
	yaml_document_delete(&extra);
	if (another) {
		config_loader_fail_at(ld, extra_mark,
		                      "only one YAML document is allowed, found a second one here");
		goto out;
	}

	/* A null root ("---" alone, or "~") is an empty document: all defaults. */
	if (root->type != YAML_MAPPING_NODE && !yaml_node_is_null(root)) {
		char got[DESCRIBE_SIZE];

		config_loader_fail_at(
		    ld, root->start_mark,
		    "the top level must be a mapping of sections (server, relay, ...), "
		    "got %s",
		    yaml_node_describe(root, got));
	} else {
		rc = config_load_section(ld, &config_root_section, ld->cfg, "", root);
	}
out:
	yaml_document_delete(&doc);
	ld->doc = NULL;
	return rc;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config loaded = {0};
	struct config_loader ld = {.path = path, .err = err, .errlen = errlen, .cfg = &loaded};
	struct input in = {0};
	unsigned char *data = NULL;
	char *base = NULL;
	yaml_parser_t parser;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (read_file(path, &data, &in.len, err, errlen))
		return -1;
	in.data = data;

	/* The built-in defaults resolve against the file's folder too, so a loaded
	 * configuration never depends on the current directory. */
	base = path_folder_of(path);
	if (!base) {
		char why[128];

		set_error(err, errlen, "%s: cannot resolve relative paths: %s", path,
		          strerror_r(errno, why, sizeof(why)));
		goto out;
	}
	ld.base = base;
	if (config_fill_defaults(&loaded, base) || !(loaded.source = strdup(path))) {
		set_error(err, errlen, "%s: out of memory", path);
		goto out;
	}

	if (!yaml_parser_initialize(&parser)) {
		set_error(err, errlen, "%s: out of memory", path);
		goto out;
	}
	yaml_parser_set_input_string(&parser, data, in.len);
	rc = load_document(&ld, &in, &parser);
	yaml_parser_delete(&parser);
out:
	if (rc == 0)
		*cfg = loaded;
	else
		config_free(&loaded);
	free(base);
	free(data);
	return rc;
}
