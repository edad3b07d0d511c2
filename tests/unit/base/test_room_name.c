/* Room names and the raw request path that carries one. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "room_name.h"

static void test_names(void **state)
{
	(void)state;
	static const char *const good[] = {"a", "chat-42", "A.b_c-D", "0", "a.b.c"};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(room_name_valid(good[i], strlen(good[i])));
	static const char *const bad[] = {"",    ".a",  "a.", "a..b", "a/b",     "a%2Fb",
	                                  "a b", "a:b", "a*", "a>",   "\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(room_name_valid(bad[i], strlen(bad[i])));
	assert_false(room_name_valid("a\0b", 3));

	char name[ROOM_NAME_MAX + 2];
	memset(name, 'x', sizeof(name));
	assert_true(room_name_valid(name, ROOM_NAME_MAX));
	assert_false(room_name_valid(name, ROOM_NAME_MAX + 1));
}

static void test_paths(void **state)
{
	(void)state;
	char out[ROOM_NAME_MAX + 1];
	assert_int_equal(room_name_from_path("/ws", "/ws", out), ROOM_PATH_BARE);
	assert_string_equal(out, "");
	assert_int_equal(room_name_from_path("/ws/chat-42", "/ws", out), ROOM_PATH_NAMED);
	assert_string_equal(out, "chat-42");
	assert_int_equal(room_name_from_path("/wsx", "/ws", out), ROOM_PATH_OTHER);
	assert_int_equal(room_name_from_path("/other/a", "/ws", out), ROOM_PATH_OTHER);
	assert_int_equal(room_name_from_path("/", "/ws", out), ROOM_PATH_OTHER);

	static const char *const bad[] = {
	    "/ws/",    "/ws/a/", "/ws/a/b", "/ws/a%2Fb", "/ws/%61", "/ws/a%00",    "/ws/..",
	    "/ws/./a", "/ws//a", "/ws/a b", "/ws/a.",    "/ws/.a",  "/ws/\xc3\xa9"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(room_name_from_path(bad[i], "/ws", out), ROOM_PATH_BAD);
		assert_string_equal(out, "");
	}

	char path[8 + ROOM_NAME_MAX + 2] = "/ws/";
	memset(path + 4, 'r', ROOM_NAME_MAX);
	path[4 + ROOM_NAME_MAX] = '\0';
	assert_int_equal(room_name_from_path(path, "/ws", out), ROOM_PATH_NAMED);
	assert_int_equal(strlen(out), ROOM_NAME_MAX);
	path[4 + ROOM_NAME_MAX] = 'r';
	path[5 + ROOM_NAME_MAX] = '\0';
	assert_int_equal(room_name_from_path(path, "/ws", out), ROOM_PATH_BAD);
}

/* A websocket_path of "/" (or one ending in "/") serves "/<room>". */
static void test_root_path(void **state)
{
	(void)state;
	char out[ROOM_NAME_MAX + 1];
	assert_int_equal(room_name_from_path("/", "/", out), ROOM_PATH_BARE);
	assert_int_equal(room_name_from_path("/lobby", "/", out), ROOM_PATH_NAMED);
	assert_string_equal(out, "lobby");
	assert_int_equal(room_name_from_path("/a/b", "/", out), ROOM_PATH_BAD);
	assert_int_equal(room_name_from_path("/ws/", "/ws/", out), ROOM_PATH_BARE);
	assert_int_equal(room_name_from_path("/ws/a", "/ws/", out), ROOM_PATH_NAMED);
	assert_int_equal(room_name_from_path("/ws", "/ws/", out), ROOM_PATH_OTHER);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_names),
	    cmocka_unit_test(test_paths),
	    cmocka_unit_test(test_root_path),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
