/* The configuration's schema, described once: the tables below list every
 * section and key with its kind and range, and loading, the "expected one of"
 * hints and config_print all walk them. A new key needs a row here, a default
 * in config_fill_defaults() (config.c) and a line in conf/wsrelay.yaml. */
#include "config_schema.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <string.h>

#include "broker_url.h"
#include "quote.h"
#include "room_name.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Certificate files are only opened when the server starts; here they just
 * have to be named. The cipher list is checked here, against this OpenSSL,
 * so a typo is a config error with its line rather than a start-up failure. */
static const char *check_tls(const void *self, const char *section, char *why, size_t whylen)
{
	const struct tls_config *tls = self;

	if (tls->ciphers[0]) {
		SSL_CTX *probe = SSL_CTX_new(TLS_server_method());
		int ok = probe && SSL_CTX_set_cipher_list(probe, tls->ciphers) == 1;
		SSL_CTX_free(probe);
		ERR_clear_error();
		if (!ok) {
			snprintf(why, whylen,
			         "%s.ciphers: OpenSSL knows no TLS 1.2 cipher in \"%s\" (see "
			         "`openssl ciphers -v`)",
			         section, tls->ciphers);
			return "ciphers";
		}
	}
	if (!tls->enabled || (tls->certificate[0] && tls->private_key[0]))
		return NULL;
	if (!tls->certificate[0] && !tls->private_key[0])
		snprintf(why, whylen,
		         "%s.enabled: true needs %s.certificate and %s.private_key to be set",
		         section, section, section);
	else
		snprintf(why, whylen, "%s.enabled: true needs %s.%s to be set", section, section,
		         tls->certificate[0] ? "private_key" : "certificate");
	/* enabled defaults to false, so it is true only if this mapping says so. */
	return "enabled";
}

/* The struct config whose section self is: the sections of struct config
 * are anonymous structs, so a check reads its own keys through it. */
#define CONFIG_OF(self, section)                                                                   \
	((const struct config *)(const void *)((const char *)(self)-offsetof(struct config,        \
	                                                                     section)))

/* A wss:// listener needs the certificate that server.tls names. */
static const char *check_listen_schemes(const struct config *cfg, char *why, size_t whylen)
{
	if (cfg->server.tls.enabled)
		return NULL;
	for (size_t i = 0; i < cfg->server.listen_count; i++) {
		if (cfg->server.listen[i].scheme == LISTEN_SCHEME_WSS) {
			snprintf(why, whylen,
			         "server.listen: a \"wss://\" address needs server.tls.enabled: "
			         "true with a certificate and key");
			return "listen";
		}
	}
	return NULL;
}

/* A client gets at least one ping before it can be found idle. */
static const char *check_keepalive(const struct config *cfg, char *why, size_t whylen)
{
	uint32_t ping = cfg->server.ping_interval_seconds;
	uint32_t idle = cfg->server.idle_timeout_seconds;
	if (ping == 0 || idle > ping)
		return NULL;
	snprintf(why, whylen,
	         "server.idle_timeout_seconds: %u must be longer than "
	         "server.ping_interval_seconds (%u)",
	         idle, ping);
	/* Points at the idle timeout if this mapping sets it, else at the
	 * ping interval, which then must be set here. */
	return "idle_timeout_seconds";
}

static const char *check_server(const void *self, const char *path, char *why, size_t whylen)
{
	const struct config *cfg = CONFIG_OF(self, server);
	(void)path;
	const char *key = check_keepalive(cfg, why, whylen);
	if (!key && cfg->server.proxy_protocol && cfg->server.trusted_proxies_count == 0) {
		/* Headers are read only from trusted_proxies: with none, the
		 * option would do nothing but refuse every balancer. */
		snprintf(why, whylen,
		         "server.proxy_protocol: true needs server.trusted_proxies, the "
		         "balancers whose PROXY header is believed");
		return "proxy_protocol";
	}
	return key ? key : check_listen_schemes(cfg, why, whylen);
}

/* The metrics listener also serves the health check. */
static const char *check_metrics(const void *self, const char *path, char *why, size_t whylen)
{
	const struct config *cfg = CONFIG_OF(self, metrics);
	(void)path;
	if (strcmp(cfg->metrics.path, "/healthz") != 0)
		return NULL;
	snprintf(why, whylen, "metrics.path: \"/healthz\" is the health check's path");
	/* path defaults to "/metrics", so it is "/healthz" only if this mapping
	 * says so. */
	return "path";
}

