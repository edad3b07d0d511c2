/* Access control against the real server: auth.mode jwt with every
 * algorithm family (keys made at run time, tokens made by PyJWT, an
 * independent implementation), each refusal with its status, challenge and
 * counters, query and cookie tokens (never logged), subscribe-only clients,
 * expiry of live clients, SIGHUP key rotation, a JWKS picked by kid, and
 * auth.mode http against a small real HTTP server (tests/support/auth_app.py),
 * and with rooms on, the rooms a token or the application's answer allows. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "relay_fixture.h"
#include "relay_process.h"
#include "test_file.h"
#include "ws_raw.h"

#define WAIT_MS   10000
#define PYTHON    "/usr/bin/python3"
#define JWT_TOOL  WSRELAY_SOURCE_DIR "/tests/support/jwt_tool.py"
#define AUTH_APP  WSRELAY_SOURCE_DIR "/tests/support/auth_app.py"
#define TOKEN_CAP 16384

static char keydir[] = "/tmp/wsrelay-auth-keys-XXXXXX";
static struct relay_process relay;

/* ---- keys, tokens, files ---- */

static char *key_path(const char *name)
{
	static char paths[8][PATH_MAX];
	static int next;
	char *p = paths[next++ % 8];
	snprintf(p, PATH_MAX, "%s/%s", keydir, name);
	return p;
}

static int make_keys(void)
{
	/* Each group makes its own (mkdtemp rewrites the template). */
	strcpy(keydir, "/tmp/wsrelay-auth-keys-XXXXXX");
	if (!mkdtemp(keydir))
		return -1;
	// NOLINTNEXTLINE(bugprone-suspicious-missing-comma): JWT_TOOL is one path
	char *argv[] = {PYTHON, JWT_TOOL, "keys", keydir, NULL};
	char out[4096];
	int rc = relay_run(PYTHON, argv, out, sizeof(out), 60000);
	if (rc != 0)
		fprintf(stderr, "jwt_tool keys: %s\n", out);
	return rc;
}

static int remove_keys(void)
{
	return test_file_remove_tree(keydir);
}

/* One token from a jwt_tool spec (JSON). The caller frees it. */
static char *token(const char *spec)
{
	char *arg = strdup(spec);
	// NOLINTNEXTLINE(bugprone-suspicious-missing-comma): JWT_TOOL is one path
	char *argv[] = {PYTHON, JWT_TOOL, "tokens", arg, NULL};
	char *out = malloc(TOKEN_CAP);
	assert_non_null(out);
	int rc = relay_run(PYTHON, argv, out, TOKEN_CAP, 60000);
	free(arg);
	if (rc != 0)
		fprintf(stderr, "jwt_tool tokens %s: %s\n", spec, out);
	assert_int_equal(rc, 0);
	out[strcspn(out, "\n")] = '\0';
	return out;
}

/* A token signed by alg with key (a file in keydir), issued by the
 * configured issuer for the configured audience, more claims and headers
 * as JSON members (may be ""). */
static char *signed_token(const char *alg, const char *key, int exp_in, const char *claims,
                          const char *headers)
{
	size_t cap = strlen(claims) + strlen(headers) + PATH_MAX + 256;
	char *spec = malloc(cap);
	assert_non_null(spec);
	snprintf(spec, cap,
	         "{\"alg\":\"%s\",\"key\":\"%s\",\"exp_in\":%d,\"claims\":{\"iss\":"
	         "\"https://login.test\",\"aud\":\"wsrelay\"%s%s},\"headers\":{%s}}",
	         alg, key_path(key), exp_in, claims[0] ? "," : "", claims, headers);
	char *t = token(spec);
	free(spec);
	return t;
}

static void copy_key(const char *from, const char *to)
{
	char *text = test_file_read(key_path(from), NULL);
	assert_non_null(text);
	assert_int_equal(test_file_write(key_path(to), text), 0);
	free(text);
}

/* ---- the relay ---- */

static bool wait_for_log(const char *needle)
{
	for (int i = 0; i < 300; i++) {
		if (relay_stderr_contains(&relay, needle) == 1)
			return true;
		usleep(50 * 1000);
	}
	return false;
}

static double metric(const char *series)
{
	return relay_fixture_metric(relay.metrics_port, series, WAIT_MS);
}

/* Polls a counter until it reaches want (it is updated on other threads). */
static void expect_metric(const char *series, double want)
{
	if (!relay_fixture_wait_metric(relay.metrics_port, series, want, WAIT_MS))
		fail();
}

/* The handshake with extra header lines; returns the status. */
static int handshake(struct ws_raw *c, const char *path, const char *headers)
{
	int status = 0;
	ws_raw_init(c);
	ws_raw_connect(c, relay.port, path, headers, &status, WAIT_MS);
	return status;
}

