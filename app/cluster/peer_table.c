#include "peer_table.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct peer {
	uint8_t id_len;
	char id[255];
	uint64_t last_seq;
	uint64_t last_heard; /* the table's clock at the last message */
};

/* A flat array searched linearly: a cluster has a handful of nodes, and the
 * search touches only the few peers that exist. */
struct peer_table {
	size_t capacity;
	size_t count;
	uint64_t clock;
	struct peer peers[];
};

struct peer_table *peer_table_create(size_t capacity)
{
	if (capacity == 0)
		return NULL;
	struct peer_table *t = calloc(1, sizeof(*t) + capacity * sizeof(t->peers[0]));
	if (t)
		t->capacity = capacity;
	return t;
}

void peer_table_destroy(struct peer_table *t)
{
	free(t);
}

size_t peer_table_count(const struct peer_table *t)
{
	return t->count;
}

static struct peer *find_or_add(struct peer_table *t, const char *id, size_t id_len, bool *added)
{
	*added = false;
	for (size_t i = 0; i < t->count; i++) {
		struct peer *p = &t->peers[i];
		if (p->id_len == id_len && memcmp(p->id, id, id_len) == 0)
			return p;
	}
	struct peer *slot;
	if (t->count < t->capacity) {
		slot = &t->peers[t->count++];
	} else {
		slot = &t->peers[0];
		for (size_t i = 1; i < t->count; i++)
			if (t->peers[i].last_heard < slot->last_heard)
				slot = &t->peers[i];
	}
	slot->id_len = (uint8_t)id_len;
	memcpy(slot->id, id, id_len);
	*added = true;
	return slot;
}

enum peer_verdict peer_table_observe(struct peer_table *t, const char *id, size_t id_len,
                                     uint64_t seq, uint64_t *missed)
{
	bool added;
	struct peer *p = find_or_add(t, id, id_len > 255 ? 255 : id_len, &added);
	enum peer_verdict verdict;

	*missed = 0;
	p->last_heard = ++t->clock;
	if (added) {
		p->last_seq = seq;
		return PEER_FIRST;
	}
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
