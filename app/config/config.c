/* A struct config's lifetime: the built-in defaults it starts from and
 * freeing it. Loading a file (config_load.c) starts from the same defaults. */
#include "config.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config_lifetime.h"
#include "path.h"

void config_free_strings(char **strings, size_t count)
{
	if (!strings)
		return;
	for (size_t i = 0; i < count; i++)
		free(strings[i]);
	free(strings);
}

static void tls_config_free(struct tls_config *tls)
{
	free(tls->certificate);
	free(tls->private_key);
	free(tls->ciphers);
	free(tls->client_ca);
}

/* Returns 0, or -1 when a string could not be allocated. */
static int tls_config_defaults(struct tls_config *tls)
{
	tls->enabled = false;
	tls->certificate = strdup("");
	tls->private_key = strdup("");
	tls->min_version = TLS_MIN_VERSION_1_2;
	tls->ciphers = strdup("");
	tls->client_ca = strdup("");
	return (tls->certificate && tls->private_key && tls->ciphers && tls->client_ca) ? 0 : -1;
}

/* Returns 0, or -1 when a string could not be allocated. */
static int auth_config_defaults(struct config *cfg)
{
	static const char *const headers[] = {"Cookie", "Authorization", "Origin", "User-Agent"};
	const size_t header_count = sizeof(headers) / sizeof(headers[0]);

	cfg->auth.mode = AUTH_MODE_NONE;
	cfg->auth.jwt.algorithms = calloc(1, sizeof(char *));
	if (cfg->auth.jwt.algorithms) {
		cfg->auth.jwt.algorithms[0] = strdup("HS256");
		cfg->auth.jwt.algorithm_count = cfg->auth.jwt.algorithms[0] ? 1 : 0;
	}
	cfg->auth.jwt.secret_file = strdup("");
	cfg->auth.jwt.public_keys_file = strdup("");
	cfg->auth.jwt.issuer = strdup("");
	cfg->auth.jwt.audience = strdup("");
	cfg->auth.jwt.leeway_seconds = 30;
	cfg->auth.jwt.cookie = strdup("");
	cfg->auth.http.url = strdup("");
	cfg->auth.http.timeout_ms = 2000;
	cfg->auth.http.forward_headers = calloc(header_count, sizeof(char *));
	for (size_t i = 0; cfg->auth.http.forward_headers && i < header_count; i++) {
		cfg->auth.http.forward_headers[i] = strdup(headers[i]);
		if (cfg->auth.http.forward_headers[i])
			cfg->auth.http.forward_header_count++;
	}
	cfg->auth.anonymous_publish = true;
	bool ok = cfg->auth.jwt.algorithm_count == 1 && cfg->auth.jwt.secret_file &&
	          cfg->auth.jwt.public_keys_file && cfg->auth.jwt.issuer &&
	          cfg->auth.jwt.audience && cfg->auth.jwt.cookie && cfg->auth.http.url &&
	          cfg->auth.http.forward_header_count == header_count;
	return ok ? 0 : -1;
}

bool config_listen_uses_tls(const struct config *cfg, const struct listen_addr *addr)
{
	if (addr->scheme == LISTEN_SCHEME_NONE)
		return cfg->server.tls.enabled;
	return addr->scheme == LISTEN_SCHEME_WSS;
}

void config_free(struct config *cfg)
{
	free(cfg->source);
	free(cfg->server.listen);
	free(cfg->server.websocket_path);
	free(cfg->server.document_root);
	config_free_strings(cfg->server.allowed_origins, cfg->server.allowed_origins_count);
	config_free_strings(cfg->server.trusted_proxies, cfg->server.trusted_proxies_count);
	config_free_strings(cfg->metrics.allowed_networks, cfg->metrics.allowed_networks_count);
	free(cfg->metrics.bearer_token_file);
	tls_config_free(&cfg->server.tls);
	tls_config_free(&cfg->metrics.tls);
	free(cfg->metrics.path);
	free(cfg->rooms.default_room);
	config_free_strings(cfg->cluster.urls, cfg->cluster.url_count);
	config_free_strings(cfg->auth.jwt.algorithms, cfg->auth.jwt.algorithm_count);
	free(cfg->auth.jwt.secret_file);
	free(cfg->auth.jwt.public_keys_file);
	free(cfg->auth.jwt.issuer);
	free(cfg->auth.jwt.audience);
	free(cfg->auth.jwt.cookie);
	free(cfg->auth.http.url);
	config_free_strings(cfg->auth.http.forward_headers, cfg->auth.http.forward_header_count);
	free(cfg->cluster.channel);
	free(cfg->cluster.node_id);
	free(cfg->cluster.secret_file);
	free(cfg->cluster.nats.token_file);
	free(cfg->cluster.nats.nkey_seed_file);
	free(cfg->cluster.nats.credentials_file);
	free(cfg->cluster.nats.tls.ca);
	free(cfg->cluster.nats.tls.certificate);
	free(cfg->cluster.nats.tls.private_key);
	memset(cfg, 0, sizeof(*cfg));
}

