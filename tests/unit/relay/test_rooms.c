/* The rooms registry: isolation, the limits, rooms that come and go, and
 * joins, leaves and broadcasts in many rooms at once (run under TSan). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>

#include "rooms.h"

/* An endpoint that counts what the hub hands it. */
struct endpoint {
	atomic_uint delivered;
	atomic_uint closed;
	atomic_uint aborted;
};

static int deliver(void *ep, struct shared_frame *frame)
{
	(void)frame;
	atomic_fetch_add(&((struct endpoint *)ep)->delivered, 1);
	return 0;
}

static void close_ep(void *ep, const void *frame, size_t len)
{
	(void)frame;
	(void)len;
	atomic_fetch_add(&((struct endpoint *)ep)->closed, 1);
}

static void abort_ep(void *ep)
{
	atomic_fetch_add(&((struct endpoint *)ep)->aborted, 1);
}

static const struct hub_endpoint_ops ops = {
    .deliver = deliver, .close = close_ep, .abort = abort_ep};

struct member {
	struct endpoint ep;
	struct room *room;
	struct hub_client *client;
};

static void join(struct rooms *rooms, const char *name, struct member *m)
{
	memset(&m->ep, 0, sizeof(m->ep));
	assert_int_equal(rooms_join(rooms, name, &m->ep, &m->room, &m->client), ROOMS_ADMITTED);
}

static void leave(struct rooms *rooms, struct member *m)
{
	rooms_leave(rooms, m->room, m->client, DISCONNECT_CLIENT_CLOSE);
}

static void say(const struct member *from)
{
	struct shared_frame *frame = shared_frame_new("\x81\x01x", 3, 1);
	assert_non_null(frame);
	size_t slow;
	hub_broadcast(rooms_hub(from->room), from->client, true, frame, &slow);
	shared_frame_unref(frame);
}

static bool say_to(struct rooms *rooms, const char *name)
{
	struct shared_frame *frame = shared_frame_new("\x81\x01x", 3, 1);
	assert_non_null(frame);
	size_t slow;
	bool found = rooms_broadcast_to(rooms, name, frame, &slow);
	shared_frame_unref(frame);
	return found;
}

static struct rooms *named(uint32_t max_clients, uint32_t max_rooms, uint32_t max_members)
{
	const struct rooms_limits limits = {.named = true,
	                                    .max_clients = max_clients,
	                                    .max_rooms = max_rooms,
	                                    .max_members = max_members};
	struct rooms *rooms = rooms_create(&limits, &ops);
	assert_non_null(rooms);
	return rooms;
}

static void test_rooms_are_isolated(void **state)
{
	(void)state;
	struct rooms *rooms = named(100, 10, 0);
	struct member a[3], b[2];
	for (int i = 0; i < 3; i++)
		join(rooms, "a", &a[i]);
	for (int i = 0; i < 2; i++)
		join(rooms, "b", &b[i]);
	assert_int_equal(rooms_count(rooms), 2);
	assert_int_equal(rooms_client_count(rooms), 5);
	assert_int_equal(rooms_joins(rooms), 5);
	assert_string_equal(rooms_name(a[0].room), "a");
	assert_ptr_equal(a[0].room, a[2].room);

	say(&a[0]);
	say(&a[1]);
	say(&b[0]);
	for (int i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&a[i].ep.delivered), 2);
	for (int i = 0; i < 2; i++)
		assert_int_equal(atomic_load(&b[i].ep.delivered), 1);

	assert_true(say_to(rooms, "b"));
	assert_false(say_to(rooms, "c"));
	assert_int_equal(atomic_load(&b[1].ep.delivered), 2);
	assert_int_equal(atomic_load(&a[1].ep.delivered), 2);

	for (int i = 0; i < 3; i++)
		leave(rooms, &a[i]);
	for (int i = 0; i < 2; i++)
		leave(rooms, &b[i]);
	assert_int_equal(rooms_count(rooms), 0);
	assert_int_equal(rooms_client_count(rooms), 0);
	rooms_destroy(rooms);
}

