/* Tests for app/config.c: every error path with its exact position, the
 * defaults (and that conf/wsrelay.yaml documents them), path resolution and
 * the print/load round trip. Files are written to a fresh mkdtemp folder. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config.h"
#include "config_schema.h"
#include "test_file.h"

#ifndef WSRELAY_SOURCE_DIR
#error "WSRELAY_SOURCE_DIR must be defined as the repository root"
#endif

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static char tmp_dir[] = "/tmp/wsrelay-config-test-XXXXXX";
static char start_dir[PATH_MAX];

struct error_case {
	const char *yaml;
	unsigned line, column;
	const char *message; /* a distinctive part of the message after "path:line:column: " */
};

/* ---- Helpers ---- */

static int make_tmp_dir(void **state)
{
	(void)state;
	if (!getcwd(start_dir, sizeof(start_dir)) || !mkdtemp(tmp_dir))
		return -1;
	return 0;
}

static int remove_tmp_dir(void **state)
{
	(void)state;
	return test_file_remove_tree(tmp_dir);
}

/* Tests that chdir() get the starting folder back even when they fail. */
static int restore_cwd(void **state)
{
	(void)state;
	return chdir(start_dir);
}

/* Writes content to name (relative to the temporary folder) and returns the
 * file's path, valid until the next call. */