/* The handshake on path with the token as a bearer. */
static int bearer_to(struct ws_raw *c, const char *path, const char *tok)
{
	size_t len = strlen(tok) + 64;
	char *h = malloc(len);
	snprintf(h, len, "Authorization: Bearer %s\r\n", tok);
	int status = handshake(c, path, h);
	free(h);
	return status;
}

static int bearer(struct ws_raw *c, const char *tok)
{
	return bearer_to(c, "/ws", tok);
}

static void expect_text(struct ws_raw *c, const char *want)
{
	struct ws_raw_frame f;
	assert_int_equal(ws_raw_read_message(c, &f, WAIT_MS), WS_FRAME);
	if (f.opcode != WS_OP_TEXT || strcmp((char *)f.payload, want) != 0)
		print_error("got opcode %d \"%s\", want \"%s\"\n", f.opcode, f.payload, want);
	assert_int_equal(f.opcode, WS_OP_TEXT);
	assert_string_equal((char *)f.payload, want);
	ws_raw_frame_free(&f);
}

/* A close frame with code and reason, within timeout_ms. */
static void expect_close(struct ws_raw *c, uint16_t code, const char *reason, int timeout_ms)
{
	struct ws_raw_frame f;
	int rc = ws_raw_read_message(c, &f, timeout_ms);
	assert_int_equal(rc, WS_FRAME);
	assert_int_equal(f.opcode, WS_OP_CLOSE);
	assert_int_equal(f.close_code, code);
	assert_string_equal((char *)f.payload + 2, reason);
	ws_raw_frame_free(&f);
	ws_raw_send_close(c, code, NULL);
}

/* A working connection: what it sends comes back (echo_to_sender). */
static void expect_relays(struct ws_raw *c, const char *text)
{
	assert_int_equal(ws_raw_send_text(c, text), 0);
	expect_text(c, text);
}

static bool head_has(const struct ws_raw *c, const char *line)
{
	return c->http_head && strstr(c->http_head, line);
}

/* ---- group 1: jwt, one relay ---- */

/* Starts the relay with this auth section (the rest is common) and waits
 * for its metrics listener. */
static int start_with_auth(void **state, const char *auth_yaml)
{
	*state = &relay;
	char config[4096];
	snprintf(config, sizeof(config),
	         "server:\n"
	         "  listen: \"127.0.0.1:@PORT@\"\n"
	         "  max_connections: 32\n"
	         "  document_root: \"\"\n"
	         "metrics:\n"
	         "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
	         "%s"
	         "shutdown:\n"
	         "  timeout_seconds: 5\n"
	         "logging:\n"
	         "  level: debug\n",
	         auth_yaml);
	if (relay_start(&relay, WSRELAY_BIN, config) != 0)
		return -1;
	return relay_wait_listener(&relay, relay.metrics_port, WAIT_MS);
}

/* auth.mode jwt with key files in keydir: public_keys_file may be "". */
static int start_jwt_with(void **state, const char *algorithms, const char *secret_file,
                          const char *public_keys_file, const char *more)
{
	char auth[2048];
	snprintf(auth, sizeof(auth),
	         "auth:\n"
	         "  mode: jwt\n"
	         "  jwt:\n"
	         "    algorithms: [%s]\n"
	         "    secret_file: \"%s\"\n"
	         "    public_keys_file: \"%s\"\n"
	         "%s",
	         algorithms, secret_file, public_keys_file, more);
	return start_with_auth(state, auth);
}

static int start_jwt_relay(void **state)
{
	*state = &relay; /* for the teardown, even if this fails */
	if (make_keys() != 0)
		return -1;
	/* Several PEM keys in one file. */
	char *a = test_file_read(key_path("rsa1.pub"), NULL);
	char *b = test_file_read(key_path("ec256.pub"), NULL);
	char *c = test_file_read(key_path("ec384.pub"), NULL);
	char all[16384];
	snprintf(all, sizeof(all), "%s%s%s", a, b, c);
	free(a);
	free(b);
	free(c);
	if (test_file_write(key_path("public.pem"), all) != 0)
		return -1;
	return start_jwt_with(state, "HS256, RS256, PS256, ES256, ES384", key_path("secret"),
	                      key_path("public.pem"),
	                      "    issuer: \"https://login.test\"\n"
	                      "    audience: \"wsrelay\"\n"
	                      "    leeway_seconds: 0\n"
	                      "    cookie: \"wsrelay_token\"\n");
}

static int stop_jwt_relay(void **state)
{
	int rc = relay_fixture_stop(state);
	return remove_keys() == 0 ? rc : -1;
}

