#include "rooms.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stats.h"

/* Chains per bucket: at most this many buckets, fewer for a small
 * max_rooms. */
#define BUCKETS_MAX 65536u

struct room {
	struct room *next; /* in its bucket's chain */
	struct hub *hub;
	unsigned refs;    /* members and joiners, plus broadcasts by name; registry lock */
	uint64_t life;    /* which life of this name: set once, under the registry lock */
	uint64_t numbers; /* rooms_next_number: its callers serialize */
	char name[ROOM_NAME_MAX + 1];
};

struct rooms {
	pthread_mutex_t lock; /* the registry: buckets, count, refs, closing */
	struct rooms_limits limits;
	const struct hub_endpoint_ops *ops;
	const struct rooms_observer *observer;
	struct hub_quota quota;
	struct room **buckets;
	size_t bucket_mask;
	size_t count;
	uint64_t lives; /* rooms made so far: the last life handed out */
	bool closing;
	/* Rooms off: the one room, never in the buckets, never forgotten. */
	struct room *everyone;
	atomic_uint_fast64_t joins;
};

static size_t bucket_of(const struct rooms *rooms, const char *name)
{
	/* FNV-1a: names are short, and only this process chooses the table. */
	uint32_t h = 2166136261u;
	for (const char *p = name; *p; p++)
		h = (h ^ (uint8_t)*p) * 16777619u;
	return h & rooms->bucket_mask;
}

static struct room *room_new(struct rooms *rooms, const char *name)
{
	struct room *room = calloc(1, sizeof(*room));
	if (!room)
		return NULL;
	uint32_t max =
	    rooms->limits.max_members ? rooms->limits.max_members : rooms->limits.max_clients;
	room->hub = hub_create(max, rooms->ops, &rooms->quota);
	if (!room->hub) {
		free(room);
		return NULL;
	}
	snprintf(room->name, sizeof(room->name), "%s", name);
	room->life = ++rooms->lives;
	return room;
}

static void room_free(struct room *room)
{
	if (!room)
		return;
	hub_destroy(room->hub);
	free(room);
}

struct rooms *rooms_create(const struct rooms_limits *limits, const struct hub_endpoint_ops *ops)
{
	struct rooms *rooms = calloc(1, sizeof(*rooms));
	if (!rooms)
		return NULL;
	rooms->limits = *limits;
	rooms->ops = ops;
	rooms->quota.max = limits->max_clients;
	atomic_init(&rooms->quota.members, 0);
	size_t buckets = 16;
	while (buckets < limits->max_rooms && buckets < BUCKETS_MAX)
		buckets *= 2;
	rooms->bucket_mask = buckets - 1;
	/* The table holds pointers: the element size is a pointer's on purpose. */
	// NOLINTNEXTLINE(bugprone-sizeof-expression)
	rooms->buckets = calloc(buckets, sizeof(*rooms->buckets));
	if (!limits->named) {
		rooms->everyone = room_new(rooms, "");
		if (rooms->everyone)
			rooms->everyone->refs = 1;
	}
	if (!rooms->buckets || (!limits->named && !rooms->everyone)) {
		room_free(rooms->everyone);
		free(rooms->buckets);
		free(rooms);
		return NULL;
	}
	pthread_mutex_init(&rooms->lock, NULL);
	return rooms;
}

void rooms_destroy(struct rooms *rooms)
{
	if (!rooms)
		return;
	/* Every client left, so every named room is gone already. */
	room_free(rooms->everyone);
	free(rooms->buckets);
	pthread_mutex_destroy(&rooms->lock);
	free(rooms);
}

void rooms_set_observer(struct rooms *rooms, const struct rooms_observer *observer)
{
	pthread_mutex_lock(&rooms->lock);
	rooms->observer = observer;
	pthread_mutex_unlock(&rooms->lock);
}

