/* Strict YAML configuration for wsrelay.
 *
 * The schema is described once, by the tables below; loading, the "expected
 * one of" hints and config_print all walk those tables, so a new key needs a
 * table row, a default in fill_defaults() and a line in conf/wsrelay.yaml.
 *
 * Parsing uses libyaml's document API: the whole file becomes a node tree
 * whose nodes remember where they started, which is what error messages
 * point at. Every error stops loading; the first one found is reported. */
#include "config.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <yaml.h>

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

#define MAX_LISTEN 16
#define MAX_URL_PATH_LEN 255
/* Room for a quoted, escaped and possibly shortened value in a message. */
#define QUOTE_SIZE 80
#define DESCRIBE_SIZE (QUOTE_SIZE + 16)

enum kind {
	KIND_SECTION,     /* a nested mapping */
	KIND_BOOL,        /* true or false, nothing else */
	KIND_UINT,        /* decimal, range-checked; the member is uint32_t or uint64_t */
	KIND_URL_PATH,    /* request path: "/..." */
	KIND_FILE,        /* filesystem path, made absolute against the base folder */
	KIND_LISTEN,      /* one "host:port" */
	KIND_LISTEN_LIST, /* one "host:port" or a list of them */
	KIND_ORIGINS,     /* list of "scheme://host[:port]" */
	KIND_LEVEL,       /* enum log_level by name */
};

struct section;
struct loader;

struct field {
	const char *name;
	enum kind kind;
	size_t offset;       /* of the member in struct config */
	size_t size;         /* of that member, for KIND_UINT */
	size_t count_offset; /* of the element count, for the list kinds */
	uint64_t min, max;   /* inclusive range, for KIND_UINT */
	const struct section *section; /* for KIND_SECTION */
};

struct section {
	const char *path; /* dotted, for messages; "" for the top level */
	const struct field *fields;
	size_t count;
	/* Rules that span several keys; run once the section's mapping is loaded. */
	int (*check)(struct loader *ld, yaml_node_t *mapping);
};

#define MEMBER(m) .offset = offsetof(struct config, m)
#define F_SECTION(n, s) { .name = n, .kind = KIND_SECTION, .section = &s }
#define F_BOOL(n, m) { .name = n, .kind = KIND_BOOL, MEMBER(m) }
#define F_UINT(n, m, lo, hi) \
	{ .name = n, .kind = KIND_UINT, MEMBER(m), .size = sizeof(((struct config *)0)->m), \
	  .min = lo, .max = hi }
#define F_SIMPLE(n, k, m) { .name = n, .kind = k, MEMBER(m) }
#define F_LIST(n, k, m, count) \
	{ .name = n, .kind = k, MEMBER(m), .count_offset = offsetof(struct config, count) }
#define SECTION_OF(p, table, chk) \
	{ .path = p, .fields = table, .count = ARRAY_LEN(table), .check = chk }

static int check_tls(struct loader *ld, yaml_node_t *mapping);

static const struct field tls_fields[] = {
	F_BOOL("enabled", server.tls.enabled),
	F_SIMPLE("certificate", KIND_FILE, server.tls.certificate),
	F_SIMPLE("private_key", KIND_FILE, server.tls.private_key),
};
static const struct section tls_section = SECTION_OF("server.tls", tls_fields, check_tls);

static const struct field server_fields[] = {
	F_LIST("listen", KIND_LISTEN_LIST, server.listen, server.listen_count),
	F_SIMPLE("websocket_path", KIND_URL_PATH, server.websocket_path),
	F_SIMPLE("document_root", KIND_FILE, server.document_root),
	/* Each client holds a thread, and pid_max is 32768 on the target machine. */
	F_UINT("max_connections", server.max_connections, 1, 30000),
	F_UINT("max_message_bytes", server.max_message_bytes, 1, UINT64_C(1) << 30),
	F_LIST("allowed_origins", KIND_ORIGINS, server.allowed_origins,
	       server.allowed_origins_count),
	F_SECTION("tls", tls_section),
};
static const struct section server_section = SECTION_OF("server", server_fields, NULL);

static const struct field relay_fields[] = {
	F_BOOL("echo_to_sender", relay.echo_to_sender),
};
static const struct section relay_section = SECTION_OF("relay", relay_fields, NULL);

static const struct field metrics_fields[] = {
	F_BOOL("enabled", metrics.enabled),
	F_SIMPLE("listen", KIND_LISTEN, metrics.listen),
	F_SIMPLE("path", KIND_URL_PATH, metrics.path),
};
static const struct section metrics_section = SECTION_OF("metrics", metrics_fields, NULL);

static const struct field shutdown_fields[] = {
	F_UINT("timeout_seconds", shutdown.timeout_seconds, 0, 3600),
};
static const struct section shutdown_section = SECTION_OF("shutdown", shutdown_fields, NULL);

static const struct field logging_fields[] = {
	F_SIMPLE("level", KIND_LEVEL, logging.level),
};
static const struct section logging_section = SECTION_OF("logging", logging_fields, NULL);

static const struct field root_fields[] = {
	F_SECTION("server", server_section),
	F_SECTION("relay", relay_section),
	F_SECTION("metrics", metrics_section),
	F_SECTION("shutdown", shutdown_section),
	F_SECTION("logging", logging_section),
};
static const struct section root_section = SECTION_OF("", root_fields, NULL);

static const char *const level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};