/* The default room is a room name, or "" for none. */
static const char *check_rooms(const void *self, const char *path, char *why, size_t whylen)
{
	const struct config *cfg = CONFIG_OF(self, rooms);
	const char *name = cfg->rooms.default_room;
	char quoted[QUOTE_SIZE];
	(void)path;
	if (!name[0] || room_name_valid(name, strlen(name)))
		return NULL;
	snprintf(why, whylen,
	         "rooms.default: %s is not a room name (1 to %d bytes of letters, digits and "
	         "_ - ., no \".\" at either end, no \"..\")",
	         quote_shortened(name, quoted), ROOM_NAME_MAX);
	return "default";
}

/* Rooms travel between nodes only once the cluster carries the room of
 * each message (not yet): until then a cluster with rooms would deliver
 * other nodes' messages to no one, so the combination is refused. */
static const char *check_root(const void *self, const char *path, char *why, size_t whylen)
{
	const struct config *cfg = self;
	(void)path;
	if (!cfg->rooms.enabled || !cfg->cluster.enabled)
		return NULL;
	snprintf(why, whylen,
	         "rooms.enabled: rooms do not work with cluster.enabled yet (messages of other "
	         "nodes would reach no room): turn one of them off");
	return "rooms";
}

/* Every URL must speak the chosen broker's protocol, and Redis takes one
 * server (a cluster of Redis servers is not a pub/sub fan-out). */
static const char *check_cluster(const void *self, const char *path, char *why, size_t whylen)
{
	const struct config *cfg = CONFIG_OF(self, cluster);
	char quoted[QUOTE_SIZE];
	const char *broker = config_enum_name(&config_brokers, (int)cfg->cluster.broker);
	(void)path;

	if (cfg->cluster.broker == CLUSTER_BROKER_REDIS && cfg->cluster.url_count != 1) {
		snprintf(why, whylen, "cluster.url: broker \"redis\" takes one URL, got %zu",
		         cfg->cluster.url_count);
		return "url";
	}
	for (size_t i = 0; i < cfg->cluster.url_count; i++) {
		struct broker_url url;
		char unused[8];

		/* Each URL was checked when it loaded; only its scheme is in
		 * question here. */
		if (broker_url_parse(cfg->cluster.urls[i], &url, unused, sizeof(unused)) == 0 &&
		    url.scheme == cfg->cluster.broker)
			continue;
		char redacted[512];
		broker_url_redact(cfg->cluster.urls[i], redacted, sizeof(redacted));
		snprintf(why, whylen,
		         "cluster.url: %s is not a %s:// URL, but cluster.broker is \"%s\"",
		         quote_shortened(redacted, quoted), broker, broker);
		return "url";
	}
	return NULL;
}

/* One way to authenticate to NATS at a time, as the client library takes
 * only one. */
static const char *check_cluster_nats(const void *self, const char *path, char *why, size_t whylen)
{
	const struct config *cfg = CONFIG_OF(self, cluster.nats);
	const char *keys[] = {"token_file", "nkey_seed_file", "credentials_file"};
	const char *values[] = {cfg->cluster.nats.token_file, cfg->cluster.nats.nkey_seed_file,
	                        cfg->cluster.nats.credentials_file};
	const char *first = NULL;
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		if (!values[i][0])
			continue;
		if (first) {
			snprintf(why, whylen,
			         "%s.%s: only one of token_file, nkey_seed_file and "
			         "credentials_file may be set (%s is set too)",
			         path, keys[i], first);
			return keys[i];
		}
		first = keys[i];
	}
	return NULL;
}

/* The JWS algorithms the relay verifies (app/auth/jwt_verify.c has their
 * digests and key types); "none" is never one of them. */
static const char *const jwt_algorithm_names[] = {
    "HS256", "HS384", "HS512", "RS256", "RS384", "RS512",
    "PS256", "PS384", "PS512", "ES256", "ES384", "ES512",
};

static bool jwt_algorithm_known(const char *name)
{
	for (size_t i = 0; i < ARRAY_LEN(jwt_algorithm_names); i++)
		if (strcmp(name, jwt_algorithm_names[i]) == 0)
			return true;
	return false;
}