static void test_limits(void **state)
{
	(void)state;
	struct rooms *rooms = named(5, 2, 2);
	struct member m[6];
	join(rooms, "a", &m[0]);
	join(rooms, "a", &m[1]);
	/* a is full; a third room is one too many. */
	assert_int_equal(rooms_admits(rooms, "a"), ROOMS_MAX_MEMBERS);
	assert_int_equal(rooms_join(rooms, "a", &m[2].ep, &m[2].room, &m[2].client),
	                 ROOMS_MAX_MEMBERS);
	join(rooms, "b", &m[2]);
	assert_int_equal(rooms_admits(rooms, "c"), ROOMS_MAX_ROOMS);
	assert_int_equal(rooms_join(rooms, "c", &m[3].ep, &m[3].room, &m[3].client),
	                 ROOMS_MAX_ROOMS);
	assert_int_equal(rooms_admits(rooms, "b"), ROOMS_ADMITTED);
	/* A refused join leaves nothing behind. */
	assert_int_equal(rooms_count(rooms), 2);
	assert_int_equal(rooms_client_count(rooms), 3);

	/* The last leave ends the room, and a new one may take its place. */
	leave(rooms, &m[2]);
	assert_int_equal(rooms_count(rooms), 1);
	join(rooms, "c", &m[3]);
	assert_int_equal(rooms_count(rooms), 2);
	join(rooms, "c", &m[4]);
	leave(rooms, &m[0]);
	join(rooms, "a", &m[5]);
	leave(rooms, &m[1]);
	leave(rooms, &m[3]);
	leave(rooms, &m[4]);
	leave(rooms, &m[5]);
	assert_int_equal(rooms_count(rooms), 0);
	rooms_destroy(rooms);
}

/* max_clients bounds every room together. */
static void test_clients_over_all_rooms(void **state)
{
	(void)state;
	struct rooms *rooms = named(2, 10, 0);
	struct member m[3];
	join(rooms, "a", &m[0]);
	join(rooms, "b", &m[1]);
	assert_int_equal(rooms_join(rooms, "c", &m[2].ep, &m[2].room, &m[2].client), ROOMS_FULL);
	assert_int_equal(rooms_join(rooms, "a", &m[2].ep, &m[2].room, &m[2].client), ROOMS_FULL);
	assert_int_equal(rooms_count(rooms), 2);
	leave(rooms, &m[0]);
	join(rooms, "c", &m[2]);
	leave(rooms, &m[1]);
	leave(rooms, &m[2]);
	rooms_destroy(rooms);
}

struct events {
	char log[256];
};

static void appeared(void *ctx, const char *name)
{
	struct events *e = ctx;
	size_t n = strlen(e->log);
	snprintf(e->log + n, sizeof(e->log) - n, "+%s", name);
}

static void gone(void *ctx, const char *name)
{
	struct events *e = ctx;
	size_t n = strlen(e->log);
	snprintf(e->log + n, sizeof(e->log) - n, "-%s", name);
}

static void test_observer_and_sampling(void **state)
{
	(void)state;
	struct rooms *rooms = named(100, 10, 0);
	struct events ev = {""};
	const struct rooms_observer observer = {.ctx = &ev, .appeared = appeared, .gone = gone};
	rooms_set_observer(rooms, &observer);
	struct member m[4];
	join(rooms, "x", &m[0]);
	join(rooms, "x", &m[1]);
	join(rooms, "y", &m[2]);
	join(rooms, "z", &m[3]);

	static const uint64_t bounds[] = {1, 2};
	struct histogram h;
	histogram_init(&h, bounds, 2);
	rooms_sample_members(rooms, &h);
	struct histogram_snapshot snap;
	histogram_read(&h, &snap);
	assert_int_equal(snap.cumulative[0], 2); /* y and z: one member */
	assert_int_equal(snap.cumulative[1], 3); /* x: two */
	assert_int_equal(snap.sum, 4);

	leave(rooms, &m[2]);
	leave(rooms, &m[0]);
	leave(rooms, &m[1]);
	join(rooms, "y", &m[2]);
	leave(rooms, &m[2]);
	leave(rooms, &m[3]);
	assert_string_equal(ev.log, "+x+y+z-y-x+y-y-z");
	rooms_set_observer(rooms, NULL);
	rooms_destroy(rooms);
}