struct loader {
	const char *path; /* of the file, as given, for messages */
	char *err;
	size_t errlen;
	const unsigned char *data; /* the file's bytes, to look at what an error points at */
	size_t len;
	yaml_document_t *doc;
	struct config *cfg; /* being filled; freed by the caller on error */
	const char *base;   /* absolute folder that relative paths resolve against */
	char name[96];      /* dotted name of the key being loaded, e.g. "server.listen" */
};

const char *log_level_name(enum log_level level)
{
	if ((size_t)level < ARRAY_LEN(level_names))
		return level_names[level];
	return "unknown";
}

/* ---- Paths ---- */

/* base + "/" + rel[0..rel_len). */
static char *join_path(const char *base, const char *rel, size_t rel_len)
{
	size_t base_len = strlen(base);
	bool slash = base_len > 0 && base[base_len - 1] == '/';
	char *out = malloc(base_len + !slash + rel_len + 1);

	if (!out)
		return NULL;
	memcpy(out, base, base_len);
	if (!slash)
		out[base_len++] = '/';
	memcpy(out + base_len, rel, rel_len);
	out[base_len + rel_len] = '\0';
	return out;
}

/* "" (not set) and absolute paths stay as they are; anything else is taken
 * relative to base. Deliberately no realpath(): the file need not exist yet. */
static char *resolve_path(const char *base, const char *path)
{
	if (path[0] == '\0' || path[0] == '/')
		return strdup(path);
	return join_path(base, path, strlen(path));
}

/* The absolute folder holding the file at path. */
static char *folder_of(const char *path)
{
	const char *slash = strrchr(path, '/');
	char *cwd, *out;

	if (path[0] == '/')
		return strndup(path, slash == path ? 1 : (size_t)(slash - path));
	cwd = getcwd(NULL, 0);
	if (!cwd || !slash)
		return cwd;
	out = join_path(cwd, path, (size_t)(slash - path));
	free(cwd);
	return out;
}

/* ---- Defaults and freeing ---- */

static void free_strings(char **strings, size_t count)
{
	for (size_t i = 0; i < count; i++)
		free(strings[i]);
	free(strings);
}

void config_free(struct config *cfg)
{
	free(cfg->source);
	free(cfg->server.listen);
	free(cfg->server.websocket_path);
	free(cfg->server.document_root);
	free_strings(cfg->server.allowed_origins, cfg->server.allowed_origins_count);
	free(cfg->server.tls.certificate);
	free(cfg->server.tls.private_key);
	free(cfg->metrics.path);
	memset(cfg, 0, sizeof(*cfg));
}

/* The built-in defaults, equal to conf/wsrelay.yaml; relative paths resolve
 * against base. */
static int fill_defaults(struct config *cfg, const char *base)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server.listen = malloc(sizeof(*cfg->server.listen));
	if (cfg->server.listen) {
		cfg->server.listen[0] = (struct listen_addr){ .host = "0.0.0.0", .port = 8443 };
		cfg->server.listen_count = 1;
	}
	cfg->server.websocket_path = strdup("/ws");
	cfg->server.document_root = resolve_path(base, "www");
	cfg->server.max_connections = 4096;
	cfg->server.max_message_bytes = 1048576;
	cfg->server.tls.enabled = false;
	cfg->server.tls.certificate = strdup("");
	cfg->server.tls.private_key = strdup("");
	cfg->relay.echo_to_sender = true;
	cfg->metrics.enabled = true;
	cfg->metrics.listen = (struct listen_addr){ .host = "0.0.0.0", .port = 9090 };
	cfg->metrics.path = strdup("/metrics");
	cfg->shutdown.timeout_seconds = 10;
	cfg->logging.level = LOG_LEVEL_INFO;

	if (!cfg->server.listen || !cfg->server.websocket_path || !cfg->server.document_root ||
	    !cfg->server.tls.certificate || !cfg->server.tls.private_key || !cfg->metrics.path) {
		config_free(cfg);
		return -1;
	}
	return 0;
}

int config_set_defaults(struct config *cfg)
{
	char *cwd = getcwd(NULL, 0);
	int rc;

	if (!cwd) {
		memset(cfg, 0, sizeof(*cfg));
		return -1;
	}
	rc = fill_defaults(cfg, cwd);
	free(cwd);
	return rc;
}

/* ---- Messages ---- */

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

/* Writes "path:line:column: " + prefix + message; marks are 0-based. */
__attribute__((format(printf, 4, 0))) static int vfail(struct loader *ld, yaml_mark_t mark,
							 const char *prefix, const char *fmt,
							 va_list ap)
{
	int n;

	if (!ld->err || ld->errlen == 0)
		return -1;
	n = snprintf(ld->err, ld->errlen, "%s:%zu:%zu: %s", ld->path, mark.line + 1,
		     mark.column + 1, prefix);
	if (n >= 0 && (size_t)n < ld->errlen)
		vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
	return -1;
}

__attribute__((format(printf, 3, 4))) static int fail_at(struct loader *ld, yaml_mark_t mark,
							  const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ld, mark, "", fmt, ap);
	va_end(ap);
	return -1;
}

/* An error about the value of the key being loaded, prefixed with its name. */
__attribute__((format(printf, 3, 4))) static int fail_value(struct loader *ld,
							     const yaml_node_t *node,
							     const char *fmt, ...)
{
	char prefix[sizeof(ld->name) + 2];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s: ", ld->name);
	va_start(ap, fmt);
	vfail(ld, node->start_mark, prefix, fmt, ap);
	va_end(ap);
	return -1;
}

