/* The relay's configuration: built-in defaults, strict YAML loading and
 * printing of the effective settings. */
#ifndef WSRELAY_CONFIG_H
#define WSRELAY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "listen_addr.h"
#include "log.h"

enum cluster_broker { CLUSTER_BROKER_REDIS, CLUSTER_BROKER_NATS };

enum tls_min_version { TLS_MIN_VERSION_1_2, TLS_MIN_VERSION_1_3 };

/* limits.on_rate_exceeded: what happens to a client over its message or
 * byte rate. */
enum rate_action { RATE_ACTION_CLOSE, RATE_ACTION_DROP };
/* Who may connect (app/auth/): nobody is asked, a JWT, or the application's
 * own HTTP endpoint. */
enum auth_mode { AUTH_MODE_NONE, AUTH_MODE_JWT, AUTH_MODE_HTTP };

struct tls_config {
	bool enabled;
	char *certificate; /* absolute path or "": leaf first, then its chain */
	char *private_key; /* absolute path or "" */
	enum tls_min_version min_version;
	char *ciphers;   /* OpenSSL cipher list for TLS 1.2, or "" for OpenSSL's */
	char *client_ca; /* absolute path or "": when set, clients need a certificate */
};

struct config {
	char *source; /* the config file's path, or NULL for built-in defaults */

	struct {
		struct listen_addr *listen;
		size_t listen_count;
		char *websocket_path;
		char *document_root; /* absolute path, or "" when static files are off */
		uint32_t max_connections;
		uint64_t max_message_bytes;
		char **allowed_origins;
		size_t allowed_origins_count;
		uint32_t ping_interval_seconds; /* 0: no pings, no idle limit */
		uint32_t idle_timeout_seconds;
		uint32_t handshake_timeout_seconds; /* the whole request head */
		char **trusted_proxies;             /* CIDRs, checked by net_cidr_parse */
		size_t trusted_proxies_count;
		bool proxy_protocol; /* trusted_proxies send a PROXY v1/v2 header first */
		struct tls_config tls;
	} server;

	struct {
		uint32_t max_connections_per_address; /* 0: no limit */
		uint32_t handshakes_per_address_per_second;
		uint32_t ipv6_prefix_length;
		uint32_t messages_per_second; /* per client; 0: no limit */
		uint64_t bytes_per_second;
		enum rate_action on_rate_exceeded;
	} limits;

	struct {
		bool echo_to_sender;
		uint32_t client_queue_messages;
		uint64_t client_queue_bytes;
	} relay;

	struct {
		bool enabled;
		struct listen_addr listen;
		char *path;
		char **allowed_networks; /* CIDRs; none: any */
		size_t allowed_networks_count;
		char *bearer_token_file; /* absolute path, or "" */
		struct tls_config tls;
	} metrics;

	struct {
		bool enabled;         /* false: one room for everyone */
		char *default_room;   /* of a client at websocket_path itself; "": refused */
		uint32_t max_rooms;   /* rooms alive at once */
		uint32_t max_members; /* clients per room, 0: no bound of its own */
	} rooms;

	struct {
		bool enabled;
		enum cluster_broker broker;
		char **urls; /* checked by broker_url_parse; one for Redis, seeds for NATS */
		size_t url_count;
		char *channel; /* the Redis channel or NATS subject all nodes share */
		char *node_id; /* "" until the cluster picks one at start */
		uint32_t queue_messages;
		uint64_t queue_bytes;
		char *secret_file; /* absolute path or "": the shared keys that sign envelopes */
		/* A message too large for the broker is relayed to local clients only. */
		bool allow_local_only_oversize;
		struct {
			char *token_file;     /* absolute paths or "" */
			char *nkey_seed_file; /* an NKey user's seed ("SU..."), for nonce signing */
			char *credentials_file; /* a .creds file: user JWT and NKey seed */
			struct {
				char *ca; /* trusted CAs for the server's certificate */
				char *certificate;
				char *private_key;
			} tls;
		} nats;
	} cluster;

	struct {
		enum auth_mode mode;
		struct {
			char **algorithms; /* names checked by the auth section's rule */
			size_t algorithm_count;
			char *secret_file;      /* absolute path or "" */
			char *public_keys_file; /* absolute path or "": PEM keys or a JWKS */
			char *issuer;           /* "" when iss is not checked */
			char *audience;         /* "" when aud is not checked */
			uint32_t leeway_seconds;
			char *cookie; /* "" when no cookie carries the token */
		} jwt;
		struct {
			char *url; /* http:// or https://, checked by the auth section's rule */
			uint32_t timeout_ms;
			char **forward_headers;
			size_t forward_header_count;
		} http;
		bool anonymous_publish; /* mode none only */
	} auth;

	struct {
		uint32_t timeout_seconds;
	} shutdown;

	struct {
		enum log_level level;
		enum log_format format;
	} logging;
};

/* Fills cfg with the built-in defaults (equal to conf/wsrelay.yaml). Relative
 * paths resolve against the current directory. Returns 0, or -1 on allocation
 * failure. */
int config_set_defaults(struct config *cfg);

/* Loads path over the defaults. On error returns -1 and writes one line,
 * "path:line:column: message" (1-based), into err; cfg is then left empty
 * (safe to config_free). Relative paths in the file resolve against the
 * file's folder. */
int config_load(struct config *cfg, const char *path, char *err, size_t errlen);

void config_free(struct config *cfg);

/* Prints the effective configuration as YAML that config_load accepts. */
void config_print(const struct config *cfg, FILE *out);

/* Whether the server.listen entry addr serves TLS under cfg. */
bool config_listen_uses_tls(const struct config *cfg, const struct listen_addr *addr);

#endif
