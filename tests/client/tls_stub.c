/* The wss:// stand-in for the client tests (see tls_stub.h). Only what the
 * client exercises: short frames, one at a time. */
#include "tls_stub.h"

#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <poll.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

#define WS_GUID "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

static int write_pem(const char *path, X509 *cert, EVP_PKEY *key)
{
	FILE *f = fopen(path, "we");
	if (!f)
		return -1;
	int ok = cert ? PEM_write_X509(f, cert)
	              : PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
	return (fclose(f) == 0 && ok == 1) ? 0 : -1;
}

int tls_stub_make_cert(const char *cert_path, const char *key_path, const char *cn)
{
	static long serial = 1;
	int rc = -1;
	EVP_PKEY *key = EVP_EC_gen("P-256");
	X509 *cert = X509_new();
	X509_EXTENSION *ca = NULL;
	if (!key || !cert)
		goto out;
	X509_NAME *name = X509_get_subject_name(cert);
	/* CA:TRUE lets the certificate be its own trust anchor for --ca. */
	ca = X509V3_EXT_conf_nid(NULL, NULL, NID_basic_constraints, "critical,CA:TRUE");
	if (!ca || X509_set_version(cert, 2) != 1 ||
	    ASN1_INTEGER_set(X509_get_serialNumber(cert), serial++) != 1 ||
	    !X509_gmtime_adj(X509_getm_notBefore(cert), -3600) ||
	    !X509_gmtime_adj(X509_getm_notAfter(cert), 86400) || X509_set_pubkey(cert, key) != 1 ||
	    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)cn, -1, -1,
	                               0) != 1 ||
	    X509_set_issuer_name(cert, name) != 1 || X509_add_ext(cert, ca, -1) != 1 ||
	    X509_sign(cert, key, EVP_sha256()) == 0)
		goto out;
	if (write_pem(cert_path, cert, NULL) == 0 && write_pem(key_path, NULL, key) == 0)
		rc = 0;
out:
	X509_EXTENSION_free(ca);
	X509_free(cert);
	EVP_PKEY_free(key);
	return rc;
}

static bool read_exact(SSL *ssl, void *buf, size_t len)
{
	size_t got = 0;
	while (got < len) {
		int n = SSL_read(ssl, (char *)buf + got, (int)(len - got));
		if (n <= 0)
			return false;
		got += (size_t)n;
	}
	return true;
}

static bool write_all(SSL *ssl, const void *buf, size_t len)
{
	return SSL_write(ssl, buf, (int)len) == (int)len;
}

/* Reads the upgrade request and answers 101 with the right accept key. */
static bool websocket_handshake(SSL *ssl)
{
	char req[4096];
	size_t len = 0;
	while (len < sizeof(req) - 1) {
		int n = SSL_read(ssl, req + len, (int)(sizeof(req) - 1 - len));
		if (n <= 0)
			return false;
		len += (size_t)n;
		req[len] = '\0';
		if (strstr(req, "\r\n\r\n"))
			break;
	}
	const char *key = strcasestr(req, "\r\nSec-WebSocket-Key:");
	if (!key)
		return false;
	key += strlen("\r\nSec-WebSocket-Key:");
	key += strspn(key, " ");
	size_t key_len = strcspn(key, "\r");
	char joined[128];
	snprintf(joined, sizeof(joined), "%.*s%s", (int)key_len, key, WS_GUID);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned digest_len = 0;
	unsigned char accept[64];
	if (EVP_Digest(joined, strlen(joined), digest, &digest_len, EVP_sha1(), NULL) != 1)
		return false;
	EVP_EncodeBlock(accept, digest, (int)digest_len);
	char reply[256];
	int n = snprintf(reply, sizeof(reply),
	                 "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
	                 "Connection: Upgrade\r\nSec-WebSocket-Accept: %s\r\n\r\n",
	                 accept);
	return write_all(ssl, reply, (size_t)n);
}

/* Echoes frames (payloads under 126 bytes) until the client's close. */
static void echo_frames(SSL *ssl)
{
	for (;;) {
		unsigned char head[2], mask[4], payload[125], out[2 + 125];
		if (!read_exact(ssl, head, 2) || (head[1] & 0x7F) > 125 || !(head[1] & 0x80))
			return;
		size_t len = head[1] & 0x7F;
		if (!read_exact(ssl, mask, 4) || !read_exact(ssl, payload, len))
			return;
		for (size_t i = 0; i < len; i++)
			payload[i] ^= mask[i % 4];
		out[0] = (unsigned char)(0x80 | (head[0] & 0x0F));
		out[1] = (unsigned char)len;
		memcpy(out + 2, payload, len);
		if (!write_all(ssl, out, 2 + len) || (head[0] & 0x0F) == 0x8)
			return;
	}
}

static void serve(struct tls_stub *s, int fd)
{
	/* A client that stalls must not hang the test. */
	struct timeval tv = {.tv_sec = 5};
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
	SSL *ssl = SSL_new(s->ssl_ctx);
	if (ssl && SSL_set_fd(ssl, fd) == 1 && SSL_accept(ssl) == 1) {
		atomic_fetch_add(&s->tls_handshakes, 1);
		if (websocket_handshake(ssl))
			echo_frames(ssl);
		SSL_shutdown(ssl);
	}
	SSL_free(ssl);
	close(fd);
}

static void *accept_loop(void *arg)
{
	struct tls_stub *s = arg;
	while (!atomic_load(&s->stop)) {
		struct pollfd p = {.fd = s->listen_fd, .events = POLLIN};
		if (poll(&p, 1, 100) <= 0)
			continue;
		int fd = accept4(s->listen_fd, NULL, NULL, SOCK_CLOEXEC);
		if (fd >= 0)
			serve(s, fd);
	}
	return NULL;
}

int tls_stub_start(struct tls_stub *s, const char *cert_path, const char *key_path)
{
	memset(s, 0, sizeof(*s));
	s->listen_fd = -1;
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	s->ssl_ctx = ctx;
	if (!ctx || SSL_CTX_use_certificate_file(ctx, cert_path, SSL_FILETYPE_PEM) != 1 ||
	    SSL_CTX_use_PrivateKey_file(ctx, key_path, SSL_FILETYPE_PEM) != 1)
		goto fail;
	s->listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	socklen_t alen = sizeof(a);
	if (s->listen_fd < 0 || bind(s->listen_fd, (struct sockaddr *)&a, sizeof(a)) < 0 ||
	    listen(s->listen_fd, 8) < 0 ||
	    getsockname(s->listen_fd, (struct sockaddr *)&a, &alen) < 0)
		goto fail;
	s->port = ntohs(a.sin_port);
	if (pthread_create(&s->thread, NULL, accept_loop, s) != 0)
		goto fail;
	return 0;
fail:
	if (s->listen_fd >= 0)
		close(s->listen_fd);
	SSL_CTX_free(ctx);
	s->ssl_ctx = NULL;
	return -1;
}

void tls_stub_stop(struct tls_stub *s)
{
	atomic_store(&s->stop, true);
	pthread_join(s->thread, NULL);
	close(s->listen_fd);
	SSL_CTX_free(s->ssl_ctx);
}