static const char *check_auth_jwt(const void *self, const char *path, char *why, size_t whylen)
{
	const struct config *cfg = CONFIG_OF(self, auth.jwt);
	char quoted[QUOTE_SIZE];
	(void)path;
	for (size_t i = 0; i < cfg->auth.jwt.algorithm_count; i++) {
		if (jwt_algorithm_known(cfg->auth.jwt.algorithms[i]))
			continue;
		snprintf(why, whylen,
		         "auth.jwt.algorithms: %s is not one of HS256 HS384 HS512 RS256 RS384 "
		         "RS512 PS256 PS384 PS512 ES256 ES384 ES512",
		         quote_shortened(cfg->auth.jwt.algorithms[i], quoted));
		return "algorithms";
	}
	return NULL;
}

/* A client certificate needs its key, and the other way round. */
static const char *check_cluster_nats_tls(const void *self, const char *path, char *why,
                                          size_t whylen)
{
	const struct config *cfg = CONFIG_OF(self, cluster.nats.tls);
	bool cert = cfg->cluster.nats.tls.certificate[0],
	     key = cfg->cluster.nats.tls.private_key[0];
	if (cert == key)
		return NULL;
	snprintf(why, whylen, "%s.%s needs %s.%s to be set", path,
	         cert ? "certificate" : "private_key", path, cert ? "private_key" : "certificate");
	return cert ? "certificate" : "private_key";
}

/* jwt: a key file for each family listed (the files are read when the
 * server starts); http: a URL curl can take. */
static const char *check_auth(const void *self, const char *path, char *why, size_t whylen)
{
	const struct config *cfg = CONFIG_OF(self, auth);
	char quoted[QUOTE_SIZE];
	(void)path;

	bool hmac = false, public_key = false;
	for (size_t i = 0; i < cfg->auth.jwt.algorithm_count; i++) {
		hmac |= cfg->auth.jwt.algorithms[i][0] == 'H';
		public_key |= cfg->auth.jwt.algorithms[i][0] != 'H';
	}
	if (cfg->auth.mode == AUTH_MODE_JWT) {
		if (cfg->auth.jwt.algorithm_count == 0) {
			snprintf(why, whylen, "auth.mode: \"jwt\" needs auth.jwt.algorithms");
			return "mode";
		}
		if (hmac && !cfg->auth.jwt.secret_file[0]) {
			snprintf(
			    why, whylen,
			    "auth.mode: \"jwt\" with an HS* algorithm needs auth.jwt.secret_file");
			return "mode";
		}
		if (public_key && !cfg->auth.jwt.public_keys_file[0]) {
			snprintf(why, whylen,
			         "auth.mode: \"jwt\" with an RS*, PS* or ES* algorithm needs "
			         "auth.jwt.public_keys_file");
			return "mode";
		}
	}
	const char *url = cfg->auth.http.url;
	if (cfg->auth.mode == AUTH_MODE_HTTP && strncmp(url, "http://", 7) != 0 &&
	    strncmp(url, "https://", 8) != 0) {
		snprintf(why, whylen,
		         "auth.mode: \"http\" needs auth.http.url, an http:// or https:// URL (got "
		         "%s)",
		         quote_shortened(url, quoted));
		return "mode";
	}
	return NULL;
}

/* The macros and tables below are laid out by hand, one row per key;
 * clang-format would spread each macro over four lines and pack rows into
 * columns. */
// clang-format off
/* Enum members are loaded and printed as ints. */
_Static_assert(sizeof(enum log_level) == sizeof(int), "enum log_level is an int");
_Static_assert(sizeof(enum log_format) == sizeof(int), "enum log_format is an int");
_Static_assert(sizeof(enum tls_min_version) == sizeof(int), "enum tls_min_version is an int");
_Static_assert(sizeof(enum cluster_broker) == sizeof(int), "enum cluster_broker is an int");
_Static_assert(sizeof(enum rate_action) == sizeof(int), "enum rate_action is an int");

#define ENUM_OF(w, table) { .what = (w), .names = (table), .count = ARRAY_LEN(table) }

static const struct config_enum_name level_names[] = {
	{"debug", LOG_LEVEL_DEBUG}, {"info", LOG_LEVEL_INFO},
	{"warn", LOG_LEVEL_WARN}, {"error", LOG_LEVEL_ERROR},
};
const struct config_enum config_log_levels = ENUM_OF("a log level", level_names);