static void test_each_family(void **state)
{
	(void)state;
	static const struct {
		const char *alg, *key;
	} cases[] = {{"HS256", "secret"},
	             {"RS256", "rsa1.key"},
	             {"PS256", "rsa1.key"},
	             {"ES256", "ec256.key"},
	             {"ES384", "ec384.key"}};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = signed_token(cases[i].alg, cases[i].key, 600, "\"sub\":\"fam\"", "");
		struct ws_raw c;
		int status = bearer(&c, t);
		if (status != 101)
			print_error("%s: status %d\n%s\n", cases[i].alg, status, c.http_head);
		assert_int_equal(status, 101);
		expect_relays(&c, cases[i].alg);
		ws_raw_close(&c);
		free(t);
	}
}

struct refusal {
	const char *what;
	char *token;         /* NULL: no Authorization header */
	const char *header;  /* instead of a token */
	const char *reason;  /* wsrelay_auth_failures_total's label */
	bool bare_challenge; /* no token: "Bearer" without an error */
};

static void expect_refusal(const struct refusal *r)
{
	char series[128],
	    unauthorized[] = "wsrelay_rejected_handshakes_total{reason=\"unauthorized\"}";
	snprintf(series, sizeof(series), "wsrelay_auth_failures_total{reason=\"%s\"}", r->reason);
	double before = metric(series);
	double rejected = metric(unauthorized);
	double connections = metric("wsrelay_connections_total");
	struct ws_raw c;
	int status = r->token ? bearer(&c, r->token) : handshake(&c, "/ws", r->header);
	if (status != 401)
		print_error("%s: status %d\n", r->what, status);
	assert_int_equal(status, 401);
	if (r->bare_challenge)
		assert_true(head_has(&c, "\r\nWWW-Authenticate: Bearer\r\n"));
	else
		assert_true(
		    head_has(&c, "\r\nWWW-Authenticate: Bearer error=\"invalid_token\"\r\n"));
	/* No WebSocket: the server closes after the answer. */
	assert_int_equal(ws_raw_expect_eof(&c, WAIT_MS), 0);
	ws_raw_close(&c);
	expect_metric(series, before + 1);
	expect_metric(unauthorized, rejected + 1);
	assert_true(metric("wsrelay_connections_total") == connections);
}

static void test_refusals(void **state)
{
	(void)state;
	char big_claim[9000];
	snprintf(big_claim, sizeof(big_claim), "\"pad\":\"%08500d\"", 0);
	char spec[1024];
	snprintf(spec, sizeof(spec),
	         "{\"alg\":\"none\",\"exp_in\":600,\"claims\":{\"iss\":"
	         "\"https://login.test\",\"aud\":\"wsrelay\"}}");
	char *alg_none = token(spec);
	snprintf(spec, sizeof(spec),
	         "{\"alg\":\"HS256\",\"hmac_with\":\"%s\",\"exp_in\":600,\"claims\":{\"iss\":"
	         "\"https://login.test\",\"aud\":\"wsrelay\"}}",
	         key_path("rsa1.pub"));
	char *confused = token(spec);
	snprintf(spec, sizeof(spec),
	         "{\"alg\":\"HS256\",\"key\":\"%s\",\"reencode\":true,\"exp_in\":600,\"claims\":{"
	         "\"iss\":\"https://login.test\",\"aud\":\"wsrelay\",\"sub\":\"x\"}}",
	         key_path("secret"));
	char *reencoded = token(spec);
	snprintf(spec, sizeof(spec),
	         "{\"alg\":\"HS256\",\"key\":\"%s\",\"claims\":{\"iss\":"
	         "\"https://login.test\",\"aud\":\"wsrelay\"}}",
	         key_path("secret"));
	char *no_exp = token(spec);

	struct refusal cases[] = {
	    {"no token", NULL, NULL, "missing", true},
	    {"another scheme", NULL, "Authorization: Basic dXNlcjpwYXNz\r\n", "missing", true},
	    {"garbage", strdup("not.a.token"), NULL, "malformed", false},
	    {"no exp", no_exp, NULL, "malformed", false},
	    {"over 8 KiB", signed_token("HS256", "secret", 600, big_claim, ""), NULL, "malformed",
	     false},
	    {"expired", signed_token("HS256", "secret", -60, "", ""), NULL, "expired", false},
	    {"not yet valid", signed_token("HS256", "secret", 600, "\"nbf\":4102444800", ""), NULL,
	     "not_yet_valid", false},
	    {"issuer", signed_token("HS256", "secret", 600, "\"iss\":\"https://evil.test\"", ""),
	     NULL, "issuer", false},
	    {"audience", signed_token("HS256", "secret", 600, "\"aud\":\"other\"", ""), NULL,
	     "audience", false},
	    {"alg none", alg_none, NULL, "algorithm", false},
	    {"unlisted HS384", signed_token("HS384", "secret", 600, "", ""), NULL, "algorithm",
	     false},
	    {"unlisted RS512", signed_token("RS512", "rsa1.key", 600, "", ""), NULL, "algorithm",
	     false},
	    {"HS256 keyed with the RSA public key", confused, NULL, "signature", false},
	    {"key not configured", signed_token("RS256", "rsa2.key", 600, "", ""), NULL,
	     "signature", false},
	    {"re-encoded payload", reencoded, NULL, "signature", false},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		expect_refusal(&cases[i]);
		free(cases[i].token);
	}
	/* A refused client never becomes a member. */
	expect_metric("wsrelay_connected_clients", 0);
}

