/* Units of cluster mode on a shared network: the key file and signed
 * envelopes (cluster_auth), hiding passwords in broker URLs, and the NKey
 * text forms. The end-to-end side is test_cluster_security. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "broker_url.h"
#include "cluster_auth.h"
#include "nkey.h"

#define K1 "1111111111111111111111111111111111111111111111111111111111111111"
#define K2 "2222222222222222222222222222222222222222222222222222222222222222"

static char key_path[64];

static int setup(void **state)
{
	(void)state;
	snprintf(key_path, sizeof(key_path), "/tmp/wsrelay-auth-test-XXXXXX");
	int fd = mkstemp(key_path);
	if (fd < 0)
		return -1;
	close(fd);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	unlink(key_path);
	return 0;
}

static void put(const char *text)
{
	FILE *f = fopen(key_path, "w");
	assert_non_null(f);
	assert_true(fputs(text, f) >= 0);
	assert_int_equal(fclose(f), 0);
}

static struct cluster_auth *load(const char *text)
{
	char err[512];
	put(text);
	struct cluster_auth *a = cluster_auth_create(key_path, err, sizeof(err));
	if (!a)
		fail_msg("%s", err);
	return a;
}

/* A signed message around a small envelope-like body. */
static size_t message(uint8_t *buf, const char *body)
{
	size_t len = strlen(body);
	uint8_t *at = buf + CLUSTER_AUTH_PREFIX_SIZE;
	/* Counted bytes, as on the wire: no NUL after the body. */
	memcpy(at, body, len); // NOLINT(bugprone-not-null-terminated-result)
	return CLUSTER_AUTH_PREFIX_SIZE + len;
}

static void test_key_file_errors_name_the_line_never_the_key(void **state)
{
	(void)state;
	static const char *const cases[][2] = {
	    {"", "no key"},
	    {"# comment only\n\n", "no key"},
	    {"abcd\n", ":1: a key shorter than 32 bytes"},
	    {"# c\n" K1 "0\n", ":2: an odd number of hex digits"},
	    {K1 "\n" K2 "zz\n", ":2: a character that is not a hex digit"},
	};
	char err[512];
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		put(cases[i][0]);
		assert_null(cluster_auth_create(key_path, err, sizeof(err)));
		if (!strstr(err, key_path) || !strstr(err, cases[i][1]) || strstr(err, "1111") ||
		    strstr(err, "2222"))
			fail_msg("case %zu: %s", i, err);
	}
	assert_null(cluster_auth_create("/nonexistent/key", err, sizeof(err)));
	assert_non_null(strstr(err, "cannot read /nonexistent/key"));
}

static void test_sign_verify_and_tampering(void **state)
{
	(void)state;
	struct cluster_auth *a = load("# keys\n\n" K1 "  \r\n");
	struct cluster_auth *other = load(K2 "\n");
	uint8_t buf[256];
	const uint8_t *env;
	size_t env_len;
	size_t n = message(buf, "envelope bytes");

	assert_int_equal(cluster_auth_key_count(a), 1);
	assert_int_equal(cluster_auth_sign(a, buf, n), 0);
	assert_int_equal(buf[0], CLUSTER_AUTH_MAGIC);
	assert_int_equal(cluster_auth_verify(a, buf, n, &env, &env_len), CLUSTER_AUTH_VALID);
	assert_int_equal(env_len, strlen("envelope bytes"));
	assert_memory_equal(env, "envelope bytes", env_len);
	assert_int_equal(cluster_auth_verify(other, buf, n, &env, &env_len), CLUSTER_AUTH_BAD_TAG);
	/* Any bit of the prefix, the tag or the envelope. */
	for (size_t i = 0; i < n; i++) {
		buf[i] ^= 0x10;
		enum cluster_auth_verdict v = cluster_auth_verify(a, buf, n, &env, &env_len);
		assert_int_not_equal(v, CLUSTER_AUTH_VALID);
		buf[i] ^= 0x10;
	}
	assert_int_equal(cluster_auth_verify(a, buf, n - 1, &env, &env_len), CLUSTER_AUTH_BAD_TAG);
	assert_int_equal(cluster_auth_verify(a, buf, 20, &env, &env_len), CLUSTER_AUTH_TRUNCATED);
	assert_int_equal(cluster_auth_verify(a, (const uint8_t *)"w", 1, &env, &env_len),
	                 CLUSTER_AUTH_UNSIGNED);
	buf[1] = 9;
	assert_int_equal(cluster_auth_verify(a, buf, n, &env, &env_len), CLUSTER_AUTH_BAD_SCHEME);
	cluster_auth_destroy(a);
	cluster_auth_destroy(other);
}

/* [K1] -> [K1, K2] -> [K2, K1] -> [K2]: each step accepts what the step
 * before signs; a file that fails to load leaves the keys in use. */