static const struct config_enum_name format_names[] = {
	{"text", LOG_FORMAT_TEXT}, {"json", LOG_FORMAT_JSON},
};
const struct config_enum config_log_formats = ENUM_OF("a log format", format_names);

static const struct config_enum_name tls_version_names[] = {
	{"1.2", TLS_MIN_VERSION_1_2}, {"1.3", TLS_MIN_VERSION_1_3},
};
const struct config_enum config_tls_versions = ENUM_OF("a TLS version", tls_version_names);

static const struct config_enum_name broker_names[] = {
	{"redis", CLUSTER_BROKER_REDIS}, {"nats", CLUSTER_BROKER_NATS},
};
const struct config_enum config_brokers = ENUM_OF("a broker name", broker_names);

static const struct config_enum_name rate_action_names[] = {
	{"close", RATE_ACTION_CLOSE}, {"drop", RATE_ACTION_DROP},
};
const struct config_enum config_rate_actions = ENUM_OF("a rate action", rate_action_names);
_Static_assert(sizeof(enum auth_mode) == sizeof(int), "enum auth_mode is an int");
static const struct config_enum_name auth_mode_names[] = {
	{"none", AUTH_MODE_NONE}, {"jwt", AUTH_MODE_JWT}, {"http", AUTH_MODE_HTTP},
};
const struct config_enum config_auth_modes = ENUM_OF("an auth mode", auth_mode_names);

/* S is the struct that a table's offsets are relative to. The sections of
 * struct config are anonymous structs, named here through __typeof__. */
#define SECTION_TYPE(sec) __typeof__(((struct config *)0)->sec)
#define F_SECTION(S, n, m, s) { .name = (n), .kind = KIND_SECTION, .offset = offsetof(S, m), .section = &(s) }
#define F_BOOL(S, n, m) { .name = (n), .kind = KIND_BOOL, .offset = offsetof(S, m) }
#define F_UINT(S, n, m, lo, hi) \
	{ .name = (n), .kind = KIND_UINT, .offset = offsetof(S, m), .size = sizeof(((S *)0)->m), \
	  .min = (lo), .max = (hi) }
#define F_NAME(S, n, m, lo, hi) \
	{ .name = (n), .kind = KIND_NAME, .offset = offsetof(S, m), .min = (lo), .max = (hi) }
#define F_SIMPLE(S, n, k, m) { .name = (n), .kind = (k), .offset = offsetof(S, m) }
#define F_ENUM(S, n, m, e) { .name = (n), .kind = KIND_ENUM, .offset = offsetof(S, m), .names = &(e) }
#define F_LIST(S, n, k, m, count) \
	{ .name = (n), .kind = (k), .offset = offsetof(S, m), .count_offset = offsetof(S, count) }
#define SECTION_OF(table, chk) { .fields = (table), .count = ARRAY_LEN(table), .check = (chk) }

/* One table for every struct tls_config: server.tls and metrics.tls. */
#define S struct tls_config
static const struct config_field tls_fields[] = {
	F_BOOL(S, "enabled", enabled),
	F_SIMPLE(S, "certificate", KIND_FILE, certificate),
	F_SIMPLE(S, "private_key", KIND_FILE, private_key),
	F_ENUM(S, "min_version", min_version, config_tls_versions),
	F_SIMPLE(S, "ciphers", KIND_STRING, ciphers),
	F_SIMPLE(S, "client_ca", KIND_FILE, client_ca),
};
#undef S
static const struct config_section tls_section = SECTION_OF(tls_fields, check_tls);

#define S SECTION_TYPE(server)
static const struct config_field server_fields[] = {
	F_LIST(S, "listen", KIND_LISTEN_LIST, listen, listen_count),
	F_SIMPLE(S, "websocket_path", KIND_URL_PATH, websocket_path),
	F_SIMPLE(S, "document_root", KIND_FILE, document_root),
	/* Each client holds a thread, and pid_max is 32768 on the target machine. */
	F_UINT(S, "max_connections", max_connections, 1, 30000),
	F_UINT(S, "max_message_bytes", max_message_bytes, 1, UINT64_C(1) << 30),
	F_LIST(S, "allowed_origins", KIND_ORIGINS, allowed_origins, allowed_origins_count),
	F_UINT(S, "ping_interval_seconds", ping_interval_seconds, 0, 3600),
	F_UINT(S, "idle_timeout_seconds", idle_timeout_seconds, 1, 86400),
	F_UINT(S, "handshake_timeout_seconds", handshake_timeout_seconds, 1, 300),
	F_LIST(S, "trusted_proxies", KIND_NETWORKS, trusted_proxies, trusted_proxies_count),
	F_BOOL(S, "proxy_protocol", proxy_protocol),
	F_SECTION(S, "tls", tls, tls_section),
};
#undef S
static const struct config_section server_section = SECTION_OF(server_fields, check_server);