static void test_query_and_cookie_tokens(void **state)
{
	(void)state;
	char *t = signed_token("HS256", "secret", 600, "\"sub\":\"query-user\"", "");
	char path[TOKEN_CAP], header[TOKEN_CAP];
	struct ws_raw c;

	snprintf(path, sizeof(path), "/ws?x=1&access_token=%s", t);
	assert_int_equal(handshake(&c, path, NULL), 101);
	expect_relays(&c, "by query");
	ws_raw_close(&c);

	snprintf(header, sizeof(header), "Cookie: theme=dark; wsrelay_token=%s\r\n", t);
	assert_int_equal(handshake(&c, "/ws", header), 101);
	expect_relays(&c, "by cookie");
	ws_raw_close(&c);

	/* Refused query tokens: logged with the token masked. */
	const char *secretish = "eyJhbGciOiJIUzI1NiJ9.eyJleHAiOjF9.c2VjcmV0LW1hcmtlcg";
	snprintf(path, sizeof(path), "/ws?access_token=%s&room=1", secretish);
	assert_int_equal(handshake(&c, path, NULL), 401);
	ws_raw_close(&c);
	assert_true(wait_for_log("for /ws?access_token=***&room=1: 401 (signature)"));
	/* Neither token reached the log, whole or in part. */
	char head[24];
	snprintf(head, sizeof(head), "%.20s", strrchr(t, '.') + 1);
	assert_int_equal(relay_stderr_contains(&relay, strrchr(secretish, '.') + 1), 0);
	assert_int_equal(relay_stderr_contains(&relay, head), 0);
	assert_int_equal(relay_stderr_contains(&relay, t), 0);
	free(t);
}

static void test_subscribe_only(void **state)
{
	(void)state;
	char *reader_token = signed_token("ES256", "ec256.key", 600,
	                                  "\"sub\":\"reader\",\"wsrelay\":{\"publish\":false}", "");
	char *writer_token = signed_token("RS256", "rsa1.key", 600, "\"sub\":\"writer\"", "");
	double denied = metric("wsrelay_disconnections_total{reason=\"publish_denied\"}");
	struct ws_raw reader, writer;
	assert_int_equal(bearer(&reader, reader_token), 101);
	assert_int_equal(bearer(&writer, writer_token), 101);
	expect_metric("wsrelay_connected_clients", 2);

	/* It receives what others send. */
	assert_int_equal(ws_raw_send_text(&writer, "news"), 0);
	expect_text(&writer, "news");
	expect_text(&reader, "news");
	/* Its first message closes it, and reaches nobody. */
	assert_int_equal(ws_raw_send_text(&reader, "let me speak"), 0);
	expect_close(&reader, 1008, "publish not allowed", WAIT_MS);
	assert_int_equal(ws_raw_expect_eof(&reader, WAIT_MS), 0);
	expect_relays(&writer, "still here");
	expect_metric("wsrelay_disconnections_total{reason=\"publish_denied\"}", denied + 1);
	ws_raw_close(&reader);
	ws_raw_close(&writer);
	free(reader_token);
	free(writer_token);
	expect_metric("wsrelay_connected_clients", 0);
}

static void test_expiry_closes_live_client(void **state)
{
	(void)state;
	double expired = metric("wsrelay_disconnections_total{reason=\"token_expired\"}");
	char *t = signed_token("HS256", "secret", 3, "\"sub\":\"short-lived\"", "");
	struct ws_raw c;
	assert_int_equal(bearer(&c, t), 101);
	expect_relays(&c, "while valid");
	/* Closed at exp (leeway 0), with nothing needed from the client. */
	expect_close(&c, 1008, "token expired", 30000);
	assert_int_equal(ws_raw_expect_eof(&c, WAIT_MS), 0);
	ws_raw_close(&c);
	expect_metric("wsrelay_disconnections_total{reason=\"token_expired\"}", expired + 1);
	/* And the same token is refused now. */
	struct refusal r = {"expired now", t, NULL, "expired", false};
	expect_refusal(&r);
	free(t);
}

