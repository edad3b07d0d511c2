/* TLS end to end: the real server with certificates made at run time
 * (test_pki), raw TLS clients on OpenSSL, Python's websockets and the
 * CivetWeb-based wsrelay-client as independent peers. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <dirent.h>
#include <poll.h>
#include <openssl/bio.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay_fixture.h"
#include "relay_process.h"
#include "test_pki.h"
#include "ws_raw.h"
#include "test_file.h"

#define WAIT_MS 20000 /* only a failure waits this long */

static char pki_dir[64];

static const char *pki_path(const char *name)
{
	static char paths[8][PATH_MAX];
	static unsigned next;
	char *p = paths[next++ % 8];
	snprintf(p, PATH_MAX, "%s/%s", pki_dir, name);
	return p;
}

static int issue(enum pki_kind kind, const char *cn, long serial, long from, long until,
                 const struct pki_entity *issuer, const char *cert_file, const char *key_file)
{
	struct pki_entity *e = pki_issue(kind, cn, serial, from, until, issuer);
	int rc = e ? pki_write(e, cert_file ? pki_path(cert_file) : NULL,
	                       key_file ? pki_path(key_file) : NULL, true)
	           : -1;
	pki_free(e);
	return rc;
}

/* The whole PKI of the suite: a CA and what it signs, a second CA nobody
 * trusts, an expired leaf, a key that matches nothing and a file that is no
 * PEM at all. */
static int make_pki(void **state)
{
	(void)state;
	snprintf(pki_dir, sizeof(pki_dir), "/tmp/wsrelay-tls-test-XXXXXX");
	if (!mkdtemp(pki_dir))
		return -1;
	const long day = 86400;
	struct pki_entity *ca = pki_issue(PKI_CA, "wsrelay test CA", 1, -day, 30 * day, NULL);
	struct pki_entity *rogue = pki_issue(PKI_CA, "someone else's CA", 1, -day, 30 * day, NULL);
	int rc = (!ca || !rogue) ? -1 : 0;
	rc = rc ? rc : pki_write(ca, pki_path("ca.pem"), NULL, false);
	rc = rc ? rc
	        : issue(PKI_SERVER, "localhost", 1001, -day, 30 * day, ca, "server.pem",
	                "server.key");
	rc = rc ? rc
	        : issue(PKI_SERVER, "localhost", 2002, -day, 30 * day, ca, "server2.pem",
	                "server2.key");
	rc = rc ? rc
	        : issue(PKI_SERVER, "localhost", 3003, -30 * day, -day, ca, "expired.pem",
	                "expired.key");
	rc = rc ? rc
	        : issue(PKI_CLIENT, "a client", 4004, -day, 30 * day, ca, "client.pem",
	                "client.key");
	rc = rc ? rc
	        : issue(PKI_CLIENT, "a stranger", 5005, -day, 30 * day, rogue, "rogue.pem",
	                "rogue.key");
	rc = rc ? rc : issue(PKI_SERVER, "unrelated", 6006, -day, day, ca, NULL, "other.key");
	rc = rc ? rc : test_file_write(pki_path("garbage.pem"), "this is not PEM\n");
	pki_free(ca);
	pki_free(rogue);
	return rc;
}

/* The folder holds files only. */
static int remove_pki(void **state)
{
	(void)state;
	DIR *d = opendir(pki_dir);
	if (!d)
		return -1;
	const struct dirent *entry;
	while ((entry = readdir(d)) != NULL) {
		if (strcmp(entry->d_name, ".") != 0 && strcmp(entry->d_name, "..") != 0)
			(void)unlink(pki_path(entry->d_name));
	}
	(void)closedir(d);
	return rmdir(pki_dir);
}

/* A client context trusting only the test CA (or nothing, when verify is
 * false), with at most max_version, presenting cert/key when given. */
static SSL_CTX *client_ctx(bool verify, int max_version, const char *cert, const char *key)
{
	SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
	assert_non_null(ctx);
	if (verify) {
		assert_int_equal(SSL_CTX_load_verify_locations(ctx, pki_path("ca.pem"), NULL), 1);
		SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER, NULL);
	}
	if (max_version)
		SSL_CTX_set_max_proto_version(ctx, max_version);
	if (cert) {
		assert_int_equal(SSL_CTX_use_certificate_chain_file(ctx, pki_path(cert)), 1);
		assert_int_equal(SSL_CTX_use_PrivateKey_file(ctx, pki_path(key), SSL_FILETYPE_PEM),
		                 1);
	}
	return ctx;
}

/* The server of the test running, whose log a failure shows. */
static const struct relay_process *current_relay;

static void show_relay_log(void)
{
	char *log = current_relay ? test_file_read(current_relay->stderr_path, NULL) : NULL;
	if (log)
		print_error("server log:\n%s\n", log);
	free(log);
}

/* The relay on wss://127.0.0.1:@PORT@ (unless listen says otherwise), with
 * server.tls from certificate, key and the extra lines tls_extra. */
