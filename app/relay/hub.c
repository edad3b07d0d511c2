#include "hub.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"

/* An immutable snapshot of the members. Broadcasts pin the current one, so
 * taking a snapshot costs O(1) under the lock; joins and leaves, far rarer
 * than messages, pay for copying it. */
struct member_list {
	unsigned pins; /* broadcasts using it, plus one while it is current */
	size_t count;
	struct hub_client *items[];
};

struct hub_client {
	void *endpoint;
	bool member;    /* named by the current list */
	unsigned lists; /* live lists that name it */
	enum disconnect_reason reason;
	/* Set under the lock when the client stops being a member; read without
	 * it by broadcasts still holding an older list, to skip the client. */
	atomic_bool removed;
};

struct hub {
	pthread_mutex_t lock;
	pthread_cond_t list_freed;
	const struct hub_endpoint_ops *ops;
	uint32_t max_clients;
	struct hub_quota *quota; /* NULL: max_clients is the only bound */
	bool closing;
	struct member_list *current;
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
    [DISCONNECT_RATE_LIMITED] = "rate_limited",
    [DISCONNECT_PUBLISH_DENIED] = "publish_denied",
    [DISCONNECT_TOKEN_EXPIRED] = "token_expired",
};

const char *hub_disconnect_reason_name(enum disconnect_reason reason)
{
	return (unsigned)reason < DISCONNECT_REASON_COUNT ? reason_names[reason] : "unknown";
}

static struct member_list *list_alloc(size_t count)
{
	/* items holds pointers: the element size is a pointer's on purpose. */
	// NOLINTNEXTLINE(bugprone-sizeof-expression)
	struct member_list *list = malloc(sizeof(*list) + count * sizeof(list->items[0]));
	if (list) {
		list->pins = 0;
		list->count = count;
	}
	return list;
}

/* Caller holds the lock. */
static void list_unpin_locked(struct hub *hub, struct member_list *list)
{
	if (--list->pins > 0)
		return;
	bool wake = false;
	for (size_t i = 0; i < list->count; i++) {
		struct hub_client *c = list->items[i];
		if (--c->lists == 0 && !c->member)
			wake = true;
	}
	free(list);
	if (wake)
		pthread_cond_broadcast(&hub->list_freed);
}

/* Caller holds the lock. Makes list the current one (the old one is freed
 * once no broadcast holds it). */
static void members_replace_locked(struct hub *hub, struct member_list *list)
{
	for (size_t i = 0; i < list->count; i++)
		list->items[i]->lists++;
	list->pins = 1;
	struct member_list *old = hub->current;
	hub->current = list;
	list_unpin_locked(hub, old);
}

struct hub *hub_create(uint32_t max_clients, const struct hub_endpoint_ops *ops,
                       struct hub_quota *quota)
{
	struct hub *hub = calloc(1, sizeof(*hub));
	if (!hub)
		return NULL;
	hub->current = list_alloc(0);
	if (!hub->current) {
		free(hub);
		return NULL;
	}
	hub->current->pins = 1;
	pthread_mutex_init(&hub->lock, NULL);
	pthread_cond_init(&hub->list_freed, NULL);
	hub->ops = ops;
	hub->max_clients = max_clients;
	hub->quota = quota;
	return hub;
}

void hub_destroy(struct hub *hub)
{
	if (!hub)
		return;
	free(hub->current);
	pthread_cond_destroy(&hub->list_freed);
	pthread_mutex_destroy(&hub->lock);
	free(hub);
}

/* A slot of the quota shared with other hubs, if any: taken with the hub's
 * lock held, but the quota is an atomic, so no lock of another hub is. */
static bool quota_take(struct hub_quota *quota)
{
	if (!quota)
		return true;
	size_t n = atomic_load_explicit(&quota->members, memory_order_relaxed);
	do {
		if (n >= quota->max)
			return false;
	} while (!atomic_compare_exchange_weak(&quota->members, &n, n + 1));
	return true;
}

static void quota_give_back(struct hub_quota *quota)
{
	if (quota)
		atomic_fetch_sub(&quota->members, 1);
}

struct hub_client *hub_join(struct hub *hub, void *endpoint)
{
	struct hub_client *client = calloc(1, sizeof(*client));
	if (!client)
		return NULL;
	client->endpoint = endpoint;

	pthread_mutex_lock(&hub->lock);
	const struct member_list *cur = hub->current;
	struct member_list *next = NULL;
	if (!hub->closing && cur->count < hub->max_clients && quota_take(hub->quota)) {
		next = list_alloc(cur->count + 1);
		if (!next)
			quota_give_back(hub->quota);
	}
	if (next) {
		// NOLINTNEXTLINE(bugprone-sizeof-expression): an array of pointers
		memcpy(next->items, cur->items, cur->count * sizeof(cur->items[0]));
		next->items[cur->count] = client;
		client->member = true;
		members_replace_locked(hub, next);
	}
	pthread_mutex_unlock(&hub->lock);

