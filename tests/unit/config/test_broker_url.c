/* The broker URLs of cluster.url (broker_url.c). */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <string.h>

#include "broker_url.h"

static void test_broker_urls(void **state)
{
	(void)state;
	struct broker_url u;
	char why[256];

	assert_int_equal(broker_url_parse("redis://127.0.0.1:6380", &u, why, sizeof(why)), 0);
	assert_int_equal(u.scheme, CLUSTER_BROKER_REDIS);
	assert_string_equal(u.host, "127.0.0.1");
	assert_int_equal(u.port, 6380);
	assert_int_equal(broker_url_parse("redis://cache.internal", &u, why, sizeof(why)), 0);
	assert_int_equal(u.port, 6379);
	assert_int_equal(broker_url_parse("nats://user:pw@[::1]", &u, why, sizeof(why)), 0);
	assert_int_equal(u.scheme, CLUSTER_BROKER_NATS);
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 4222);

	static const char *const bad[][2] = {
	    {"http://x", "must start with \"redis://\" or \"nats://\""},
	    {"redis://", "names no host"},
	    {"redis://h:0", "needs a port from 1 to 65535"},
	    {"redis://h:65536", "needs a port from 1 to 65535"},
	    {"redis://h:", "needs a port"},
	    {"redis://h/x", "may only have a database number as its path"},
	    {"nats://h/0", "must not have a path"},
	    {"redis://h x", "invalid character in the host"},
	    {"redis://user@h", "user info without a password"},
	    {"nats://[::1", "unclosed"},
	    {"nats://[zz]:1", "invalid IPv6"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (broker_url_parse(bad[i][0], &u, why, sizeof(why)) != -1 ||
		    !strstr(why, bad[i][1]))
			fail_msg("%s: got \"%s\", want \"%s\"", bad[i][0], why, bad[i][1]);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_broker_urls),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