/* Caller holds the registry lock. */
static struct room *find_locked(struct rooms *rooms, const char *name)
{
	if (rooms->everyone)
		return rooms->everyone;
	for (struct room *r = rooms->buckets[bucket_of(rooms, name)]; r; r = r->next)
		if (strcmp(r->name, name) == 0)
			return r;
	return NULL;
}

/* Caller holds the registry lock. */
static bool room_full_locked(const struct rooms *rooms, struct room *room)
{
	return rooms->limits.max_members &&
	       hub_member_count(room->hub) >= rooms->limits.max_members;
}

enum rooms_refusal rooms_admits(struct rooms *rooms, const char *name)
{
	pthread_mutex_lock(&rooms->lock);
	struct room *room = find_locked(rooms, name);
	enum rooms_refusal verdict = ROOMS_ADMITTED;
	if (!room && rooms->count >= rooms->limits.max_rooms)
		verdict = ROOMS_MAX_ROOMS;
	else if (room && room_full_locked(rooms, room))
		verdict = ROOMS_MAX_MEMBERS;
	pthread_mutex_unlock(&rooms->lock);
	return verdict;
}

/* Finds or creates room name and takes a reference to it; NULL with
 * *refusal set when it cannot. */
static struct room *room_get(struct rooms *rooms, const char *name, enum rooms_refusal *refusal)
{
	pthread_mutex_lock(&rooms->lock);
	struct room *room = find_locked(rooms, name);
	if (!room && !rooms->closing && rooms->count >= rooms->limits.max_rooms) {
		*refusal = ROOMS_MAX_ROOMS;
	} else if (!room) {
		/* Closing, or out of memory: ROOMS_FULL. */
		room = rooms->closing ? NULL : room_new(rooms, name);
		if (room) {
			size_t b = bucket_of(rooms, name);
			room->next = rooms->buckets[b];
			rooms->buckets[b] = room;
			rooms->count++;
			if (rooms->observer)
				rooms->observer->appeared(rooms->observer->ctx, room->name);
		}
	}
	if (room)
		room->refs++;
	pthread_mutex_unlock(&rooms->lock);
	return room;
}

/* Drops a reference; the last one forgets the room. */
static void room_put(struct rooms *rooms, struct room *room)
{
	pthread_mutex_lock(&rooms->lock);
	bool last = --room->refs == 0;
	if (last) {
		struct room **p = &rooms->buckets[bucket_of(rooms, room->name)];
		while (*p != room)
			p = &(*p)->next;
		*p = room->next;
		rooms->count--;
		if (rooms->observer)
			rooms->observer->gone(rooms->observer->ctx, room->name);
	}
	pthread_mutex_unlock(&rooms->lock);
	/* Nothing names it any more: no member, no broadcast. */
	if (last)
		room_free(room);
}

enum rooms_refusal rooms_join(struct rooms *rooms, const char *name, void *endpoint,
                              struct room **room_out, struct hub_client **client_out)
{
	enum rooms_refusal refusal = ROOMS_FULL;
	struct room *room = room_get(rooms, name, &refusal);
	if (!room)
		return refusal;
	struct hub_client *client = hub_join(room->hub, endpoint);
	if (!client) {
		refusal = ROOMS_FULL;
		pthread_mutex_lock(&rooms->lock);
		if (room_full_locked(rooms, room))
			refusal = ROOMS_MAX_MEMBERS;
		pthread_mutex_unlock(&rooms->lock);
		room_put(rooms, room);
		return refusal;
	}
	stats_add(&rooms->joins, 1);
	*room_out = room;
	*client_out = client;
	return ROOMS_ADMITTED;
}

enum disconnect_reason rooms_leave(struct rooms *rooms, struct room *room,
                                   struct hub_client *client, enum disconnect_reason fallback)
{
	enum disconnect_reason reason = hub_leave(room->hub, client, fallback);
	room_put(rooms, room);
	return reason;
}

struct hub *rooms_hub(const struct room *room)
{
	return room->hub;
}

const char *rooms_name(const struct room *room)
{
	return room->name;
}

