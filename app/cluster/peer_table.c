#include "peer_table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

/* Buckets: at most this many, fewer for a small capacity. */
#define BUCKETS_MAX 65536u

struct peer {
	struct peer *chain;       /* in its bucket */
	struct peer *older;       /* towards the least recently heard */
	struct peer *newer;       /* towards the most recently heard */
	uint64_t epoch, last_seq; /* the last message's numbers */
	uint64_t local_life;      /* the life of our room it was heard in */
	uint64_t heard_ms;
	uint32_t hash;
	uint8_t id_len, room_len;
	char key[]; /* the node id, then the room */
};

struct peer_table {
	size_t capacity, count;
	uint64_t idle_ms;
	struct peer *newest, *oldest;
	size_t bucket_mask;
	struct peer **buckets;
};

struct peer_table *peer_table_create(size_t capacity, uint64_t idle_ms)
{
	if (capacity == 0)
		return NULL;
	struct peer_table *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	size_t buckets = 16;
	while (buckets < capacity && buckets < BUCKETS_MAX)
		buckets *= 2;
	/* The table holds pointers: the element size is a pointer's on purpose. */
	// NOLINTNEXTLINE(bugprone-sizeof-expression)
	t->buckets = calloc(buckets, sizeof(*t->buckets));
	if (!t->buckets) {
		free(t);
		return NULL;
	}
	t->capacity = capacity;
	t->idle_ms = idle_ms;
	t->bucket_mask = buckets - 1;
	return t;
}

void peer_table_destroy(struct peer_table *t)
{
	if (!t)
		return;
	for (struct peer *p = t->newest, *next; p; p = next) {
		next = p->older;
		free(p);
	}
	free(t->buckets);
	free(t);
}

size_t peer_table_count(const struct peer_table *t)
{
	return t->count;
}

static uint32_t hash_of(const struct peer_message *m)
{
	/* FNV-1a over the id, a separator no id has, and the room. */
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < m->node_id_len; i++)
		h = (h ^ (uint8_t)m->node_id[i]) * 16777619u;
	h = (h ^ 0xffu) * 16777619u;
	for (size_t i = 0; i < m->room_len; i++)
		h = (h ^ (uint8_t)m->room[i]) * 16777619u;
	return h;
}

static void unlink_age(struct peer_table *t, struct peer *p)
{
	if (p->newer)
		p->newer->older = p->older;
	else
		t->newest = p->older;
	if (p->older)
		p->older->newer = p->newer;
	else
		t->oldest = p->newer;
	p->newer = p->older = NULL;
}

static void link_newest(struct peer_table *t, struct peer *p)
{
	p->older = t->newest;
	p->newer = NULL;
	if (t->newest)
		t->newest->newer = p;
	else
		t->oldest = p;
	t->newest = p;
}

/* Drops the least recently heard entry, which exists. */
static void forget_oldest(struct peer_table *t)
{
	struct peer *p = t->oldest;
	t->oldest = p->newer;
	if (t->oldest)
		t->oldest->older = NULL;
	else
		t->newest = NULL;
	struct peer **link = &t->buckets[p->hash & t->bucket_mask];
	while (*link != p)
		link = &(*link)->chain;
	*link = p->chain;
	t->count--;
	free(p);
}

static struct peer *find(const struct peer_table *t, const struct peer_message *m, uint32_t hash)
{
	for (struct peer *p = t->buckets[hash & t->bucket_mask]; p; p = p->chain)
		if (p->hash == hash && p->id_len == m->node_id_len && p->room_len == m->room_len &&
		    memcmp(p->key, m->node_id, m->node_id_len) == 0 &&
		    (m->room_len == 0 || memcmp(p->key + p->id_len, m->room, m->room_len) == 0))
			return p;
	return NULL;
}

/* Entries not heard from for idle_ms are dropped, oldest first. */
static void expire(struct peer_table *t, uint64_t now_ms)
{
	while (t->idle_ms && t->oldest && now_ms - t->oldest->heard_ms > t->idle_ms)
		forget_oldest(t);
}

/* A new entry for m, or NULL when out of memory. */
static struct peer *add(struct peer_table *t, const struct peer_message *m, uint32_t hash)
{
	if (t->count >= t->capacity)
		forget_oldest(t);
	struct peer *p = malloc(sizeof(*p) + m->node_id_len + m->room_len);
	if (!p)
		return NULL;
	memset(p, 0, sizeof(*p));
	p->hash = hash;
	p->id_len = (uint8_t)m->node_id_len;
	p->room_len = (uint8_t)m->room_len;
	memcpy(p->key, m->node_id, m->node_id_len);
	if (m->room_len)
		memcpy(p->key + m->node_id_len, m->room, m->room_len);
	struct peer **bucket = &t->buckets[hash & t->bucket_mask];
	p->chain = *bucket;
	*bucket = p;
	link_newest(t, p);
	t->count++;
	return p;
}

static enum peer_verdict within_epoch(struct peer *p, uint64_t seq, uint64_t *missed)
{
	enum peer_verdict verdict;
	if (seq > p->last_seq) {
		uint64_t ahead = seq - p->last_seq;
		if (ahead == 1) {
			verdict = PEER_NEXT;
		} else if (ahead <= PEER_SEQ_WINDOW) {
			verdict = PEER_GAP;
			*missed = ahead - 1;
		} else {
			verdict = PEER_RESTART;
		}
	} else if (p->last_seq - seq < PEER_SEQ_WINDOW) {
		return PEER_DUPLICATE;
	} else {
		verdict = PEER_RESTART;
	}
	p->last_seq = seq;
	return verdict;
}

enum peer_verdict peer_table_observe(struct peer_table *t, const struct peer_message *msg,
                                     uint64_t local_life, uint64_t now_ms, uint64_t *missed)
{
	struct peer_message m = *msg;
	if (m.node_id_len > 255)
		m.node_id_len = 255;
	if (m.room_len > 255)
		m.room_len = 255;
	*missed = 0;
	expire(t, now_ms);
	uint32_t hash = hash_of(&m);
	struct peer *p = find(t, &m, hash);
	if (p) {
		unlink_age(t, p);
		link_newest(t, p);
	} else {
		p = add(t, &m, hash);
		if (!p)
			return PEER_FIRST;      /* out of memory: deliver, remember nothing */
		p->local_life = local_life - 1; /* never equal: FIRST below */
	}
	p->heard_ms = now_ms;
	if (p->local_life != local_life) {
		p->local_life = local_life;
		p->epoch = m.epoch;
		p->last_seq = m.seq;
		return PEER_FIRST;
	}
	if (m.epoch != p->epoch) {
		if (m.epoch < p->epoch && p->epoch - m.epoch < PEER_SEQ_WINDOW)
			return PEER_DUPLICATE; /* an earlier life's message, again */
		p->epoch = m.epoch;
		p->last_seq = m.seq;
		return PEER_RESTART;
	}
	return within_epoch(p, m.seq, missed);
}
