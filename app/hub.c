#include "hub.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

struct hub_client {
	void *endpoint;
	size_t index; /* position in hub->members while a member */
	bool member;
	bool leaving;  /* its reader is waiting for refs to drop to 0 */
	unsigned refs; /* broadcasts that may still write to it */
	enum disconnect_reason reason;

	/* Only touched by this client's own reader thread (as a sender). */
	struct hub_client **snapshot;
	size_t snapshot_cap;
};

struct hub {
	pthread_mutex_t lock;
	pthread_cond_t refs_dropped;
	const struct hub_endpoint_ops *ops;
	uint32_t max_clients;
	bool closing;
	struct hub_client **members;
	size_t member_count;
};

static const char *const reason_names[DISCONNECT_REASON_COUNT] = {
    [DISCONNECT_NONE] = "none",
    [DISCONNECT_CLIENT_CLOSE] = "client_close",
    [DISCONNECT_WRITE_ERROR] = "write_error",
    [DISCONNECT_SLOW_CONSUMER] = "slow_consumer",
    [DISCONNECT_PROTOCOL_ERROR] = "protocol_error",
    [DISCONNECT_MESSAGE_TOO_BIG] = "message_too_big",
    [DISCONNECT_TIMEOUT] = "timeout",
    [DISCONNECT_SHUTDOWN] = "shutdown",
};

const char *disconnect_reason_name(enum disconnect_reason reason)
{
	return (unsigned)reason < DISCONNECT_REASON_COUNT ? reason_names[reason] : "unknown";
}

struct hub *hub_create(uint32_t max_clients, const struct hub_endpoint_ops *ops)
{
	struct hub *hub = calloc(1, sizeof(*hub));
	if (!hub)
		return NULL;
	hub->members = calloc(max_clients ? max_clients : 1, sizeof(*hub->members));
	if (!hub->members) {
		free(hub);
		return NULL;
	}
	pthread_mutex_init(&hub->lock, NULL);
	pthread_cond_init(&hub->refs_dropped, NULL);
	hub->ops = ops;
	hub->max_clients = max_clients;
	return hub;
}

void hub_destroy(struct hub *hub)
{
	if (!hub)
		return;
	pthread_cond_destroy(&hub->refs_dropped);
	pthread_mutex_destroy(&hub->lock);
	free(hub->members);
	free(hub);
}

struct hub_client *hub_join(struct hub *hub, void *endpoint)
{
	struct hub_client *client = calloc(1, sizeof(*client));
	if (!client)
		return NULL;
	client->endpoint = endpoint;

	pthread_mutex_lock(&hub->lock);
	bool ok = !hub->closing && hub->member_count < hub->max_clients;
	if (ok) {
		client->index = hub->member_count;
		client->member = true;
		hub->members[hub->member_count++] = client;
	}
	pthread_mutex_unlock(&hub->lock);

	if (!ok) {
		free(client);
		return NULL;
	}
	return client;
}

/* Caller holds the lock. Swap-remove keeps the member array dense. */
static void remove_member(struct hub *hub, struct hub_client *client)
{
	if (!client->member)
		return;
	struct hub_client *last = hub->members[--hub->member_count];
	hub->members[client->index] = last;
	last->index = client->index;
	client->member = false;
}

static void set_reason_locked(struct hub_client *client, enum disconnect_reason reason)
{
	if (client->reason == DISCONNECT_NONE)
		client->reason = reason;
}

/* Caller holds the lock. */
static void remove_and_wait(struct hub *hub, struct hub_client *client,
                            enum disconnect_reason reason)
{
	remove_member(hub, client);
	set_reason_locked(client, reason);
	client->leaving = true;
	while (client->refs > 0)
		pthread_cond_wait(&hub->refs_dropped, &hub->lock);
}

void hub_remove(struct hub *hub, struct hub_client *client, enum disconnect_reason reason)
{
	pthread_mutex_lock(&hub->lock);
	remove_and_wait(hub, client, reason);
	pthread_mutex_unlock(&hub->lock);
}

enum disconnect_reason hub_leave(struct hub *hub, struct hub_client *client,
                                 enum disconnect_reason fallback)
{
	pthread_mutex_lock(&hub->lock);
	remove_and_wait(hub, client, fallback);
	enum disconnect_reason reason = client->reason;
	pthread_mutex_unlock(&hub->lock);
	free(client->snapshot);
	free(client);
	return reason;
}

/* Caller holds the lock. */
static void drop_refs(struct hub *hub, struct hub_client **clients, size_t n)
{
	bool wake = false;
	for (size_t i = 0; i < n; i++) {
		if (--clients[i]->refs == 0 && clients[i]->leaving)
			wake = true;
	}
	if (wake)
		pthread_cond_broadcast(&hub->refs_dropped);
}