static void test_rotation_by_reload(void **state)
{
	(void)state;
	char err[512];
	uint8_t by_k1[128], by_k2[128];
	const uint8_t *env;
	size_t env_len;
	size_t n1 = message(by_k1, "one"), n2 = message(by_k2, "two");
	struct cluster_auth *a = load(K1 "\n");
	assert_int_equal(cluster_auth_sign(a, by_k1, n1), 0);

	put(K1 "\n" K2 "\n");
	assert_int_equal(cluster_auth_reload(a, err, sizeof(err)), 0);
	assert_int_equal(cluster_auth_key_count(a), 2);
	assert_int_equal(cluster_auth_verify(a, by_k1, n1, &env, &env_len), CLUSTER_AUTH_VALID);

	put(K2 "\n" K1 "\n");
	assert_int_equal(cluster_auth_reload(a, err, sizeof(err)), 0);
	assert_int_equal(cluster_auth_sign(a, by_k2, n2), 0);
	assert_int_equal(cluster_auth_verify(a, by_k1, n1, &env, &env_len), CLUSTER_AUTH_VALID);

	put("not hex\n");
	assert_int_equal(cluster_auth_reload(a, err, sizeof(err)), -1);
	assert_int_equal(cluster_auth_key_count(a), 2);

	put(K2 "\n");
	assert_int_equal(cluster_auth_reload(a, err, sizeof(err)), 0);
	assert_int_equal(cluster_auth_verify(a, by_k2, n2, &env, &env_len), CLUSTER_AUTH_VALID);
	assert_int_equal(cluster_auth_verify(a, by_k1, n1, &env, &env_len), CLUSTER_AUTH_BAD_TAG);
	cluster_auth_destroy(a);
}

static void test_urls_with_credentials(void **state)
{
	(void)state;
	struct broker_url u;
	char why[256], shown[256];

	assert_int_equal(broker_url_parse("redis://:pw@h:1", &u, why, sizeof(why)), 0);
	assert_true(u.has_password);
	assert_string_equal(u.user, "");
	assert_string_equal(u.password, "pw");
	assert_int_equal(u.db, -1);
	assert_int_equal(broker_url_parse("redis://relay:p@ss:w@[::1]:2/3", &u, why, sizeof(why)),
	                 0);
	assert_string_equal(u.user, "relay");
	assert_string_equal(u.password, "p@ss:w");
	assert_string_equal(u.host, "::1");
	assert_int_equal(u.port, 2);
	assert_int_equal(u.db, 3);
	assert_int_equal(broker_url_parse("tls://h", &u, why, sizeof(why)), 0);
	assert_int_equal(u.scheme, CLUSTER_BROKER_NATS);

	static const char *const redacted[][2] = {
	    {"redis://h:1", "redis://h:1"},
	    {"redis://:pw@h:1", "redis://:***@h:1"},
	    {"redis://relay:p@ss@h/0", "redis://relay:***@h/0"},
	    {"nats://token@h", "nats://***@h"},
	    {"nats://u:secret@h:4222", "nats://u:***@h:4222"},
	};
	for (size_t i = 0; i < sizeof(redacted) / sizeof(redacted[0]); i++) {
		broker_url_redact(redacted[i][0], shown, sizeof(shown));
		assert_string_equal(shown, redacted[i][1]);
	}
	/* A refusal never quotes the password. */
	assert_int_equal(broker_url_parse("redis://u:secret@h/x", &u, why, sizeof(why)), -1);
	assert_null(strstr(why, "secret"));
	assert_non_null(strstr(why, "u:***@h"));
}

static void test_nkey_text_forms(void **state)
{
	(void)state;
	uint8_t raw[32];
	char seed[NKEY_SEED_SIZE], pub[NKEY_PUBLIC_SIZE], again[NKEY_PUBLIC_SIZE];
	for (int i = 0; i < 32; i++)
		raw[i] = (uint8_t)(i * 7 + 1);
	nkey_user_seed_encode(raw, seed);
	assert_int_equal(strlen(seed), NKEY_SEED_SIZE - 1);
	assert_memory_equal(seed, "SU", 2);
	assert_int_equal(nkey_user_public_from_seed(seed, pub), 0);
	assert_int_equal(strlen(pub), NKEY_PUBLIC_SIZE - 1);
	assert_int_equal(pub[0], 'U');
	assert_int_equal(nkey_user_public_from_seed(seed, again), 0);
	assert_string_equal(pub, again);
	/* Every single-character change is caught by the CRC or the prefix. */
	for (size_t i = 0; i < NKEY_SEED_SIZE - 1; i++) {
		char bad[NKEY_SEED_SIZE];
		memcpy(bad, seed, sizeof(bad));
		bad[i] = bad[i] == 'A' ? 'B' : 'A';
		if (nkey_user_public_from_seed(bad, again) == 0)
			fail_msg("changed character %zu was not noticed", i);
	}
	assert_int_equal(nkey_user_public_from_seed("SU", again), -1);
	assert_int_equal(nkey_user_public_from_seed(pub, again), -1);
}

#define TEST(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void)
{
	const struct CMUnitTest tests[] = {
	    TEST(test_key_file_errors_name_the_line_never_the_key),
	    TEST(test_sign_verify_and_tampering),
	    TEST(test_rotation_by_reload),
	    TEST(test_urls_with_credentials),
	    TEST(test_nkey_text_forms),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