#define S SECTION_TYPE(relay)
static const struct config_field relay_fields[] = {
	F_BOOL(S, "echo_to_sender", echo_to_sender),
	F_UINT(S, "client_queue_messages", client_queue_messages, 1, 1000000),
	F_UINT(S, "client_queue_bytes", client_queue_bytes, 1024, UINT64_C(1) << 32),
};
#undef S
static const struct config_section relay_section = SECTION_OF(relay_fields, NULL);

#define S SECTION_TYPE(limits)
static const struct config_field limits_fields[] = {
	F_UINT(S, "max_connections_per_address", max_connections_per_address, 0, 30000),
	F_UINT(S, "handshakes_per_address_per_second", handshakes_per_address_per_second, 0, 1000000),
	/* An IPv6 subscriber gets a /64 or more; /128 counts every address. */
	F_UINT(S, "ipv6_prefix_length", ipv6_prefix_length, 16, 128),
	F_UINT(S, "messages_per_second", messages_per_second, 0, 10000000),
	F_UINT(S, "bytes_per_second", bytes_per_second, 0, UINT64_C(1) << 40),
	F_ENUM(S, "on_rate_exceeded", on_rate_exceeded, config_rate_actions),
};
#undef S
static const struct config_section limits_section = SECTION_OF(limits_fields, NULL);

#define S SECTION_TYPE(metrics)
static const struct config_field metrics_fields[] = {
	F_BOOL(S, "enabled", enabled),
	F_SIMPLE(S, "listen", KIND_LISTEN, listen),
	F_SIMPLE(S, "path", KIND_URL_PATH, path),
	F_LIST(S, "allowed_networks", KIND_NETWORKS, allowed_networks, allowed_networks_count),
	F_SIMPLE(S, "bearer_token_file", KIND_FILE, bearer_token_file),
	F_SECTION(S, "tls", tls, tls_section),
};
#undef S
static const struct config_section metrics_section = SECTION_OF(metrics_fields, check_metrics);

#define S SECTION_TYPE(rooms)
static const struct config_field rooms_fields[] = {
	F_BOOL(S, "enabled", enabled),
	F_SIMPLE(S, "default", KIND_STRING, default_room),
	F_UINT(S, "max_rooms", max_rooms, 1, 1000000),
	F_UINT(S, "max_members", max_members, 0, 30000),
};
#undef S
static const struct config_section rooms_section = SECTION_OF(rooms_fields, check_rooms);

#define S SECTION_TYPE(cluster.nats.tls)
static const struct config_field cluster_nats_tls_fields[] = {
	F_SIMPLE(S, "ca", KIND_FILE, ca),
	F_SIMPLE(S, "certificate", KIND_FILE, certificate),
	F_SIMPLE(S, "private_key", KIND_FILE, private_key),
};
#undef S
static const struct config_section cluster_nats_tls_section =
	SECTION_OF(cluster_nats_tls_fields, check_cluster_nats_tls);

#define S SECTION_TYPE(cluster.nats)
static const struct config_field cluster_nats_fields[] = {
	F_SIMPLE(S, "token_file", KIND_FILE, token_file),
	F_SIMPLE(S, "nkey_seed_file", KIND_FILE, nkey_seed_file),
	F_SIMPLE(S, "credentials_file", KIND_FILE, credentials_file),
	F_SECTION(S, "tls", tls, cluster_nats_tls_section),
};
#undef S
static const struct config_section cluster_nats_section =
	SECTION_OF(cluster_nats_fields, check_cluster_nats);