static int start_client_relay(void **state)
{
	*state = &relay; /* for the teardown, even if this fails */
	if (make_keys() != 0)
		return -1;
	return start_jwt_with(state, "HS256", key_path("secret"), "", "");
}

/* wsrelay-client: a token from --make-token (libjwt, another independent
 * signer), sent in the header and in the query. */
static void test_client_token_options(void **state)
{
	(void)state;
	char out[TOKEN_CAP], url[64];
	char *make[] = {WSRELAY_CLIENT_BIN, "--make-token", key_path("secret"),
	                "--subject",        "cli",          NULL};
	assert_int_equal(relay_run(WSRELAY_CLIENT_BIN, make, out, sizeof(out), 30000), 0);
	out[strcspn(out, "\n")] = '\0';
	char *tok = strdup(out);
	snprintf(url, sizeof(url), "ws://127.0.0.1:%u/ws", relay.port);
	char *header[] = {WSRELAY_CLIENT_BIN, "--token", tok, "--send", "hi", url, NULL};
	assert_int_equal(relay_run(WSRELAY_CLIENT_BIN, header, out, sizeof(out), 30000), 0);
	char *query[] = {WSRELAY_CLIENT_BIN, "--token", tok, "--token-query",
	                 "--send",           "hi",      url, NULL};
	assert_int_equal(relay_run(WSRELAY_CLIENT_BIN, query, out, sizeof(out), 30000), 0);
	assert_true(wait_for_log("(cli)"));
	char *none[] = {WSRELAY_CLIENT_BIN, "--send", "hi", url, NULL};
	assert_int_equal(relay_run(WSRELAY_CLIENT_BIN, none, out, sizeof(out), 30000), 1);
	/* A subscribe-only token: the relay closes the client on its send. */
	char *ro[] = {WSRELAY_CLIENT_BIN, "--make-token", key_path("secret"), "--subscribe-only",
	              NULL};
	assert_int_equal(relay_run(WSRELAY_CLIENT_BIN, ro, out, sizeof(out), 30000), 0);
	out[strcspn(out, "\n")] = '\0';
	char *ro_tok = strdup(out);
	char *send_ro[] = {WSRELAY_CLIENT_BIN, "--token", ro_tok, "--send", "hi", url, NULL};
	assert_int_equal(relay_run(WSRELAY_CLIENT_BIN, send_ro, out, sizeof(out), 30000), 1);
	free(ro_tok);
	free(tok);
}

/* ---- group 2: SIGHUP key rotation ---- */

static int start_rotation_relay(void **state)
{
	*state = &relay; /* for the teardown, even if this fails */
	if (make_keys() != 0)
		return -1;
	char *pub = test_file_read(key_path("rsa1.pub"), NULL);
	int rc = pub ? test_file_write(key_path("live.pem"), pub) : -1;
	free(pub);
	return rc != 0 ? -1 : start_jwt_with(state, "RS256, ES256", "", key_path("live.pem"), "");
}

static void test_sighup_rotates_keys(void **state)
{
	(void)state;
	char *old_token = signed_token("RS256", "rsa1.key", 600, "", "");
	char *new_token = signed_token("RS256", "rsa2.key", 600, "", "");
	struct ws_raw before, after, c;
	assert_int_equal(bearer(&before, old_token), 101);
	assert_int_equal(bearer(&c, new_token), 401);
	ws_raw_close(&c);

	copy_key("rsa2.pub", "live.pem");
	assert_int_equal(kill(relay.pid, SIGHUP), 0);
	assert_true(wait_for_log("auth.jwt: keys reloaded"));
	expect_metric("wsrelay_auth_key_reloads_total{result=\"ok\"}", 1);
	assert_int_equal(bearer(&after, new_token), 101);
	assert_int_equal(bearer(&c, old_token), 401);
	ws_raw_close(&c);
	/* The connection made with the old key stays. */
	assert_int_equal(ws_raw_send_text(&before, "from before"), 0);
	expect_text(&before, "from before");
	expect_text(&after, "from before");

	/* A bad file keeps the keys in service. */
	assert_int_equal(test_file_write(key_path("live.pem"), "-----BEGIN PUBLIC KEY-----\nno\n"),
	                 0);
	assert_int_equal(kill(relay.pid, SIGHUP), 0);
	assert_true(wait_for_log("the previous keys stay in service"));
	expect_metric("wsrelay_auth_key_reloads_total{result=\"error\"}", 1);
	assert_int_equal(bearer(&c, new_token), 101);
	expect_relays(&c, "still the new key");
	ws_raw_close(&c);
	assert_int_equal(bearer(&c, old_token), 401);
	ws_raw_close(&c);
	ws_raw_close(&before);
	ws_raw_close(&after);
	free(old_token);
	free(new_token);
}

