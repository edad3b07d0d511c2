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

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* Certificate files are only opened when the server starts; here they just
 * have to be named. The cipher list is checked here, against this OpenSSL,
 * so a typo is a config error with its line rather than a start-up failure. */
static const char *check_tls(const struct tls_config *tls, const char *section, char *why,
                             size_t whylen)
{
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

static const char *check_server_tls(const struct config *cfg, char *why, size_t whylen)
{
	return check_tls(&cfg->server.tls, "server.tls", why, whylen);
}

static const char *check_metrics_tls(const struct config *cfg, char *why, size_t whylen)
{
	return check_tls(&cfg->metrics.tls, "metrics.tls", why, whylen);
}

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

static const char *check_server(const struct config *cfg, char *why, size_t whylen)
{
	const char *key = check_keepalive(cfg, why, whylen);
	return key ? key : check_listen_schemes(cfg, why, whylen);
}

/* The metrics listener also serves the health check. */
static const char *check_metrics(const struct config *cfg, char *why, size_t whylen)
{
	if (strcmp(cfg->metrics.path, "/healthz") != 0)
		return NULL;
	snprintf(why, whylen, "metrics.path: \"/healthz\" is the health check's path");
	/* path defaults to "/metrics", so it is "/healthz" only if this mapping
	 * says so. */
	return "path";
}

/* Every URL must speak the chosen broker's protocol, and Redis takes one
 * server (a cluster of Redis servers is not a pub/sub fan-out). */
static const char *check_cluster(const struct config *cfg, char *why, size_t whylen)
{
	char quoted[QUOTE_SIZE];
	const char *broker = cluster_broker_name(cfg->cluster.broker);

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
static const char *check_cluster_nats(const struct config *cfg, char *why, size_t whylen)
{
	const char *keys[] = {"token_file", "nkey_seed_file", "credentials_file"};
	const char *values[] = {cfg->cluster.nats.token_file, cfg->cluster.nats.nkey_seed_file,
	                        cfg->cluster.nats.credentials_file};
	const char *first = NULL;
	for (size_t i = 0; i < ARRAY_LEN(keys); i++) {
		if (!values[i][0])
			continue;
		if (first) {
			snprintf(why, whylen,
			         "cluster.nats.%s: only one of token_file, nkey_seed_file and "
			         "credentials_file may be set (%s is set too)",
			         keys[i], first);
			return keys[i];
		}
		first = keys[i];
	}
	return NULL;
}

/* A client certificate needs its key, and the other way round. */
static const char *check_cluster_nats_tls(const struct config *cfg, char *why, size_t whylen)
{
	bool cert = cfg->cluster.nats.tls.certificate[0],
	     key = cfg->cluster.nats.tls.private_key[0];
	if (cert == key)
		return NULL;
	snprintf(why, whylen, "cluster.nats.tls.%s needs cluster.nats.tls.%s to be set",
	         cert ? "certificate" : "private_key", cert ? "private_key" : "certificate");
	return cert ? "certificate" : "private_key";
}

/* The macros and tables below are laid out by hand, one row per key;
 * clang-format would spread each macro over four lines and pack rows into
 * columns. */
// clang-format off
#define MEMBER(m) .offset = offsetof(struct config, m)
#define F_SECTION(n, s) { .name = (n), .kind = KIND_SECTION, .section = &(s) }
#define F_BOOL(n, m) { .name = (n), .kind = KIND_BOOL, MEMBER(m) }
#define F_UINT(n, m, lo, hi) \
	{ .name = (n), .kind = KIND_UINT, MEMBER(m), .size = sizeof(((struct config *)0)->m), \
	  .min = (lo), .max = (hi) }
#define F_NAME(n, m, lo, hi) { .name = (n), .kind = KIND_NAME, MEMBER(m), .min = (lo), .max = (hi) }
#define F_SIMPLE(n, k, m) { .name = (n), .kind = (k), MEMBER(m) }
#define F_LIST(n, k, m, count) \
	{ .name = (n), .kind = (k), MEMBER(m), .count_offset = offsetof(struct config, count) }
#define SECTION_OF(p, table, chk) \
	{ .path = (p), .fields = (table), .count = ARRAY_LEN(table), .check = (chk) }

static const struct config_field tls_fields[] = {
	F_BOOL("enabled", server.tls.enabled),
	F_SIMPLE("certificate", KIND_FILE, server.tls.certificate),
	F_SIMPLE("private_key", KIND_FILE, server.tls.private_key),
	F_SIMPLE("min_version", KIND_TLS_VERSION, server.tls.min_version),
	F_SIMPLE("ciphers", KIND_STRING, server.tls.ciphers),
	F_SIMPLE("client_ca", KIND_FILE, server.tls.client_ca),
};
static const struct config_section tls_section =
	SECTION_OF("server.tls", tls_fields, check_server_tls);
/* The same keys as server.tls. */
static const struct config_field metrics_tls_fields[] = {
	F_BOOL("enabled", metrics.tls.enabled),
	F_SIMPLE("certificate", KIND_FILE, metrics.tls.certificate),
	F_SIMPLE("private_key", KIND_FILE, metrics.tls.private_key),
	F_SIMPLE("min_version", KIND_TLS_VERSION, metrics.tls.min_version),
	F_SIMPLE("ciphers", KIND_STRING, metrics.tls.ciphers),
	F_SIMPLE("client_ca", KIND_FILE, metrics.tls.client_ca),
};
static const struct config_section metrics_tls_section =
	SECTION_OF("metrics.tls", metrics_tls_fields, check_metrics_tls);

static const struct config_field server_fields[] = {
	F_LIST("listen", KIND_LISTEN_LIST, server.listen, server.listen_count),
	F_SIMPLE("websocket_path", KIND_URL_PATH, server.websocket_path),
	F_SIMPLE("document_root", KIND_FILE, server.document_root),
	/* Each client holds a thread, and pid_max is 32768 on the target machine. */
	F_UINT("max_connections", server.max_connections, 1, 30000),
	F_UINT("max_message_bytes", server.max_message_bytes, 1, UINT64_C(1) << 30),
	F_LIST("allowed_origins", KIND_ORIGINS, server.allowed_origins,
	       server.allowed_origins_count),
	F_UINT("ping_interval_seconds", server.ping_interval_seconds, 0, 3600),
	F_UINT("idle_timeout_seconds", server.idle_timeout_seconds, 1, 86400),
	F_SECTION("tls", tls_section),
};
static const struct config_section server_section =
	SECTION_OF("server", server_fields, check_server);

static const struct config_field relay_fields[] = {
	F_BOOL("echo_to_sender", relay.echo_to_sender),
	F_UINT("client_queue_messages", relay.client_queue_messages, 1, 1000000),
	F_UINT("client_queue_bytes", relay.client_queue_bytes, 1024, UINT64_C(1) << 32),
};
static const struct config_section relay_section = SECTION_OF("relay", relay_fields, NULL);

static const struct config_field metrics_fields[] = {
	F_BOOL("enabled", metrics.enabled),
	F_SIMPLE("listen", KIND_LISTEN, metrics.listen),
	F_SIMPLE("path", KIND_URL_PATH, metrics.path),
	F_SECTION("tls", metrics_tls_section),
};
static const struct config_section metrics_section =
	SECTION_OF("metrics", metrics_fields, check_metrics);

static const struct config_field cluster_nats_tls_fields[] = {
	F_SIMPLE("ca", KIND_FILE, cluster.nats.tls.ca),
	F_SIMPLE("certificate", KIND_FILE, cluster.nats.tls.certificate),
	F_SIMPLE("private_key", KIND_FILE, cluster.nats.tls.private_key),
};
static const struct config_section cluster_nats_tls_section =
	SECTION_OF("cluster.nats.tls", cluster_nats_tls_fields, check_cluster_nats_tls);

static const struct config_field cluster_nats_fields[] = {
	F_SIMPLE("token_file", KIND_FILE, cluster.nats.token_file),
	F_SIMPLE("nkey_seed_file", KIND_FILE, cluster.nats.nkey_seed_file),
	F_SIMPLE("credentials_file", KIND_FILE, cluster.nats.credentials_file),
	F_SECTION("tls", cluster_nats_tls_section),
};
static const struct config_section cluster_nats_section =
	SECTION_OF("cluster.nats", cluster_nats_fields, check_cluster_nats);

static const struct config_field cluster_fields[] = {
	F_BOOL("enabled", cluster.enabled),
	F_SIMPLE("broker", KIND_BROKER, cluster.broker),
	F_LIST("url", KIND_BROKER_URLS, cluster.urls, cluster.url_count),
	F_NAME("channel", cluster.channel, 1, 200),
	/* Goes into every envelope: short keeps the overhead small. */
	F_NAME("node_id", cluster.node_id, 0, 64),
	F_UINT("queue_messages", cluster.queue_messages, 1, 10000000),
	F_UINT("queue_bytes", cluster.queue_bytes, 1024, UINT64_C(1) << 34),
	F_SIMPLE("secret_file", KIND_FILE, cluster.secret_file),
	F_BOOL("allow_local_only_oversize", cluster.allow_local_only_oversize),
	F_SECTION("nats", cluster_nats_section),
};
static const struct config_section cluster_section =
	SECTION_OF("cluster", cluster_fields, check_cluster);

static const struct config_field shutdown_fields[] = {
	F_UINT("timeout_seconds", shutdown.timeout_seconds, 0, 3600),
};
static const struct config_section shutdown_section = SECTION_OF("shutdown", shutdown_fields, NULL);

static const struct config_field logging_fields[] = {
	F_SIMPLE("level", KIND_LEVEL, logging.level),
};
static const struct config_section logging_section = SECTION_OF("logging", logging_fields, NULL);

static const struct config_field root_fields[] = {
	F_SECTION("server", server_section),
	F_SECTION("relay", relay_section),
	F_SECTION("metrics", metrics_section),
	F_SECTION("cluster", cluster_section),
	F_SECTION("shutdown", shutdown_section),
	F_SECTION("logging", logging_section),
};
const struct config_section config_root_section = SECTION_OF("", root_fields, NULL);

static const char *const level_names[] = {
	[LOG_LEVEL_DEBUG] = "debug",
	[LOG_LEVEL_INFO] = "info",
	[LOG_LEVEL_WARN] = "warn",
	[LOG_LEVEL_ERROR] = "error",
};
// clang-format on

const char *tls_min_version_name(enum tls_min_version version)
{
	return version == TLS_MIN_VERSION_1_3 ? "1.3" : "1.2";
}

const char *log_level_name(enum log_level level)
{
	if ((size_t)level < ARRAY_LEN(level_names))
		return level_names[level];
	return "unknown";
}

bool log_level_from_name(const char *name, enum log_level *level)
{
	for (size_t i = 0; i < ARRAY_LEN(level_names); i++) {
		if (strcmp(name, level_names[i]) == 0) {
			*level = (enum log_level)i;
			return true;
		}
	}
	return false;
}
