/* A binary heap of deadlines and the thread that waits for the first. */
#include "auth_expiry.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

struct auth_expiry_entry {
	int64_t deadline;
	void *arg;
	size_t index; /* in the heap; SIZE_MAX once out of it */
};

struct auth_expiry {
	pthread_mutex_t lock;
	pthread_cond_t changed; /* the earliest deadline changed, or stop */
	pthread_cond_t fired;   /* a fire() returned */
	pthread_t thread;
	auth_expiry_fire fire;
	struct auth_expiry_entry **heap;
	size_t count, cap;
	const struct auth_expiry_entry *firing; /* whose fire() runs now */
	bool stopping;
};

#define OUT_OF_HEAP ((size_t)-1)

static void place_locked(struct auth_expiry *t, size_t i, struct auth_expiry_entry *e)
{
	t->heap[i] = e;
	e->index = i;
}

static void sift_up_locked(struct auth_expiry *t, size_t i)
{
	struct auth_expiry_entry *e = t->heap[i];
	while (i > 0 && t->heap[(i - 1) / 2]->deadline > e->deadline) {
		place_locked(t, i, t->heap[(i - 1) / 2]);
		i = (i - 1) / 2;
	}
	place_locked(t, i, e);
}

static void sift_down_locked(struct auth_expiry *t, size_t i)
{
	struct auth_expiry_entry *e = t->heap[i];
	for (;;) {
		size_t child = 2 * i + 1;
		if (child >= t->count)
			break;
		if (child + 1 < t->count && t->heap[child + 1]->deadline < t->heap[child]->deadline)
			child++;
		if (t->heap[child]->deadline >= e->deadline)
			break;
		place_locked(t, i, t->heap[child]);
		i = child;
	}
	place_locked(t, i, e);
}

static void remove_locked(struct auth_expiry *t, struct auth_expiry_entry *e)
{
	size_t i = e->index;
	e->index = OUT_OF_HEAP;
	t->count--;
	if (i == t->count)
		return;
	struct auth_expiry_entry *moved = t->heap[t->count];
	place_locked(t, i, moved);
	sift_down_locked(t, i);
	if (moved->index == i)
		sift_up_locked(t, i);
}

static void *timer_main(void *arg)
{
	struct auth_expiry *t = arg;
	pthread_mutex_lock(&t->lock);
	while (!t->stopping) {
		if (t->count == 0) {
			pthread_cond_wait(&t->changed, &t->lock);
			continue;
		}
		struct auth_expiry_entry *first = t->heap[0];
		struct timespec now;
		clock_gettime(CLOCK_REALTIME, &now);
		if (now.tv_sec < first->deadline) {
			struct timespec until = {.tv_sec = (time_t)first->deadline, .tv_nsec = 0};
			pthread_cond_timedwait(&t->changed, &t->lock, &until);
			continue;
		}
		remove_locked(t, first);
		t->firing = first;
		pthread_mutex_unlock(&t->lock);
		t->fire(first->arg);
		pthread_mutex_lock(&t->lock);
		t->firing = NULL;
		pthread_cond_broadcast(&t->fired);
	}
	pthread_mutex_unlock(&t->lock);
	return NULL;
}

struct auth_expiry *auth_expiry_start(auth_expiry_fire fire)
{
	struct auth_expiry *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	t->fire = fire;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->changed, NULL);
	pthread_cond_init(&t->fired, NULL);
	if (pthread_create(&t->thread, NULL, timer_main, t) != 0) {
		pthread_cond_destroy(&t->fired);
		pthread_cond_destroy(&t->changed);
		pthread_mutex_destroy(&t->lock);
		free(t);
		return NULL;
	}
	return t;
}

void auth_expiry_stop(struct auth_expiry *t)
{
	if (!t)
		return;
	pthread_mutex_lock(&t->lock);
	t->stopping = true;
	pthread_cond_signal(&t->changed);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	for (size_t i = 0; i < t->count; i++)
		free(t->heap[i]);
	free(t->heap);
	pthread_cond_destroy(&t->fired);
	pthread_cond_destroy(&t->changed);
	pthread_mutex_destroy(&t->lock);
	free(t);
}

struct auth_expiry_entry *auth_expiry_add(struct auth_expiry *t, int64_t deadline, void *arg)
{
	struct auth_expiry_entry *e = malloc(sizeof(*e));
	if (!e)
		return NULL;
	e->deadline = deadline;
	e->arg = arg;
	pthread_mutex_lock(&t->lock);
	if (t->count == t->cap) {
		size_t cap = t->cap ? 2 * t->cap : 64;
		/* The heap holds pointers: the element size is a pointer's. */
		// NOLINTNEXTLINE(bugprone-sizeof-expression)
		struct auth_expiry_entry **heap = realloc(t->heap, cap * sizeof(*heap));
		if (!heap) {
			pthread_mutex_unlock(&t->lock);
			free(e);
			return NULL;
		}
		t->heap = heap;
		t->cap = cap;
	}
	place_locked(t, t->count++, e);
	sift_up_locked(t, e->index);
	if (e->index == 0)
		pthread_cond_signal(&t->changed);
	pthread_mutex_unlock(&t->lock);
	return e;
}

void auth_expiry_cancel(struct auth_expiry *t, struct auth_expiry_entry *e)
{
	if (!e)
		return;
	pthread_mutex_lock(&t->lock);
	while (t->firing == e)
		pthread_cond_wait(&t->fired, &t->lock);
	if (e->index != OUT_OF_HEAP)
		remove_locked(t, e);
	pthread_mutex_unlock(&t->lock);
	free(e);
}