static void test_close_all(void **state)
{
	(void)state;
	struct rooms *rooms = named(100, 10, 0);
	struct member m[3];
	join(rooms, "a", &m[0]);
	join(rooms, "b", &m[1]);
	join(rooms, "b", &m[2]);
	assert_int_equal(rooms_close_all(rooms, "\x88\x00", 2, DISCONNECT_SHUTDOWN), 3);
	for (int i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&m[i].ep.closed), 1);
	struct member late;
	assert_int_equal(rooms_join(rooms, "c", &late.ep, &late.room, &late.client), ROOMS_FULL);
	assert_int_equal(rooms_join(rooms, "a", &late.ep, &late.room, &late.client), ROOMS_FULL);
	rooms_abort_all(rooms);
	for (int i = 0; i < 3; i++)
		assert_int_equal(atomic_load(&m[i].ep.aborted), 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    rooms_leave(rooms, m[i].room, m[i].client, DISCONNECT_CLIENT_CLOSE),
		    DISCONNECT_SHUTDOWN);
	rooms_destroy(rooms);
}

/* Rooms off: one room for everyone whatever the name, never forgotten. */
static void test_one_room_for_everyone(void **state)
{
	(void)state;
	const struct rooms_limits limits = {.named = false, .max_clients = 2, .max_rooms = 1};
	struct rooms *rooms = rooms_create(&limits, &ops);
	assert_non_null(rooms);
	assert_int_equal(rooms_count(rooms), 1);
	struct member m[3];
	join(rooms, "", &m[0]);
	join(rooms, "other", &m[1]);
	assert_ptr_equal(m[0].room, m[1].room);
	assert_string_equal(rooms_name(m[0].room), "");
	assert_int_equal(rooms_join(rooms, "", &m[2].ep, &m[2].room, &m[2].client), ROOMS_FULL);
	assert_true(say_to(rooms, "anything"));
	assert_int_equal(atomic_load(&m[0].ep.delivered), 1);
	leave(rooms, &m[0]);
	leave(rooms, &m[1]);
	assert_int_equal(rooms_count(rooms), 1);
	join(rooms, "", &m[2]);
	leave(rooms, &m[2]);
	rooms_destroy(rooms);
}

/* What rooms_broadcast_checked's check was told. */
struct check_log {
	int calls;
	uint64_t life;
	bool answer;
};

static bool check(void *ctx, uint64_t life)
{
	struct check_log *log = ctx;
	log->calls++;
	log->life = life;
	return log->answer;
}

static enum rooms_delivery say_checked(struct rooms *rooms, const char *name, struct check_log *log)
{
	struct shared_frame *frame = shared_frame_new("\x81\x01x", 3, 1);
	assert_non_null(frame);
	size_t slow;
	enum rooms_delivery d = rooms_broadcast_checked(rooms, name, check, log, frame, &slow);
	shared_frame_unref(frame);
	return d;
}

/* Each life of a room is told apart, the check decides, and a room's
 * numbers start again with its new life (the cluster's per-room numbering). */