static void start_relay(struct relay_process *rp, const char *listen, const char *certificate,
                        const char *key, const char *tls_extra, const char *more_yaml)
{
	char *yaml = NULL;
	int n = asprintf(&yaml,
	                 "server:\n"
	                 "  listen: %s\n"
	                 "  max_connections: 64\n"
	                 "  document_root: \"%s/www\"\n"
	                 "  tls:\n"
	                 "    enabled: true\n"
	                 "    certificate: \"%s\"\n"
	                 "    private_key: \"%s\"\n"
	                 "%s"
	                 "metrics:\n"
	                 "  listen: \"127.0.0.1:@METRICS_PORT@\"\n"
	                 "%s"
	                 "logging:\n"
	                 "  level: debug\n",
	                 listen ? listen : "\"wss://127.0.0.1:@PORT@\"", WSRELAY_SOURCE_DIR,
	                 pki_path(certificate), pki_path(key), tls_extra ? tls_extra : "",
	                 more_yaml ? more_yaml : "");
	assert_true(n > 0);
	int rc = relay_start(rp, WSRELAY_BIN, yaml);
	free(yaml);
	assert_int_equal(rc, 0);
	current_relay = rp;
	/* Tests scrape it; it starts a moment after the WebSocket listener. */
	assert_int_equal(relay_wait_listener(rp, rp->metrics_port, WAIT_MS), 0);
}

static void connect_tls(struct ws_raw *c, uint16_t port, SSL_CTX *ctx)
{
	int status = 0;
	if (ws_raw_connect_tls(c, port, ctx, "/ws", NULL, &status, WAIT_MS) != 0)
		fail_msg("wss handshake failed: status %d, %s", status, c->err);
}

static void expect_message(struct ws_raw *c, uint8_t opcode, const void *payload, size_t len)
{
	struct ws_raw_frame f;
	int r = ws_raw_read_message(c, &f, WAIT_MS);
	if (r != WS_FRAME) {
		show_relay_log();
		fail_msg("no message: result %d (%s)", r, c->err);
	}
	assert_int_equal(f.opcode, opcode);
	assert_int_equal(f.len, len);
	assert_memory_equal(f.payload, payload, len);
	ws_raw_frame_free(&f);
}

static void expect_text(struct ws_raw *c, const char *text)
{
	expect_message(c, WS_OP_TEXT, text, strlen(text));
}

static long peer_serial(const struct ws_raw *c)
{
	X509 *cert = SSL_get1_peer_certificate(c->ssl);
	assert_non_null(cert);
	long serial = ASN1_INTEGER_get(X509_get0_serialNumber(cert));
	X509_free(cert);
	return serial;
}

/* Sends request over TLS and reads the reply until the server closes. */
static int https_request(uint16_t port, SSL_CTX *ctx, const char *request, char *resp, size_t cap)
{
	struct ws_raw c;
	int status = -1;
	if (ws_raw_tls_only(&c, port, ctx, WAIT_MS) == 0 &&
	    ws_raw_send_bytes(&c, request, strlen(request)) == 0) {
		size_t used = 0;
		long n;
		while (used + 1 < cap &&
		       (n = ws_raw_read_bytes(&c, resp + used, cap - 1 - used, WAIT_MS)) > 0)
			used += (size_t)n;
		resp[used] = '\0';
		if (strncmp(resp, "HTTP/1.1 ", 9) == 0)
			status = (int)strtol(resp + 9, NULL, 10);
	}
	ws_raw_close(&c);
	return status;
}

static bool wait_for_log(const struct relay_process *rp, const char *needle)
{
	for (int i = 0; i < WAIT_MS / 20; i++) {
		if (relay_stderr_contains(rp, needle) == 1)
			return true;
		usleep(20000);
	}
	return false;
}

/* The value of one series in a plain-http scrape of rp's metrics, or -1. */
static double scrape(const struct relay_process *rp, const char *series)
{
	return relay_fixture_metric(rp->metrics_port, series, WAIT_MS);
}

static bool wait_for_series(const struct relay_process *rp, const char *series, double value)
{
	return relay_fixture_wait_metric(rp->metrics_port, series, value, WAIT_MS);
}

/* ---- a client whose records the test bunches and cuts at will ---- */

/* TLS over memory BIOs: what OpenSSL writes waits in out until the test
 * sends it on the socket, in whatever pieces it likes. */
struct cut_client {
	int fd;
	SSL *ssl;
	BIO *in, *out; /* owned by ssl */
};

/* Everything OpenSSL wrote and the test has not sent yet (malloc'd). */
static uint8_t *cut_take(struct cut_client *c, size_t *len)
{
	char *data = NULL;
	long n = BIO_get_mem_data(c->out, &data);
	assert_true(n >= 0);
	uint8_t *copy = malloc(n > 0 ? (size_t)n : 1);
	assert_non_null(copy);
	if (n > 0)
		memcpy(copy, data, (size_t)n);
	*len = (size_t)n;
	assert_int_equal(BIO_reset(c->out), 1);
	return copy;
}

static void cut_send(struct cut_client *c, const uint8_t *data, size_t len)
{
	for (size_t done = 0; done < len;) {
		ssize_t n = send(c->fd, data + done, len - done, MSG_NOSIGNAL);
		assert_true(n > 0);
		done += (size_t)n;
	}
}

/* Sends what OpenSSL wrote, in one send(). */
static void cut_flush(struct cut_client *c)
{
	size_t len = 0;
	uint8_t *data = cut_take(c, &len);
	cut_send(c, data, len);
	free(data);
}