/* ---- group 3: a JWKS with several keys ---- */

static int start_jwks_relay(void **state)
{
	*state = &relay; /* for the teardown, even if this fails */
	if (make_keys() != 0)
		return -1;
	return start_jwt_with(state, "RS256, ES256", "", key_path("jwks.json"), "");
}

static void test_jwks_picks_by_kid(void **state)
{
	(void)state;
	static const struct {
		const char *alg, *key, *headers;
		int status;
	} cases[] = {
	    {"RS256", "rsa2.key", "\"kid\":\"two\"", 101},
	    {"RS256", "rsa1.key", "\"kid\":\"one\"", 101},
	    {"RS256", "rsa2.key", "\"kid\":\"one\"", 401}, /* another key's kid */
	    {"RS256", "rsa2.key", "\"kid\":\"three\"", 401},
	    {"ES256", "ec256.key", "\"kid\":\"ec\"", 101},
	    {"RS256", "rsa1.key", "", 101}, /* no kid: any key that verifies */
	    {"ES384", "ec384.key", "\"kid\":\"ec\"", 401},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *t = signed_token(cases[i].alg, cases[i].key, 600, "", cases[i].headers);
		struct ws_raw c;
		int status = bearer(&c, t);
		if (status != cases[i].status)
			print_error("case %zu: %d\n", i, status);
		assert_int_equal(status, cases[i].status);
		ws_raw_close(&c);
		free(t);
	}
	expect_metric("wsrelay_auth_failures_total{reason=\"signature\"}", 2);
	expect_metric("wsrelay_auth_failures_total{reason=\"algorithm\"}", 1);
}

/* ---- group 4: rooms under access control (jwt here, http in group 5) ---- */

/* A client whose grant does not allow the room it asks for: 403 before the
 * upgrade, counted as forbidden_room and as an unauthorized handshake. */
static void expect_forbidden_room(const char *path, const char *tok, double forbidden,
                                  double unauthorized)
{
	struct ws_raw c;
	assert_int_equal(bearer_to(&c, path, tok), 403);
	ws_raw_close(&c);
	expect_metric("wsrelay_auth_failures_total{reason=\"forbidden_room\"}", forbidden + 1);
	expect_metric("wsrelay_rejected_handshakes_total{reason=\"unauthorized\"}",
	              unauthorized + 1);
	assert_true(wait_for_log(": 403 (forbidden_room)"));
}

/* chat: a grant for chat-* only; any: a grant for every room. Both may
 * publish. */
static void expect_room_grants(const char *chat, const char *any)
{
	double forbidden = metric("wsrelay_auth_failures_total{reason=\"forbidden_room\"}");
	double unauthorized = metric("wsrelay_rejected_handshakes_total{reason=\"unauthorized\"}");
	struct ws_raw chatter, other;
	assert_int_equal(bearer_to(&chatter, "/ws/chat-1", chat), 101);
	assert_int_equal(bearer_to(&other, "/ws/chat-1", any), 101);
	expect_metric("wsrelay_connected_clients", 2);
	/* In the same room. */
	assert_int_equal(ws_raw_send_text(&other, "in chat-1"), 0);
	expect_text(&chatter, "in chat-1");
	ws_raw_close(&other);

	expect_forbidden_room("/ws/game-1", chat, forbidden, unauthorized);
	/* The bare path is the default room, "lobby": not chat-*. */
	expect_forbidden_room("/ws", chat, forbidden + 1, unauthorized + 1);

	/* No room list: every room. */
	assert_int_equal(bearer_to(&other, "/ws/game-1", any), 101);
	expect_relays(&other, "in game-1");
	ws_raw_close(&other);
	assert_int_equal(bearer_to(&other, "/ws", any), 101);
	ws_raw_close(&other);
	/* The chat client was never disturbed. */
	expect_relays(&chatter, "still in chat-1");
	ws_raw_close(&chatter);
	expect_metric("wsrelay_connected_clients", 0);
	expect_metric("wsrelay_auth_failures_total{reason=\"forbidden_room\"}", forbidden + 2);
}

static int start_jwt_rooms_relay(void **state)
{
	*state = &relay; /* for the teardown, even if this fails */
	if (make_keys() != 0)
		return -1;
	return start_jwt_with(state, "HS256", key_path("secret"), "", "rooms:\n  enabled: true\n");
}

static void test_jwt_rooms_claim(void **state)
{
	(void)state;
	char *chat = signed_token("HS256", "secret", 600,
	                          "\"sub\":\"chatter\",\"wsrelay\":{\"rooms\":[\"chat-*\"]}", "");
	char *any = signed_token("HS256", "secret", 600, "\"sub\":\"anyone\"", "");
	expect_room_grants(chat, any);
	free(chat);
	free(any);
}