bool rooms_broadcast_to(struct rooms *rooms, const char *name, struct shared_frame *frame,
                        size_t *slow)
{
	*slow = 0;
	pthread_mutex_lock(&rooms->lock);
	struct room *room = find_locked(rooms, name);
	if (room)
		room->refs++;
	pthread_mutex_unlock(&rooms->lock);
	if (!room)
		return false;
	hub_broadcast(room->hub, NULL, true, frame, slow);
	room_put(rooms, room);
	return true;
}

enum rooms_delivery rooms_broadcast_checked(struct rooms *rooms, const char *name,
                                            bool (*check)(void *ctx, uint64_t life), void *ctx,
                                            struct shared_frame *frame, size_t *slow)
{
	*slow = 0;
	pthread_mutex_lock(&rooms->lock);
	struct room *room = find_locked(rooms, name);
	if (room)
		room->refs++;
	pthread_mutex_unlock(&rooms->lock);
	if (!room)
		return ROOMS_NO_ROOM;
	/* The room is pinned: its life cannot end before the broadcast. */
	bool deliver = check(ctx, room->life);
	if (deliver)
		hub_broadcast(room->hub, NULL, true, frame, slow);
	room_put(rooms, room);
	return deliver ? ROOMS_DELIVERED : ROOMS_DECLINED;
}

uint64_t rooms_life(const struct room *room)
{
	return room->life;
}

uint64_t rooms_next_number(struct room *room)
{
	return ++room->numbers;
}

/* Caller holds the registry lock. Calls each(room, arg) for every room. */
static void for_each_locked(struct rooms *rooms, void (*each)(struct room *, void *), void *arg)
{
	if (rooms->everyone) {
		each(rooms->everyone, arg);
		return;
	}
	for (size_t b = 0; b <= rooms->bucket_mask; b++)
		for (struct room *r = rooms->buckets[b]; r; r = r->next)
			each(r, arg);
}

struct close_args {
	const void *frame;
	size_t len;
	enum disconnect_reason reason;
	size_t closed;
};

static void close_one(struct room *room, void *arg)
{
	struct close_args *a = arg;
	a->closed += hub_close_all(room->hub, a->frame, a->len, a->reason);
}

size_t rooms_close_all(struct rooms *rooms, const void *frame, size_t len,
                       enum disconnect_reason reason)
{
	struct close_args args = {.frame = frame, .len = len, .reason = reason};
	/* Under the registry lock: no room appears or goes meanwhile, and
	 * none is created after it (closing). Each hub's close only queues. */
	pthread_mutex_lock(&rooms->lock);
	rooms->closing = true;
	for_each_locked(rooms, close_one, &args);
	pthread_mutex_unlock(&rooms->lock);
	return args.closed;
}

static void abort_one(struct room *room, void *arg)
{
	(void)arg;
	hub_abort_all(room->hub);
}

void rooms_abort_all(struct rooms *rooms)
{
	pthread_mutex_lock(&rooms->lock);
	for_each_locked(rooms, abort_one, NULL);
	pthread_mutex_unlock(&rooms->lock);
}

size_t rooms_client_count(struct rooms *rooms)
{
	return atomic_load_explicit(&rooms->quota.members, memory_order_relaxed);
}

size_t rooms_count(struct rooms *rooms)
{
	if (rooms->everyone)
		return 1;
	pthread_mutex_lock(&rooms->lock);
	size_t n = rooms->count;
	pthread_mutex_unlock(&rooms->lock);
	return n;
}

uint64_t rooms_joins(struct rooms *rooms)
{
	return stats_read(&rooms->joins);
}

static void sample_one(struct room *room, void *arg)
{
	histogram_observe(arg, hub_member_count(room->hub));
}

void rooms_sample_members(struct rooms *rooms, struct histogram *h)
{
	pthread_mutex_lock(&rooms->lock);
	for_each_locked(rooms, sample_one, h);
	pthread_mutex_unlock(&rooms->lock);
}