/* Equal to conf/wsrelay.yaml, which a test checks. */
int config_fill_defaults(struct config *cfg, const char *base)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->server.listen = malloc(sizeof(*cfg->server.listen));
	if (cfg->server.listen) {
		cfg->server.listen[0] = (struct listen_addr){.host = "0.0.0.0", .port = 8443};
		cfg->server.listen_count = 1;
	}
	cfg->server.websocket_path = strdup("/ws");
	cfg->server.document_root = path_resolve(base, "www");
	cfg->server.max_connections = 4096;
	cfg->server.max_message_bytes = 1048576;
	cfg->server.ping_interval_seconds = 30;
	cfg->server.idle_timeout_seconds = 75;
	cfg->server.handshake_timeout_seconds = 5;
	cfg->limits.max_connections_per_address = 64;
	cfg->limits.handshakes_per_address_per_second = 20;
	cfg->limits.ipv6_prefix_length = 64;
	cfg->limits.on_rate_exceeded = RATE_ACTION_CLOSE;
	cfg->relay.echo_to_sender = true;
	cfg->relay.client_queue_messages = 1024;
	cfg->relay.client_queue_bytes = UINT64_C(8) << 20;
	cfg->metrics.enabled = true;
	cfg->metrics.listen = (struct listen_addr){.host = "0.0.0.0", .port = 9090};
	cfg->metrics.path = strdup("/metrics");
	cfg->rooms.enabled = false;
	cfg->rooms.default_room = strdup("lobby");
	cfg->rooms.max_rooms = 10000;
	cfg->rooms.max_members = 0;
	cfg->metrics.bearer_token_file = strdup("");
	cfg->cluster.enabled = false;
	cfg->cluster.broker = CLUSTER_BROKER_REDIS;
	cfg->cluster.urls = calloc(1, sizeof(*cfg->cluster.urls));
	if (cfg->cluster.urls) {
		cfg->cluster.urls[0] = strdup("redis://127.0.0.1:6379");
		cfg->cluster.url_count = cfg->cluster.urls[0] ? 1 : 0;
	}
	cfg->cluster.channel = strdup("wsrelay");
	cfg->cluster.node_id = strdup("");
	cfg->cluster.queue_messages = 10000;
	cfg->cluster.queue_bytes = UINT64_C(64) << 20;
	cfg->cluster.secret_file = strdup("");
	cfg->cluster.allow_local_only_oversize = false;
	cfg->cluster.nats.token_file = strdup("");
	cfg->cluster.nats.nkey_seed_file = strdup("");
	cfg->cluster.nats.credentials_file = strdup("");
	cfg->cluster.nats.tls.ca = strdup("");
	cfg->cluster.nats.tls.certificate = strdup("");
	cfg->cluster.nats.tls.private_key = strdup("");
	int tls_ok = tls_config_defaults(&cfg->server.tls) + tls_config_defaults(&cfg->metrics.tls);
	int auth_ok = auth_config_defaults(cfg);
	cfg->shutdown.timeout_seconds = 10;
	cfg->logging.level = LOG_LEVEL_INFO;
	cfg->logging.format = LOG_FORMAT_TEXT;

	if (!cfg->server.listen || !cfg->server.websocket_path || !cfg->server.document_root ||
	    tls_ok != 0 || auth_ok != 0 || !cfg->metrics.path || !cfg->rooms.default_room ||
	    !cfg->metrics.bearer_token_file || cfg->cluster.url_count != 1 ||
	    !cfg->cluster.channel || !cfg->cluster.node_id || !cfg->cluster.secret_file ||
	    !cfg->cluster.nats.token_file || !cfg->cluster.nats.nkey_seed_file ||
	    !cfg->cluster.nats.credentials_file || !cfg->cluster.nats.tls.ca ||
	    !cfg->cluster.nats.tls.certificate || !cfg->cluster.nats.tls.private_key) {
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
	rc = config_fill_defaults(cfg, cwd);
	free(cwd);
	return rc;
}
