/* A chained hash table of addresses under one mutex. An entry lives while
 * its address has clients connected or its handshake bucket is not yet
 * full again; entries are swept from the chain a lookup walks, so memory
 * follows the addresses active in the last few seconds, not all ever
 * seen. */
#include "address_limits.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "token_bucket.h"

#define BUCKETS 4096u

struct entry {
	struct entry *next;
	struct net_address key;
	uint32_t connections;
	struct token_bucket handshakes;
};

struct address_limits {
	pthread_mutex_t mutex;
	uint32_t max_connections;
	uint32_t handshakes_per_second;
	size_t tracked;
	struct entry *chains[BUCKETS];
};

struct address_limits *address_limits_create(uint32_t max_connections,
                                             uint32_t handshakes_per_second)
{
	struct address_limits *al = calloc(1, sizeof(*al));
	if (!al)
		return NULL;
	pthread_mutex_init(&al->mutex, NULL);
	al->max_connections = max_connections;
	al->handshakes_per_second = handshakes_per_second;
	return al;
}

void address_limits_destroy(struct address_limits *al)
{
	if (!al)
		return;
	for (size_t i = 0; i < BUCKETS; i++) {
		struct entry *e = al->chains[i];
		while (e) {
			struct entry *next = e->next;
			free(e);
			e = next;
		}
	}
	pthread_mutex_destroy(&al->mutex);
	free(al);
}

/* FNV-1a over the 16 bytes. */
static size_t chain_of(const struct net_address *key)
{
	uint32_t h = 2166136261u;
	for (size_t i = 0; i < sizeof(key->bytes); i++)
		h = (h ^ key->bytes[i]) * 16777619u;
	return h % BUCKETS;
}

static bool forgettable(const struct address_limits *al, const struct entry *e, clock_mono_t now)
{
	return e->connections == 0 &&
	       (al->handshakes_per_second == 0 || token_bucket_full(&e->handshakes, now));
}

/* key's entry, made if create and missing (NULL when out of memory or not
 * there); frees forgettable entries met on the way. */
static struct entry *find_locked(struct address_limits *al, const struct net_address *key,
                                 bool create, clock_mono_t now)
{
	struct entry **link = &al->chains[chain_of(key)];
	struct entry *found = NULL;
	while (*link) {
		struct entry *e = *link;
		if (memcmp(&e->key, key, sizeof(*key)) == 0) {
			found = e;
		} else if (forgettable(al, e, now)) {
			*link = e->next;
			free(e);
			al->tracked--;
			continue;
		}
		link = &e->next;
	}
	if (found || !create)
		return found;
	found = calloc(1, sizeof(*found));
	if (!found)
		return NULL;
	found->key = *key;
	double rate = al->handshakes_per_second;
	token_bucket_init(&found->handshakes, rate, 2.0 * rate, now);
	found->next = al->chains[chain_of(key)];
	al->chains[chain_of(key)] = found;
	al->tracked++;
	return found;
}

enum address_verdict address_limits_check(struct address_limits *al, const struct net_address *key,
                                          unsigned *retry_after_s)
{
	if (al->max_connections == 0 && al->handshakes_per_second == 0)
		return ADDRESS_OK;
	clock_mono_t now = clock_now();
	enum address_verdict verdict = ADDRESS_OK;
	pthread_mutex_lock(&al->mutex);
	struct entry *e = find_locked(al, key, true, now);
	/* Out of memory: the limits cannot be kept, the global one still is. */
	if (e && al->handshakes_per_second > 0 && !token_bucket_take(&e->handshakes, 1.0, now)) {
		double wait = token_bucket_wait_seconds(&e->handshakes, now);
		unsigned whole = (unsigned)wait;
		if ((double)whole < wait)
			whole++;
		*retry_after_s = whole ? whole : 1;
		verdict = ADDRESS_TOO_MANY_HANDSHAKES;
	} else if (e && al->max_connections > 0 && e->connections >= al->max_connections) {
		verdict = ADDRESS_TOO_MANY_CONNECTIONS;
	}
	pthread_mutex_unlock(&al->mutex);
	return verdict;
}

bool address_limits_acquire(struct address_limits *al, const struct net_address *key)
{
	if (al->max_connections == 0)
		return true;
	bool ok = false;
	pthread_mutex_lock(&al->mutex);
	struct entry *e = find_locked(al, key, true, clock_now());
	if (e && e->connections < al->max_connections) {
		e->connections++;
		ok = true;
	}
	pthread_mutex_unlock(&al->mutex);
	return ok;
}

void address_limits_release(struct address_limits *al, const struct net_address *key)
{
	if (al->max_connections == 0)
		return;
	pthread_mutex_lock(&al->mutex);
	struct entry *e = find_locked(al, key, false, clock_now());
	if (e && e->connections > 0)
		e->connections--;
	pthread_mutex_unlock(&al->mutex);
}

size_t address_limits_tracked(struct address_limits *al)
{
	pthread_mutex_lock(&al->mutex);
	size_t n = al->tracked;
	pthread_mutex_unlock(&al->mutex);
	return n;
}