/* ---- group 5: the HTTP check ---- */

static pid_t app_pid = -1;
static uint16_t app_port;

/* more: config sections after auth (may be ""). */
static int start_http_relay_with(void **state, const char *more)
{
	*state = &relay; /* for the teardown, even if this fails */
	app_port = free_loopback_port();
	char port[8];
	snprintf(port, sizeof(port), "%u", app_port);
	// NOLINTNEXTLINE(bugprone-suspicious-missing-comma): AUTH_APP is one path
	char *argv[] = {PYTHON, AUTH_APP, port, NULL};
	app_pid = process_spawn(PYTHON, argv, "/dev/null");
	if (app_pid < 0 || relay_wait_port(app_port, 30000) != 0)
		return -1;
	char auth[1024];
	snprintf(auth, sizeof(auth),
	         "auth:\n"
	         "  mode: http\n"
	         "  http:\n"
	         "    url: \"http://127.0.0.1:%u/check\"\n"
	         "    timeout_ms: 1000\n"
	         "    forward_headers: [Cookie, Authorization, Origin]\n"
	         "%s",
	         app_port, more);
	return start_with_auth(state, auth);
}

static int start_http_relay(void **state)
{
	return start_http_relay_with(state, "");
}

static int start_http_rooms_relay(void **state)
{
	return start_http_relay_with(state, "rooms:\n  enabled: true\n");
}

static int stop_http_relay(void **state)
{
	if (app_pid > 0)
		process_stop(app_pid, SIGTERM, 5000);
	return relay_fixture_stop(state);
}

static void test_http_allows_and_denies(void **state)
{
	(void)state;
	struct ws_raw c, reader;
	assert_int_equal(bearer(&c, "allow"), 101);
	expect_relays(&c, "allowed");
	assert_true(wait_for_log("(alice)"));

	/* The answer's headers are the permissions. */
	assert_int_equal(bearer(&reader, "readonly"), 101);
	assert_int_equal(ws_raw_send_text(&c, "to the reader"), 0);
	expect_text(&reader, "to the reader");
	assert_int_equal(ws_raw_send_text(&reader, "no"), 0);
	expect_close(&reader, 1008, "publish not allowed", WAIT_MS);
	ws_raw_close(&reader);
	ws_raw_close(&c);

	/* The client's headers and the request's URI reach the application. */
	assert_int_equal(handshake(&c, "/ws?room=1&x=y",
	                           "Authorization: Bearer headers\r\nCookie: session=abc\r\n"
	                           "Origin: http://good.example\r\n"),
	                 101);
	ws_raw_close(&c);

	assert_int_equal(bearer(&c, "deny"), 403);
	ws_raw_close(&c);
	assert_int_equal(bearer(&c, "login"), 401);
	assert_true(head_has(&c, "\r\nWWW-Authenticate: Bearer realm=\"app\"\r\n"));
	ws_raw_close(&c);
	expect_metric("wsrelay_auth_failures_total{reason=\"http_denied\"}", 2);
	expect_metric("wsrelay_rejected_handshakes_total{reason=\"unauthorized\"}", 2);
}

static void test_http_failures_are_503(void **state)
{
	(void)state;
	const char *tokens[] = {"slow", "broken", "garbled"};
	for (size_t i = 0; i < 3; i++) {
		struct ws_raw c;
		int status = bearer(&c, tokens[i]);
		if (status != 503)
			print_error("%s: %d\n", tokens[i], status);
		assert_int_equal(status, 503);
		assert_true(head_has(&c, "\r\nRetry-After: 5\r\n"));
		ws_raw_close(&c);
	}
	expect_metric("wsrelay_auth_failures_total{reason=\"http_error\"}", 3);
	assert_true(metric("wsrelay_auth_http_duration_seconds_count") >= 3);
	/* The slow one took the whole timeout, at least. */
	assert_true(metric("wsrelay_auth_http_duration_seconds_bucket{le=\"0.5\"}") <
	            metric("wsrelay_auth_http_duration_seconds_count"));
}

static void test_http_expiry(void **state)
{
	(void)state;
	struct ws_raw c;
	assert_int_equal(bearer(&c, "expiring"), 101);
	expect_close(&c, 1008, "token expired", 30000);
	ws_raw_close(&c);
}

static void test_http_down_is_503(void **state)
{
	(void)state;
	assert_true(process_stop(app_pid, SIGTERM, 5000) != -2);
	app_pid = -1;
	struct ws_raw c;
	assert_int_equal(bearer(&c, "allow"), 503);
	ws_raw_close(&c);
	expect_metric("wsrelay_auth_failures_total{reason=\"http_error\"}", 4);
}