#define S SECTION_TYPE(cluster)
static const struct config_field cluster_fields[] = {
	F_BOOL(S, "enabled", enabled),
	F_ENUM(S, "broker", broker, config_brokers),
	F_LIST(S, "url", KIND_BROKER_URLS, urls, url_count),
	F_NAME(S, "channel", channel, 1, 200),
	/* Goes into every envelope: short keeps the overhead small. */
	F_NAME(S, "node_id", node_id, 0, 64),
	F_UINT(S, "queue_messages", queue_messages, 1, 10000000),
	F_UINT(S, "queue_bytes", queue_bytes, 1024, UINT64_C(1) << 34),
	F_SIMPLE(S, "secret_file", KIND_FILE, secret_file),
	F_BOOL(S, "allow_local_only_oversize", allow_local_only_oversize),
	F_SECTION(S, "nats", nats, cluster_nats_section),
};
#undef S
static const struct config_section cluster_section = SECTION_OF(cluster_fields, check_cluster);

#define S SECTION_TYPE(auth.jwt)
static const struct config_field auth_jwt_fields[] = {
	F_LIST(S, "algorithms", KIND_WORDS, algorithms, algorithm_count),
	F_SIMPLE(S, "secret_file", KIND_FILE, secret_file),
	F_SIMPLE(S, "public_keys_file", KIND_FILE, public_keys_file),
	F_SIMPLE(S, "issuer", KIND_STRING, issuer),
	F_SIMPLE(S, "audience", KIND_STRING, audience),
	F_UINT(S, "leeway_seconds", leeway_seconds, 0, 3600),
	F_NAME(S, "cookie", cookie, 0, 128),
};
#undef S
static const struct config_section auth_jwt_section = SECTION_OF(auth_jwt_fields, check_auth_jwt);

#define S SECTION_TYPE(auth.http)
static const struct config_field auth_http_fields[] = {
	F_SIMPLE(S, "url", KIND_STRING, url),
	F_UINT(S, "timeout_ms", timeout_ms, 1, 60000),
	F_LIST(S, "forward_headers", KIND_WORDS, forward_headers, forward_header_count),
};
#undef S
static const struct config_section auth_http_section = SECTION_OF(auth_http_fields, NULL);

#define S SECTION_TYPE(auth)
static const struct config_field auth_fields[] = {
	F_ENUM(S, "mode", mode, config_auth_modes),
	F_SECTION(S, "jwt", jwt, auth_jwt_section),
	F_SECTION(S, "http", http, auth_http_section),
	F_BOOL(S, "anonymous_publish", anonymous_publish),
};
#undef S
static const struct config_section auth_section = SECTION_OF(auth_fields, check_auth);

#define S SECTION_TYPE(shutdown)
static const struct config_field shutdown_fields[] = {
	F_UINT(S, "timeout_seconds", timeout_seconds, 0, 3600),
};
#undef S
static const struct config_section shutdown_section = SECTION_OF(shutdown_fields, NULL);

#define S SECTION_TYPE(logging)
static const struct config_field logging_fields[] = {
	F_ENUM(S, "level", level, config_log_levels),
	F_ENUM(S, "format", format, config_log_formats),
};
#undef S
static const struct config_section logging_section = SECTION_OF(logging_fields, NULL);

#define S struct config
static const struct config_field root_fields[] = {
	F_SECTION(S, "server", server, server_section),
	F_SECTION(S, "relay", relay, relay_section),
	F_SECTION(S, "limits", limits, limits_section),
	F_SECTION(S, "metrics", metrics, metrics_section),
	F_SECTION(S, "rooms", rooms, rooms_section),
	F_SECTION(S, "cluster", cluster, cluster_section),
	F_SECTION(S, "auth", auth, auth_section),
	F_SECTION(S, "shutdown", shutdown, shutdown_section),
	F_SECTION(S, "logging", logging, logging_section),
};
#undef S
const struct config_section config_root_section = SECTION_OF(root_fields, check_root);
// clang-format on

const char *config_enum_name(const struct config_enum *e, int value)
{
	for (size_t i = 0; i < e->count; i++)
		if (e->names[i].value == value)
			return e->names[i].name;
	return "unknown";
}

bool config_enum_value(const struct config_enum *e, const char *name, int *value)
{
	for (size_t i = 0; i < e->count; i++) {
		if (strcmp(name, e->names[i].name) == 0) {
			*value = e->names[i].value;
			return true;
		}
	}
	return false;
}
