/* The broker a cluster's nodes share, behind one small interface with one
 * file per backend: broker_redis.c (hiredis) and broker_nats.c (the NATS C
 * client). A backend only moves opaque byte strings over one channel and
 * keeps its link up; what the bytes mean, and the bounded queue in front of
 * publish, are cluster.c's. */
#ifndef WSRELAY_BROKER_H
#define WSRELAY_BROKER_H

#include <stdbool.h>
#include <stddef.h>

#include "config.h"
#include "room_subs.h"

/* What a backend reports; called on the backend's own threads, never while
 * publish() runs on the caller's. */
struct broker_events {
	void *ctx;
	/* One message from the channel, our own included; data is only valid
	 * during the call. Calls are serialized, in the broker's order. */
	void (*message)(void *ctx, const void *data, size_t len);
	/* The subscription became live (up) or was lost (down, why says how).
	 * Only transitions are reported, but a backend may report the same
	 * state twice. */
	void (*link)(void *ctx, bool up, const char *why);
	/* With rooms on: the rooms whose traffic this node wants. The backend
	 * keeps the channel itself subscribed (its link state), sets the
	 * waker, and on its own thread subscribes to "<channel>.<room>"
	 * (NATS) or "<channel>:<room>" (Redis) for each wanted room and
	 * unsubscribes the ones gone, in batches; messages of every room
	 * come through message(), serialized as above. NULL with rooms off. */
	struct room_subs *rooms;
};

struct broker;

enum broker_publish_result {
	BROKER_PUBLISHED,
	BROKER_RETRY,   /* the link is down: keep the message, try again later */
	BROKER_REFUSED, /* the broker will never take this one (too large): drop it */
};

/* One message to publish. */
struct broker_message {
	const void *data;
	size_t len;
	const char *room; /* "": on the channel itself; else on the room's */
};

struct broker_backend {
	const char *name;
	/* Subscribes to cfg->cluster.channel at cfg->cluster.urls in the
	 * background and returns at once: an unreachable broker is not an
	 * error, the backend keeps trying (capped exponential backoff with
	 * jitter). NULL with a reason in err only when its threads or memory
	 * cannot be had, or when the broker answered and refused our
	 * credentials (a wrong password is not worth retrying at start). */
	struct broker *(*start)(const struct config *cfg, const char *node_id,
	                        const struct broker_events *events, char *err, size_t errlen);
	/* Publishes msgs[0..count) in order, in as few round trips as the
	 * protocol allows. Returns how many, from the first on, the broker
	 * took; when fewer than count, *stopped says why the next one was not
	 * (BROKER_RETRY: the link is down, the backend reconnects on its own;
	 * BROKER_REFUSED: that one message will never be taken). Only ever
	 * called from one thread (the cluster's publisher), which it may block
	 * for a bounded time. */
	size_t (*publish)(struct broker *b, const struct broker_message *msgs, size_t count,
	                  enum broker_publish_result *stopped);
	/* Ends its threads and connections; no event is reported after it
	 * returns. */
	void (*stop)(struct broker *b);
	/* The largest message the broker takes, as its server said when the
	 * link came up; 0 while unknown or unlimited. Any thread. */
	size_t (*max_payload)(struct broker *b);
};

extern const struct broker_backend broker_redis;
extern const struct broker_backend broker_nats;

#endif