	if (!next) {
		free(client);
		return NULL;
	}
	return client;
}

/* Caller holds the lock. Makes the current list one without client; while
 * memory for it is short, waits and retries rather than leave a removed
 * client named by the current list forever. The wait drops and retakes the
 * lock: the current list may change meanwhile, and is read again after. */
static void members_without_locked(struct hub *hub, const struct hub_client *client)
{
	const struct member_list *cur;
	struct member_list *next;
	for (;;) {
		cur = hub->current;
		next = list_alloc(cur->count - 1);
		if (next)
			break;
		struct timespec retry = clock_wait_deadline_ms(10);
		pthread_cond_timedwait(&hub->list_freed, &hub->lock, &retry);
	}
	size_t n = 0;
	for (size_t i = 0; i < cur->count && n < next->count; i++) {
		if (cur->items[i] != client)
			next->items[n++] = cur->items[i];
	}
	next->count = n;
	members_replace_locked(hub, next);
}

/* Caller holds the lock. */
static void remove_locked(struct hub *hub, struct hub_client *client, enum disconnect_reason reason)
{
	if (client->reason == DISCONNECT_NONE)
		client->reason = reason;
	if (!client->member)
		return;
	client->member = false;
	atomic_store(&client->removed, true);
	members_without_locked(hub, client);
	quota_give_back(hub->quota);
}

void hub_remove(struct hub *hub, struct hub_client *client, enum disconnect_reason reason)
{
	pthread_mutex_lock(&hub->lock);
	remove_locked(hub, client, reason);
	while (client->lists > 0)
		pthread_cond_wait(&hub->list_freed, &hub->lock);
	pthread_mutex_unlock(&hub->lock);
}

enum disconnect_reason hub_leave(struct hub *hub, struct hub_client *client,
                                 enum disconnect_reason fallback)
{
	hub_remove(hub, client, fallback);
	/* Nothing names the client any more: no lock needed to read or free. */
	enum disconnect_reason reason = client->reason;
	free(client);
	return reason;
}

/* NULL when the hub is closing: nothing may follow the close frames. */
static struct member_list *pin_current(struct hub *hub)
{
	pthread_mutex_lock(&hub->lock);
	struct member_list *list = hub->closing ? NULL : hub->current;
	if (list)
		list->pins++;
	pthread_mutex_unlock(&hub->lock);
	return list;
}

static void unpin(struct hub *hub, struct member_list *list)
{
	pthread_mutex_lock(&hub->lock);
	list_unpin_locked(hub, list);
	pthread_mutex_unlock(&hub->lock);
}

size_t hub_broadcast(struct hub *hub, const struct hub_client *sender, bool echo,
                     struct shared_frame *frame, size_t *slow)
{
	*slow = 0;
	struct member_list *list = pin_current(hub);
	if (!list)
		return 0;
	size_t queued = 0;
	for (size_t i = 0; i < list->count; i++) {
		struct hub_client *c = list->items[i];
		if ((c == sender && !echo) ||
		    atomic_load_explicit(&c->removed, memory_order_relaxed))
			continue;
		if (hub->ops->deliver(c->endpoint, frame) == 0) {
			queued++;
			continue;
		}
		(*slow)++;
		pthread_mutex_lock(&hub->lock);
		remove_locked(hub, c, DISCONNECT_SLOW_CONSUMER);
		pthread_mutex_unlock(&hub->lock);
	}
	unpin(hub, list);
	return queued;
}

void hub_drop(struct hub *hub, struct hub_client *client, enum disconnect_reason reason)
{
	pthread_mutex_lock(&hub->lock);
	remove_locked(hub, client, reason);
	pthread_mutex_unlock(&hub->lock);
}

size_t hub_close_all(struct hub *hub, const void *frame, size_t len, enum disconnect_reason reason)
{
	pthread_mutex_lock(&hub->lock);
	/* In the same critical section as the pin: no broadcast starts after
	 * it, and the close frames are the last thing each member is sent. */
	hub->closing = true;
	struct member_list *list = hub->current;
	list->pins++;
	for (size_t i = 0; i < list->count; i++) {
		if (list->items[i]->reason == DISCONNECT_NONE)
			list->items[i]->reason = reason;
	}
	pthread_mutex_unlock(&hub->lock);

	for (size_t i = 0; i < list->count; i++)
		hub->ops->close(list->items[i]->endpoint, frame, len);
	size_t n = list->count;
	unpin(hub, list);
	return n;
}

void hub_abort_all(struct hub *hub)
{
	pthread_mutex_lock(&hub->lock);
	for (size_t i = 0; i < hub->current->count; i++)
		hub->ops->abort(hub->current->items[i]->endpoint);
	pthread_mutex_unlock(&hub->lock);
}

size_t hub_member_count(struct hub *hub)
{
	pthread_mutex_lock(&hub->lock);
	size_t n = hub->current->count;
	pthread_mutex_unlock(&hub->lock);
	return n;
}
