/* The broker addresses of cluster.url: "redis://host[:port]" or
 * "nats://[user[:password]@]host[:port]". Checked once when the config
 * loads, split again by the backend that connects. */
#ifndef WSRELAY_BROKER_URL_H
#define WSRELAY_BROKER_URL_H

#include <stddef.h>
#include <stdint.h>

#include "config.h"

#define BROKER_HOST_MAX 255

struct broker_url {
	enum cluster_broker scheme;
	char host[BROKER_HOST_MAX + 1]; /* a name or an IP literal, without brackets */
	uint16_t port;                  /* the scheme's default when the URL names none */
};

/* Returns 0 and fills out if s is a broker URL; otherwise -1 with the reason,
 * which quotes s, in why. */
int broker_url_parse(const char *s, struct broker_url *out, char *why, size_t whylen);

#endif