static void test_lives_checks_and_numbers(void **state)
{
	(void)state;
	struct rooms *rooms = named(8, 8, 0);
	struct member a, b;
	struct check_log log = {.answer = true};

	assert_int_equal(say_checked(rooms, "x", &log), ROOMS_NO_ROOM);
	assert_int_equal(log.calls, 0);
	join(rooms, "x", &a);
	join(rooms, "y", &b);
	uint64_t first = rooms_life(a.room);
	assert_true(rooms_life(b.room) != first);
	assert_int_equal(say_checked(rooms, "x", &log), ROOMS_DELIVERED);
	assert_int_equal(log.calls, 1);
	assert_true(log.life == first);
	assert_int_equal(atomic_load(&a.ep.delivered), 1);
	log.answer = false;
	assert_int_equal(say_checked(rooms, "x", &log), ROOMS_DECLINED);
	assert_int_equal(atomic_load(&a.ep.delivered), 1);
	assert_true(rooms_next_number(a.room) == 1);
	assert_true(rooms_next_number(a.room) == 2);
	assert_true(rooms_next_number(b.room) == 1);

	/* x goes and comes back: a higher life, numbers from 1 again. */
	leave(rooms, &a);
	join(rooms, "x", &a);
	assert_true(rooms_life(a.room) > rooms_life(b.room));
	assert_true(rooms_next_number(a.room) == 1);
	log.answer = true;
	assert_int_equal(say_checked(rooms, "x", &log), ROOMS_DELIVERED);
	assert_true(log.life == rooms_life(a.room));
	leave(rooms, &a);
	leave(rooms, &b);
	rooms_destroy(rooms);
}

#define CHURN_THREADS 4
#define CHURN_ROUNDS  300

struct churn {
	struct rooms *rooms;
	int id;
};

/* Each thread joins a room of its own choosing, speaks, and leaves, while
 * the others do the same in the same few rooms and by name. */
static void *churn_main(void *arg)
{
	const struct churn *ch = arg;
	char name[8];
	for (int i = 0; i < CHURN_ROUNDS; i++) {
		snprintf(name, sizeof(name), "r%d", (ch->id + i) % 3);
		struct member m;
		memset(&m.ep, 0, sizeof(m.ep));
		if (rooms_join(ch->rooms, name, &m.ep, &m.room, &m.client) != ROOMS_ADMITTED)
			continue;
		say(&m);
		(void)say_to(ch->rooms, "r0");
		leave(ch->rooms, &m);
	}
	return NULL;
}

static void test_churn(void **state)
{
	(void)state;
	struct rooms *rooms = named(100, 10, 0);
	struct member steady;
	join(rooms, "r1", &steady);
	pthread_t threads[CHURN_THREADS];
	struct churn args[CHURN_THREADS];
	for (int i = 0; i < CHURN_THREADS; i++) {
		args[i] = (struct churn){.rooms = rooms, .id = i};
		assert_int_equal(pthread_create(&threads[i], NULL, churn_main, &args[i]), 0);
	}
	for (int i = 0; i < CHURN_THREADS; i++)
		pthread_join(threads[i], NULL);
	assert_int_equal(rooms_count(rooms), 1);
	assert_int_equal(rooms_client_count(rooms), 1);
	/* Every churner who was in r1 spoke to it once: the steady member
	 * heard each of them. */
	unsigned in_r1 = 0;
	for (int id = 0; id < CHURN_THREADS; id++)
		for (int i = 0; i < CHURN_ROUNDS; i++)
			in_r1 += (id + i) % 3 == 1;
	assert_int_equal(atomic_load(&steady.ep.delivered), in_r1);
	leave(rooms, &steady);
	rooms_destroy(rooms);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rooms_are_isolated),
	    cmocka_unit_test(test_limits),
	    cmocka_unit_test(test_clients_over_all_rooms),
	    cmocka_unit_test(test_observer_and_sampling),
	    cmocka_unit_test(test_close_all),
	    cmocka_unit_test(test_one_room_for_everyone),
	    cmocka_unit_test(test_lives_checks_and_numbers),
	    cmocka_unit_test(test_churn),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