/* s as a double-quoted string for a message: escaped so that an error stays on
 * one line, and shortened with "..." when long. */
static const char *quote(const char *s, char buf[static QUOTE_SIZE])
{
	static const char ellipsis_and_end[] = "...\"";
	size_t i = 0, o = 0;

	buf[o++] = '"';
	while (s[i] != '\0') {
		unsigned char c = (unsigned char)s[i];
		char piece[8];
		size_t n, used = 1;

		if (c == '"' || c == '\\') {
			piece[0] = '\\';
			piece[1] = (char)c;
			n = 2;
		} else if (c < 0x20 || c == 0x7f) {
			n = (size_t)snprintf(piece, sizeof(piece), "\\x%02X", c);
		} else {
			/* Keep a UTF-8 sequence whole so shortening never splits one. */
			while (used < 4 && ((unsigned char)s[i + used] & 0xC0) == 0x80)
				used++;
			memcpy(piece, s + i, used);
			n = used;
		}
		if (o + n + sizeof(ellipsis_and_end) > QUOTE_SIZE) {
			memcpy(buf + o, ellipsis_and_end, sizeof(ellipsis_and_end));
			return buf;
		}
		memcpy(buf + o, piece, n);
		o += n;
		i += used;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

static const char *text(const yaml_node_t *node)
{
	return (const char *)node->data.scalar.value;
}

static bool is_plain(const yaml_node_t *node)
{
	return node->type == YAML_SCALAR_NODE &&
	       node->data.scalar.style == YAML_PLAIN_SCALAR_STYLE;
}

static bool is_one_of(const char *s, const char *const *words, size_t count)
{
	for (size_t i = 0; i < count; i++)
		if (strcmp(s, words[i]) == 0)
			return true;
	return false;
}

/* The YAML 1.1/1.2 spellings of null; only unquoted ones count. */
static bool is_null(const yaml_node_t *node)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	return is_plain(node) && is_one_of(text(node), nulls, ARRAY_LEN(nulls));
}

/* Unquoted words YAML would read as booleans, which must not silently become
 * strings (document_root: false does not turn static files off). */
static bool is_bool_word(const yaml_node_t *node)
{
	static const char *const bools[] = { "true", "false", "True", "False", "TRUE", "FALSE" };

	return is_plain(node) && is_one_of(text(node), bools, ARRAY_LEN(bools));
}

/* What a node is, for "expected X, got Y" messages. */
static const char *describe(const yaml_node_t *node, char buf[static DESCRIBE_SIZE])
{
	char quoted[QUOTE_SIZE];

	switch (node->type) {
	case YAML_MAPPING_NODE:
		return "a mapping";
	case YAML_SEQUENCE_NODE:
		return "a list";
	case YAML_SCALAR_NODE:
		if (is_null(node))
			return text(node)[0] == '\0' ? "an empty value" : "null";
		snprintf(buf, DESCRIBE_SIZE, "%s%s", is_plain(node) ? "" : "the string ",
			 quote(text(node), quoted));
		return buf;
	case YAML_NO_NODE:
		break;
	}
	return "nothing";
}

/* ---- Values ---- */

static yaml_node_t *node_at(struct loader *ld, int index)
{
	return yaml_document_get_node(ld->doc, index);
}

static void *member(struct config *cfg, size_t offset)
{
	return (char *)cfg + offset;
}

static const void *const_member(const struct config *cfg, size_t offset)
{
	return (const char *)cfg + offset;
}

static int out_of_memory(struct loader *ld, const yaml_node_t *node)
{
	return fail_at(ld, node->start_mark, "out of memory");
}

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
static int get_string(struct loader *ld, const yaml_node_t *node, const char *what,
		      const char **out)
{
	char got[DESCRIBE_SIZE];
	long bad;

	if (node->type != YAML_SCALAR_NODE || is_null(node) || is_bool_word(node))
		return fail_value(ld, node, "expected %s, got %s", what, describe(node, got));
	bad = first_unprintable(text(node), node->data.scalar.length);
	if (bad >= 0)
		return fail_value(ld, node, "contains a control or non-printable character (U+%04lX)",
				  (unsigned long)bad);
	*out = text(node);
	return 0;
}

static int load_bool(struct loader *ld, const yaml_node_t *node, bool *out)
{
	char got[DESCRIBE_SIZE];

	if (is_plain(node) && strcmp(text(node), "true") == 0)
		*out = true;
	else if (is_plain(node) && strcmp(text(node), "false") == 0)
		*out = false;
	else
		return fail_value(ld, node, "expected true or false, got %s", describe(node, got));
	return 0;
}

static int load_uint(struct loader *ld, const struct field *f, const yaml_node_t *node, void *out)
{
	char got[DESCRIBE_SIZE];
	const char *s, *digits;
	size_t n;
	uint64_t value = 0;

	if (!is_plain(node) || is_null(node))
		return fail_value(ld, node, "expected an integer, got %s", describe(node, got));
	s = text(node);
	digits = s[0] == '-' ? s + 1 : s;
	n = strspn(digits, "0123456789");
	if (n == 0 || digits[n] != '\0')
		return fail_value(ld, node, "expected a decimal integer, got %s", describe(node, got));
	if (n > 1 && digits[0] == '0')
		return fail_value(ld, node, "%s has a leading zero (YAML 1.1 would read it as octal)",
				  describe(node, got));
	for (size_t i = 0; i < n; i++) {
		unsigned d = (unsigned)(digits[i] - '0');

		if (value > (UINT64_MAX - d) / 10) {
			value = UINT64_MAX; /* saturate: far outside every range anyway */
			break;
		}
		value = value * 10 + d;
	}
	if ((digits != s && value != 0) || value < f->min || value > f->max)
		return fail_value(ld, node, "%s is out of range (%" PRIu64 "..%" PRIu64 ")", s, f->min,
				  f->max);
	if (f->size == sizeof(uint32_t))
		*(uint32_t *)out = (uint32_t)value;
	else
		*(uint64_t *)out = value;
	return 0;
}

static int load_url_path(struct loader *ld, const yaml_node_t *node, char **out)
{
	char quoted[QUOTE_SIZE];
	const char *s;
	char *copy;

	if (get_string(ld, node, "a path starting with \"/\"", &s))
		return -1;
	if (s[0] != '/')
		return fail_value(ld, node, "%s must start with \"/\"", quote(s, quoted));
	if (strchr(s, ' '))
		return fail_value(ld, node, "%s must not contain spaces", quote(s, quoted));
	if (strlen(s) > MAX_URL_PATH_LEN)
		return fail_value(ld, node, "is too long (%zu bytes, at most %d)", strlen(s),
				  MAX_URL_PATH_LEN);
	copy = strdup(s);
	if (!copy)
		return out_of_memory(ld, node);
	free(*out);
	*out = copy;
	return 0;
}

static int load_file_path(struct loader *ld, const yaml_node_t *node, char **out)
{
	const char *s;
	char *resolved;

	if (get_string(ld, node, "a file path (or \"\")", &s))
		return -1;
	resolved = resolve_path(ld->base, s);
	if (!resolved)
		return out_of_memory(ld, node);
	free(*out);
	*out = resolved;
	return 0;
}

static int load_level(struct loader *ld, const yaml_node_t *node, enum log_level *out)
{
	char quoted[QUOTE_SIZE];
	const char *s;

	if (get_string(ld, node, "a log level", &s))
		return -1;
	for (size_t i = 0; i < ARRAY_LEN(level_names); i++) {
		if (strcmp(s, level_names[i]) == 0) {
			*out = (enum log_level)i;
			return 0;
		}
	}
	return fail_value(ld, node, "expected one of debug, info, warn, error, got %s",
			  quote(s, quoted));
}

/* ---- Listen addresses ---- */

/* Parses "IPv4:port" or "[IPv6]:port" into out, storing the host in
 * inet_ntop's canonical form so equal addresses compare equal. On failure
 * writes the reason, which quotes text, into why. */
static int parse_listen(const char *spec, struct listen_addr *out, char *why, size_t whylen)
{
	char q[QUOTE_SIZE], host[sizeof(out->host)];
	unsigned char addr[16];
	const char *host_start, *port;
	size_t host_len, port_len;
	unsigned long port_value = 0;
	bool ipv6 = spec[0] == '[';
	int family = ipv6 ? AF_INET6 : AF_INET;

	quote(spec, q);
	if (ipv6) {
		const char *close = strchr(spec, ']');

		if (!close) {
			snprintf(why, whylen, "%s is missing the \"]\" that ends the IPv6 address", q);
			return -1;
		}
		if (close[1] != ':') {
			snprintf(why, whylen, "%s needs \":port\" after the \"]\", e.g. \"[::1]:8443\"", q);
			return -1;
		}
		host_start = spec + 1;
		host_len = (size_t)(close - host_start);
		port = close + 2;
	} else {
		const char *colon = strrchr(spec, ':');

		if (!colon) {
			snprintf(why, whylen,
				 "%s needs a port: write \"host:port\", e.g. \"0.0.0.0:8443\" or "
				 "\"[::]:8443\"",
				 q);
			return -1;
		}
		host_start = spec;
		host_len = (size_t)(colon - spec);
		port = colon + 1;
		if (memchr(host_start, ':', host_len)) {
			snprintf(why, whylen,
				 "%s: an IPv6 address needs brackets, \"[address]:port\", e.g. "
				 "\"[::1]:8443\"",
				 q);
			return -1;
		}
	}

	port_len = strspn(port, "0123456789");
	if (port_len == 0 || port[port_len] != '\0') {
		snprintf(why, whylen, "%s needs a decimal port number (0..65535) after the \":\"", q);
		return -1;
	}
	for (size_t i = 0; i < port_len && port_value <= 65535; i++)
		port_value = port_value * 10 + (unsigned long)(port[i] - '0');
	if (port_value > 65535) {
		snprintf(why, whylen, "%s: port %s is out of range (0..65535)", q, port);
		return -1;
	}

	if (host_len == 0) {
		snprintf(why, whylen,
			 "%s has no host; use \"0.0.0.0:%s\" for every IPv4 interface or "
			 "\"[::]:%s\" for IPv6",
			 q, port, port);
		return -1;
	}
	if (host_len < sizeof(host)) {
		memcpy(host, host_start, host_len);
		host[host_len] = '\0';
	}
	if (host_len >= sizeof(host) || inet_pton(family, host, addr) != 1) {
		if (ipv6)
			snprintf(why, whylen, "%s has an invalid IPv6 address", q);
		else if (strspn(host_start, "0123456789.") >= host_len)
			snprintf(why, whylen, "%s has an invalid IPv4 address", q);
		else
			snprintf(why, whylen,
				 "%s needs an IP literal host, e.g. \"127.0.0.1:%s\" or \"[::1]:%s\"", q,
				 port, port);
		return -1;
	}

	memset(out, 0, sizeof(*out));
	inet_ntop(family, addr, out->host, sizeof(out->host));
	out->port = (uint16_t)port_value;
	out->ipv6 = ipv6;
	return 0;
}

static int load_listen(struct loader *ld, const yaml_node_t *node, struct listen_addr *out)
{
	char why[3 * QUOTE_SIZE];
	const char *s;

	if (get_string(ld, node, "a \"host:port\" string", &s))
		return -1;
	if (parse_listen(s, out, why, sizeof(why)))
		return fail_value(ld, node, "%s", why);
	return 0;
}

static bool same_listen(const struct listen_addr *a, const struct listen_addr *b)
{
	return a->ipv6 == b->ipv6 && a->port == b->port && strcmp(a->host, b->host) == 0;
}

/* One string, or a list of 1..MAX_LISTEN of them, into a fresh array. */
static int load_listen_list(struct loader *ld, yaml_node_t *node, struct listen_addr **out,
			    size_t *count)
{
	char got[DESCRIBE_SIZE], quoted[QUOTE_SIZE];
	yaml_node_item_t *items = NULL;
	size_t n = 1;

	if (node->type == YAML_SEQUENCE_NODE) {
		items = node->data.sequence.items.start;
		n = (size_t)(node->data.sequence.items.top - items);
		if (n == 0)
			return fail_value(ld, node, "needs at least one \"host:port\"");
	} else if (node->type != YAML_SCALAR_NODE || is_null(node)) {
		return fail_value(ld, node, "expected \"host:port\" or a list of them, got %s",
				  describe(node, got));
	}

	free(*out);
	*count = 0;
	*out = calloc(n < MAX_LISTEN ? n : MAX_LISTEN, sizeof(**out));
	if (!*out)
		return out_of_memory(ld, node);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = items ? node_at(ld, items[i]) : node;
		struct listen_addr addr;

		if (i == MAX_LISTEN)
			return fail_value(ld, item, "too many addresses (at most %d)", MAX_LISTEN);
		if (load_listen(ld, item, &addr))
			return -1;
		for (size_t j = 0; j < *count; j++)
			if (same_listen(&(*out)[j], &addr))
				return fail_value(ld, item, "%s is listed twice",
						  quote(text(item), quoted));
		(*out)[(*count)++] = addr;
	}
	return 0;
}