/* Copies the members (all but skip) into *snap with a reference on each.
 * Grows the snapshot outside the lock, so allocation never stalls others. */
static size_t take_snapshot(struct hub *hub, struct hub_client ***snap, size_t *cap,
                            const struct hub_client *skip)
{
	for (;;) {
		pthread_mutex_lock(&hub->lock);
		size_t need = hub->member_count;
		if (hub->closing) {
			pthread_mutex_unlock(&hub->lock);
			return 0;
		}
		if (need <= *cap) {
			size_t n = 0;
			for (size_t i = 0; i < need; i++) {
				struct hub_client *c = hub->members[i];
				if (c == skip)
					continue;
				c->refs++;
				(*snap)[n++] = c;
			}
			pthread_mutex_unlock(&hub->lock);
			return n;
		}
		pthread_mutex_unlock(&hub->lock);

		size_t new_cap = need < 16 ? 16 : need * 2;
		struct hub_client **grown = realloc(*snap, new_cap * sizeof(*grown));
		if (!grown)
			return 0;
		*snap = grown;
		*cap = new_cap;
	}
}

static size_t write_to_snapshot(struct hub *hub, struct hub_client **snap, size_t n,
                                const void *frame, size_t len)
{
	size_t written = 0;
	for (size_t i = 0; i < n; i++) {
		struct hub_client *c = snap[i];
		if (hub->ops->write(c->endpoint, frame, len) == 0) {
			written++;
			continue;
		}
		pthread_mutex_lock(&hub->lock);
		remove_member(hub, c);
		set_reason_locked(c, DISCONNECT_WRITE_ERROR);
		pthread_mutex_unlock(&hub->lock);
		hub->ops->abort(c->endpoint);
	}
	pthread_mutex_lock(&hub->lock);
	drop_refs(hub, snap, n);
	pthread_mutex_unlock(&hub->lock);
	return written;
}

size_t hub_broadcast(struct hub *hub, struct hub_client *sender, bool echo, const void *frame,
                     size_t len)
{
	size_t n =
	    take_snapshot(hub, &sender->snapshot, &sender->snapshot_cap, echo ? NULL : sender);
	return write_to_snapshot(hub, sender->snapshot, n, frame, len);
}

/* Every member with a reference each, for the rare whole-hub operations.
 * Sets reason on each (unless DISCONNECT_NONE) and, when close is true,
 * stops relaying in the same critical section, so that nothing else goes
 * out after the close frames that follow: data after a close frame would
 * break the protocol. */
static struct hub_client **snapshot_all(struct hub *hub, size_t *n, enum disconnect_reason reason,
                                        bool close)
{
	pthread_mutex_lock(&hub->lock);
	*n = hub->member_count;
	struct hub_client **snap = malloc((*n ? *n : 1) * sizeof(*snap));
	if (snap) {
		for (size_t i = 0; i < *n; i++) {
			snap[i] = hub->members[i];
			snap[i]->refs++;
			if (reason != DISCONNECT_NONE)
				set_reason_locked(snap[i], reason);
		}
	} else {
		*n = 0;
	}
	if (close)
		hub->closing = true;
	pthread_mutex_unlock(&hub->lock);
	return snap;
}

static void release_snapshot(struct hub *hub, struct hub_client **snap, size_t n)
{
	pthread_mutex_lock(&hub->lock);
	drop_refs(hub, snap, n);
	pthread_mutex_unlock(&hub->lock);
	free(snap);
}

size_t hub_close_all(struct hub *hub, const void *frame, size_t len, enum disconnect_reason reason)
{
	size_t n;
	struct hub_client **snap = snapshot_all(hub, &n, reason, true);
	for (size_t i = 0; i < n; i++) {
		if (hub->ops->write(snap[i]->endpoint, frame, len) != 0)
			hub->ops->abort(snap[i]->endpoint);
	}
	release_snapshot(hub, snap, n);
	return n;
}

void hub_abort_all(struct hub *hub)
{
	size_t n;
	struct hub_client **snap = snapshot_all(hub, &n, DISCONNECT_NONE, false);
	for (size_t i = 0; i < n; i++)
		hub->ops->abort(snap[i]->endpoint);
	release_snapshot(hub, snap, n);
}

size_t hub_member_count(struct hub *hub)
{
	pthread_mutex_lock(&hub->lock);
	size_t n = hub->member_count;
	pthread_mutex_unlock(&hub->lock);
	return n;
}
