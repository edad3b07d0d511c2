/* The hub: the set of connected clients and the fan-out of each message to
 * all of them.
 *
 * Locking, in three sentences. One mutex guards the current member list and
 * each client's bookkeeping; a member list is never changed once it is the
 * current one, and a join or leave makes a new one current. A broadcast pins the current list
 * under the mutex and queues the frame for its members outside it, so a slow receiver
 * never holds the lock. A leaving client is taken out of the current list and
 * then waits on the hub's condition variable until no pinned list still names
 * it, so its connection is never written to after its close handler returns. */
#ifndef WSRELAY_HUB_H
#define WSRELAY_HUB_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared_frame.h"

/* Why a client left; counted once per client. */
enum disconnect_reason {
	DISCONNECT_NONE = 0,
	DISCONNECT_CLIENT_CLOSE,
	DISCONNECT_WRITE_ERROR,
	DISCONNECT_SLOW_CONSUMER,
	DISCONNECT_PROTOCOL_ERROR,
	DISCONNECT_MESSAGE_TOO_BIG,
	DISCONNECT_TIMEOUT,
	DISCONNECT_SHUTDOWN,
	DISCONNECT_RATE_LIMITED,   /* over limits.messages_per_second or bytes_per_second */
	DISCONNECT_PUBLISH_DENIED, /* a subscribe-only client sent a message (auth) */
	DISCONNECT_TOKEN_EXPIRED,  /* its token ran out while connected (auth) */
	DISCONNECT_REASON_COUNT
};

const char *hub_disconnect_reason_name(enum disconnect_reason reason);

/* How the hub reaches a client's connection. deliver and close run outside
 * the hub lock while a pinned list names the client, so the endpoint is
 * alive; abort runs under the hub lock. None of them may block. */
struct hub_endpoint_ops {
	/* Queues a frame for the client; -1 when the client's queue is full
	 * (a slow consumer, which the endpoint then closes itself). */
	int (*deliver)(void *endpoint, struct shared_frame *frame);
	/* Queues a close frame as the last thing the client gets. */
	void (*close)(void *endpoint, const void *frame, size_t len);
	/* Ends the connection so that its reader leaves the hub soon. */
	void (*abort)(void *endpoint);
};

struct hub;
struct hub_client;

/* A bound on the members of several hubs together (the rooms of one
 * relay): members counts the clients named by the hubs' current lists. */
struct hub_quota {
	atomic_size_t members;
	size_t max;
};

/* A hub of at most max_clients members, and with quota (NULL: none) at
 * most quota->max members across every hub sharing it. */
struct hub *hub_create(uint32_t max_clients, const struct hub_endpoint_ops *ops,
                       struct hub_quota *quota);
void hub_destroy(struct hub *hub);

/* Adds a client whose handshake is under way; it receives broadcasts from
 * now on. NULL when all max_clients slots (or the quota's) are taken or the
 * hub is closing. */
struct hub_client *hub_join(struct hub *hub, void *endpoint);

/* Removing a client, three ways:
 *   hub_remove  stops relaying to it and WAITS until no broadcast can still
 *               write to it; does not free it.
 *   hub_drop    stops relaying to it and does NOT wait; does not free it.
 *   hub_leave   hub_remove, then FREES it: only its reader calls it, once.
 * Each records reason unless one was recorded already. */

/* Stops relaying to the client and waits until no broadcast can still write
 * to it; records reason unless one was recorded already. Safe to repeat.
 * Waits: never call it from a broadcast (an endpoint's deliver). */
void hub_remove(struct hub *hub, struct hub_client *client, enum disconnect_reason reason);

/* hub_remove (waits), then frees the client. Returns the reason recorded
 * first. The client's reader only, once: client is gone afterwards. */
enum disconnect_reason hub_leave(struct hub *hub, struct hub_client *client,
                                 enum disconnect_reason fallback);

/* Hands frame to every member (the sender too when echo is true). Members
 * whose queue is full are removed with reason slow_consumer; *slow counts
 * them. Returns the number of members the frame was queued for. */
size_t hub_broadcast(struct hub *hub, const struct hub_client *sender, bool echo,
                     struct shared_frame *frame, size_t *slow);

/* Removes the client without waiting and without freeing, from a thread
 * that is not its reader: its reader's hub_leave does the waiting and the
 * freeing. */
void hub_drop(struct hub *hub, struct hub_client *client, enum disconnect_reason reason);

/* Stops all relaying, then closes every member with frame (a close frame)
 * and records reason for each. Later joins are refused. Returns how many
 * members there were. */
size_t hub_close_all(struct hub *hub, const void *frame, size_t len, enum disconnect_reason reason);

/* Ends every member's connection (after a drain timed out). */
void hub_abort_all(struct hub *hub);

size_t hub_member_count(struct hub *hub);

#endif