/* ---- Origins ---- */

/* Origins are compared byte for byte with the Origin header, so anything a
 * browser would never send is refused here rather than silently never
 * matching. On failure writes the reason, which quotes s, into why. */
static int check_origin(const char *s, char *why, size_t whylen)
{
	char q[QUOTE_SIZE];
	const char *host, *end, *default_port;

	quote(s, q);
	if (strpbrk(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ")) {
		snprintf(why, whylen,
			 "%s has upper-case letters; browsers send origins in lower case, so it "
			 "would never match",
			 q);
		return -1;
	}
	if (strncmp(s, "https://", 8) == 0) {
		host = s + 8;
		default_port = "443";
	} else if (strncmp(s, "http://", 7) == 0) {
		host = s + 7;
		default_port = "80";
	} else {
		snprintf(why, whylen,
			 "%s is not an origin: it must start with \"http://\" or \"https://\", e.g. "
			 "\"https://example.com\"",
			 q);
		return -1;
	}

	if (host[0] == '[') {
		char addr_text[64];
		unsigned char addr[16];
		const char *close = strchr(host, ']');
		size_t len = close ? (size_t)(close - host - 1) : 0;

		if (close && len < sizeof(addr_text)) {
			memcpy(addr_text, host + 1, len);
			addr_text[len] = '\0';
		}
		if (!close || len >= sizeof(addr_text) ||
		    inet_pton(AF_INET6, addr_text, addr) != 1) {
			snprintf(why, whylen, "%s has an invalid IPv6 address", q);
			return -1;
		}
		end = close + 1;
	} else {
		end = host + strspn(host, "abcdefghijklmnopqrstuvwxyz0123456789.-_");
	}
	if (end == host) {
		snprintf(why, whylen, "%s has no host", q);
		return -1;
	}

	if (end[0] == ':') {
		const char *port = end + 1;
		size_t len = strspn(port, "0123456789");
		unsigned long value = 0;

		for (size_t i = 0; i < len && value <= 65535; i++)
			value = value * 10 + (unsigned long)(port[i] - '0');
		if (len == 0 || value == 0 || value > 65535 || port[0] == '0') {
			snprintf(why, whylen, "%s has an invalid port (expected 1..65535)", q);
			return -1;
		}
		if (len == strlen(default_port) && strncmp(port, default_port, len) == 0) {
			snprintf(why, whylen,
				 "%s names the default port, which browsers leave out; write "
				 "\"%.*s\"",
				 q, (int)(end - s), s);
			return -1;
		}
		end = port + len;
	}

	if (end[0] == '/') {
		snprintf(why, whylen,
			 "%s has a path; an origin is only scheme://host[:port], e.g. \"%.*s\"", q,
			 (int)(end - s), s);
		return -1;
	}
	if (end[0] != '\0') {
		snprintf(why, whylen,
			 "%s is not an origin: expected scheme://host[:port], e.g. "
			 "\"https://example.com\"",
			 q);
		return -1;
	}
	return 0;
}

static int load_origins(struct loader *ld, yaml_node_t *node, char ***out, size_t *count)
{
	char got[DESCRIBE_SIZE], quoted[QUOTE_SIZE], why[3 * QUOTE_SIZE];
	yaml_node_item_t *items;
	size_t n;

	if (node->type != YAML_SEQUENCE_NODE)
		return fail_value(ld, node,
				  "expected a list of origins, e.g. [\"https://example.com\"], got %s",
				  describe(node, got));
	items = node->data.sequence.items.start;
	n = (size_t)(node->data.sequence.items.top - items);

	free_strings(*out, *count);
	*out = NULL;
	*count = 0;
	if (n == 0)
		return 0;
	*out = calloc(n, sizeof(**out));
	if (!*out)
		return out_of_memory(ld, node);
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = node_at(ld, items[i]);
		const char *s;

		if (get_string(ld, item, "an origin string", &s))
			return -1;
		if (check_origin(s, why, sizeof(why)))
			return fail_value(ld, item, "%s", why);
		for (size_t j = 0; j < *count; j++)
			if (strcmp((*out)[j], s) == 0)
				return fail_value(ld, item, "%s is listed twice", quote(s, quoted));
		(*out)[*count] = strdup(s);
		if (!(*out)[*count])
			return out_of_memory(ld, item);
		(*count)++;
	}
	return 0;
}

