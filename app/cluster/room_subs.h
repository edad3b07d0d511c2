/* The rooms a node wants the broker's traffic of, between the rooms'
 * observer (a room appears here: want it; it is gone: stop) and the
 * backend's broker thread, which subscribes and unsubscribes in batches.
 *
 * Each name has two states: wanted, set by the observer, and told, what
 * the broker thread was last given. The broker thread takes only the
 * names whose two states differ, so a room that goes and comes back
 * before the broker thread looked costs nothing, and a join never waits
 * for the broker.
 *
 * Threads: room_subs_want runs on any thread (the observer's: a reader
 * under the rooms registry lock) and takes only this module's mutex, a
 * leaf; it may call the waker, which must not block. Everything else is
 * the broker thread's. */
#ifndef WSRELAY_ROOM_SUBS_H
#define WSRELAY_ROOM_SUBS_H

#include <stdbool.h>
#include <stddef.h>

#include "room_name.h"

struct room_subs;

/* One change for the broker thread. handle is the backend's own word for
 * the subscription (NATS: its natsSubscription), kept with the name: 0 on
 * a subscribe (set it with room_subs_set_handle), the one set on an
 * unsubscribe. */
struct room_sub_change {
	char name[ROOM_NAME_MAX + 1];
	bool subscribe;
	void *handle;
	struct room_sub *entry; /* for room_subs_set_handle; NULL on an unsubscribe */
};

/* NULL when out of memory. */
struct room_subs *room_subs_create(void);
/* After the broker thread ended; handles are the backend's to free first
 * (room_subs_each_handle). */
void room_subs_destroy(struct room_subs *s);

/* Called (from room_subs_want, under no lock of ours) when changes wait and
 * none did before; must not block. Set before the first room appears. */
void room_subs_set_waker(struct room_subs *s, void (*wake)(void *ctx), void *ctx);

/* The observer: room name appeared here (true) or is gone (false). */
void room_subs_want(struct room_subs *s, const char *name, bool wanted);

/* Broker thread: up to cap changes into out; how many. */
size_t room_subs_take(struct room_subs *s, struct room_sub_change *out, size_t cap);

/* Broker thread: remembers the backend's handle of a subscribe just made. */
void room_subs_set_handle(struct room_sub *entry, void *handle);

/* Broker thread, after a new connection that has no subscription yet (Redis
 * after a reconnect): every wanted name counts as told, the changes waiting
 * are void, and each(ctx, name) is called for every wanted name, under the
 * module's mutex (it may not call into the module). */
void room_subs_resync(struct room_subs *s, void (*each)(void *ctx, const char *name), void *ctx);

/* Broker thread, at stop: each(ctx, handle) for every handle set. */
void room_subs_each_handle(struct room_subs *s, void (*each)(void *ctx, void *handle), void *ctx);

/* Names wanted now. */
size_t room_subs_wanted(struct room_subs *s);

#endif
