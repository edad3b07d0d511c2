#include "room_subs.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

#define BUCKETS 4096u

struct room_sub {
	struct room_sub *chain; /* in its bucket */
	struct room_sub *dirty; /* in the list of changes waiting */
	bool wanted, told, queued;
	void *handle; /* the broker thread's */
	char name[ROOM_NAME_MAX + 1];
};

struct room_subs {
	pthread_mutex_t lock; /* everything below but handles */
	struct room_sub *buckets[BUCKETS];
	struct room_sub *dirty_head, **dirty_tail;
	size_t wanted;
	void (*wake)(void *ctx);
	void *wake_ctx;
};

static size_t bucket_of(const char *name)
{
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h % BUCKETS;
}

struct room_subs *room_subs_create(void)
{
	struct room_subs *s = calloc(1, sizeof(*s));
	if (!s)
		return NULL;
	pthread_mutex_init(&s->lock, NULL);
	s->dirty_tail = &s->dirty_head;
	return s;
}

void room_subs_destroy(struct room_subs *s)
{
	if (!s)
		return;
	for (size_t b = 0; b < BUCKETS; b++)
		for (struct room_sub *e = s->buckets[b], *next; e; e = next) {
			next = e->chain;
			free(e);
		}
	pthread_mutex_destroy(&s->lock);
	free(s);
}

void room_subs_set_waker(struct room_subs *s, void (*wake)(void *ctx), void *ctx)
{
	pthread_mutex_lock(&s->lock);
	s->wake = wake;
	s->wake_ctx = ctx;
	pthread_mutex_unlock(&s->lock);
}

/* Caller holds the lock. */
static struct room_sub **find_locked(struct room_subs *s, const char *name)
{
	struct room_sub **link = &s->buckets[bucket_of(name)];
	while (*link && strcmp((*link)->name, name) != 0)
		link = &(*link)->chain;
	return link;
}

void room_subs_want(struct room_subs *s, const char *name, bool wanted)
{
	bool wake = false;
	pthread_mutex_lock(&s->lock);
	struct room_sub **link = find_locked(s, name);
	struct room_sub *e = *link;
	if (!e && wanted) {
		e = calloc(1, sizeof(*e));
		if (!e) {
			/* The room then gets no traffic from other nodes; rare
			 * enough to say so and go on. */
			pthread_mutex_unlock(&s->lock);
			log_error(
			    "cluster: out of memory: room %s gets no messages from other nodes",
			    name);
			return;
		}
		snprintf(e->name, sizeof(e->name), "%s", name);
		*link = e;
	}
	if (e && e->wanted != wanted) {
		e->wanted = wanted;
		s->wanted += wanted ? 1 : (size_t)-1;
		if (!e->queued) {
			e->queued = true;
			wake = !s->dirty_head;
			*s->dirty_tail = e;
			s->dirty_tail = &e->dirty;
		}
	}
	void (*waker)(void *) = s->wake;
	void *ctx = s->wake_ctx;
	pthread_mutex_unlock(&s->lock);
	if (wake && waker)
		waker(ctx);
}

/* Caller holds the lock. Frees e when nothing is wanted nor told of it. */
static void drop_if_idle_locked(struct room_subs *s, struct room_sub *e)
{
	if (e->wanted || e->told || e->queued)
		return;
	struct room_sub **link = find_locked(s, e->name);
	*link = e->chain;
	free(e);
}

size_t room_subs_take(struct room_subs *s, struct room_sub_change *out, size_t cap)
{
	size_t n = 0;
	pthread_mutex_lock(&s->lock);
	while (n < cap && s->dirty_head) {
		struct room_sub *e = s->dirty_head;
		s->dirty_head = e->dirty;
		if (!s->dirty_head)
			s->dirty_tail = &s->dirty_head;
		e->dirty = NULL;
		e->queued = false;
		if (e->wanted != e->told) {
			struct room_sub_change *c = &out[n++];
			memcpy(c->name, e->name, sizeof(c->name));
			c->subscribe = e->wanted;
			c->handle = e->handle;
			c->entry = e->wanted ? e : NULL;
			e->handle = NULL;
			e->told = e->wanted;
		}
		drop_if_idle_locked(s, e);
	}
	pthread_mutex_unlock(&s->lock);
	return n;
}

void room_subs_set_handle(struct room_sub *entry, void *handle)
{
	entry->handle = handle;
}

void room_subs_resync(struct room_subs *s, void (*each)(void *ctx, const char *name), void *ctx)
{
	pthread_mutex_lock(&s->lock);
	while (s->dirty_head) {
		struct room_sub *e = s->dirty_head;
		s->dirty_head = e->dirty;
		e->dirty = NULL;
		e->queued = false;
	}
	s->dirty_tail = &s->dirty_head;
	for (size_t b = 0; b < BUCKETS; b++) {
		for (struct room_sub *e = s->buckets[b], *next; e; e = next) {
			next = e->chain;
			e->told = e->wanted;
			if (e->wanted)
				each(ctx, e->name);
			else
				drop_if_idle_locked(s, e);
		}
	}
	pthread_mutex_unlock(&s->lock);
}

void room_subs_each_handle(struct room_subs *s, void (*each)(void *ctx, void *handle), void *ctx)
{
	pthread_mutex_lock(&s->lock);
	for (size_t b = 0; b < BUCKETS; b++)
		for (struct room_sub *e = s->buckets[b]; e; e = e->chain)
			if (e->handle) {
				each(ctx, e->handle);
				e->handle = NULL;
			}
	pthread_mutex_unlock(&s->lock);
}

size_t room_subs_wanted(struct room_subs *s)
{
	pthread_mutex_lock(&s->lock);
	size_t n = s->wanted;
	pthread_mutex_unlock(&s->lock);
	return n;
}