/* ---- Sections ---- */

static int load_section(struct loader *ld, const struct section *sec, yaml_node_t *mapping);

static int load_field(struct loader *ld, const struct section *sec, const struct field *f,
		      yaml_node_t *node)
{
	char got[DESCRIBE_SIZE];
	void *slot = member(ld->cfg, f->offset);

	snprintf(ld->name, sizeof(ld->name), "%s%s%s", sec->path, sec->path[0] ? "." : "",
		 f->name);
	switch (f->kind) {
	case KIND_SECTION:
		if (node->type != YAML_MAPPING_NODE)
			return fail_value(ld, node, "expected a mapping, got %s", describe(node, got));
		return load_section(ld, f->section, node);
	case KIND_BOOL:
		return load_bool(ld, node, slot);
	case KIND_UINT:
		return load_uint(ld, f, node, slot);
	case KIND_URL_PATH:
		return load_url_path(ld, node, slot);
	case KIND_FILE:
		return load_file_path(ld, node, slot);
	case KIND_LISTEN:
		return load_listen(ld, node, slot);
	case KIND_LISTEN_LIST:
		return load_listen_list(ld, node, slot, member(ld->cfg, f->count_offset));
	case KIND_ORIGINS:
		return load_origins(ld, node, slot, member(ld->cfg, f->count_offset));
	case KIND_LEVEL:
		return load_level(ld, node, slot);
	}
	return -1;
}

