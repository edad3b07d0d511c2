/* Addresses, networks and the per-address key (net_address.c), and the
 * token bucket (token_bucket.c), with times given by the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "net_address.h"
#include "token_bucket.h"

static struct net_address parse(const char *text)
{
	struct net_address a;
	assert_true(net_address_parse(text, strlen(text), &a));
	return a;
}

static void assert_formats(const char *text, const char *want)
{
	struct net_address a = parse(text);
	char got[NET_ADDRESS_TEXT_SIZE];
	net_address_format(&a, got);
	assert_string_equal(got, want);
}

static void test_parse_and_format(void **state)
{
	(void)state;
	assert_formats("192.0.2.1", "192.0.2.1");
	assert_formats(" 10.1.2.3 ", "10.1.2.3");
	assert_formats("2001:DB8:0:0::1", "2001:db8::1");
	assert_formats("[::1]", "::1");
	/* One key space: an IPv4-mapped address is the IPv4 address. */
	assert_formats("::ffff:192.0.2.1", "192.0.2.1");
	struct net_address mapped = parse("::ffff:1.2.3.4"), v6 = parse("::1.2.3.4");
	assert_true(net_address_is_v4(&mapped));
	assert_false(net_address_is_v4(&v6));
	struct net_address a;
	const char *bad[] = {"",          " ",           "1.2.3",      "1.2.3.4.5",
	                     "256.1.1.1", "example.com", "1.2.3.4:80", "::1%lo",
	                     "[::1",      "::g"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(net_address_parse(bad[i], strlen(bad[i]), &a));
}

static void test_cidr_contains(void **state)
{
	struct net_cidr net;
	char why[160];
	(void)state;
	assert_int_equal(net_cidr_parse("10.0.0.0/8", &net, why, sizeof(why)), 0);
	struct net_address in = parse("10.255.1.2"), out = parse("11.0.0.1");
	assert_true(net_cidr_contains(&net, &in));
	assert_false(net_cidr_contains(&net, &out));
	/* An IPv4 network never holds an IPv6 address outside ::ffff:0:0/96. */
	struct net_address v6 = parse("::a00:1");
	assert_false(net_cidr_contains(&net, &v6));
	assert_int_equal(net_cidr_parse("0.0.0.0/0", &net, why, sizeof(why)), 0);
	assert_true(net_cidr_contains(&net, &out));
	assert_false(net_cidr_contains(&net, &v6));
	assert_int_equal(net_cidr_parse("2001:db8::/32", &net, why, sizeof(why)), 0);
	struct net_address a = parse("2001:db8:ffff::1"), b = parse("2001:db9::1");
	assert_true(net_cidr_contains(&net, &a));
	assert_false(net_cidr_contains(&net, &b));
	assert_int_equal(net_cidr_parse("192.0.2.7", &net, why, sizeof(why)), 0);
	struct net_address same = parse("192.0.2.7"), next = parse("192.0.2.8");
	assert_true(net_cidr_contains(&net, &same));
	assert_false(net_cidr_contains(&net, &next));

	char acl[NET_CIDR_ACL_SIZE];
	assert_int_equal(net_cidr_parse("10.0.0.0/8", &net, why, sizeof(why)), 0);
	net_cidr_format_acl(&net, acl);
	assert_string_equal(acl, "10.0.0.0/8");
	assert_int_equal(net_cidr_parse("::1", &net, why, sizeof(why)), 0);
	net_cidr_format_acl(&net, acl);
	assert_string_equal(acl, "[::1]/128");

	assert_int_equal(net_cidr_parse("10.0.0.1/8", &net, why, sizeof(why)), -1);
	assert_string_equal(why, "has bits set past its /8 prefix (did you mean 10.0.0.0/8?)");
	assert_int_equal(net_cidr_parse("10.0.0.0/8x", &net, why, sizeof(why)), -1);
	assert_int_equal(net_cidr_parse("10.0.0.0/-1", &net, why, sizeof(why)), -1);
	assert_int_equal(net_cidr_parse("/8", &net, why, sizeof(why)), -1);
}

static void test_key_cuts_ipv6_to_prefix(void **state)
{
	(void)state;
	struct net_address a = parse("2001:db8:1:2:aaaa::1"), b = parse("2001:db8:1:2:bbbb::2"),
	                   c = parse("2001:db8:1:3::1");
	struct net_address ka = net_address_key(&a, 64), kb = net_address_key(&b, 64),
	                   kc = net_address_key(&c, 64);
	assert_memory_equal(&ka, &kb, sizeof(ka));
	assert_memory_not_equal(&ka, &kc, sizeof(ka));
	struct net_address k128 = net_address_key(&a, 128);
	assert_memory_equal(&k128, &a, sizeof(a));
	/* IPv4 is counted per address, whatever the IPv6 prefix. */
	struct net_address v4a = parse("192.0.2.1"), v4b = parse("192.0.2.2");
	struct net_address k4a = net_address_key(&v4a, 16), k4b = net_address_key(&v4b, 16);
	assert_memory_not_equal(&k4a, &k4b, sizeof(k4a));
}

#define SEC CLOCK_NS_PER_SEC

static void test_token_bucket(void **state)
{
	struct token_bucket b;
	(void)state;
	token_bucket_init(&b, 10.0, 20.0, 1000 * SEC);
	/* A full bucket: the burst, then nothing. */
	for (int i = 0; i < 20; i++)
		assert_true(token_bucket_take(&b, 1.0, 1000 * SEC));
	assert_false(token_bucket_take(&b, 1.0, 1000 * SEC));
	assert_true(token_bucket_wait_seconds(&b, 1000 * SEC) > 0.09);
	/* A tenth of a second buys one more. */
	assert_true(token_bucket_take(&b, 1.0, 1000 * SEC + SEC / 10 + 1000));
	assert_false(token_bucket_take(&b, 1.0, 1000 * SEC + SEC / 10 + 2000));
	/* It never holds more than the burst. */
	assert_true(token_bucket_full(&b, 1100 * SEC));
	assert_int_equal(token_bucket_wait_seconds(&b, 1100 * SEC) == 0.0, 1);

	/* A cost beyond the burst passes once and leaves a debt. */
	token_bucket_init(&b, 100.0, 200.0, 0);
	assert_true(token_bucket_take(&b, 1000.0, 0));
	assert_false(token_bucket_take(&b, 1.0, 5 * SEC)); /* -800 + 500 */
	assert_true(token_bucket_take(&b, 1.0, 9 * SEC));  /* -300 + 400 (5 s later) */
	/* A clock that steps back changes nothing. */
	assert_false(token_bucket_full(&b, 8 * SEC));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse_and_format),
	    cmocka_unit_test(test_cidr_contains),
	    cmocka_unit_test(test_key_cuts_ipv6_to_prefix),
	    cmocka_unit_test(test_token_bucket),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