/* Hands what the server sent (waiting for it) to OpenSSL. */
static void cut_feed(struct cut_client *c)
{
	struct pollfd p = {.fd = c->fd, .events = POLLIN};
	if (poll(&p, 1, WAIT_MS) != 1) {
		show_relay_log();
		fail_msg("the server sent nothing within %d ms", WAIT_MS);
	}
	uint8_t buf[16384];
	ssize_t n = recv(c->fd, buf, sizeof(buf), 0);
	assert_true(n > 0);
	assert_int_equal(BIO_write(c->in, buf, (int)n), (int)n);
}

/* The TLS handshake; the client's last flight (its Finished, in TLS 1.3)
 * stays in c->out, unsent. */
static void cut_connect(struct cut_client *c, uint16_t port, SSL_CTX *ctx)
{
	c->fd = tcp_connect_loopback(port, WAIT_MS);
	assert_true(c->fd >= 0);
	c->ssl = SSL_new(ctx);
	c->in = BIO_new(BIO_s_mem());
	c->out = BIO_new(BIO_s_mem());
	assert_true(c->ssl && c->in && c->out);
	SSL_set_bio(c->ssl, c->in, c->out);
	assert_int_equal(SSL_set_tlsext_host_name(c->ssl, "localhost"), 1);
	assert_int_equal(SSL_set1_host(c->ssl, "localhost"), 1);
	SSL_set_connect_state(c->ssl);
	int r;
	while ((r = SSL_do_handshake(c->ssl)) != 1) {
		assert_int_equal(SSL_get_error(c->ssl, r), SSL_ERROR_WANT_READ);
		cut_flush(c);
		cut_feed(c);
	}
}

/* The upgrade request, sent in the same send() as whatever is held back,
 * and the 101. */
static void cut_upgrade(struct cut_client *c)
{
	static const char request[] = "GET /ws HTTP/1.1\r\nHost: localhost\r\n"
	                              "Upgrade: websocket\r\nConnection: Upgrade\r\n"
	                              "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n"
	                              "Sec-WebSocket-Version: 13\r\n\r\n";
	int len = (int)sizeof(request) - 1;
	assert_int_equal(SSL_write(c->ssl, request, len), len);
	cut_flush(c);
	char head[1024];
	size_t got = 0;
	while (!memmem(head, got, "\r\n\r\n", 4)) {
		int n = SSL_read(c->ssl, head + got, (int)(sizeof(head) - got));
		if (n > 0) {
			got += (size_t)n;
			continue;
		}
		int err = SSL_get_error(c->ssl, n);
		if (err != SSL_ERROR_WANT_READ) {
			show_relay_log();
			fail_msg("no 101: the connection ended (SSL error %d)", err);
		}
		assert_true(got < sizeof(head));
		cut_feed(c);
	}
	assert_memory_equal(head, "HTTP/1.1 101", 12);
}

/* A masked text frame (mask key 0) as a TLS record of its own, in c->out. */
static void cut_text_record(struct cut_client *c, const char *text)
{
	size_t len = strlen(text);
	assert_true(len <= 125);
	uint8_t frame[6 + 125] = {0x81, (uint8_t)(0x80u | len)};
	for (size_t i = 0; i < len; i++)
		frame[6 + i] = (uint8_t)text[i]; /* masked with 0: as it is */
	assert_int_equal(SSL_write(c->ssl, frame, (int)(6 + len)), (int)(6 + len));
}

static void cut_close(struct cut_client *c)
{
	SSL_free(c->ssl);
	close(c->fd);
}

/* ---- tests ---- */