static bool key_is(const yaml_node_t *key, const char *name)
{
	return key->data.scalar.length == strlen(name) &&
	       memcmp(key->data.scalar.value, name, key->data.scalar.length) == 0;
}

static const struct field *find_field(const struct section *sec, const yaml_node_t *key)
{
	for (size_t i = 0; i < sec->count; i++)
		if (key_is(key, sec->fields[i].name))
			return &sec->fields[i];
	return NULL;
}

static yaml_node_t *find_value(struct loader *ld, yaml_node_t *mapping, const char *name)
{
	yaml_node_pair_t *pair = mapping->data.mapping.pairs.start;

	for (; pair < mapping->data.mapping.pairs.top; pair++)
		if (key_is(node_at(ld, pair->key), name))
			return node_at(ld, pair->value);
	return NULL;
}

static int fail_unknown_key(struct loader *ld, const struct section *sec, const yaml_node_t *key)
{
	char quoted[QUOTE_SIZE], names[256];
	size_t used = 0;

	names[0] = '\0';
	for (size_t i = 0; i < sec->count && used < sizeof(names); i++)
		used += (size_t)snprintf(names + used, sizeof(names) - used, "%s%s", i ? ", " : "",
					 sec->fields[i].name);
	return fail_at(ld, key->start_mark, "unknown key %s%s%s (expected one of: %s)",
		       quote(text(key), quoted), sec->path[0] ? " in " : "", sec->path, names);
}

static int load_section(struct loader *ld, const struct section *sec, yaml_node_t *mapping)
{
	yaml_node_pair_t *start = mapping->data.mapping.pairs.start;
	yaml_node_pair_t *top = mapping->data.mapping.pairs.top;
	char got[DESCRIBE_SIZE], quoted[QUOTE_SIZE];

	for (yaml_node_pair_t *pair = start; pair < top; pair++) {
		yaml_node_t *key = node_at(ld, pair->key);
		const struct field *f;

		if (key->type != YAML_SCALAR_NODE)
			return fail_at(ld, key->start_mark, "keys must be names, got %s",
				       describe(key, got));
		f = find_field(sec, key);
		if (!f)
			return fail_unknown_key(ld, sec, key);
		/* Earlier keys all passed find_field, so they are known scalars. */
		for (yaml_node_pair_t *prev = start; prev < pair; prev++) {
			yaml_node_t *first = node_at(ld, prev->key);

			if (key_is(first, f->name))
				return fail_at(ld, key->start_mark,
					       "duplicate key %s%s%s (first at line %zu)",
					       quote(f->name, quoted), sec->path[0] ? " in " : "",
					       sec->path, first->start_mark.line + 1);
		}
		if (load_field(ld, sec, f, node_at(ld, pair->value)))
			return -1;
	}
	return sec->check ? sec->check(ld, mapping) : 0;
}

