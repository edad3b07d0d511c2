/* The rooms a node wants from the broker (room_subs.c): only net changes
 * reach the broker thread, a resync after a reconnect, handles kept. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "room_subs.h"

static int wakes;

static void wake(void *ctx)
{
	(void)ctx;
	wakes++;
}

static size_t take(struct room_subs *s, struct room_sub_change *out)
{
	return room_subs_take(s, out, 64);
}

static void test_only_net_changes(void **state)
{
	(void)state;
	struct room_subs *s = room_subs_create();
	struct room_sub_change ch[64];
	assert_non_null(s);
	wakes = 0;
	room_subs_set_waker(s, wake, NULL);

	room_subs_want(s, "a", true);
	room_subs_want(s, "b", true);
	assert_int_equal(wakes, 1); /* once, while changes wait */
	assert_int_equal(take(s, ch), 2);
	assert_string_equal(ch[0].name, "a");
	assert_true(ch[0].subscribe);
	assert_null(ch[0].handle);
	assert_string_equal(ch[1].name, "b");
	room_subs_set_handle(ch[0].entry, &wakes);
	assert_int_equal(take(s, ch), 0);

	/* Gone and back before the broker thread looked: nothing to do. */
	room_subs_want(s, "a", false);
	room_subs_want(s, "a", true);
	assert_int_equal(wakes, 2);
	assert_int_equal(take(s, ch), 0);
	/* Appeared and gone again: nothing either. */
	room_subs_want(s, "c", true);
	room_subs_want(s, "c", false);
	assert_int_equal(take(s, ch), 0);
	assert_int_equal(room_subs_wanted(s), 2);

	/* Gone: an unsubscribe with the handle that was set. */
	room_subs_want(s, "a", false);
	assert_int_equal(take(s, ch), 1);
	assert_string_equal(ch[0].name, "a");
	assert_false(ch[0].subscribe);
	assert_ptr_equal(ch[0].handle, &wakes);
	assert_null(ch[0].entry);
	assert_int_equal(room_subs_wanted(s), 1);
	room_subs_destroy(s);
}

/* Names as "a b ", into a buffer of 64 bytes. */
static void collect(void *ctx, const char *name)
{
	char *names = ctx;
	size_t len = strlen(names);
	snprintf(names + len, 64 - len, "%s ", name);
}

static void test_resync_and_batches(void **state)
{
	(void)state;
	struct room_subs *s = room_subs_create();
	struct room_sub_change ch[64];
	char name[16];
	assert_non_null(s);
	for (int i = 0; i < 100; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		room_subs_want(s, name, true);
	}
	/* In batches of what the caller takes. */
	assert_int_equal(room_subs_take(s, ch, 60), 60);
	assert_int_equal(room_subs_take(s, ch, 60), 40);
	assert_int_equal(room_subs_take(s, ch, 60), 0);

	/* A new connection: every wanted room, and what waited is void. */
	for (int i = 1; i < 100; i++) {
		snprintf(name, sizeof(name), "r%d", i);
		room_subs_want(s, name, false);
	}
	room_subs_want(s, "new", true);
	char names[64] = "";
	room_subs_resync(s, collect, names);
	assert_true(strcmp(names, "r0 new ") == 0 || strcmp(names, "new r0 ") == 0);
	assert_int_equal(take(s, ch), 0);
	room_subs_destroy(s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_only_net_changes),
	    cmocka_unit_test(test_resync_and_batches),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