static void test_wss_relays_between_tls_clients(void **state)
{
	(void)state;
	struct relay_process rp;
	/* 2000 messages are sent before any is read: a queue bound above that,
	 * so a starved machine cannot make a reader a slow consumer. */
	start_relay(&rp, NULL, "server.pem", "server.key", NULL,
	            "relay:\n  client_queue_messages: 4096\n");
	SSL_CTX *ctx = client_ctx(true, 0, NULL, NULL);
	SSL_CTX *tls12 = client_ctx(true, TLS1_2_VERSION, NULL, NULL);
	struct ws_raw a, b;
	connect_tls(&a, rp.port, ctx);
	connect_tls(&b, rp.port, tls12);
	assert_int_equal(SSL_version(a.ssl), TLS1_3_VERSION);
	assert_int_equal(SSL_version(b.ssl), TLS1_2_VERSION);
	assert_int_equal(peer_serial(&a), 1001);

	assert_int_equal(ws_raw_send_text(&a, "hello over TLS"), 0);
	expect_text(&a, "hello over TLS");
	expect_text(&b, "hello over TLS");

	/* Larger than a TLS record and a socket buffer: many records, queued
	 * and flushed by the sender. */
	size_t big_len = (size_t)900 * 1024;
	uint8_t *big = malloc(big_len);
	assert_non_null(big);
	for (size_t i = 0; i < big_len; i++)
		big[i] = (uint8_t)(i * 131 + 7);
	assert_int_equal(ws_raw_send_binary(&b, big, big_len), 0);
	expect_message(&a, WS_OP_BINARY, big, big_len);
	expect_message(&b, WS_OP_BINARY, big, big_len);
	free(big);

	/* Order, with batches of small frames in shared records. */
	for (int i = 0; i < 2000; i++) {
		char text[32];
		snprintf(text, sizeof(text), "m%d", i);
		assert_int_equal(ws_raw_send_text(&a, text), 0);
	}
	for (int i = 0; i < 2000; i++) {
		char text[32];
		snprintf(text, sizeof(text), "m%d", i);
		expect_text(&b, text);
		expect_text(&a, text);
	}
	ws_raw_close(&a);
	ws_raw_close(&b);
	SSL_CTX_free(ctx);
	SSL_CTX_free(tls12);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

/* A TLS client that stops reading fills its socket, then the records queued
 * under it, then its outbox: it is closed as a slow consumer while the
 * others get every message in order. */
static void test_stalled_tls_reader_is_closed_and_others_keep_up(void **state)
{
	(void)state;
	struct relay_process rp;
	start_relay(&rp, NULL, "server.pem", "server.key", NULL,
	            "relay:\n  client_queue_bytes: 262144\n");
	SSL_CTX *ctx = client_ctx(true, 0, NULL, NULL);
	struct ws_raw sender, reader, stalled;
	connect_tls(&sender, rp.port, ctx);
	connect_tls(&reader, rp.port, ctx);
	connect_tls(&stalled, rp.port, ctx);
	static uint8_t payload[4096];
	for (int i = 0; i < 2000; i++) {
		memset(payload, 'a' + i % 26, sizeof(payload));
		memcpy(payload, &i, sizeof(i));
		assert_int_equal(ws_raw_send_binary(&sender, payload, sizeof(payload)), 0);
		expect_message(&sender, WS_OP_BINARY, payload, sizeof(payload));
		expect_message(&reader, WS_OP_BINARY, payload, sizeof(payload));
	}
	/* What the stalled client finds when it reads at last: messages in
	 * order, then the close 1008. */
	struct ws_raw_frame f;
	int expected = 0;
	for (;;) {
		int r = ws_raw_read_message(&stalled, &f, WAIT_MS);
		if (r != WS_FRAME)
			fail_msg("stalled client: result %d (%s) after %d messages", r, stalled.err,
			         expected);
		if (f.opcode == WS_OP_CLOSE) {
			assert_int_equal(f.close_code, 1008);
			ws_raw_frame_free(&f);
			break;
		}
		int seq;
		memcpy(&seq, f.payload, sizeof(seq));
		assert_int_equal(seq, expected++);
		ws_raw_frame_free(&f);
	}
	assert_true(expected < 2000);
	assert_int_equal(ws_raw_send_close(&stalled, 1008, NULL), 0);
	assert_int_equal(ws_raw_expect_eof(&stalled, WAIT_MS), 0);
	assert_true(
	    wait_for_series(&rp, "wsrelay_disconnections_total{reason=\"slow_consumer\"}", 1));
	ws_raw_close(&sender);
	ws_raw_close(&reader);
	ws_raw_close(&stalled);
	SSL_CTX_free(ctx);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

static void test_https_serves_the_static_page(void **state)
{
	(void)state;
	struct relay_process rp;
	start_relay(&rp, NULL, "server.pem", "server.key", NULL, NULL);
	SSL_CTX *ctx = client_ctx(true, 0, NULL, NULL);
	static char resp[1 << 16];
	int status = https_request(rp.port, ctx,
	                           "GET /index.html HTTP/1.1\r\nHost: localhost\r\n"
	                           "Connection: close\r\n\r\n",
	                           resp, sizeof(resp));
	assert_int_equal(status, 200);
	assert_non_null(strstr(resp, "<html"));
	/* Plain HTTP on the TLS port is not served. */
	assert_true(http_request(rp.port, "GET /index.html HTTP/1.1\r\nHost: x\r\n\r\n", resp,
	                         sizeof(resp), 2000) != 200);
	SSL_CTX_free(ctx);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

static void test_plain_and_tls_listeners_side_by_side(void **state)
{
	(void)state;
	uint16_t plain_port = free_loopback_port();
	assert_true(plain_port != 0);
	char listen[128];
	snprintf(listen, sizeof(listen), "[\"wss://127.0.0.1:@PORT@\", \"ws://127.0.0.1:%u\"]",
	         plain_port);
	struct relay_process rp;
	start_relay(&rp, listen, "server.pem", "server.key", NULL, NULL);
	assert_int_equal(relay_wait_listener(&rp, plain_port, WAIT_MS), 0);
	SSL_CTX *ctx = client_ctx(true, 0, NULL, NULL);

	struct ws_raw secure, plain, wrong;
	connect_tls(&secure, rp.port, ctx);
	int status = 0;
	ws_raw_init(&plain);
	assert_int_equal(ws_raw_connect(&plain, plain_port, "/ws", NULL, &status, WAIT_MS), 0);
	assert_int_equal(ws_raw_send_text(&plain, "from ws://"), 0);
	expect_text(&secure, "from ws://");
	expect_text(&plain, "from ws://");
	assert_int_equal(ws_raw_send_text(&secure, "from wss://"), 0);
	expect_text(&plain, "from wss://");
	expect_text(&secure, "from wss://");

	/* Each port speaks only its own protocol. */
	assert_int_equal(ws_raw_connect(&wrong, rp.port, "/ws", NULL, &status, 2000), -1);
	ws_raw_close(&wrong);
	assert_int_equal(ws_raw_connect_tls(&wrong, plain_port, ctx, "/ws", NULL, &status, 2000),
	                 -1);
	ws_raw_close(&wrong);

	ws_raw_close(&secure);
	ws_raw_close(&plain);
	SSL_CTX_free(ctx);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

static void test_min_version_1_3_refuses_a_1_2_client(void **state)
{
	(void)state;
	struct relay_process rp;
	start_relay(&rp, NULL, "server.pem", "server.key", "    min_version: \"1.3\"\n", NULL);
	SSL_CTX *old = client_ctx(true, TLS1_2_VERSION, NULL, NULL);
	SSL_CTX *modern = client_ctx(true, 0, NULL, NULL);
	struct ws_raw c;
	assert_int_equal(ws_raw_tls_only(&c, rp.port, old, WAIT_MS), -1);
	ws_raw_close(&c);
	assert_true(wait_for_series(
	    &rp, "wsrelay_tls_handshake_failures_total{listener=\"websocket\"}", 1));
	connect_tls(&c, rp.port, modern);
	assert_int_equal(SSL_version(c.ssl), TLS1_3_VERSION);
	assert_int_equal(ws_raw_send_text(&c, "1.3 only"), 0);
	expect_text(&c, "1.3 only");
	ws_raw_close(&c);
	SSL_CTX_free(old);
	SSL_CTX_free(modern);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

static void test_client_ca_requires_a_client_certificate(void **state)
{
	(void)state;
	char extra[PATH_MAX + 32];
	snprintf(extra, sizeof(extra), "    client_ca: \"%s\"\n", pki_path("ca.pem"));
	struct relay_process rp;
	start_relay(&rp, NULL, "server.pem", "server.key", extra, NULL);
	SSL_CTX *anonymous = client_ctx(true, 0, NULL, NULL);
	SSL_CTX *stranger = client_ctx(true, 0, "rogue.pem", "rogue.key");
	SSL_CTX *member = client_ctx(true, 0, "client.pem", "client.key");
	SSL_CTX *member12 = client_ctx(true, TLS1_2_VERSION, "client.pem", "client.key");
	int status = 0;
	struct ws_raw c, d;
	/* With TLS 1.3 the refusal can come after the client thinks the
	 * handshake is done: either way no WebSocket handshake completes. */
	assert_int_equal(ws_raw_connect_tls(&c, rp.port, anonymous, "/ws", NULL, &status, WAIT_MS),
	                 -1);
	assert_int_not_equal(status, 101);
	ws_raw_close(&c);
	assert_int_equal(ws_raw_connect_tls(&c, rp.port, stranger, "/ws", NULL, &status, WAIT_MS),
	                 -1);
	assert_int_not_equal(status, 101);
	ws_raw_close(&c);

	assert_true(wait_for_series(
	    &rp, "wsrelay_tls_handshake_failures_total{listener=\"websocket\"}", 2));

	connect_tls(&c, rp.port, member);
	connect_tls(&d, rp.port, member12);
	assert_int_equal(ws_raw_send_text(&c, "with a certificate"), 0);
	expect_text(&c, "with a certificate");
	expect_text(&d, "with a certificate");
	ws_raw_close(&c);
	ws_raw_close(&d);
	SSL_CTX_free(anonymous);
	SSL_CTX_free(stranger);
	SSL_CTX_free(member);
	SSL_CTX_free(member12);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

/* Each bad file stops the start with one line naming it, and exit 1. */
static void test_start_up_errors_name_the_file(void **state)
{
	(void)state;
	struct {
		const char *certificate, *key, *tls_extra, *metrics_tls;
		const char *want;
	} cases[] = {
	    {"missing.pem", "server.key", "", "",
	     "server.tls.certificate: cannot read @/missing.pem: No such file or directory"},
	    {"server.pem", "missing.key", "", "",
	     "server.tls.private_key: cannot read @/missing.key: No such file or directory"},
	    {"garbage.pem", "server.key", "", "",
	     "server.tls.certificate: @/garbage.pem holds no PEM certificate"},
	    {"server.pem", "garbage.pem", "", "",
	     "server.tls.private_key: @/garbage.pem holds no PEM private key"},
	    {"server.pem", "other.key", "", "",
	     "server.tls.private_key: @/other.key does not match the certificate in"},
	    {"server.pem", "server.key", "    client_ca: garbage.pem\n", "",
	     "server.tls.client_ca: @/garbage.pem holds no PEM CA certificate"},
	    {"server.pem", "server.key", "    client_ca: nothing.pem\n", "",
	     "server.tls.client_ca: cannot read @/nothing.pem"},
	    {"server.pem", "server.key", "",
	     "  tls: {enabled: true, certificate: server.pem, private_key: nope.key}\n",
	     "metrics.tls.private_key: cannot read @/nope.key"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char yaml[4096], want[PATH_MAX + 256], out[8192];
		snprintf(yaml, sizeof(yaml),
		         "server:\n  listen: \"wss://127.0.0.1:0\"\n  max_connections: 8\n"
		         "  tls:\n    enabled: true\n    certificate: %s\n    private_key: %s\n%s"
		         "metrics:\n  listen: \"127.0.0.1:0\"\n%s",
		         cases[i].certificate, cases[i].key, cases[i].tls_extra,
		         cases[i].metrics_tls);
		char config[PATH_MAX];
		snprintf(config, sizeof(config), "%s", pki_path("case.yaml"));
		assert_int_equal(test_file_write(config, yaml), 0);
		char *argv[] = {"wsrelay", "--config-file", config, NULL};
		int rc = relay_run(WSRELAY_BIN, argv, out, sizeof(out), 20000);
		/* "@" in a case stands for the folder of the files. */
		const char *at = strchr(cases[i].want, '@');
		snprintf(want, sizeof(want), "%.*s%s%s", (int)(at - cases[i].want), cases[i].want,
		         pki_dir, at + 1);
		if (rc != 1 || !strstr(out, want))
			fail_msg("case %zu: exit %d, want \"%s\" in:\n%s", i, rc, want, out);
		/* One line for the error, prefixed like every start-up error. */
		const char *line = strstr(out, "wsrelay: ");
		assert_non_null(line);
		assert_ptr_equal(strstr(line, want) - line, strlen("wsrelay: "));
	}
}

static void test_expired_certificate_warns_and_serves(void **state)
{
	(void)state;
	struct relay_process rp;
	start_relay(&rp, NULL, "expired.pem", "expired.key", NULL, NULL);
	assert_true(wait_for_log(&rp, "expired on"));
	assert_true(wait_for_log(&rp, "serving it anyway"));
	/* A client that does not verify still gets a working relay. */
	SSL_CTX *lenient = client_ctx(false, 0, NULL, NULL);
	struct ws_raw c;
	connect_tls(&c, rp.port, lenient);
	assert_int_equal(peer_serial(&c), 3003);
	assert_int_equal(ws_raw_send_text(&c, "still served"), 0);
	expect_text(&c, "still served");
	ws_raw_close(&c);
	SSL_CTX_free(lenient);
	/* A verifying client refuses it. */
	SSL_CTX *strict = client_ctx(true, 0, NULL, NULL);
	assert_int_equal(ws_raw_tls_only(&c, rp.port, strict, WAIT_MS), -1);
	assert_non_null(strstr(c.err, "certificate verify failed"));
	ws_raw_close(&c);
	SSL_CTX_free(strict);
	/* The client's alert counts as a failed handshake too. */
	assert_true(wait_for_series(
	    &rp, "wsrelay_tls_handshake_failures_total{listener=\"websocket\"}", 1));
	double left = scrape(&rp, "wsrelay_tls_certificate_expiry_seconds{listener=\"websocket\"}");
	assert_true(left < -86000.0 && left > -86400.0 - 600.0);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

static int copy_file(const char *from, const char *to)
{
	size_t len;
	char *text = test_file_read(pki_path(from), &len);
	if (!text)
		return -1;
	/* Written aside and renamed, as a certificate manager does. */
	char tmp[PATH_MAX + 8];
	snprintf(tmp, sizeof(tmp), "%s.new", pki_path(to));
	int rc = test_file_write(tmp, text);
	free(text);
	return rc == 0 ? rename(tmp, pki_path(to)) : -1;
}

static void test_sighup_rotates_the_certificate(void **state)
{
	(void)state;
	assert_int_equal(copy_file("server.pem", "live.pem"), 0);
	assert_int_equal(copy_file("server.key", "live.key"), 0);
	struct relay_process rp;
	start_relay(&rp, NULL, "live.pem", "live.key", NULL, NULL);
	SSL_CTX *ctx = client_ctx(true, 0, NULL, NULL);
	struct ws_raw before, after, still;
	connect_tls(&before, rp.port, ctx);
	assert_int_equal(peer_serial(&before), 1001);

	assert_int_equal(copy_file("server2.pem", "live.pem"), 0);
	assert_int_equal(copy_file("server2.key", "live.key"), 0);
	assert_int_equal(kill(rp.pid, SIGHUP), 0);
	assert_true(wait_for_log(&rp, "server.tls: certificate and key reloaded"));

	connect_tls(&after, rp.port, ctx);
	assert_int_equal(peer_serial(&after), 2002);
	/* The connection from before the rotation keeps relaying both ways. */
	assert_int_equal(ws_raw_send_text(&before, "opened before"), 0);
	expect_text(&before, "opened before");
	expect_text(&after, "opened before");
	assert_int_equal(ws_raw_send_text(&after, "opened after"), 0);
	expect_text(&before, "opened after");
	expect_text(&after, "opened after");

	/* A pair that does not match is refused; the last good one serves. */
	assert_int_equal(copy_file("other.key", "live.key"), 0);
	assert_int_equal(kill(rp.pid, SIGHUP), 0);
	assert_true(wait_for_log(&rp, "does not match the certificate"));
	assert_true(wait_for_log(&rp, "the previous certificate stays in service"));
	connect_tls(&still, rp.port, ctx);
	assert_int_equal(peer_serial(&still), 2002);
	assert_int_equal(ws_raw_send_text(&still, "after the bad pair"), 0);
	expect_text(&before, "after the bad pair");
	expect_text(&after, "after the bad pair");
	expect_text(&still, "after the bad pair");

	/* Counted by the reloading thread around its log lines: waited for. */
	assert_true(wait_for_series(&rp,
	                            "wsrelay_tls_certificate_reloads_total{listener=\"websocket\","
	                            "result=\"success\"}",
	                            1.0));
	assert_true(wait_for_series(&rp,
	                            "wsrelay_tls_certificate_reloads_total{listener=\"websocket\","
	                            "result=\"failure\"}",
	                            1.0));
	ws_raw_close(&before);
	ws_raw_close(&after);
	ws_raw_close(&still);
	SSL_CTX_free(ctx);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

static void test_metrics_over_https(void **state)
{
	(void)state;
	char metrics_tls[2 * PATH_MAX + 128];
	snprintf(metrics_tls, sizeof(metrics_tls),
	         "  tls: {enabled: true, certificate: \"%s\", private_key: \"%s\"}\n",
	         pki_path("server2.pem"), pki_path("server2.key"));
	struct relay_process rp;
	start_relay(&rp, NULL, "server.pem", "server.key", NULL, metrics_tls);
	assert_int_equal(relay_wait_listener(&rp, rp.metrics_port, WAIT_MS), 0);
	SSL_CTX *ctx = client_ctx(true, 0, NULL, NULL);
	static char resp[1 << 16];
	int status = https_request(rp.metrics_port, ctx,
	                           "GET /metrics HTTP/1.1\r\nHost: localhost\r\n"
	                           "Connection: close\r\n\r\n",
	                           resp, sizeof(resp));
	assert_int_equal(status, 200);
	assert_non_null(strstr(resp, "\nwsrelay_connections_total 0\n"));
	assert_non_null(
	    strstr(resp, "wsrelay_tls_certificate_expiry_seconds{listener=\"metrics\"}"));
	assert_non_null(
	    strstr(resp, "wsrelay_tls_certificate_expiry_seconds{listener=\"websocket\"}"));
	/* Plain HTTP is not served there. */
	assert_true(http_request(rp.metrics_port, "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n", resp,
	                         sizeof(resp), 2000) != 200);
	SSL_CTX_free(ctx);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

/* A TLS 1.3 client may send its upgrade request in the same segment as its
 * Finished. The relay reads records ahead, so the request arrives in
 * OpenSSL's buffer with the handshake, where a poll of the socket cannot
 * see it (patch 0015): it must still be answered, and at once. */
static void test_request_in_the_segment_of_the_clients_finished(void **state)
{
	(void)state;
	struct relay_process rp;
	start_relay(&rp, NULL, "server.pem", "server.key", NULL, NULL);
	SSL_CTX *ctx = client_ctx(true, 0, NULL, NULL);
	struct ws_raw b;
	connect_tls(&b, rp.port, ctx);
	struct cut_client c;
	cut_connect(&c, rp.port, ctx);
	assert_int_equal(SSL_version(c.ssl), TLS1_3_VERSION);
	cut_upgrade(&c);
	cut_text_record(&c, "after a bunched handshake");
	cut_flush(&c);
	expect_text(&b, "after a bunched handshake");
	cut_close(&c);
	ws_raw_close(&b);
	SSL_CTX_free(ctx);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

/* Many small messages, one record each, arrive in one segment, the last
 * record cut short: the relay reads them ahead in one go, relays every
 * whole one in order, then waits for the rest of the last one on the
 * socket, idle rather than spinning on the half record it holds, and
 * relays it once it is whole. */
static void test_bunched_records_and_a_split_one(void **state)
{
	(void)state;
	struct relay_process rp;
	start_relay(&rp, NULL, "server.pem", "server.key", NULL,
	            "relay:\n  client_queue_messages: 4096\n");
	SSL_CTX *ctx = client_ctx(true, 0, NULL, NULL);
	struct ws_raw b;
	connect_tls(&b, rp.port, ctx);
	struct cut_client c;
	cut_connect(&c, rp.port, ctx);
	cut_upgrade(&c);
	enum { COUNT = 300, HELD = 5 };
	for (int i = 0; i < COUNT; i++) {
		char text[32];
		snprintf(text, sizeof(text), "record %d", i);
		cut_text_record(&c, text);
	}
	size_t len = 0;
	uint8_t *records = cut_take(&c, &len);
	cut_send(&c, records, len - HELD);
	for (int i = 0; i < COUNT - 1; i++) {
		char text[32];
		snprintf(text, sizeof(text), "record %d", i);
		expect_text(&b, text);
	}
	/* A reader spinning on the half record would burn this whole second
	 * of CPU; a waiting one uses next to nothing. */
	double before = scrape(&rp, "process_cpu_seconds_total");
	usleep(1000 * 1000);
	double after = scrape(&rp, "process_cpu_seconds_total");
	assert_true(before >= 0 && after >= before);
	if (after - before > 0.5)
		fail_msg("the relay used %.2f s of CPU in 1 s holding half a record",
		         after - before);
	cut_send(&c, records + len - HELD, HELD);
	free(records);
	char last[32];
	snprintf(last, sizeof(last), "record %d", COUNT - 1);
	expect_text(&b, last);
	cut_close(&c);
	ws_raw_close(&b);
	SSL_CTX_free(ctx);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

/* Python's websockets and the CivetWeb client of wsrelay-client, both over
 * wss:// trusting only the test CA, exchange messages through the relay. */
static void test_independent_clients_interoperate(void **state)
{
	(void)state;
	struct relay_process rp;
	start_relay(&rp, NULL, "server.pem", "server.key", NULL, NULL);
	char url[64];
	snprintf(url, sizeof(url), "wss://localhost:%u/ws", rp.port);
	char ca[PATH_MAX], listener_log[PATH_MAX], python_log[PATH_MAX];
	snprintf(ca, sizeof(ca), "%s", pki_path("ca.pem"));
	snprintf(listener_log, sizeof(listener_log), "%s", pki_path("listener.log"));
	snprintf(python_log, sizeof(python_log), "%s", pki_path("python.log"));

	char *listen_argv[] = {"wsrelay-client", "--ca", ca,  "--count", "1",
	                       "--timeout",      "20",   url, NULL};
	pid_t listener = process_spawn(WSRELAY_CLIENT_BIN, listen_argv, listener_log);
	assert_true(listener > 0);
	assert_true(wait_for_series(&rp, "wsrelay_connected_clients", 1));

	char script[] = WSRELAY_SOURCE_DIR "/tests/support/wss_peer.py";
	char *python_argv[] = {"python3", script, url, ca, "from python", "from civetweb", NULL};
	pid_t python = process_spawn("/usr/bin/python3", python_argv, python_log);
	assert_true(python > 0);
	/* The listener's one message is Python's. */
	int listener_rc = process_stop(listener, 0, 20000);
	char *heard = test_file_read(listener_log, NULL);
	if (listener_rc != 0 || !heard || !strstr(heard, "from python\n"))
		fail_msg("wsrelay-client exit %d, output:\n%s", listener_rc, heard ? heard : "");
	free(heard);

	char out[4096];
	char *send_argv[] = {"wsrelay-client", "--ca", ca, "--send", "from civetweb", url, NULL};
	int send_rc = relay_run(WSRELAY_CLIENT_BIN, send_argv, out, sizeof(out), 20000);
	if (send_rc != 0)
		fail_msg("wsrelay-client --send exit %d:\n%s", send_rc, out);
	int python_rc = process_stop(python, 0, 20000);
	char *said = test_file_read(python_log, NULL);
	if (python_rc != 0)
		fail_msg("python peer exit %d:\n%s", python_rc, said ? said : "");
	assert_non_null(strstr(said, "received from civetweb"));
	free(said);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

/* Replaces the first find in *text with put (text is malloc'd). */
static void replace(char **text, const char *find, const char *put)
{
	char *at = strstr(*text, find);
	assert_non_null(at);
	char *out = NULL;
	assert_true(asprintf(&out, "%.*s%s%s", (int)(at - *text), *text, put, at + strlen(find)) >
	            0);
	free(*text);
	*text = out;
}

/* conf/wsrelay-tls.yaml as shipped, on free ports and with the test's pair
 * in place of the README's self-signed one. */
static void test_shipped_tls_example_works(void **state)
{
	(void)state;
	char *yaml = test_file_read(WSRELAY_SOURCE_DIR "/conf/wsrelay-tls.yaml", NULL);
	assert_non_null(yaml);
	uint16_t plain_port = free_loopback_port();
	char plain[32], www[PATH_MAX];
	snprintf(plain, sizeof(plain), "127.0.0.1:%u", plain_port);
	snprintf(www, sizeof(www), "%s/www", WSRELAY_SOURCE_DIR);
	/* 4096 threads (the default) take long to start under the sanitizers. */
	replace(&yaml, "\nserver:\n", "\nserver:\n  max_connections: 64\n");
	replace(&yaml, "0.0.0.0:8443", "127.0.0.1:@PORT@");
	replace(&yaml, "127.0.0.1:8080", plain);
	replace(&yaml, "../www", www);
	replace(&yaml, "127.0.0.1:9090", "127.0.0.1:@METRICS_PORT@");
	for (int i = 0; i < 2; i++) {
		replace(&yaml, "\"localhost.pem\"", pki_path("server.pem"));
		replace(&yaml, "\"localhost-key.pem\"", pki_path("server.key"));
	}
	struct relay_process rp;
	assert_int_equal(relay_start(&rp, WSRELAY_BIN, yaml), 0);
	free(yaml);
	assert_int_equal(relay_wait_listener(&rp, plain_port, WAIT_MS), 0);
	assert_int_equal(relay_wait_listener(&rp, rp.metrics_port, WAIT_MS), 0);
	SSL_CTX *ctx = client_ctx(true, 0, NULL, NULL);
	struct ws_raw secure, local;
	connect_tls(&secure, rp.port, ctx);
	int status = 0;
	assert_int_equal(ws_raw_connect(&local, plain_port, "/ws", NULL, &status, WAIT_MS), 0);
	assert_int_equal(ws_raw_send_text(&secure, "shipped example"), 0);
	expect_text(&local, "shipped example");
	static char resp[1 << 16];
	assert_int_equal(https_request(rp.metrics_port, ctx,
	                               "GET /healthz HTTP/1.1\r\nHost: localhost\r\n"
	                               "Connection: close\r\n\r\n",
	                               resp, sizeof(resp)),
	                 200);
	ws_raw_close(&secure);
	ws_raw_close(&local);
	SSL_CTX_free(ctx);
	assert_int_equal(relay_stop(&rp, SIGTERM, 15000), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_wss_relays_between_tls_clients),
	    cmocka_unit_test(test_request_in_the_segment_of_the_clients_finished),
	    cmocka_unit_test(test_bunched_records_and_a_split_one),
	    cmocka_unit_test(test_stalled_tls_reader_is_closed_and_others_keep_up),
	    cmocka_unit_test(test_https_serves_the_static_page),
	    cmocka_unit_test(test_plain_and_tls_listeners_side_by_side),
	    cmocka_unit_test(test_min_version_1_3_refuses_a_1_2_client),
	    cmocka_unit_test(test_client_ca_requires_a_client_certificate),
	    cmocka_unit_test(test_start_up_errors_name_the_file),
	    cmocka_unit_test(test_expired_certificate_warns_and_serves),
	    cmocka_unit_test(test_sighup_rotates_the_certificate),
	    cmocka_unit_test(test_metrics_over_https),
	    cmocka_unit_test(test_independent_clients_interoperate),
	    cmocka_unit_test(test_shipped_tls_example_works),
	};
	return cmocka_run_group_tests(tests, make_pki, remove_pki);
}
