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
	KIND_LEVEL,       /* enum log_level by name */
	KIND_STRING,      /* any one-line string */
	KIND_TLS_VERSION, /* enum tls_min_version: "1.2" or "1.3" */
	KIND_BROKER,      /* enum cluster_broker by name */
	KIND_BROKER_URLS, /* one broker URL or a list of them */
	KIND_NAME,        /* [A-Za-z0-9_:.-], dot-separated words; min..max bytes */
};

struct config_section;

struct config_field {
	const char *name;
	enum config_kind kind;
	size_t offset;                        /* of the member in struct config */
	size_t size;                          /* of that member, for KIND_UINT */
	size_t count_offset;                  /* of the element count, for the list kinds */
	uint64_t min, max;                    /* inclusive range (of the length, for KIND_NAME) */
	const struct config_section *section; /* for KIND_SECTION */
};

struct config_section {
	const char *path; /* dotted, for messages; "" for the top level */
	const struct config_field *fields;
	size_t count;
	/* A rule that spans several keys, run once the section is loaded. If cfg
	 * breaks it, writes the message into why and returns the name of the key
	 * the message is about, so the error can point at its value; else NULL. */
	const char *(*check)(const struct config *cfg, char *why, size_t whylen);
};

/* The whole file: a mapping of the sections. */
extern const struct config_section config_root_section;

static inline void *config_member(struct config *cfg, size_t offset)
{
	return (char *)cfg + offset;
}

static inline const void *config_const_member(const struct config *cfg, size_t offset)
{
	return (const char *)cfg + offset;
}

/* The level that log_level_name() calls name; false if there is none. */
bool log_level_from_name(const char *name, enum log_level *level);

#endif