/* X-Wsrelay-Rooms: the application's answer names the rooms. */
static void test_http_rooms_header(void **state)
{
	(void)state;
	expect_room_grants("chat", "allow");
}

/* ---- group 6: start-up and mode none ---- */

static void test_bad_key_file_stops_start(void **state)
{
	(void)state;
	char dir[] = "/tmp/wsrelay-auth-start-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char config_path[PATH_MAX], config[1024];
	snprintf(config_path, sizeof(config_path), "%s/c.yaml", dir);
	snprintf(
	    config, sizeof(config),
	    "server:\n  listen: \"127.0.0.1:%u\"\n  document_root: \"\"\n  max_connections: 16\n"
	    "metrics:\n  enabled: "
	    "false\nauth:\n  mode: jwt\n  jwt:\n    secret_file: \"%s/nope\"\n",
	    free_loopback_port(), dir);
	assert_int_equal(test_file_write(config_path, config), 0);
	char *argv[] = {WSRELAY_BIN, "--config-file", config_path, NULL};
	char out[2048];
	assert_int_equal(relay_run(WSRELAY_BIN, argv, out, sizeof(out), 30000), 1);
	char want[PATH_MAX + 64];
	snprintf(want, sizeof(want), "wsrelay: %s/nope: No such file or directory\n", dir);
	assert_non_null(strstr(out, want));
	unlink(config_path);
	rmdir(dir);
}

static void test_anonymous_subscribe_only(void **state)
{
	(void)state;
	struct relay_process rp;
	assert_int_equal(
	    relay_start(&rp, WSRELAY_BIN,
	                /* Few workers: 4096 of them take long to start under TSan. */
	                "server:\n  listen: \"127.0.0.1:@PORT@\"\n  document_root: \"\"\n"
	                "  max_connections: 16\n"
	                "metrics:\n  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
	                "auth:\n  anonymous_publish: false\n"),
	    0);
	struct ws_raw c;
	relay_fixture_connect(&c, rp.port, WAIT_MS);
	assert_int_equal(ws_raw_send_text(&c, "hi"), 0);
	expect_close(&c, 1008, "publish not allowed", WAIT_MS);
	ws_raw_close(&c);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

int main(void)
{
	const struct CMUnitTest jwt_tests[] = {
	    cmocka_unit_test(test_each_family),
	    cmocka_unit_test(test_refusals),
	    cmocka_unit_test(test_query_and_cookie_tokens),
	    cmocka_unit_test(test_subscribe_only),
	    cmocka_unit_test(test_expiry_closes_live_client),
	};
	const struct CMUnitTest client_tests[] = {cmocka_unit_test(test_client_token_options)};
	const struct CMUnitTest rotation_tests[] = {cmocka_unit_test(test_sighup_rotates_keys)};
	const struct CMUnitTest jwks_tests[] = {cmocka_unit_test(test_jwks_picks_by_kid)};
	const struct CMUnitTest http_tests[] = {
	    cmocka_unit_test(test_http_allows_and_denies),
	    cmocka_unit_test(test_http_failures_are_503),
	    cmocka_unit_test(test_http_expiry),
	    cmocka_unit_test(test_http_down_is_503),
	};
	const struct CMUnitTest jwt_rooms_tests[] = {cmocka_unit_test(test_jwt_rooms_claim)};
	const struct CMUnitTest http_rooms_tests[] = {cmocka_unit_test(test_http_rooms_header)};
	const struct CMUnitTest other_tests[] = {
	    cmocka_unit_test(test_bad_key_file_stops_start),
	    cmocka_unit_test(test_anonymous_subscribe_only),
	};
	int failed = cmocka_run_group_tests_name("jwt", jwt_tests, start_jwt_relay, stop_jwt_relay);
	failed +=
	    cmocka_run_group_tests_name("client", client_tests, start_client_relay, stop_jwt_relay);
	failed += cmocka_run_group_tests_name("rotation", rotation_tests, start_rotation_relay,
	                                      stop_jwt_relay);
	failed += cmocka_run_group_tests_name("jwks", jwks_tests, start_jwks_relay, stop_jwt_relay);
	failed +=
	    cmocka_run_group_tests_name("http", http_tests, start_http_relay, stop_http_relay);
	failed += cmocka_run_group_tests_name("jwt-rooms", jwt_rooms_tests, start_jwt_rooms_relay,
	                                      stop_jwt_relay);
	failed += cmocka_run_group_tests_name("http-rooms", http_rooms_tests,
	                                      start_http_rooms_relay, stop_http_relay);
	failed += cmocka_run_group_tests_name("other", other_tests, NULL, NULL);
	return failed;
}
