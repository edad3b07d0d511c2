/* Grants and room patterns (auth_grant.c), for the rooms feature to use. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "auth_grant.h"

static int add(struct auth_grant *g, const char *pattern)
{
	return auth_grant_add_room(g, pattern, strlen(pattern));
}

static void test_defaults(void **state)
{
	(void)state;
	struct auth_grant *g = auth_grant_new();
	assert_non_null(g);
	assert_true(g->publish);
	assert_true(g->all_rooms);
	assert_int_equal(g->expires, 0);
	assert_string_equal(g->subject, "");
	assert_true(auth_grant_room_allowed(g, "anything"));
	auth_grant_free(g);
	auth_grant_free(NULL);
}

static void test_patterns(void **state)
{
	(void)state;
	assert_true(auth_room_pattern_matches("game-42", "game-42"));
	assert_false(auth_room_pattern_matches("game-42", "game-420"));
	assert_false(auth_room_pattern_matches("game-42", "game-4"));
	assert_true(auth_room_pattern_matches("chat-*", "chat-"));
	assert_true(auth_room_pattern_matches("chat-*", "chat-lobby"));
	assert_false(auth_room_pattern_matches("chat-*", "chat"));
	assert_false(auth_room_pattern_matches("chat-*", "xchat-a"));
	assert_true(auth_room_pattern_matches("*", ""));
	assert_true(auth_room_pattern_matches("*", "any"));

	struct auth_grant *g = auth_grant_new();
	assert_int_equal(add(g, "chat-*"), 0);
	assert_int_equal(add(g, "game-42"), 0);
	assert_false(g->all_rooms);
	assert_true(auth_grant_room_allowed(g, "chat-x"));
	assert_true(auth_grant_room_allowed(g, "game-42"));
	assert_false(auth_grant_room_allowed(g, "game-43"));
	assert_false(auth_grant_room_allowed(g, "lobby"));
	auth_grant_free(g);
}

static void test_bad_patterns(void **state)
{
	(void)state;
	struct auth_grant *g = auth_grant_new();
	assert_int_equal(add(g, ""), -1);
	assert_int_equal(add(g, "a*b"), -1); /* '*' only at the end */
	assert_int_equal(add(g, "**"), -1);
	assert_int_equal(add(g, "a b"), -1);
	assert_int_equal(add(g, "a,b"), -1);
	assert_int_equal(add(g, "caf\xc3\xa9"), -1);
	assert_int_equal(add(g, "tab\t"), -1);
	char longest[AUTH_ROOM_PATTERN_MAX + 2];
	memset(longest, 'r', sizeof(longest));
	assert_int_equal(auth_grant_add_room(g, longest, AUTH_ROOM_PATTERN_MAX + 1), -1);
	assert_int_equal(auth_grant_add_room(g, longest, AUTH_ROOM_PATTERN_MAX), 0);
	for (int i = 1; i < AUTH_ROOMS_MAX; i++)
		assert_int_equal(add(g, "r"), 0);
	assert_int_equal(add(g, "one-too-many"), -1);
	auth_grant_free(g);
}

static void test_csv(void **state)
{
	(void)state;
	struct auth_grant *g = auth_grant_new();
	const char *csv = " chat-* ,game-42,\tlobby";
	assert_int_equal(auth_grant_add_rooms_csv(g, csv, strlen(csv)), 0);
	assert_int_equal(g->room_count, 3);
	assert_string_equal(g->rooms[0], "chat-*");
	assert_string_equal(g->rooms[1], "game-42");
	assert_string_equal(g->rooms[2], "lobby");
	auth_grant_free(g);
	g = auth_grant_new();
	assert_int_equal(auth_grant_add_rooms_csv(g, "a,,b", 4), -1);
	auth_grant_free(g);
	g = auth_grant_new();
	assert_int_equal(auth_grant_add_rooms_csv(g, "a,", 2), -1);
	auth_grant_free(g);
}

static void test_subject(void **state)
{
	(void)state;
	struct auth_grant *g = auth_grant_new();
	auth_grant_set_subject(g, "user\n42\x7f\xc3\xa9", 10);
	assert_string_equal(g->subject, "user?42???");
	char big[AUTH_SUBJECT_MAX * 2];
	memset(big, 'x', sizeof(big));
	auth_grant_set_subject(g, big, sizeof(big));
	assert_int_equal(strlen(g->subject), AUTH_SUBJECT_MAX);
	auth_grant_free(g);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),     cmocka_unit_test(test_patterns),
	    cmocka_unit_test(test_bad_patterns), cmocka_unit_test(test_csv),
	    cmocka_unit_test(test_subject),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