/* Certificate files are only opened when the server starts; here they just
 * have to be named. */
static int check_tls(struct loader *ld, yaml_node_t *mapping)
{
	const struct tls_config *tls = &ld->cfg->server.tls;
	yaml_node_t *enabled;
	const char *missing;

	if (!tls->enabled || (tls->certificate[0] && tls->private_key[0]))
		return 0;
	if (!tls->certificate[0] && !tls->private_key[0])
		missing = "server.tls.certificate and server.tls.private_key";
	else if (!tls->certificate[0])
		missing = "server.tls.certificate";
	else
		missing = "server.tls.private_key";
	/* enabled defaults to false, so it is true only if this mapping says so. */
	enabled = find_value(ld, mapping, "enabled");
	return fail_at(ld, (enabled ? enabled : mapping)->start_mark,
		       "server.tls.enabled: true needs %s to be set", missing);
}

/* ---- Files and documents ---- */

static int read_file(const char *path, unsigned char **data, size_t *len, char *err,
		     size_t errlen)
{
	FILE *f = fopen(path, "rb");
	unsigned char *buf = NULL;
	size_t used = 0, cap = 0, n;

	if (!f) {
		set_error(err, errlen, "%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	do {
		if (used == cap) {
			unsigned char *bigger = realloc(buf, cap ? 2 * cap : 4096);

			if (!bigger) {
				set_error(err, errlen, "%s: out of memory", path);
				free(buf);
				fclose(f);
				return -1;
			}
			buf = bigger;
			cap = cap ? 2 * cap : 4096;
		}
		n = fread(buf + used, 1, cap - used, f);
		used += n;
	} while (n > 0);
	if (ferror(f)) {
		set_error(err, errlen, "%s: cannot read: %s", path, strerror(errno));
		free(buf);
		fclose(f);
		return -1;
	}
	fclose(f);
	*data = buf;
	*len = used;
	return 0;
}

/* The byte at a libyaml mark, found by line and column because columns count
 * characters, not bytes; -1 if the mark is past the end. */
static int byte_at(const struct loader *ld, yaml_mark_t mark)
{
	size_t i = 0, line = 0, column = 0;

	while (i < ld->len && line < mark.line)
		if (ld->data[i++] == '\n')
			line++;
	while (i < ld->len && ld->data[i] != '\n' && column < mark.column) {
		i++;
		if (i < ld->len && (ld->data[i] & 0xc0) != 0x80)
			column++;
	}
	return i < ld->len ? ld->data[i] : -1;
}

static int fail_syntax(struct loader *ld, const yaml_parser_t *parser)
{
	yaml_mark_t mark = parser->problem_mark;

	switch (parser->error) {
	case YAML_READER_ERROR:
		/* Reader errors carry a byte offset instead of a mark. */
		memset(&mark, 0, sizeof(mark));
		for (size_t i = 0; i < parser->problem_offset && i < ld->len; i++) {
			if (ld->data[i] == '\n') {
				mark.line++;
				mark.column = 0;
			} else if ((ld->data[i] & 0xc0) != 0x80) {
				mark.column++;
			}
		}
		if (parser->problem_value != -1)
			return fail_at(ld, mark, "invalid input: %s (0x%02X)", parser->problem,
				       (unsigned)parser->problem_value);
		return fail_at(ld, mark, "invalid input: %s", parser->problem);
	case YAML_SCANNER_ERROR:
	case YAML_PARSER_ERROR:
	case YAML_COMPOSER_ERROR:
		if (parser->error == YAML_SCANNER_ERROR && byte_at(ld, mark) == '\t')
			return fail_at(ld, mark, "YAML syntax error: a tab here; YAML does not allow "
						 "tabs for indentation, use spaces");
		if (parser->context && (parser->context_mark.line != mark.line ||
					parser->context_mark.column != mark.column))
			return fail_at(ld, mark, "YAML syntax error: %s (%s at line %zu, column %zu)",
				       parser->problem, parser->context,
				       parser->context_mark.line + 1,
				       parser->context_mark.column + 1);
		return fail_at(ld, mark, "YAML syntax error: %s", parser->problem);
	default:
		set_error(ld->err, ld->errlen, "%s: %s", ld->path,
			  parser->error == YAML_MEMORY_ERROR ? "out of memory" : "cannot parse");
		return -1;
	}
}

/* Parses the file's single document and loads it over ld->cfg. */
static int load_yaml(struct loader *ld, yaml_parser_t *parser)
{
	yaml_document_t doc, extra;
	yaml_node_t *root;
	bool another;
	yaml_mark_t extra_mark;
	int rc = -1;

	if (!yaml_parser_load(parser, &doc))
		return fail_syntax(ld, parser);
	ld->doc = &doc;
	root = yaml_document_get_root_node(&doc);
	if (!root) {
		rc = 0; /* nothing but comments and blank lines: all defaults */
		goto out;
	}

	/* Settle the file's shape before its meaning, so a syntax error in a second
	 * document is reported as such. */
	if (!yaml_parser_load(parser, &extra)) {
		fail_syntax(ld, parser);
		goto out;
	}
	another = yaml_document_get_root_node(&extra) != NULL;
	extra_mark = extra.start_mark;
	yaml_document_delete(&extra);
	if (another) {
		fail_at(ld, extra_mark, "only one YAML document is allowed, found a second one here");
		goto out;
	}

	if (is_null(root)) {
		rc = 0; /* "---" alone, or "~": an empty document */
	} else if (root->type != YAML_MAPPING_NODE) {
		char got[DESCRIBE_SIZE];

		fail_at(ld, root->start_mark,
			"the top level must be a mapping of sections (server, relay, ...), got %s",
			describe(root, got));
	} else {
		rc = load_section(ld, &root_section, root);
	}
out:
	yaml_document_delete(&doc);
	ld->doc = NULL;
	return rc;
}

int config_load(struct config *cfg, const char *path, char *err, size_t errlen)
{
	struct config loaded = { 0 };
	struct loader ld = { .path = path, .err = err, .errlen = errlen, .cfg = &loaded };
	unsigned char *data = NULL;
	char *base = NULL;
	yaml_parser_t parser;
	int rc = -1;

	memset(cfg, 0, sizeof(*cfg));
	if (read_file(path, &data, &ld.len, err, errlen))
		return -1;
	ld.data = data;

	/* The built-in defaults resolve against the file's folder too, so a loaded
	 * configuration never depends on the current directory. */
	base = folder_of(path);
	if (!base) {
		set_error(err, errlen, "%s: cannot resolve relative paths: %s", path,
			  strerror(errno));
		goto out;
	}
	ld.base = base;
	if (fill_defaults(&loaded, base) || !(loaded.source = strdup(path))) {
		set_error(err, errlen, "%s: out of memory", path);
		goto out;
	}

	if (!yaml_parser_initialize(&parser)) {
		set_error(err, errlen, "%s: out of memory", path);
		goto out;
	}
	yaml_parser_set_input_string(&parser, data, ld.len);
	rc = load_yaml(&ld, &parser);
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

/* ---- Printing ---- */

static void print_quoted(const char *s, FILE *out)
{
	fputc('"', out);
	for (const unsigned char *p = (const unsigned char *)(s ? s : ""); *p; p++) {
		if (*p == '"' || *p == '\\')
			fprintf(out, "\\%c", *p);
		else if (*p < 0x20 || *p == 0x7f)
			fprintf(out, "\\x%02X", *p); /* never loaded, but keep output valid */
		else
			fputc(*p, out);
	}
	fputc('"', out);
}

static void print_listen(const struct listen_addr *addr, FILE *out)
{
	char buf[sizeof(addr->host) + 16];

	snprintf(buf, sizeof(buf), addr->ipv6 ? "[%s]:%u" : "%s:%u", addr->host,
		 (unsigned)addr->port);
	print_quoted(buf, out);
}

static void print_section(const struct config *cfg, const struct section *sec, int indent,
			  FILE *out)
{
	for (size_t i = 0; i < sec->count; i++) {
		const struct field *f = &sec->fields[i];
		const void *slot = const_member(cfg, f->offset);
		const size_t *count = const_member(cfg, f->count_offset); /* list kinds only */

		fprintf(out, "%*s%s:", indent, "", f->name);
		switch (f->kind) {
		case KIND_SECTION:
			fputc('\n', out);
			print_section(cfg, f->section, indent + 2, out);
			continue;
		case KIND_BOOL:
			fprintf(out, " %s", *(const bool *)slot ? "true" : "false");
			break;
		case KIND_UINT:
			fprintf(out, " %" PRIu64,
				f->size == sizeof(uint32_t) ? *(const uint32_t *)slot
							    : *(const uint64_t *)slot);
			break;
		case KIND_URL_PATH:
		case KIND_FILE:
			fputc(' ', out);
			print_quoted(*(char *const *)slot, out);
			break;
		case KIND_LISTEN:
			fputc(' ', out);
			print_listen(slot, out);
			break;
		case KIND_LISTEN_LIST: {
			const struct listen_addr *addrs = *(struct listen_addr *const *)slot;

			if (*count <= 1) {
				fputc(' ', out);
				if (*count == 1)
					print_listen(&addrs[0], out);
				else
					fputs("[]", out);
				break;
			}
			for (size_t k = 0; k < *count; k++) {
				fprintf(out, "\n%*s- ", indent + 2, "");
				print_listen(&addrs[k], out);
			}
			break;
		}
		case KIND_ORIGINS: {
			char *const *origins = *(char **const *)slot;

			if (*count == 0)
				fputs(" []", out);
			for (size_t k = 0; k < *count; k++) {
				fprintf(out, "\n%*s- ", indent + 2, "");
				print_quoted(origins[k], out);
			}
			break;
		}
		case KIND_LEVEL:
			fputc(' ', out);
			print_quoted(log_level_name(*(const enum log_level *)slot), out);
			break;
		}
		fputc('\n', out);
	}
}

void config_print(const struct config *cfg, FILE *out)
{
	fputs("# effective configuration\n", out);
	if (cfg->source) {
		/* A line break in the path would end the comment early. */
		fputs("# from ", out);
		for (const char *p = cfg->source; *p; p++)
			fputc(*p == '\n' || *p == '\r' ? '?' : *p, out);
		fputc('\n', out);
	}
	print_section(cfg, &root_section, 0, out);
}