static const char *write_file(const char *name, const char *content)
{
	static char path[PATH_MAX];
	size_t len = strlen(content);
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
	f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(content, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
	return path;
}

static bool all_zero(const struct config *cfg)
{
	/* Byte by byte, padding included: the loader leaves a failed cfg as
	 * memset made it, and that is what is checked. */
	const unsigned char *bytes = (const unsigned char *)cfg;

	for (size_t i = 0; i < sizeof(*cfg); i++)
		if (bytes[i] != 0)
			return false;
	return true;
}

static void load_ok(struct config *cfg, const char *yaml)
{
	const char *path = write_file("ok.yaml", yaml);
	char err[512] = "";

	if (config_load(cfg, path, err, sizeof(err)) != 0) {
		print_error("unexpected error for:\n%s\n-> %s\n", yaml, err);
		fail();
	}
}

/* Each case must fail with "path:line:column: ...message..." on one line and
 * leave the struct zeroed. */
static void check_errors(const struct error_case *cases, size_t count)
{
	for (size_t i = 0; i < count; i++) {
		const struct error_case *c = &cases[i];
		const char *path = write_file("bad.yaml", c->yaml);
		char err[512] = "", prefix[PATH_MAX + 32];
		struct config cfg;
		int rc;

		memset(&cfg, 0xa5, sizeof(cfg)); /* config_load must not read it */
		rc = config_load(&cfg, path, err, sizeof(err));
		snprintf(prefix, sizeof(prefix), "%s:%u:%u: ", path, c->line, c->column);
		if (rc != -1 || strncmp(err, prefix, strlen(prefix)) != 0 ||
		    !strstr(err + strlen(prefix), c->message) || strchr(err, '\n') ||
		    !all_zero(&cfg)) {
			print_error("case %zu:\n%s\nwant: %s...%s\ngot:  %s (rc %d)\n", i, c->yaml,
			            prefix, c->message, err, rc);
			fail();
		}
		config_free(&cfg);
	}
}

static void assert_listen(const struct listen_addr *addr, const char *host, unsigned port,
                          bool ipv6)
{
	assert_string_equal(addr->host, host);
	assert_int_equal(addr->port, port);
	assert_int_equal(addr->ipv6, ipv6);
}

static void assert_same_tls(const struct tls_config *a, const struct tls_config *b)
{
	assert_int_equal(a->enabled, b->enabled);
	assert_string_equal(a->certificate, b->certificate);
	assert_string_equal(a->private_key, b->private_key);
	assert_int_equal(a->min_version, b->min_version);
	assert_string_equal(a->ciphers, b->ciphers);
	assert_string_equal(a->client_ca, b->client_ca);
}

/* Every field but source. */
static void assert_same_strings(char *const *a, size_t na, char *const *b, size_t nb)
{
	assert_int_equal(na, nb);
	for (size_t i = 0; i < na; i++)
		assert_string_equal(a[i], b[i]);
}

static void assert_same_auth(const struct config *a, const struct config *b)
{
	assert_int_equal(a->auth.mode, b->auth.mode);
	assert_same_strings(a->auth.jwt.algorithms, a->auth.jwt.algorithm_count,
	                    b->auth.jwt.algorithms, b->auth.jwt.algorithm_count);
	assert_string_equal(a->auth.jwt.secret_file, b->auth.jwt.secret_file);
	assert_string_equal(a->auth.jwt.public_keys_file, b->auth.jwt.public_keys_file);
	assert_string_equal(a->auth.jwt.issuer, b->auth.jwt.issuer);
	assert_string_equal(a->auth.jwt.audience, b->auth.jwt.audience);
	assert_int_equal(a->auth.jwt.leeway_seconds, b->auth.jwt.leeway_seconds);
	assert_string_equal(a->auth.jwt.cookie, b->auth.jwt.cookie);
	assert_string_equal(a->auth.http.url, b->auth.http.url);
	assert_int_equal(a->auth.http.timeout_ms, b->auth.http.timeout_ms);
	assert_same_strings(a->auth.http.forward_headers, a->auth.http.forward_header_count,
	                    b->auth.http.forward_headers, b->auth.http.forward_header_count);
	assert_int_equal(a->auth.anonymous_publish, b->auth.anonymous_publish);
}

static void assert_same_config(const struct config *a, const struct config *b)
{
	assert_int_equal(a->server.listen_count, b->server.listen_count);
	for (size_t i = 0; i < a->server.listen_count; i++) {
		assert_listen(&a->server.listen[i], b->server.listen[i].host,
		              b->server.listen[i].port, b->server.listen[i].ipv6);
		assert_int_equal(a->server.listen[i].scheme, b->server.listen[i].scheme);
	}
	assert_string_equal(a->server.websocket_path, b->server.websocket_path);
	assert_string_equal(a->server.document_root, b->server.document_root);
	assert_int_equal(a->server.max_connections, b->server.max_connections);
	assert_int_equal(a->server.max_message_bytes, b->server.max_message_bytes);
	assert_int_equal(a->server.allowed_origins_count, b->server.allowed_origins_count);
	for (size_t i = 0; i < a->server.allowed_origins_count; i++)
		assert_string_equal(a->server.allowed_origins[i], b->server.allowed_origins[i]);
	assert_same_tls(&a->server.tls, &b->server.tls);
	assert_same_tls(&a->metrics.tls, &b->metrics.tls);
	assert_int_equal(a->server.ping_interval_seconds, b->server.ping_interval_seconds);
	assert_int_equal(a->server.idle_timeout_seconds, b->server.idle_timeout_seconds);
	assert_int_equal(a->server.handshake_timeout_seconds, b->server.handshake_timeout_seconds);
	assert_int_equal(a->server.trusted_proxies_count, b->server.trusted_proxies_count);
	for (size_t i = 0; i < a->server.trusted_proxies_count; i++)
		assert_string_equal(a->server.trusted_proxies[i], b->server.trusted_proxies[i]);
	assert_int_equal(a->limits.max_connections_per_address,
	                 b->limits.max_connections_per_address);
	assert_int_equal(a->limits.handshakes_per_address_per_second,
	                 b->limits.handshakes_per_address_per_second);
	assert_int_equal(a->limits.ipv6_prefix_length, b->limits.ipv6_prefix_length);
	assert_int_equal(a->limits.messages_per_second, b->limits.messages_per_second);
	assert_int_equal(a->limits.bytes_per_second, b->limits.bytes_per_second);
	assert_int_equal(a->limits.on_rate_exceeded, b->limits.on_rate_exceeded);
	assert_int_equal(a->metrics.allowed_networks_count, b->metrics.allowed_networks_count);
	for (size_t i = 0; i < a->metrics.allowed_networks_count; i++)
		assert_string_equal(a->metrics.allowed_networks[i], b->metrics.allowed_networks[i]);
	assert_string_equal(a->metrics.bearer_token_file, b->metrics.bearer_token_file);
	assert_int_equal(a->relay.echo_to_sender, b->relay.echo_to_sender);
	assert_int_equal(a->relay.client_queue_messages, b->relay.client_queue_messages);
	assert_int_equal(a->relay.client_queue_bytes, b->relay.client_queue_bytes);
	assert_int_equal(a->metrics.enabled, b->metrics.enabled);
	assert_listen(&a->metrics.listen, b->metrics.listen.host, b->metrics.listen.port,
	              b->metrics.listen.ipv6);
	assert_string_equal(a->metrics.path, b->metrics.path);
	assert_int_equal(a->rooms.enabled, b->rooms.enabled);
	assert_string_equal(a->rooms.default_room, b->rooms.default_room);
	assert_int_equal(a->rooms.max_rooms, b->rooms.max_rooms);
	assert_int_equal(a->rooms.max_members, b->rooms.max_members);
	assert_int_equal(a->cluster.enabled, b->cluster.enabled);
	assert_int_equal(a->cluster.broker, b->cluster.broker);
	assert_int_equal(a->cluster.url_count, b->cluster.url_count);
	for (size_t i = 0; i < a->cluster.url_count; i++)
		assert_string_equal(a->cluster.urls[i], b->cluster.urls[i]);
	assert_string_equal(a->cluster.channel, b->cluster.channel);
	assert_string_equal(a->cluster.node_id, b->cluster.node_id);
	assert_int_equal(a->cluster.queue_messages, b->cluster.queue_messages);
	assert_int_equal(a->cluster.queue_bytes, b->cluster.queue_bytes);
	assert_same_auth(a, b);
	assert_int_equal(a->shutdown.timeout_seconds, b->shutdown.timeout_seconds);
	assert_int_equal(a->logging.level, b->logging.level);
	assert_int_equal(a->logging.format, b->logging.format);
}

/* config_print into a string (caller frees). */
static char *print_to_string(const struct config *cfg)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	config_print(cfg, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static char *tmp_path(const char *name)
{
	static char path[PATH_MAX];

	snprintf(path, sizeof(path), "%s/%s", tmp_dir, name);
	return path;
}

/* ---- Defaults ---- */

static void test_set_defaults(void **state)
{
	struct config cfg;
	char cwd[PATH_MAX], root[PATH_MAX + 8];

	(void)state;
	assert_non_null(getcwd(cwd, sizeof(cwd)));
	snprintf(root, sizeof(root), "%s/www", cwd);
	assert_int_equal(config_set_defaults(&cfg), 0);

	assert_null(cfg.source);
	assert_int_equal(cfg.server.listen_count, 1);
	assert_listen(&cfg.server.listen[0], "0.0.0.0", 8443, false);
	assert_string_equal(cfg.server.websocket_path, "/ws");
	assert_string_equal(cfg.server.document_root, root);
	assert_int_equal(cfg.server.max_connections, 4096);
	assert_int_equal(cfg.server.max_message_bytes, 1048576);
	assert_int_equal(cfg.server.allowed_origins_count, 0);
	assert_false(cfg.server.tls.enabled);
	assert_string_equal(cfg.server.tls.certificate, "");
	assert_string_equal(cfg.server.tls.private_key, "");
	assert_true(cfg.relay.echo_to_sender);
	assert_true(cfg.metrics.enabled);
	assert_listen(&cfg.metrics.listen, "0.0.0.0", 9090, false);
	assert_string_equal(cfg.metrics.path, "/metrics");
	assert_false(cfg.rooms.enabled);
	assert_string_equal(cfg.rooms.default_room, "lobby");
	assert_int_equal(cfg.rooms.max_rooms, 10000);
	assert_int_equal(cfg.rooms.max_members, 0);
	assert_false(cfg.cluster.enabled);
	assert_int_equal(cfg.cluster.broker, CLUSTER_BROKER_REDIS);
	assert_int_equal(cfg.cluster.url_count, 1);
	assert_string_equal(cfg.cluster.urls[0], "redis://127.0.0.1:6379");
	assert_string_equal(cfg.cluster.channel, "wsrelay");
	assert_string_equal(cfg.cluster.node_id, "");
	assert_int_equal(cfg.cluster.queue_messages, 10000);
	assert_int_equal(cfg.cluster.queue_bytes, 67108864);
	assert_int_equal(cfg.shutdown.timeout_seconds, 10);
	assert_int_equal(cfg.logging.level, LOG_LEVEL_INFO);
	assert_int_equal(cfg.logging.format, LOG_FORMAT_TEXT);
	config_free(&cfg);
	assert_true(all_zero(&cfg));
}

/* No document, or an empty one, means every default; the default
 * document_root then resolves against the file's folder, not the cwd. */
static void test_empty_documents_give_defaults(void **state)
{
	static const char *const empty[] = {"",      "\n\n",    "# only a comment\n",
	                                    "---\n", "--- ~\n", "{}\n"};
	struct config want, got;

	(void)state;
	assert_int_equal(chdir(tmp_dir), 0);
	assert_int_equal(config_set_defaults(&want), 0);
	assert_int_equal(chdir("/"), 0);
	for (size_t i = 0; i < ARRAY_LEN(empty); i++) {
		load_ok(&got, empty[i]);
		assert_string_equal(got.source, tmp_path("ok.yaml"));
		assert_same_config(&got, &want);
		config_free(&got);
	}
	config_free(&want);
}

/* A section key with a null value, e.g. "relay:" with every key under it
 * commented out, keeps that section's defaults as leaving it out does. */
static void test_null_sections_give_defaults(void **state)
{
	static const char *const null_sections[] = {
	    "relay:\n",
	    "relay:\n  # echo_to_sender: false\n",
	    "relay: ~\n",
	    "metrics: null\n",
	    "shutdown: Null\n",
	    "logging: NULL\n",
	    "server:\n  tls:\n",
	    "server:\n  tls: ~\n  # enabled: true\n",
	    "server:\nrelay:\nmetrics:\nshutdown:\nlogging:\n",
	};
	struct config want, got;

	(void)state;
	assert_int_equal(chdir(tmp_dir), 0);
	assert_int_equal(config_set_defaults(&want), 0);
	assert_int_equal(chdir("/"), 0);
	for (size_t i = 0; i < ARRAY_LEN(null_sections); i++) {
		load_ok(&got, null_sections[i]);
		assert_same_config(&got, &want);
		config_free(&got);
	}

	/* The other sections still load around a null one. */
	load_ok(&got, "server:\nrelay:\n  echo_to_sender: false\nlogging:\n");
	want.relay.echo_to_sender = false;
	assert_same_config(&got, &want);
	config_free(&got);
	config_free(&want);
}

/* conf/wsrelay.yaml documents the built-in defaults; its only deliberate
 * difference, document_root "../www", names the same folder as the built-in
 * "www" does from the repository root. */
static void test_conf_file_matches_defaults(void **state)
{
	struct config defaults, file;
	char err[512] = "";
	char *www = realpath(WSRELAY_SOURCE_DIR "/www", NULL);

	(void)state;
	assert_non_null(www);
	assert_int_equal(chdir(WSRELAY_SOURCE_DIR), 0);
	assert_int_equal(config_set_defaults(&defaults), 0);
	if (config_load(&file, WSRELAY_SOURCE_DIR "/conf/wsrelay.yaml", err, sizeof(err)) != 0) {
		print_error("%s\n", err);
		fail();
	}

	struct config *both[] = {&defaults, &file};
	for (size_t i = 0; i < ARRAY_LEN(both); i++) {
		char *resolved = realpath(both[i]->server.document_root, NULL);

		assert_non_null(resolved);
		assert_string_equal(resolved, www);
		free(both[i]->server.document_root);
		both[i]->server.document_root = resolved;
	}
	assert_same_config(&file, &defaults);
	config_free(&defaults);
	config_free(&file);
	free(www);
}

/* The three-node example in README.md loads as it is. */
static void test_conf_cluster_examples_load(void **state)
{
	(void)state;
	for (int i = 1; i <= 3; i++) {
		char path[PATH_MAX], err[512] = "", id[16];
		struct config cfg;

		snprintf(path, sizeof(path), "%s/conf/cluster-node%d.yaml", WSRELAY_SOURCE_DIR, i);
		if (config_load(&cfg, path, err, sizeof(err)) != 0) {
			print_error("%s\n", err);
			fail();
		}
		snprintf(id, sizeof(id), "node%d", i);
		assert_true(cfg.cluster.enabled);
		assert_string_equal(cfg.cluster.node_id, id);
		assert_int_equal(cfg.server.listen[0].port, 8440 + i);
		config_free(&cfg);
	}
}

/* ---- Values that load ---- */

static void test_every_key_parsed(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(&cfg, "server:\n"
	              "  listen: \"127.0.0.1:8000\"\n"
	              "  websocket_path: \"/relay/v1\"\n"
	              "  document_root: \"/srv/static\"\n"
	              "  max_connections: 30000\n"
	              "  max_message_bytes: 1073741824\n"
	              "  allowed_origins: [\"https://example.com\", \"http://localhost:8443\",\n"
	              "                    \"https://[::1]:9000\", \"http://a-b_c.example.org\"]\n"
	              "  tls:\n"
	              "    enabled: true\n"
	              "    certificate: \"/etc/wsrelay/cert.pem\"\n"
	              "    private_key: '/etc/wsrelay/key.pem'\n"
	              "    min_version: \"1.3\"\n"
	              "    ciphers: \"ECDHE+AESGCM:ECDHE+CHACHA20\"\n"
	              "    client_ca: /etc/wsrelay/clients.pem\n"
	              "relay:\n"
	              "  echo_to_sender: false\n"
	              "  client_queue_messages: 1000000\n"
	              "  client_queue_bytes: 4294967296\n"
	              "metrics:\n"
	              "  enabled: false\n"
	              "  listen: \"[::1]:0\"\n"
	              "  path: /stats\n"
	              "  tls: {enabled: true, certificate: /m/c.pem, private_key: /m/k.pem,\n"
	              "        min_version: \"1.2\", ciphers: \"\", client_ca: \"\"}\n"
	              "rooms:\n"
	              "  enabled: false\n"
	              "  default: \"\"\n"
	              "  max_rooms: 1000000\n"
	              "  max_members: 30000\n"
	              "cluster:\n"
	              "  enabled: true\n"
	              "  broker: nats\n"
	              "  url: [\"nats://10.0.0.1:4222\", \"nats://u:p@nats-2.internal\", "
	              "\"nats://[::1]:4\"]\n"
	              "  channel: \"relay.prod:eu-1\"\n"
	              "  node_id: node_1.a-b:c\n"
	              "  queue_messages: 10000000\n"
	              "  queue_bytes: 17179869184\n"
	              "shutdown:\n"
	              "  timeout_seconds: 3600\n"
	              "logging:\n"
	              "  level: debug\n");
	assert_int_equal(cfg.server.listen_count, 1);
	assert_listen(&cfg.server.listen[0], "127.0.0.1", 8000, false);
	assert_string_equal(cfg.server.websocket_path, "/relay/v1");
	assert_string_equal(cfg.server.document_root, "/srv/static");
	assert_int_equal(cfg.server.max_connections, 30000);
	assert_int_equal(cfg.server.max_message_bytes, 1073741824);
	assert_int_equal(cfg.server.allowed_origins_count, 4);
	assert_string_equal(cfg.server.allowed_origins[0], "https://example.com");
	assert_string_equal(cfg.server.allowed_origins[1], "http://localhost:8443");
	assert_string_equal(cfg.server.allowed_origins[2], "https://[::1]:9000");
	assert_string_equal(cfg.server.allowed_origins[3], "http://a-b_c.example.org");
	assert_true(cfg.server.tls.enabled);
	assert_string_equal(cfg.server.tls.certificate, "/etc/wsrelay/cert.pem");
	assert_string_equal(cfg.server.tls.private_key, "/etc/wsrelay/key.pem");
	assert_int_equal(cfg.server.tls.min_version, TLS_MIN_VERSION_1_3);
	assert_string_equal(cfg.server.tls.ciphers, "ECDHE+AESGCM:ECDHE+CHACHA20");
	assert_string_equal(cfg.server.tls.client_ca, "/etc/wsrelay/clients.pem");
	assert_true(cfg.metrics.tls.enabled);
	assert_string_equal(cfg.metrics.tls.certificate, "/m/c.pem");
	assert_string_equal(cfg.metrics.tls.private_key, "/m/k.pem");
	assert_int_equal(cfg.metrics.tls.min_version, TLS_MIN_VERSION_1_2);
	assert_false(cfg.relay.echo_to_sender);
	assert_int_equal(cfg.relay.client_queue_messages, 1000000);
	assert_int_equal(cfg.relay.client_queue_bytes, UINT64_C(4294967296));
	assert_false(cfg.metrics.enabled);
	assert_listen(&cfg.metrics.listen, "::1", 0, true);
	assert_string_equal(cfg.metrics.path, "/stats");
	assert_false(cfg.rooms.enabled);
	assert_string_equal(cfg.rooms.default_room, "");
	assert_int_equal(cfg.rooms.max_rooms, 1000000);
	assert_int_equal(cfg.rooms.max_members, 30000);
	assert_true(cfg.cluster.enabled);
	assert_int_equal(cfg.cluster.broker, CLUSTER_BROKER_NATS);
	assert_int_equal(cfg.cluster.url_count, 3);
	assert_string_equal(cfg.cluster.urls[0], "nats://10.0.0.1:4222");
	assert_string_equal(cfg.cluster.urls[1], "nats://u:p@nats-2.internal");
	assert_string_equal(cfg.cluster.urls[2], "nats://[::1]:4");
	assert_string_equal(cfg.cluster.channel, "relay.prod:eu-1");
	assert_string_equal(cfg.cluster.node_id, "node_1.a-b:c");
	assert_int_equal(cfg.cluster.queue_messages, 10000000);
	assert_int_equal(cfg.cluster.queue_bytes, UINT64_C(17179869184));
	assert_int_equal(cfg.shutdown.timeout_seconds, 3600);
	assert_int_equal(cfg.logging.level, LOG_LEVEL_DEBUG);
	config_free(&cfg);
}

static void test_range_bounds_and_levels(void **state)
{
	static const char *const levels[] = {"debug", "info", "warn", "error"};
	struct config cfg;
	char yaml[128];

	(void)state;
	load_ok(&cfg, "server: {max_connections: 1, max_message_bytes: 1}\n"
	              "shutdown: {timeout_seconds: 0}\n");
	assert_int_equal(cfg.server.max_connections, 1);
	assert_int_equal(cfg.server.max_message_bytes, 1);
	assert_int_equal(cfg.shutdown.timeout_seconds, 0);
	config_free(&cfg);

	/* "-0" is zero, not a negative number. */
	load_ok(&cfg, "shutdown: {timeout_seconds: -0}\n");
	assert_int_equal(cfg.shutdown.timeout_seconds, 0);
	config_free(&cfg);

	for (size_t i = 0; i < ARRAY_LEN(levels); i++) {
		snprintf(yaml, sizeof(yaml), "logging:\n  level: \"%s\"\n", levels[i]);
		load_ok(&cfg, yaml);
		assert_int_equal(cfg.logging.level, (enum log_level)i);
		assert_string_equal(config_enum_name(&config_log_levels, (int)cfg.logging.level),
		                    levels[i]);
		config_free(&cfg);
	}
	load_ok(&cfg, "logging:\n  format: json\n");
	assert_int_equal(cfg.logging.format, LOG_FORMAT_JSON);
	assert_string_equal(config_enum_name(&config_log_formats, (int)cfg.logging.format), "json");
	config_free(&cfg);
	load_ok(&cfg, "logging: {format: \"text\"}\n");
	assert_int_equal(cfg.logging.format, LOG_FORMAT_TEXT);
	config_free(&cfg);
}

static void test_listen_forms(void **state)
{
	struct config cfg;
	char yaml[1024];
	size_t used;

	(void)state;
	load_ok(&cfg, "server:\n  listen: \"[::]:8443\"\n");
	assert_int_equal(cfg.server.listen_count, 1);
	assert_listen(&cfg.server.listen[0], "::", 8443, true);
	config_free(&cfg);

	load_ok(&cfg, "server:\n  listen: 10.0.0.1:65535\n"); /* unquoted works too */
	assert_listen(&cfg.server.listen[0], "10.0.0.1", 65535, false);
	config_free(&cfg);

	/* Hosts are stored in canonical form. */
	load_ok(&cfg, "server:\n"
	              "  listen:\n"
	              "    - \"0.0.0.0:8443\"\n"
	              "    - \"[0:0::0:1]:8443\"\n"
	              "    - \"[::ffff:127.0.0.1]:0\"\n"
	              "    - \"0.0.0.0:8444\"\n");
	assert_int_equal(cfg.server.listen_count, 4);
	assert_listen(&cfg.server.listen[0], "0.0.0.0", 8443, false);
	assert_listen(&cfg.server.listen[1], "::1", 8443, true);
	assert_listen(&cfg.server.listen[2], "::ffff:127.0.0.1", 0, true);
	assert_listen(&cfg.server.listen[3], "0.0.0.0", 8444, false);
	config_free(&cfg);

	used = (size_t)snprintf(yaml, sizeof(yaml), "server:\n  listen:\n");
	for (unsigned i = 0; i < 16; i++)
		used += (size_t)snprintf(yaml + used, sizeof(yaml) - used,
		                         "    - \"127.0.0.1:%u\"\n", 9000 + i);
	load_ok(&cfg, yaml);
	assert_int_equal(cfg.server.listen_count, 16);
	assert_listen(&cfg.server.listen[15], "127.0.0.1", 9015, false);
	config_free(&cfg);
}

static void test_relative_paths_resolve_against_file_folder(void **state)
{
	static const char yaml[] = "server:\n"
	                           "  document_root: static\n"
	                           "  tls:\n"
	                           "    certificate: \"tls/cert.pem\"\n"
	                           "    private_key: \"/etc/key.pem\"\n";
	char sub[PATH_MAX], want[PATH_MAX + 32], err[512] = "";
	struct config cfg;

	(void)state;
	snprintf(sub, sizeof(sub), "%s/sub", tmp_dir);
	assert_int_equal(mkdir(sub, 0700), 0);
	write_file("sub/c.yaml", yaml);

	/* Absolute file path, relative file path and bare file name all resolve
	 * against the file's folder, whatever the current directory. */
	static const struct {
		const char *cwd;  /* relative to the temporary folder */
		const char *path; /* NULL: the file's absolute path */
		const char *base; /* expected folder, appended to getcwd(); NULL: sub */
	} ways[] = {{"/", NULL, NULL}, {".", "sub/c.yaml", "/sub"}, {"sub", "c.yaml", ""}};
	for (size_t i = 0; i < ARRAY_LEN(ways); i++) {
		char path[PATH_MAX], cwd[PATH_MAX], base[PATH_MAX + 8];

		assert_int_equal(chdir(tmp_dir), 0);
		assert_int_equal(chdir(ways[i].cwd), 0);
		assert_non_null(getcwd(cwd, sizeof(cwd)));
		snprintf(path, sizeof(path), "%s",
		         ways[i].path ? ways[i].path : tmp_path("sub/c.yaml"));
		snprintf(base, sizeof(base), "%s%s", ways[i].base ? cwd : sub,
		         ways[i].base ? ways[i].base : "");
		assert_int_equal(config_load(&cfg, path, err, sizeof(err)), 0);

		snprintf(want, sizeof(want), "%s/static", base);
		assert_string_equal(cfg.server.document_root, want);
		snprintf(want, sizeof(want), "%s/tls/cert.pem", base);
		assert_string_equal(cfg.server.tls.certificate, want);
		assert_string_equal(cfg.server.tls.private_key, "/etc/key.pem");
		assert_string_equal(cfg.source, path);
		config_free(&cfg);
	}

	/* The built-in "www" resolves against the file's folder too; "" is off. */
	write_file("sub/d.yaml", "server:\n  tls: {certificate: \"\"}\n");
	assert_int_equal(config_load(&cfg, tmp_path("sub/d.yaml"), err, sizeof(err)), 0);
	snprintf(want, sizeof(want), "%s/www", sub);
	assert_string_equal(cfg.server.document_root, want);
	assert_string_equal(cfg.server.tls.certificate, "");
	config_free(&cfg);

	write_file("sub/e.yaml", "server:\n  document_root: \"\"\n");
	assert_int_equal(config_load(&cfg, tmp_path("sub/e.yaml"), err, sizeof(err)), 0);
	assert_string_equal(cfg.server.document_root, "");
	config_free(&cfg);

	/* A file at the root of the file system. */
	assert_int_equal(config_load(&cfg, "/dev/null", err, sizeof(err)), 0);
	assert_string_equal(cfg.server.document_root, "/dev/www");
	config_free(&cfg);
}

static void test_strings_in_any_quoting_style(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(&cfg, "server:\n"
	              "  websocket_path: '/it''s'\n"
	              "  document_root: \"/a \\\"quoted\\\" \\\\ dir/\xc3\xa9t\xc3\xa9\"\n"
	              "metrics:\n"
	              "  path: &p /m\n"
	              "logging: {level: warn}\n");
	assert_string_equal(cfg.server.websocket_path, "/it's");
	assert_string_equal(cfg.server.document_root, "/a \"quoted\" \\ dir/\xc3\xa9t\xc3\xa9");
	assert_string_equal(cfg.metrics.path, "/m");
	assert_int_equal(cfg.logging.level, LOG_LEVEL_WARN);
	config_free(&cfg);

	/* Aliases are followed. */
	load_ok(&cfg, "metrics: {path: &p /shared}\nserver: {websocket_path: *p}\n");
	assert_string_equal(cfg.server.websocket_path, "/shared");
	config_free(&cfg);
}

/* ---- Printing ---- */

static void test_print_defaults_exactly(void **state)
{
	static const char want_fmt[] = "# effective configuration\n"
	                               "server:\n"
	                               "  listen: \"0.0.0.0:8443\"\n"
	                               "  websocket_path: \"/ws\"\n"
	                               "  document_root: \"%s/www\"\n"
	                               "  max_connections: 4096\n"
	                               "  max_message_bytes: 1048576\n"
	                               "  allowed_origins: []\n"
	                               "  ping_interval_seconds: 30\n"
	                               "  idle_timeout_seconds: 75\n"
	                               "  handshake_timeout_seconds: 5\n"
	                               "  trusted_proxies: []\n"
	                               "  proxy_protocol: false\n"
	                               "  tls:\n"
	                               "    enabled: false\n"
	                               "    certificate: \"\"\n"
	                               "    private_key: \"\"\n"
	                               "    min_version: \"1.2\"\n"
	                               "    ciphers: \"\"\n"
	                               "    client_ca: \"\"\n"
	                               "relay:\n"
	                               "  echo_to_sender: true\n"
	                               "  client_queue_messages: 1024\n"
	                               "  client_queue_bytes: 8388608\n"
	                               "limits:\n"
	                               "  max_connections_per_address: 64\n"
	                               "  handshakes_per_address_per_second: 20\n"
	                               "  ipv6_prefix_length: 64\n"
	                               "  messages_per_second: 0\n"
	                               "  bytes_per_second: 0\n"
	                               "  on_rate_exceeded: \"close\"\n"
	                               "metrics:\n"
	                               "  enabled: true\n"
	                               "  listen: \"0.0.0.0:9090\"\n"
	                               "  path: \"/metrics\"\n"
	                               "  allowed_networks: []\n"
	                               "  bearer_token_file: \"\"\n"
	                               "  tls:\n"
	                               "    enabled: false\n"
	                               "    certificate: \"\"\n"
	                               "    private_key: \"\"\n"
	                               "    min_version: \"1.2\"\n"
	                               "    ciphers: \"\"\n"
	                               "    client_ca: \"\"\n"
	                               "rooms:\n"
	                               "  enabled: false\n"
	                               "  default: \"lobby\"\n"
	                               "  max_rooms: 10000\n"
	                               "  max_members: 0\n"
	                               "cluster:\n"
	                               "  enabled: false\n"
	                               "  broker: \"redis\"\n"
	                               "  url: \"redis://127.0.0.1:6379\"\n"
	                               "  channel: \"wsrelay\"\n"
	                               "  node_id: \"\"\n"
	                               "  queue_messages: 10000\n"
	                               "  queue_bytes: 67108864\n"
	                               "  secret_file: \"\"\n"
	                               "  allow_local_only_oversize: false\n"
	                               "  nats:\n"
	                               "    token_file: \"\"\n"
	                               "    nkey_seed_file: \"\"\n"
	                               "    credentials_file: \"\"\n"
	                               "    tls:\n"
	                               "      ca: \"\"\n"
	                               "      certificate: \"\"\n"
	                               "      private_key: \"\"\n"
	                               "auth:\n"
	                               "  mode: \"none\"\n"
	                               "  jwt:\n"
	                               "    algorithms:\n"
	                               "      - \"HS256\"\n"
	                               "    secret_file: \"\"\n"
	                               "    public_keys_file: \"\"\n"
	                               "    issuer: \"\"\n"
	                               "    audience: \"\"\n"
	                               "    leeway_seconds: 30\n"
	                               "    cookie: \"\"\n"
	                               "  http:\n"
	                               "    url: \"\"\n"
	                               "    timeout_ms: 2000\n"
	                               "    forward_headers:\n"
	                               "      - \"Cookie\"\n"
	                               "      - \"Authorization\"\n"
	                               "      - \"Origin\"\n"
	                               "      - \"User-Agent\"\n"
	                               "  anonymous_publish: true\n"
	                               "shutdown:\n"
	                               "  timeout_seconds: 10\n"
	                               "logging:\n"
	                               "  level: \"info\"\n"
	                               "  format: \"text\"\n";
	char want[sizeof(want_fmt) + PATH_MAX];
	struct config cfg;
	char *got;

	(void)state;
	assert_int_equal(chdir(tmp_dir), 0);
	assert_int_equal(config_set_defaults(&cfg), 0);
	snprintf(want, sizeof(want), want_fmt, tmp_dir);
	got = print_to_string(&cfg);
	assert_string_equal(got, want);
	free(got);
	config_free(&cfg);
}

/* load(print(load(x))) == load(x), and printing is stable. */
static void test_print_round_trips(void **state)
{
	static const char *const sources[] = {
	    "",
	    "server:\n"
	    "  listen: [\"[::]:8443\", \"ws://0.0.0.0:8443\", \"wss://[fe80::1]:0\"]\n"
	    "  websocket_path: \"/w\\\\s\\\"x\\\"\"\n"
	    "  document_root: 'dir with \"quotes\" and \\backslash'\n"
	    "  max_connections: 17\n"
	    "  max_message_bytes: 65536\n"
	    "  allowed_origins: [\"https://a.example\", \"http://b.example:8080\"]\n"
	    "  tls: {enabled: true, certificate: c.pem, private_key: k.pem, min_version: \"1.3\",\n"
	    "        ciphers: \"HIGH:!aNULL\", client_ca: ca.pem}\n"
	    "relay: {echo_to_sender: false}\n"
	    "metrics: {enabled: false, listen: \"[::1]:9999\", path: /x,\n"
	    "          tls: {enabled: true, certificate: m.pem, private_key: mk.pem}}\n"
	    "shutdown: {timeout_seconds: 0}\n"
	    "logging: {level: error}\n",
	    ("server:\n  listen: [\"127.0.0.1:1\"]\n  allowed_origins: [\"http://x\"]\n"
	     "  document_root: \"\"\n"),
	};

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(sources); i++) {
		struct config first, second;
		char *printed, *again, err[512] = "", header[PATH_MAX + 64];

		load_ok(&first, sources[i]);
		printed = print_to_string(&first);
		snprintf(header, sizeof(header), "# effective configuration\n# from %s\nserver:\n",
		         first.source);
		assert_memory_equal(printed, header, strlen(header));

		write_file("printed.yaml", printed);
		if (config_load(&second, tmp_path("printed.yaml"), err, sizeof(err)) != 0) {
			print_error("%s\n%s\n", printed, err);
			fail();
		}
		assert_same_config(&second, &first);
		again = print_to_string(&second);
		/* Only the "# from" line differs. */
		assert_string_equal(strstr(again, "\nserver:"), strstr(printed, "\nserver:"));
		free(printed);
		free(again);
		config_free(&first);
		config_free(&second);
	}
}

static void test_print_lists(void **state)
{
	struct config cfg;
	char *got;

	(void)state;
	load_ok(&cfg, "server:\n"
	              "  listen: [\"[::1]:1\", \"127.0.0.1:2\"]\n"
	              "  allowed_origins: [\"https://a.example\"]\n");
	got = print_to_string(&cfg);
	assert_non_null(strstr(got, "\n  listen:\n    - \"[::1]:1\"\n    - \"127.0.0.1:2\"\n"));
	assert_non_null(strstr(got, "\n  allowed_origins:\n    - \"https://a.example\"\n"));
	free(got);
	config_free(&cfg);
}

/* A struct built by hand may hold what loading never produces; printing it
 * must still give valid YAML. */
static void test_print_hand_made_values(void **state)
{
	struct config cfg = {0};
	char *got;

	(void)state;
	got = print_to_string(&cfg);
	assert_non_null(strstr(got, "\n  listen: []\n  websocket_path: \"\"\n"));
	assert_non_null(strstr(got, "\n  level: \"debug\"\n"));
	free(got);

	assert_int_equal(config_set_defaults(&cfg), 0);
	free(cfg.server.websocket_path);
	cfg.server.websocket_path = strdup("/a\tb\"c\\");
	assert_non_null(cfg.server.websocket_path);
	got = print_to_string(&cfg);
	assert_non_null(strstr(got, "\n  websocket_path: \"/a\\x09b\\\"c\\\\\"\n"));
	free(got);
	config_free(&cfg);
}

/* ---- Freeing and odd arguments ---- */

static void test_free_is_safe_twice_and_on_zero(void **state)
{
	struct config cfg = {0};

	(void)state;
	config_free(&cfg);
	assert_int_equal(config_set_defaults(&cfg), 0);
	config_free(&cfg);
	assert_true(all_zero(&cfg));
	config_free(&cfg);
	assert_true(all_zero(&cfg));
}

static void test_enum_names(void **state)
{
	int value = -1;

	(void)state;
	assert_string_equal(config_enum_name(&config_log_levels, LOG_LEVEL_DEBUG), "debug");
	assert_string_equal(config_enum_name(&config_log_levels, LOG_LEVEL_INFO), "info");
	assert_string_equal(config_enum_name(&config_log_levels, LOG_LEVEL_WARN), "warn");
	assert_string_equal(config_enum_name(&config_log_levels, LOG_LEVEL_ERROR), "error");
	assert_string_equal(config_enum_name(&config_log_levels, 42), "unknown");
	assert_string_equal(config_enum_name(&config_tls_versions, TLS_MIN_VERSION_1_3), "1.3");
	assert_string_equal(config_enum_name(&config_brokers, CLUSTER_BROKER_NATS), "nats");
	assert_true(config_enum_value(&config_brokers, "redis", &value));
	assert_int_equal(value, CLUSTER_BROKER_REDIS);
	assert_false(config_enum_value(&config_brokers, "Redis", &value));
	assert_false(config_enum_value(&config_tls_versions, "", &value));
}

static void test_small_or_missing_error_buffer(void **state)
{
	const char *path = write_file("bad.yaml", "sevrer: {}\n");
	struct config cfg;
	char err[8];

	(void)state;
	memset(err, 'x', sizeof(err));
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	assert_int_equal(strlen(err), sizeof(err) - 1);
	assert_int_equal(config_load(&cfg, path, NULL, 0), -1);
	assert_true(all_zero(&cfg));
	assert_int_equal(config_load(&cfg, tmp_path("nope.yaml"), NULL, 0), -1);
	assert_true(all_zero(&cfg));
}

/* ---- Errors ---- */

static void test_missing_and_unreadable_files(void **state)
{
	char err[512], want[PATH_MAX + 64];
	struct config cfg;

	(void)state;
	assert_int_equal(config_load(&cfg, tmp_path("nope.yaml"), err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot open: No such file or directory",
	         tmp_path("nope.yaml"));
	assert_string_equal(err, want);
	assert_true(all_zero(&cfg));

	assert_int_equal(config_load(&cfg, tmp_dir, err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot read: Is a directory", tmp_dir);
	assert_string_equal(err, want);
	assert_true(all_zero(&cfg));

	if (geteuid() == 0)
		return; /* root reads files whatever their mode */
	write_file("secret.yaml", "");
	assert_int_equal(chmod(tmp_path("secret.yaml"), 0), 0);
	assert_int_equal(config_load(&cfg, tmp_path("secret.yaml"), err, sizeof(err)), -1);
	snprintf(want, sizeof(want), "%s: cannot open: Permission denied", tmp_path("secret.yaml"));
	assert_string_equal(err, want);
}

/* The examples of the specification, compared whole. */
static void test_exact_messages(void **state)
{
	static const struct {
		const char *yaml, *message;
	} cases[] = {
	    {"server:\n  max_connections: 0\n",
	     ":2:20: server.max_connections: 0 is out of range (1..30000)"},
	    {"sevrer: {}\n",
	     ":1:1: unknown key \"sevrer\" (expected one of: server, relay, limits, "
	     "metrics, rooms, cluster, auth, shutdown, logging)"},
	    {"server:\n  listen: \"0.0.0.0:1\"\n  tls: {}\n  listen: \"0.0.0.0:2\"\n",
	     ":4:3: duplicate key \"listen\" in server (first at line 2)"},
	    {"server:\n  listen: \"localhost:80\"\n",
	     ":2:11: server.listen: \"localhost:80\" needs an IP literal host, e.g. "
	     "\"127.0.0.1:80\" or \"[::1]:80\""},
	    {"relay:\n  echo_to_sender: yes\n",
	     ":2:19: relay.echo_to_sender: expected true or false, got \"yes\""},
	};
	char err[512], want[PATH_MAX + 256];
	struct config cfg;

	(void)state;
	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		const char *path = write_file("bad.yaml", cases[i].yaml);

		assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
		snprintf(want, sizeof(want), "%s%s", path, cases[i].message);
		assert_string_equal(err, want);
	}
}

static const struct error_case yaml_syntax_errors[] = {
    {"server: [\n", 2, 1, "YAML syntax error: did not find expected node content"},
    {"relay: {echo_to_sender: true\n", 2, 1,
     "did not find expected ',' or '}' (while parsing a flow mapping at line 1, "
     "column 8)"},
    {"server:\n\tlisten: \"0.0.0.0:1\"\n", 2, 1, "YAML does not allow tabs for indentation"},
    {"server:\n  \tlisten: \"0.0.0.0:1\"\n", 2, 3, "YAML does not allow tabs for indentation"},
    {"logging:\n  level: 'info\n", 3, 1,
     "found unexpected end of stream (while scanning a quoted scalar at line 2, "
     "column 10)"},
    {"server:\n  listen: x\n listen: y\n", 3, 2, "YAML syntax error"},
    {"relay: *nope\n", 1, 8, "found undefined alias"},
    {"relay: {echo_to_sender: \xff}\n", 1, 25, "invalid input: invalid leading UTF-8 octet (0xFF)"},
    {"# \xc3\xa9\xc3\xa9\nrelay: \x01\n", 2, 8,
     "invalid input: control characters are not allowed (0x01)"},
    {"relay: {}\nlogging: \xc3", 2, 10, "invalid input: incomplete UTF-8 octet sequence"},
    {"relay: {}\n---\nserver: [\n", 4, 1, "did not find expected node content"},
};

static const struct error_case document_shape_errors[] = {
    {"logging: {level: info}\n---\nrelay: {}\n", 2, 1,
     "only one YAML document is allowed, found a second one here"},
    {"---\n---\n", 2, 1, "only one YAML document is allowed"},
    {"relay: {}\n...\n--- {}\n", 3, 1, "only one YAML document is allowed"},
    {"- server\n", 1, 1,
     "the top level must be a mapping of sections (server, relay, ...), got a list"},
    {"42\n", 1, 1,
     "the top level must be a mapping of sections (server, relay, ...), "
     "got \"42\""},
    {"\"server\"\n", 1, 1, "got the string \"server\""},
    {"? [server]\n: {}\n", 1, 3, "keys must be names, got a list"},
    {"server:\n  ? {listen: x}\n  : 1\n", 2, 5, "keys must be names, got a mapping"},
    {"Server: {}\n", 1, 1, "unknown key \"Server\" (expected one of:"},
    {"relay: {}\nrelay: {}\n", 2, 1, "duplicate key \"relay\" (first at line 1)"},
    {"\"a\\nb\": 1\n", 1, 1, "unknown key \"a\\x0Ab\""},
    {"'a\"\\b': 1\n", 1, 1, "unknown key \"a\\\"\\\\b\""},
};

static const struct error_case section_errors[] = {
    {"server: 5\n", 1, 9, "server: expected a mapping, got \"5\""},
    /* Only unquoted nulls stand for an empty section. */
    {"relay: \"\"\n", 1, 8, "relay: expected a mapping, got the string \"\""},
    {"metrics: '~'\n", 1, 10, "metrics: expected a mapping, got the string \"~\""},
    {"shutdown: [1]\n", 1, 11, "shutdown: expected a mapping, got a list"},
    {"server:\n  tls: \"on\"\n", 2, 8, "server.tls: expected a mapping, got the string \"on\""},
    {"server:\n  listn: x\n", 2, 3,
     "unknown key \"listn\" in server (expected one of: listen, websocket_path, "
     "document_root, max_connections, max_message_bytes, allowed_origins, "
     "ping_interval_seconds, idle_timeout_seconds, handshake_timeout_seconds, "
     "trusted_proxies, proxy_protocol, tls)"},
    {"server:\n  tls:\n    enable: true\n", 3, 5,
     "unknown key \"enable\" in server.tls (expected one of: enabled, certificate, "
     "private_key, min_version, ciphers, client_ca)"},
    {"relay:\n  echo: true\n", 2, 3,
     "unknown key \"echo\" in relay (expected one of: echo_to_sender, "
     "client_queue_messages, client_queue_bytes)"},
    {"metrics:\n  port: 1\n", 2, 3,
     "unknown key \"port\" in metrics (expected one of: enabled, listen, path, "
     "allowed_networks, bearer_token_file, tls)"},
    {"shutdown:\n  timeout: 1\n", 2, 3,
     "unknown key \"timeout\" in shutdown (expected one of: timeout_seconds)"},
    {"logging:\n  lvl: info\n", 2, 3,
     "unknown key \"lvl\" in logging (expected one of: level, format)"},
    {"logging:\n  format: xml\n", 2, 11,
     "logging.format: expected \"text\" or \"json\", got \"xml\""},
    {"server:\n  tls:\n    enabled: false\n    enabled: false\n", 4, 5,
     "duplicate key \"enabled\" in server.tls (first at line 3)"},
    {"relay:\n  echo_to_sender: true\n  'echo_to_sender': true\n", 3, 3,
     "duplicate key \"echo_to_sender\" in relay (first at line 2)"},
    {"server:\n  <<: {}\n", 2, 3, "unknown key \"<<\" in server"},
};

static const struct error_case bool_errors[] = {
    {"relay:\n  echo_to_sender: no\n", 2, 19, "expected true or false, got \"no\""},
    {"relay:\n  echo_to_sender: True\n", 2, 19, "expected true or false, got \"True\""},
    {"relay:\n  echo_to_sender: on\n", 2, 19, "expected true or false, got \"on\""},
    {"relay:\n  echo_to_sender: 1\n", 2, 19, "expected true or false, got \"1\""},
    {"relay:\n  echo_to_sender: \"true\"\n", 2, 19,
     "relay.echo_to_sender: expected true or false, got the string \"true\""},
    {"relay:\n  echo_to_sender: ~\n", 2, 19, "expected true or false, got null"},
    {"relay:\n  echo_to_sender:\n", 2, 18, "expected true or false, got an empty value"},
    {"relay:\n  echo_to_sender: [true]\n", 2, 19, "expected true or false, got a list"},
    {"relay:\n  echo_to_sender: {a: 1}\n", 2, 19, "expected true or false, got a mapping"},
    {"metrics:\n  enabled: 0\n", 2, 12, "metrics.enabled: expected true or false"},
    {"server:\n  tls:\n    enabled: off\n", 3, 14,
     "server.tls.enabled: expected true or false, got \"off\""},
};

static const struct error_case integer_errors[] = {
    {"server:\n  max_connections: 30001\n", 2, 20,
     "server.max_connections: 30001 is out of range (1..30000)"},
    {"server:\n  max_connections: -1\n", 2, 20, "-1 is out of range (1..30000)"},
    {"server:\n  max_connections: 99999999999999999999\n", 2, 20,
     "99999999999999999999 is out of range (1..30000)"},
    {"server:\n  max_connections: 18446744073709551616\n", 2, 20,
     "18446744073709551616 is out of range"},
    {"server:\n  max_connections: 12abc\n", 2, 20,
     "server.max_connections: expected a decimal integer, got \"12abc\""},
    {"server:\n  max_connections: +5\n", 2, 20, "expected a decimal integer, got \"+5\""},
    {"server:\n  max_connections: --1\n", 2, 20, "expected a decimal integer"},
    {"server:\n  max_connections: -a\n", 2, 20, "expected a decimal integer"},
    {"server:\n  max_connections: 1.5\n", 2, 20, "expected a decimal integer"},
    {"server:\n  max_connections: 0x10\n", 2, 20, "expected a decimal integer"},
    {"server:\n  max_connections: 1e3\n", 2, 20, "expected a decimal integer"},
    {"server:\n  max_connections: 1_000\n", 2, 20, "expected a decimal integer"},
    {"server:\n  max_connections: 010\n", 2, 20,
     "\"010\" has a leading zero (YAML 1.1 would read it as octal)"},
    {"server:\n  max_connections: \"4096\"\n", 2, 20,
     "expected an integer, got the string \"4096\""},
    {"server:\n  max_connections: ~\n", 2, 20, "expected an integer, got null"},
    {"server:\n  max_connections: [1]\n", 2, 20, "expected an integer, got a list"},
    {"server:\n  max_message_bytes: 0\n", 2, 22,
     "server.max_message_bytes: 0 is out of range (1..1073741824)"},
    {"server:\n  max_message_bytes: 1073741825\n", 2, 22,
     "1073741825 is out of range (1..1073741824)"},
    {"shutdown:\n  timeout_seconds: 3601\n", 2, 20,
     "shutdown.timeout_seconds: 3601 is out of range (0..3600)"},
    {"shutdown:\n  timeout_seconds: -5\n", 2, 20, "-5 is out of range (0..3600)"},
    {"shutdown:\n  timeout_seconds: true\n", 2, 20, "expected a decimal integer, got \"true\""},
};

static void test_string_and_path_errors(void **state)
{
	static char long_path[400];
	struct config cfg;
	struct error_case cases[] = {
	    {"server:\n  websocket_path: ws\n", 2, 19,
	     "server.websocket_path: \"ws\" must start with \"/\""},
	    {"server:\n  websocket_path: \"\"\n", 2, 19, "\"\" must start with \"/\""},
	    {"server:\n  websocket_path: \"/a b\"\n", 2, 19, "\"/a b\" must not contain spaces"},
	    {"server:\n  websocket_path: \"/a\\tb\"\n", 2, 19,
	     "contains a control or non-printable character (U+0009)"},
	    {long_path, 2, 19, "server.websocket_path: is too long (256 bytes, at most 255)"},
	    {"server:\n  websocket_path: ~\n", 2, 19,
	     "expected a path starting with \"/\", got null"},
	    {"server:\n  websocket_path: true\n", 2, 19,
	     "expected a path starting with \"/\", got \"true\""},
	    {"server:\n  websocket_path: {}\n", 2, 19, "got a mapping"},
	    {"metrics:\n  path: metrics\n", 2, 9, "metrics.path: \"metrics\" must start with"},
	    {"metrics:\n  path:\n", 2, 8, "metrics.path: expected a path starting with"},
	    {"server:\n  document_root: ~\n", 2, 18,
	     "server.document_root: expected a file path (or \"\"), got null"},
	    {"server:\n  document_root: false\n", 2, 18,
	     "expected a file path (or \"\"), got \"false\""},
	    {"server:\n  document_root: [www]\n", 2, 18, "got a list"},
	    {"server:\n  document_root: \"a\\0b\"\n", 2, 18, "non-printable character (U+0000)"},
	    {"server:\n  document_root: \"a\\x85b\"\n", 2, 18, "non-printable character (U+0085)"},
	    {"server:\n  document_root: \"a\\u2028b\"\n", 2, 18,
	     "non-printable character (U+2028)"},
	    {"server:\n  document_root: \"a\\x7fb\"\n", 2, 18, "non-printable character (U+007F)"},
	    {"server:\n  tls:\n    certificate: {}\n", 3, 18,
	     "server.tls.certificate: expected a file path"},
	    {"server:\n  tls:\n    private_key: ~\n", 3, 18,
	     "server.tls.private_key: expected a file path (or \"\"), got null"},
	    {"logging:\n  level: verbose\n", 2, 10,
	     "logging.level: expected one of \"debug\", \"info\", \"warn\", \"error\", got "
	     "\"verbose\""},
	    {"logging:\n  level: INFO\n", 2, 10,
	     "expected one of \"debug\", \"info\", \"warn\", \"error\""},
	    {"logging:\n  level: ~\n", 2, 10, "logging.level: expected a log level, got null"},
	    {"logging:\n  level: [info]\n", 2, 10, "expected a log level, got a list"},
	};
	size_t used = (size_t)snprintf(long_path, sizeof(long_path), "server:\n  websocket_path: ");

	(void)state;
	for (size_t i = 0; i < 256; i++)
		long_path[used++] = i == 0 ? '/' : 'a';
	long_path[used] = '\0';
	check_errors(cases, ARRAY_LEN(cases));

	/* 255 bytes is still fine. */
	long_path[used - 1] = '\n';
	load_ok(&cfg, long_path);
	assert_int_equal(strlen(cfg.server.websocket_path), 255);
	config_free(&cfg);
}

static void test_listen_errors(void **state)
{
	static char too_many[1024];
	struct error_case cases[] = {
	    {"server:\n  listen: \"0.0.0.0\"\n", 2, 11,
	     "server.listen: \"0.0.0.0\" needs a port: write \"host:port\""},
	    {"server:\n  listen: \"::1:80\"\n", 2, 11,
	     "\"::1:80\": an IPv6 address needs brackets, \"[address]:port\""},
	    {"server:\n  listen: \"::1\"\n", 2, 11, "an IPv6 address needs brackets"},
	    {"server:\n  listen: \"[::1:80\"\n", 2, 11,
	     "\"[::1:80\" is missing the \"]\" that ends the IPv6 address"},
	    {"server:\n  listen: \"[::1]80\"\n", 2, 11,
	     "\"[::1]80\" needs \":port\" after the \"]\""},
	    {"server:\n  listen: \"[::g]:80\"\n", 2, 11,
	     "\"[::g]:80\" has an invalid IPv6 address"},
	    {"server:\n  listen: \"[127.0.0.1]:80\"\n", 2, 11, "has an invalid IPv6 address"},
	    {"server:\n  listen: \"[fe80::1%eth0]:80\"\n", 2, 11, "has an invalid IPv6 address"},
	    {"server:\n  listen: \"1.2.3:80\"\n", 2, 11,
	     "\"1.2.3:80\" has an invalid IPv4 address"},
	    {"server:\n  listen: \"256.0.0.1:80\"\n", 2, 11, "has an invalid IPv4 address"},
	    {"server:\n  listen: \"example.com:80\"\n", 2, 11,
	     "\"example.com:80\" needs an IP literal host"},
	    {"server:\n  listen: \" 1.2.3.4:80\"\n", 2, 11, "needs an IP literal host"},
	    {"server:\n  listen: \":80\"\n", 2, 11,
	     "\":80\" has no host; use \"0.0.0.0:80\" for every IPv4 interface or \"[::]:80\" "
	     "for IPv6"},
	    {"server:\n  listen: \"1.2.3.4:http\"\n", 2, 11,
	     "\"1.2.3.4:http\" needs a decimal port number (0..65535)"},
	    {"server:\n  listen: \"1.2.3.4:\"\n", 2, 11, "needs a decimal port number"},
	    {"server:\n  listen: \"1.2.3.4:-1\"\n", 2, 11, "needs a decimal port number"},
	    {"server:\n  listen: \"1.2.3.4:80 \"\n", 2, 11, "needs a decimal port number"},
	    {"server:\n  listen: \"1.2.3.4:65536\"\n", 2, 11,
	     "\"1.2.3.4:65536\": port 65536 is out of range (0..65535)"},
	    {"server:\n  listen: \"1.2.3.4:99999999999999999999\"\n", 2, 11,
	     "port 99999999999999999999 is out of range"},
	    {"server:\n  listen: []\n", 2, 11, "server.listen: needs at least one \"host:port\""},
	    {"server:\n  listen: ~\n", 2, 11,
	     "server.listen: expected \"host:port\" or a list of them, got null"},
	    {"server:\n  listen: {a: 1}\n", 2, 11, "got a mapping"},
	    {"server:\n  listen: true\n", 2, 11, "expected a \"host:port\" string, got \"true\""},
	    {"server:\n  listen:\n    - \"127.0.0.1:1\"\n    - [\"127.0.0.1:2\"]\n", 4, 7,
	     "server.listen: expected a \"host:port\" string, got a list"},
	    {"server:\n  listen:\n    - ~\n", 3, 7, "expected a \"host:port\" string, got null"},
	    {"server:\n  listen:\n    - \"127.0.0.1:80\"\n    - \"127.0.0.1:80\"\n", 4, 7,
	     "server.listen: \"127.0.0.1:80\" is listed twice"},
	    {"server:\n  listen:\n    - \"[::1]:80\"\n    - \"[0:0::1]:80\"\n", 4, 7,
	     "\"[0:0::1]:80\" is listed twice"},
	    {"server:\n  listen:\n    - \"127.0.0.1:80\"\n    - \"localhost:80\"\n", 4, 7,
	     "needs an IP literal host"},
	    {too_many, 19, 7, "server.listen: too many addresses (at most 16)"},
	    {"metrics:\n  listen: [\"127.0.0.1:9090\"]\n", 2, 11,
	     "metrics.listen: expected a \"host:port\" string, got a list"},
	    {"metrics:\n  listen: \"localhost:9090\"\n", 2, 11,
	     "metrics.listen: \"localhost:9090\" needs an IP literal host"},
	    {"metrics:\n  listen: 9090\n", 2, 11, "metrics.listen: \"9090\" needs a port"},
	};
	size_t used = (size_t)snprintf(too_many, sizeof(too_many), "server:\n  listen:\n");

	(void)state;
	for (unsigned i = 0; i < 17; i++)
		used += (size_t)snprintf(too_many + used, sizeof(too_many) - used,
		                         "    - \"127.0.0.1:%u\"\n", 9000 + i);
	check_errors(cases, ARRAY_LEN(cases));
}

static const struct error_case origin_errors[] = {
    {"server:\n  allowed_origins: \"https://example.com\"\n", 2, 20,
     "server.allowed_origins: expected a list of origins, e.g. "
     "[\"https://example.com\"], got the string \"https://example.com\""},
    {"server:\n  allowed_origins:\n", 2, 19, "got an empty value"},
    {"server:\n  allowed_origins: {}\n", 2, 20, "got a mapping"},
    {"server:\n  allowed_origins:\n    - [a]\n", 3, 7,
     "server.allowed_origins: expected an origin string, got a list"},
    {"server:\n  allowed_origins:\n    - ~\n", 3, 7, "expected an origin string, got null"},
    {"server:\n  allowed_origins:\n    - example.com\n", 3, 7,
     "\"example.com\" is not an origin: it must start with \"http://\" or \"https://\""},
    {"server:\n  allowed_origins:\n    - \"ftp://example.com\"\n", 3, 7,
     "must start with \"http://\" or \"https://\""},
    {"server:\n  allowed_origins:\n    - \"https://\"\n", 3, 7, "\"https://\" has no host"},
    {"server:\n  allowed_origins:\n    - \"https://:8443\"\n", 3, 7, "has no host"},
    {"server:\n  allowed_origins:\n    - \"https://example.com/\"\n", 3, 7,
     "\"https://example.com/\" has a path; an origin is only scheme://host[:port], e.g. "
     "\"https://example.com\""},
    {"server:\n  allowed_origins:\n    - \"http://localhost:8443/app\"\n", 3, 7,
     "has a path; an origin is only scheme://host[:port], e.g. "
     "\"http://localhost:8443\""},
    {"server:\n  allowed_origins:\n    - \"https://Example.com\"\n", 3, 7,
     "\"https://Example.com\" has upper-case letters; browsers send origins in lower "
     "case"},
    {"server:\n  allowed_origins:\n    - \"https://example.com:443\"\n", 3, 7,
     "\"https://example.com:443\" names the default port, which browsers leave out; "
     "write \"https://example.com\""},
    {"server:\n  allowed_origins:\n    - \"http://example.com:80\"\n", 3, 7,
     "names the default port"},
    {"server:\n  allowed_origins:\n    - \"http://example.com:0\"\n", 3, 7,
     "\"http://example.com:0\" has an invalid port (expected 1..65535)"},
    {"server:\n  allowed_origins:\n    - \"http://example.com:65536\"\n", 3, 7,
     "has an invalid port"},
    {"server:\n  allowed_origins:\n    - \"http://example.com:\"\n", 3, 7, "has an invalid port"},
    {"server:\n  allowed_origins:\n    - \"http://example.com:08080\"\n", 3, 7,
     "has an invalid port"},
    {"server:\n  allowed_origins:\n    - \"https://exa mple.com\"\n", 3, 7,
     "\"https://exa mple.com\" is not an origin: expected scheme://host[:port]"},
    {"server:\n  allowed_origins:\n    - \"https://user@example.com\"\n", 3, 7, "is not an origin"},
    {"server:\n  allowed_origins:\n    - \"https://example.com?q\"\n", 3, 7, "is not an origin"},
    {"server:\n  allowed_origins:\n    - \"https://[::1\"\n", 3, 7,
     "\"https://[::1\" has an invalid IPv6 address"},
    {"server:\n  allowed_origins:\n    - \"https://[::g]\"\n", 3, 7, "has an invalid IPv6 address"},
    {"server:\n  allowed_origins:\n    - \"https://a.example\"\n"
     "    - \"https://b.example\"\n    - \"https://a.example\"\n",
     5, 7, "server.allowed_origins: \"https://a.example\" is listed twice"},
};

static const struct error_case tls_errors[] = {
    {"server:\n  tls:\n    enabled: true\n", 3, 14,
     "server.tls.enabled: true needs server.tls.certificate and "
     "server.tls.private_key to be set"},
    {"server:\n  tls:\n    enabled: true\n    certificate: c.pem\n", 3, 14,
     "server.tls.enabled: true needs server.tls.private_key to be set"},
    {"server:\n  tls:\n    private_key: k.pem\n    enabled: true\n", 4, 14,
     "server.tls.enabled: true needs server.tls.certificate to be set"},
    {"server:\n  tls:\n    enabled: true\n    certificate: \"\"\n    private_key: k\n", 3, 14,
     "needs server.tls.certificate to be set"},
    {"server:\n  tls: {enabled: true, certificate: c}\n", 2, 18,
     "needs server.tls.private_key to be set"},
    {"metrics:\n  tls:\n    enabled: true\n", 3, 14,
     "metrics.tls.enabled: true needs metrics.tls.certificate and "
     "metrics.tls.private_key to be set"},
    {"server:\n  tls:\n    min_version: \"1.1\"\n", 3, 18,
     "server.tls.min_version: expected \"1.2\" or \"1.3\", got \"1.1\""},
    {"server:\n  tls:\n    min_version: 1.3.0\n", 3, 18, "expected \"1.2\" or \"1.3\""},
    {"server:\n  tls:\n    min_version: true\n", 3, 18, "expected a TLS version"},
    {"server:\n  tls:\n    ciphers: \"NO-SUCH-CIPHER\"\n", 3, 14,
     "server.tls.ciphers: OpenSSL knows no TLS 1.2 cipher in \"NO-SUCH-CIPHER\""},
    {"metrics:\n  tls:\n    ciphers: \"nonsense:alsonot\"\n", 3, 14,
     "metrics.tls.ciphers: OpenSSL knows no TLS 1.2 cipher"},
    {"server:\n  tls:\n    client_ca: [a]\n", 3, 16, "expected a file path"},
    /* A wss:// address needs the certificate that server.tls names. */
    {"server:\n  listen: [\"ws://0.0.0.0:1\", \"wss://0.0.0.0:2\"]\n", 2, 11,
     "server.listen: a \"wss://\" address needs server.tls.enabled: true"},
    {"server:\n  listen: \"http://0.0.0.0:1\"\n", 2, 11,
     "\"http://0.0.0.0:1\": the scheme must be \"ws://\" (plain) or \"wss://\" (TLS)"},
    {"server:\n  listen: \"wss:/0.0.0.0:1\"\n", 2, 11,
     "\"wss:/0.0.0.0:1\": unexpected \"/\"; write \"host:port\", optionally after "
     "\"ws://\" or \"wss://\""},
    {"server:\n  listen: \"ws://0.0.0.0:1/ws\"\n", 2, 11, "unexpected \"/\""},
    {"server:\n  listen: [\"ws://0.0.0.0:1\", \"wss://0.0.0.0:1\"]\n", 2, 30,
     "\"wss://0.0.0.0:1\" is listed twice"},
    {"metrics:\n  listen: \"ws://0.0.0.0:1\"\n", 2, 11,
     "metrics.listen: \"ws://0.0.0.0:1\": this address takes no scheme"},
};

/* Schemes pick TLS per address; without one, server.tls.enabled decides. */
static void test_listen_schemes(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(&cfg,
	        "server:\n"
	        "  listen: [\"wss://0.0.0.0:8443\", \"ws://127.0.0.1:8080\", \"[::1]:9000\"]\n"
	        "  tls: {enabled: true, certificate: c.pem, private_key: k.pem}\n");
	assert_int_equal(cfg.server.listen_count, 3);
	assert_int_equal(cfg.server.listen[0].scheme, LISTEN_SCHEME_WSS);
	assert_int_equal(cfg.server.listen[1].scheme, LISTEN_SCHEME_WS);
	assert_int_equal(cfg.server.listen[2].scheme, LISTEN_SCHEME_NONE);
	assert_listen(&cfg.server.listen[0], "0.0.0.0", 8443, false);
	assert_true(config_listen_uses_tls(&cfg, &cfg.server.listen[0]));
	assert_false(config_listen_uses_tls(&cfg, &cfg.server.listen[1]));
	assert_true(config_listen_uses_tls(&cfg, &cfg.server.listen[2]));
	cfg.server.tls.enabled = false;
	assert_false(config_listen_uses_tls(&cfg, &cfg.server.listen[2]));
	assert_true(config_listen_uses_tls(&cfg, &cfg.server.listen[0]));
	config_free(&cfg);

	/* ws:// needs no certificate. */
	load_ok(&cfg, "server:\n  listen: \"ws://[::]:80\"\n");
	assert_int_equal(cfg.server.listen[0].scheme, LISTEN_SCHEME_WS);
	assert_listen(&cfg.server.listen[0], "::", 80, true);
	config_free(&cfg);
}

static const struct error_case keepalive_errors[] = {
    {"server:\n  ping_interval_seconds: 10\n  idle_timeout_seconds: 10\n", 3, 25,
     "server.idle_timeout_seconds: 10 must be longer than server.ping_interval_seconds "
     "(10)"},
    /* The default idle timeout (75) is too short for this interval, and
     * the error points at the section, where the missing key belongs. */
    {"server:\n  ping_interval_seconds: 100\n", 2, 3, "must be longer than"},
    {"server:\n  idle_timeout_seconds: 0\n", 2, 25, "out of range"},
    {"server:\n  ping_interval_seconds: 3601\n", 2, 26, "out of range"},
};

static const struct error_case cluster_errors[] = {
    {"cluster:\n  broker: kafka\n", 2, 11,
     "cluster.broker: expected \"redis\" or \"nats\", got \"kafka\""},
    {"cluster:\n  broker: ~\n", 2, 11, "cluster.broker: expected a broker name, got null"},
    {"cluster:\n  url: \"http://x:1\"\n", 2, 8,
     "cluster.url: \"http://x:1\" must start with \"redis://\" or \"nats://\""},
    {"cluster:\n  url: []\n", 2, 8, "cluster.url: needs at least one URL"},
    {"cluster:\n  url: {}\n", 2, 8, "expected a URL or a list of them, got a mapping"},
    {"cluster:\n  url: \"redis://h:70000\"\n", 2, 8, "needs a port from 1 to 65535"},
    {"cluster:\n  url: \"redis://secret@h\"\n", 2, 8,
     "\"redis://***@h\" has user info without a password"},
    {"cluster:\n  broker: nats\n  url: [\"nats://a\", \"nats://a\"]\n", 3, 21,
     "\"nats://a\" is listed twice"},
    {"cluster:\n  broker: redis\n  url: [\"redis://a\", \"redis://b\"]\n", 3, 8,
     "cluster.url: broker \"redis\" takes one URL, got 2"},
    {"cluster:\n  broker: nats\n  url: \"redis://a\"\n", 3, 8,
     "cluster.url: \"redis://a\" is not a nats:// URL, but cluster.broker is \"nats\""},
    /* The default URL is Redis's: with NATS it has to be given. */
    {"cluster:\n  broker: nats\n", 2, 3, "\"redis://127.0.0.1:6379\" is not a nats:// URL"},
    {"cluster:\n  channel: \"\"\n", 2, 12, "cluster.channel: \"\" must be 1 to 200 bytes long"},
    {"cluster:\n  channel: \"a b\"\n", 2, 12,
     "\"a b\" may only contain letters, digits and _ - : ."},
    {"cluster:\n  channel: \"events.>\"\n", 2, 12, "may only contain"},
    {"cluster:\n  channel: \"a..b\"\n", 2, 12,
     "must not start or end with \".\" or contain \"..\""},
    {"cluster:\n  channel: \".a\"\n", 2, 12, "must not start or end with"},
    {"cluster:\n  node_id: \"n\u00e9\"\n", 2, 12, "may only contain"},
    {"cluster:\n  nats:\n    token_file: t\n    nkey_seed_file: s\n", 4, 21,
     "cluster.nats.nkey_seed_file: only one of token_file, nkey_seed_file and "
     "credentials_file may be set (token_file is set too)"},
    {"cluster:\n  nats:\n    tls:\n      certificate: c.pem\n", 4, 20,
     "cluster.nats.tls.certificate needs cluster.nats.tls.private_key to be set"},
    {"cluster:\n  url: \"redis://u:pw@h/x\"\n", 2, 8,
     "\"redis://u:***@h/x\" may only have a database number as its path"},
    {"cluster:\n  allow_local_only_oversize: 1\n", 2, 30, "expected true or false"},
    {"cluster:\n  node_id: "
     "12345678901234567890123456789012345678901234567890123456789012345\n",
     2, 12, "must be 0 to 64 bytes long"},
    {"cluster:\n  queue_messages: 0\n", 2, 19,
     "cluster.queue_messages: 0 is out of range (1..10000000)"},
    {"cluster:\n  queue_bytes: 1023\n", 2, 16,
     "cluster.queue_bytes: 1023 is out of range (1024..17179869184)"},
    {"cluster:\n  enabled: on\n", 2, 12, "cluster.enabled: expected true or false"},
};

static void test_rooms_enabled(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(&cfg, "rooms:\n  enabled: true\n  default: chat.general-1_A\n");
	assert_true(cfg.rooms.enabled);
	assert_string_equal(cfg.rooms.default_room, "chat.general-1_A");
	config_free(&cfg);
	/* Rooms travel across a cluster (once a config error). */
	load_ok(&cfg, "cluster:\n  enabled: true\nrooms:\n  enabled: true\n");
	assert_true(cfg.rooms.enabled);
	assert_true(cfg.cluster.enabled);
	config_free(&cfg);
}

static const struct error_case rooms_errors[] = {
    {"rooms:\n  enabled: yes\n", 2, 12, "rooms.enabled: expected true or false"},
    {"rooms:\n  default: \"a/b\"\n", 2, 12, "rooms.default: \"a/b\" is not a room name"},
    {"rooms:\n  default: \"a..b\"\n", 2, 12, "is not a room name"},
    {"rooms:\n  default: \"a:b\"\n", 2, 12, "is not a room name"},
    {"rooms:\n  default: "
     "\"12345678901234567890123456789012345678901234567890123456789012345\"\n",
     2, 12, "is not a room name"},
    {"rooms:\n  max_rooms: 0\n", 2, 14, "rooms.max_rooms: 0 is out of range (1..1000000)"},
    {"rooms:\n  max_members: 30001\n", 2, 16,
     "rooms.max_members: 30001 is out of range (0..30000)"},
};

static const struct error_case metrics_path_errors[] = {
    {"metrics:\n  path: \"/healthz\"\n", 2, 9,
     "metrics.path: \"/healthz\" is the health check's path"},
    {"metrics:\n  enabled: false\n  path: /healthz\n", 3, 9, "the health check's path"},
};

static void test_limits_and_networks(void **state)
{
	struct config cfg;

	(void)state;
	load_ok(&cfg, "server:\n"
	              "  handshake_timeout_seconds: 2\n"
	              "  trusted_proxies: [\"10.0.0.0/8\", \"192.0.2.7\", \"2001:db8::/32\"]\n"
	              "  proxy_protocol: true\n"
	              "limits:\n"
	              "  max_connections_per_address: 3\n"
	              "  handshakes_per_address_per_second: 0\n"
	              "  ipv6_prefix_length: 56\n"
	              "  messages_per_second: 100\n"
	              "  bytes_per_second: 1048576\n"
	              "  on_rate_exceeded: drop\n"
	              "metrics:\n"
	              "  allowed_networks: [\"127.0.0.0/8\", \"::1\"]\n"
	              "  bearer_token_file: \"/etc/wsrelay/token\"\n");
	assert_int_equal(cfg.server.handshake_timeout_seconds, 2);
	assert_int_equal(cfg.server.trusted_proxies_count, 3);
	assert_string_equal(cfg.server.trusted_proxies[2], "2001:db8::/32");
	assert_true(cfg.server.proxy_protocol);
	assert_int_equal(cfg.limits.max_connections_per_address, 3);
	assert_int_equal(cfg.limits.handshakes_per_address_per_second, 0);
	assert_int_equal(cfg.limits.ipv6_prefix_length, 56);
	assert_int_equal(cfg.limits.messages_per_second, 100);
	assert_int_equal(cfg.limits.bytes_per_second, 1048576);
	assert_int_equal(cfg.limits.on_rate_exceeded, RATE_ACTION_DROP);
	assert_int_equal(cfg.metrics.allowed_networks_count, 2);
	assert_string_equal(cfg.metrics.allowed_networks[1], "::1");
	assert_string_equal(cfg.metrics.bearer_token_file, "/etc/wsrelay/token");
	char *printed = print_to_string(&cfg);
	assert_non_null(strstr(printed, "  trusted_proxies:\n    - \"10.0.0.0/8\"\n"));
	assert_non_null(strstr(printed, "  on_rate_exceeded: \"drop\"\n"));
	assert_non_null(strstr(printed, "  proxy_protocol: true\n"));
	free(printed);
	config_free(&cfg);

	static const struct error_case cases[] = {
	    {"server:\n  trusted_proxies: \"10.0.0.0/8\"\n", 2, 20,
	     "server.trusted_proxies: expected a list of networks, e.g. [\"10.0.0.0/8\"], got the "
	     "string \"10.0.0.0/8\""},
	    {"server:\n  trusted_proxies: [\"10.0.0.1/8\"]\n", 2, 21,
	     "has bits set past its /8 prefix (did you mean 10.0.0.0/8?)"},
	    {"server:\n  trusted_proxies: [\"10.0.0.0/33\"]\n", 2, 21,
	     "the prefix length after \"/\" must be 0 to 32"},
	    {"server:\n  trusted_proxies: [\"2001:db8::/129\"]\n", 2, 21, "must be 0 to 128"},
	    {"server:\n  trusted_proxies: [\"10.0.0.0/\"]\n", 2, 21, "must be 0 to 32"},
	    {"server:\n  trusted_proxies: [\"proxy.example.com\"]\n", 2, 21,
	     "\"proxy.example.com\" is not an IPv4 or IPv6 address"},
	    {"server:\n  trusted_proxies: [\"::1\", \"::1\"]\n", 2, 28, "is listed twice"},
	    {"metrics:\n  allowed_networks: [\"256.0.0.0/8\"]\n", 2, 22, "is not an IPv4"},
	    {"limits:\n  on_rate_exceeded: \"block\"\n", 2, 21,
	     "limits.on_rate_exceeded: expected \"close\" or \"drop\", got \"block\""},
	    {"limits:\n  ipv6_prefix_length: 129\n", 2, 23, "out of range (16..128)"},
	    {"server:\n  handshake_timeout_seconds: 0\n", 2, 30, "out of range (1..300)"},
	    /* Headers are believed only from trusted_proxies. */
	    {"server:\n  proxy_protocol: true\n", 2, 19,
	     "server.proxy_protocol: true needs server.trusted_proxies"},
	    {"server:\n  proxy_protocol: 1\n", 2, 19, "server.proxy_protocol: expected"},
	};
	check_errors(cases, ARRAY_LEN(cases));
}

/* Without a current directory the defaults cannot be resolved, but a file
 * named by its absolute path still loads. */
static void test_removed_cwd(void **state)
{
	char err[512] = "";
	struct config cfg;

	(void)state;
	assert_int_equal(mkdir(tmp_path("gone"), 0700), 0);
	assert_int_equal(chdir(tmp_path("gone")), 0);
	assert_int_equal(rmdir(tmp_path("gone")), 0);

	memset(&cfg, 0xa5, sizeof(cfg));
	assert_int_equal(config_set_defaults(&cfg), -1);
	assert_true(all_zero(&cfg));

	write_file("abs.yaml", "server: {document_root: static}\n");
	assert_int_equal(config_load(&cfg, tmp_path("abs.yaml"), err, sizeof(err)), 0);
	assert_string_equal(cfg.server.document_root, tmp_path("static"));
	config_free(&cfg);
}

/* Messages quote what the file said, escaped and shortened to stay one line. */
static void test_auth_keys(void **state)
{
	struct config cfg;
	(void)state;
	load_ok(&cfg, "auth:\n"
	              "  mode: jwt\n"
	              "  jwt:\n"
	              "    algorithms: [HS512, ES256, PS256]\n"
	              "    secret_file: \"keys/secret\"\n"
	              "    public_keys_file: \"/etc/wsrelay/jwks.json\"\n"
	              "    issuer: \"https://login.example\"\n"
	              "    audience: \"wsrelay\"\n"
	              "    leeway_seconds: 0\n"
	              "    cookie: \"session\"\n"
	              "  http:\n"
	              "    url: \"http://127.0.0.1:8080/auth\"\n"
	              "    timeout_ms: 60000\n"
	              "    forward_headers: [Cookie, X-Api-Key]\n"
	              "  anonymous_publish: false\n");
	assert_int_equal(cfg.auth.mode, AUTH_MODE_JWT);
	assert_int_equal(cfg.auth.jwt.algorithm_count, 3);
	assert_string_equal(cfg.auth.jwt.algorithms[0], "HS512");
	assert_string_equal(cfg.auth.jwt.algorithms[2], "PS256");
	char want[PATH_MAX + 32];
	snprintf(want, sizeof(want), "%s/keys/secret", tmp_dir);
	assert_string_equal(cfg.auth.jwt.secret_file, want);
	assert_string_equal(cfg.auth.jwt.public_keys_file, "/etc/wsrelay/jwks.json");
	assert_string_equal(cfg.auth.jwt.issuer, "https://login.example");
	assert_string_equal(cfg.auth.jwt.audience, "wsrelay");
	assert_int_equal(cfg.auth.jwt.leeway_seconds, 0);
	assert_string_equal(cfg.auth.jwt.cookie, "session");
	assert_string_equal(cfg.auth.http.url, "http://127.0.0.1:8080/auth");
	assert_int_equal(cfg.auth.http.timeout_ms, 60000);
	assert_int_equal(cfg.auth.http.forward_header_count, 2);
	assert_string_equal(cfg.auth.http.forward_headers[1], "X-Api-Key");
	assert_false(cfg.auth.anonymous_publish);
	config_free(&cfg);
	load_ok(&cfg, "auth:\n  mode: http\n  http:\n    url: \"https://app/check\"\n");
	assert_int_equal(cfg.auth.mode, AUTH_MODE_HTTP);
	config_free(&cfg);
}

static const struct error_case auth_errors[] = {
    {"auth:\n  mode: oauth\n", 2, 9,
     "auth.mode: expected one of \"none\", \"jwt\", \"http\", got \"oauth\""},
    {"auth:\n  jwt:\n    algorithms: [none]\n", 3, 17,
     "auth.jwt.algorithms: \"none\" is not one of HS256"},
    {"auth:\n  jwt:\n    algorithms: [HS256, HS256]\n", 3, 25, "\"HS256\" is listed twice"},
    {"auth:\n  jwt:\n    algorithms: HS256\n", 3, 17, "expected a list of names"},
    {"auth:\n  mode: jwt\n", 2, 9,
     "auth.mode: \"jwt\" with an HS* algorithm needs auth.jwt.secret_file"},
    {"auth:\n  mode: jwt\n  jwt:\n    algorithms: [RS256]\n    secret_file: s\n", 2, 9,
     "needs auth.jwt.public_keys_file"},
    {"auth:\n  mode: jwt\n  jwt:\n    algorithms: []\n", 2, 9,
     "auth.mode: \"jwt\" needs auth.jwt.algorithms"},
    {"auth:\n  mode: http\n", 2, 9,
     "auth.mode: \"http\" needs auth.http.url, an http:// or https:// URL (got \"\")"},
    {"auth:\n  mode: http\n  http:\n    url: \"ftp://x\"\n", 2, 9, "(got \"ftp://x\")"},
    {"auth:\n  http:\n    timeout_ms: 0\n", 3, 17,
     "auth.http.timeout_ms: 0 is out of range (1..60000)"},
    {"auth:\n  http:\n    forward_headers: [\"Bad Header\"]\n", 3, 23,
     "\"Bad Header\" must be 1 to 64 letters, digits, - or _"},
    {"auth:\n  jwt:\n    leeway_seconds: 3601\n", 3, 21, "out of range (0..3600)"},
    {"auth:\n  jwt:\n    cookie: \"a b\"\n", 3, 13, "may only contain"},
    {"auth:\n  anonymous_publish: no\n", 2, 22, "expected true or false"},
};

static void test_messages_quote_safely(void **state)
{
	char yaml[512], err[512];
	struct config cfg;
	const char *path;
	size_t used = (size_t)snprintf(yaml, sizeof(yaml), "relay:\n  echo_to_sender: \"");

	(void)state;
	for (size_t i = 0; i < 200; i++)
		yaml[used++] = 'x';
	memcpy(yaml + used, "\\n\"\n", 5);
	path = write_file("bad.yaml", yaml);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	assert_null(strchr(err, '\n'));
	assert_non_null(strstr(err, "got the string \"xxxx"));
	assert_non_null(strstr(err, "xxx...\""));
	assert_true(strlen(err) < strlen(path) + 200);

	/* Multi-byte characters are not cut in half. */
	used = (size_t)snprintf(yaml, sizeof(yaml), "relay:\n  echo_to_sender: \"");
	for (size_t i = 0; i < 100; i++) {
		yaml[used++] = '\xc3';
		yaml[used++] = '\xa9';
	}
	memcpy(yaml + used, "\"\n", 3);
	path = write_file("bad.yaml", yaml);
	assert_int_equal(config_load(&cfg, path, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "\xc3\xa9...\""));
}

#define TEST(f) cmocka_unit_test_teardown(f, restore_cwd)

/* One table of error cases. */
struct error_table {
	const struct error_case *cases;
	size_t count;
};

static void test_error_table(void **state)
{
	const struct error_table *t = *state;
	check_errors(t->cases, t->count);
}

/* A test of its own for each table, named after it. */
#define ERRORS(table)                                                                              \
	{                                                                                          \
		.name = #table, .test_func = test_error_table, .teardown_func = restore_cwd,       \
		.initial_state = &(struct error_table){table, ARRAY_LEN(table)},                   \
	}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_set_defaults),
	    TEST(test_empty_documents_give_defaults),
	    TEST(test_null_sections_give_defaults),
	    TEST(test_conf_file_matches_defaults),
	    TEST(test_conf_cluster_examples_load),
	    TEST(test_every_key_parsed),
	    TEST(test_range_bounds_and_levels),
	    TEST(test_listen_forms),
	    TEST(test_relative_paths_resolve_against_file_folder),
	    TEST(test_strings_in_any_quoting_style),
	    TEST(test_print_defaults_exactly),
	    TEST(test_print_round_trips),
	    TEST(test_print_lists),
	    TEST(test_print_hand_made_values),
	    TEST(test_free_is_safe_twice_and_on_zero),
	    TEST(test_enum_names),
	    TEST(test_small_or_missing_error_buffer),
	    TEST(test_missing_and_unreadable_files),
	    TEST(test_exact_messages),
	    ERRORS(yaml_syntax_errors),
	    ERRORS(document_shape_errors),
	    ERRORS(section_errors),
	    ERRORS(bool_errors),
	    ERRORS(integer_errors),
	    TEST(test_string_and_path_errors),
	    TEST(test_listen_errors),
	    ERRORS(origin_errors),
	    ERRORS(tls_errors),
	    TEST(test_listen_schemes),
	    ERRORS(metrics_path_errors),
	    TEST(test_limits_and_networks),
	    ERRORS(cluster_errors),
	    ERRORS(rooms_errors),
	    TEST(test_rooms_enabled),
	    TEST(test_auth_keys),
	    ERRORS(auth_errors),
	    ERRORS(keepalive_errors),
	    TEST(test_messages_quote_safely),
	    TEST(test_removed_cwd),
	};

	return cmocka_run_group_tests(tests, make_tmp_dir, remove_tmp_dir);
}
