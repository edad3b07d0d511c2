/* wsrelay-client's command line: defaults, each option, and usage errors. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client_options.h"

struct parsed {
	int status;
	struct client_options opts;
	char *out;
	char *err;
};

static struct parsed parse(char **argv)
{
	struct parsed p;
	size_t out_len = 0, err_len = 0;
	int argc = 0;
	while (argv[argc])
		argc++;
	FILE *out = open_memstream(&p.out, &out_len);
	FILE *err = open_memstream(&p.err, &err_len);
	assert_non_null(out);
	assert_non_null(err);
	p.status = client_options_parse(argc, argv, &p.opts, out, err);
	assert_int_equal(fclose(out), 0);
	assert_int_equal(fclose(err), 0);
	return p;
}

static void parsed_free(struct parsed *p)
{
	free(p->out);
	free(p->err);
}

/* A usage error: status 2, one message naming the problem, then the
 * pointer to --help, and nothing on stdout. */
static void expect_usage_error(char **argv, const char *message)
{
	struct parsed p = parse(argv);
	if (p.status != 2)
		fail_msg("%s: status %d, expected 2", argv[1], p.status);
	if (!strstr(p.err, message))
		fail_msg("stderr '%s' does not mention '%s'", p.err, message);
	assert_non_null(strstr(p.err, "Try 'wsrelay-client --help'"));
	assert_string_equal(p.out, "");
	parsed_free(&p);
}

static void test_defaults(void **state)
{
	(void)state;
	struct parsed p = parse((char *[]){"wsrelay-client", NULL});
	assert_int_equal(p.status, -1);
	assert_string_equal(p.opts.url_text, CLIENT_DEFAULT_URL);
	assert_string_equal(p.opts.url.host, "localhost");
	assert_int_equal(p.opts.url.port, 8443);
	assert_string_equal(p.opts.url.path, "/ws");
	assert_false(p.opts.binary);
	assert_int_equal(p.opts.count, 0);
	assert_null(p.opts.send_text);
	assert_int_equal(p.opts.timeout_seconds, 0);
	parsed_free(&p);
}

static void test_every_option(void **state)
{
	(void)state;
	struct parsed p =
	    parse((char *[]){"wsrelay-client", "--binary", "--count", "7", "--timeout=9",
	                     "wss://[::1]:1/x", "--ca", "ca.pem", NULL});
	assert_int_equal(p.status, -1);
	assert_true(p.opts.binary);
	assert_int_equal(p.opts.count, 7);
	assert_int_equal(p.opts.timeout_seconds, 9);
	assert_string_equal(p.opts.ca_file, "ca.pem");
	assert_true(p.opts.url.tls);
	assert_string_equal(p.opts.url.host, "::1");
	parsed_free(&p);

	p = parse((char *[]){"wsrelay-client", "--insecure", "wss://h/", NULL});
	assert_int_equal(p.status, -1);
	assert_true(p.opts.insecure);
	assert_null(p.opts.ca_file);
	parsed_free(&p);
}

static void test_send_gets_a_default_timeout(void **state)
{
	(void)state;
	struct parsed p = parse((char *[]){"wsrelay-client", "--send", "hi", NULL});
	assert_int_equal(p.status, -1);
	assert_string_equal(p.opts.send_text, "hi");
	assert_int_equal(p.opts.timeout_seconds, 5);
	parsed_free(&p);

	/* With --count there is no limit unless one is asked for. */
	p = parse((char *[]){"wsrelay-client", "--count", "1", NULL});
	assert_int_equal(p.opts.timeout_seconds, 0);
	parsed_free(&p);
}

static void test_help_and_version(void **state)
{
	(void)state;
	struct parsed p = parse((char *[]){"wsrelay-client", "--help", NULL});
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "SYNOPSIS"));
	assert_non_null(strstr(p.out, "EXIT STATUS"));
	assert_non_null(strstr(p.out, "host name is NEVER checked"));
	assert_string_equal(p.err, "");
	parsed_free(&p);

	p = parse((char *[]){"wsrelay-client", "-h", NULL});
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "--insecure"));
	parsed_free(&p);

	p = parse((char *[]){"wsrelay-client", "--version", NULL});
	assert_int_equal(p.status, 0);
	assert_non_null(strstr(p.out, "wsrelay-client "));
	assert_non_null(strstr(p.out, "CivetWeb 1.16"));
	parsed_free(&p);
}

static void test_usage_errors(void **state)
{
	(void)state;
	expect_usage_error((char *[]){"wsrelay-client", "--bogus", NULL}, "unknown option --bogus");
	expect_usage_error((char *[]){"wsrelay-client", "--count", NULL}, "--count needs a value");
	expect_usage_error((char *[]){"wsrelay-client", "--count", "0", NULL},
	                   "--count needs a whole number above 0, not '0'");
	expect_usage_error((char *[]){"wsrelay-client", "--count", "3x", NULL}, "not '3x'");
	expect_usage_error((char *[]){"wsrelay-client", "--count", "-1", NULL}, "not '-1'");
	expect_usage_error((char *[]){"wsrelay-client", "--send", "a", "--timeout", "0", NULL},
	                   "--timeout needs whole seconds");
	expect_usage_error((char *[]){"wsrelay-client", "--send", "a", "--timeout", "86401", NULL},
	                   "not '86401'");
	expect_usage_error((char *[]){"wsrelay-client", "http://h/", NULL},
	                   "bad URL: scheme 'http' is not ws or wss");
	expect_usage_error((char *[]){"wsrelay-client", "ws://a/", "ws://b/", NULL},
	                   "unexpected argument ws://b/");
	expect_usage_error((char *[]){"wsrelay-client", "--send", "a", "--count", "1", NULL},
	                   "--send and --count cannot be used together");
	expect_usage_error((char *[]){"wsrelay-client", "--timeout", "3", NULL},
	                   "--timeout only applies to --send or --count");
	expect_usage_error(
	    (char *[]){"wsrelay-client", "--insecure", "--ca", "x", "wss://h/", NULL},
	    "contradict");
	expect_usage_error((char *[]){"wsrelay-client", "--ca", "x", "ws://h/", NULL},
	                   "only apply to wss://");
	expect_usage_error((char *[]){"wsrelay-client", "--insecure", NULL},
	                   "only apply to wss://");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_every_option),
	    cmocka_unit_test(test_send_gets_a_default_timeout),
	    cmocka_unit_test(test_help_and_version),
	    cmocka_unit_test(test_usage_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
