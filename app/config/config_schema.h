/* Private to the config files: the description of every section and key,
 * which loading and printing both walk. */
#ifndef WSRELAY_CONFIG_SCHEMA_H
#define WSRELAY_CONFIG_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

enum config_kind {
	KIND_SECTION,     /* a nested mapping */
	KIND_BOOL,        /* true or false, nothing else */
	KIND_UINT,        /* decimal, range-checked; the member is uint32_t or uint64_t */
	KIND_URL_PATH,    /* request path: "/..." */
	KIND_FILE,        /* filesystem path, made absolute against the base folder */
	KIND_LISTEN,      /* one "host:port" */
	KIND_LISTEN_LIST, /* one "host:port" or a list of them */
	KIND_ORIGINS,     /* list of "scheme://host[:port]" */
	KIND_STRING,      /* any one-line string */
	KIND_ENUM,        /* an enum member by the names in the field's config_enum */
	KIND_BROKER_URLS, /* one broker URL or a list of them */
	KIND_NAME,        /* [A-Za-z0-9_:.-], dot-separated words; min..max bytes */
	KIND_NETWORKS,    /* list of "address[/prefix]" (net_cidr_parse) */
	KIND_WORDS,       /* list of distinct words of [A-Za-z0-9_-] (algorithm or header names) */
};

struct config_section;

/* The names of an enum's members, for KIND_ENUM: loading takes a name,
 * printing writes it. The enum's members are ints (see config_schema.c). */
struct config_enum_name {
	const char *name;
	int value;
};

struct config_enum {
	const char *what; /* "a log level": what a value of the wrong type was expected to be */
	const struct config_enum_name *names;
	size_t count;
};

/* Offsets are relative to the struct that the field's section fills: the
 * same table serves every struct of that type (server.tls, metrics.tls). */
struct config_field {
	const char *name;
	enum config_kind kind;
	size_t offset;                        /* of the member in the section's struct */
	size_t size;                          /* of that member, for KIND_UINT */
	size_t count_offset;                  /* of the element count, for the list kinds */
	uint64_t min, max;                    /* inclusive range (of the length, for KIND_NAME) */
	const struct config_section *section; /* for KIND_SECTION */
	const struct config_enum *names;      /* for KIND_ENUM */
};

struct config_section {
	const char *path; /* dotted, for messages; "" for the top level */
	const struct config_field *fields;
	size_t count;
	/* A rule that spans several keys, run once the section is loaded into
	 * the struct at self (path is its dotted name, for the message). If self
	 * breaks it, writes the message into why and returns the name of the key
	 * the message is about, so the error can point at its value; else NULL. */
	const char *(*check)(const void *self, const char *path, char *why, size_t whylen);
};

/* The whole file: a mapping of the sections. */
extern const struct config_section config_root_section;

static inline void *config_member(void *self, size_t offset)
{
	return (char *)self + offset;
}

static inline const void *config_const_member(const void *self, size_t offset)
{
	return (const char *)self + offset;
}

/* The names of the enum-valued keys. */
extern const struct config_enum config_log_levels;   /* enum log_level */
extern const struct config_enum config_log_formats;  /* enum log_format */
extern const struct config_enum config_tls_versions; /* enum tls_min_version */
extern const struct config_enum config_brokers;      /* enum cluster_broker */
extern const struct config_enum config_rate_actions; /* enum rate_action */
extern const struct config_enum config_auth_modes;   /* enum auth_mode */

/* value's name in e, or "unknown". */
const char *config_enum_name(const struct config_enum *e, int value);

/* The value that e calls name; false if there is none. */
bool config_enum_value(const struct config_enum *e, const char *name, int *value);

#endif
