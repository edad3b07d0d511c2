/* The broker addresses of cluster.url: "redis://[user[:password]@]host[:port][/db]"
 * or "nats://[user[:password]@]host[:port]" (also "tls://" for NATS; a
 * user without a password is a token there). Checked once when the config
 * loads, split again by the backend that connects. A password never goes
 * into a log line or --check-config's output: broker_url_redact. */
#ifndef WSRELAY_BROKER_URL_H
#define WSRELAY_BROKER_URL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define BROKER_HOST_MAX 255

struct broker_url {
	enum cluster_broker scheme;
	char host[BROKER_HOST_MAX + 1]; /* a name or an IP literal, without brackets */
	uint16_t port;                  /* the scheme's default when the URL names none */
	/* Redis only (the NATS library reads its URLs itself): "" when absent. */
	char user[BROKER_HOST_MAX + 1];
	char password[BROKER_HOST_MAX + 1];
	bool has_password;
	int db; /* -1 when the URL names none */
};

/* Returns 0 and fills out if s is a broker URL; otherwise -1 with the reason,
 * which quotes s, in why. */
int broker_url_parse(const char *s, struct broker_url *out, char *why, size_t whylen);

/* s with the user info's secret replaced by "***" ("user:***@", or "***@"
 * for a user alone, which NATS reads as a token), into out. */
void broker_url_redact(const char *s, char *out, size_t cap);

#endif
