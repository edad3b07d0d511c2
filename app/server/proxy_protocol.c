#include "proxy_protocol.h"

#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "client_address.h"
#include "clock.h"
#include "log.h"
#include "proxy_header.h"
#include "server.h"
#include "server_internal.h"

/* How often a wait looks at the drain flag: a header still missing when
 * the drain begins is not waited for. */
#define WAIT_SLICE_MS 100

static _Thread_local char via[NET_ADDRESS_TEXT_SIZE + 8];

const char *proxy_protocol_via(void)
{
	return via;
}

enum wait_result { WAIT_READABLE, WAIT_TIMEOUT, WAIT_ERROR };

/* Until sock has bytes to read, the deadline passes or the drain begins. */
static enum wait_result wait_readable(struct server *srv, int sock, clock_mono_t deadline)
{
	for (;;) {
		clock_mono_t now = clock_now();
		if (now >= deadline || server_draining(srv))
			return WAIT_TIMEOUT;
		uint64_t left_ms = (deadline - now + CLOCK_NS_PER_MS - 1) / CLOCK_NS_PER_MS;
		struct pollfd pfd = {.fd = sock, .events = POLLIN};
		int r = poll(&pfd, 1, left_ms < WAIT_SLICE_MS ? (int)left_ms : WAIT_SLICE_MS);
		if (r > 0)
			return WAIT_READABLE; /* POLLHUP/POLLERR too: recv says which */
		if (r < 0 && errno != EINTR)
			return WAIT_ERROR;
	}
}

/* recv without blocking: > 0 bytes, 0 at the peer's end, -1 when nothing
 * is there yet (EAGAIN, EINTR), -2 on an error. */
static ssize_t receive(int sock, uint8_t *buf, size_t len, int flags)
{
	ssize_t n = recv(sock, buf, len, flags | MSG_DONTWAIT);
	if (n >= 0)
		return n;
	return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? -1 : -2;
}

static void format_peer(const void *sockaddr, char *out, size_t cap)
{
	struct net_address a;
	char text[NET_ADDRESS_TEXT_SIZE] = "?";
	if (net_address_from_sockaddr(sockaddr, &a))
		net_address_format(&a, text);
	unsigned port = 0;
	sa_family_t family;
	memcpy(&family, (const char *)sockaddr + offsetof(struct sockaddr, sa_family),
	       sizeof(family));
	if (family == AF_INET) {
		struct sockaddr_in sin;
		memcpy(&sin, sockaddr, sizeof(sin));
		port = ntohs(sin.sin_port);
	} else if (family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sockaddr, sizeof(sin6));
		port = ntohs(sin6.sin6_port);
	}
	bool v6 = strchr(text, ':') != NULL;
	snprintf(out, cap, "%s%s%s:%u", v6 ? "[" : "", text, v6 ? "]" : "", port);
}

/* Counts and logs a refused connection; returns nonzero for CivetWeb. */
static int refuse(struct server *srv, enum rejection_reason reason, const char *peer,
                  const char *why)
{
	stats_add(&srv->stats.rejected[reason], 1);
	const struct log_field fields[] = {{"client", peer, false},
	                                   {"reason", relay_stats_rejection_name(reason), false}};
	log_event(LOG_LEVEL_INFO, fields, 2, "refused connection from %s: %s", peer, why);
	return 1;
}

/* A peer not in server.trusted_proxies: waits for its first bytes (the
 * handshake timeout bounds this, as it bounds the request head) only as
 * long as they could still be a PROXY signature. Returns 0 to serve it. A
 * peer silent until the deadline is closed, as CivetWeb closes one that
 * sends no request head in time. */
static int check_untrusted(struct server *srv, int sock, clock_mono_t deadline, const char *peer)
{
	uint8_t first[PROXY_HEADER_V2_FIXED];
	for (;;) {
		ssize_t n = receive(sock, first, sizeof(first), MSG_PEEK);
		if (n == 0 || n == -2)
			return 1; /* gone before a request: nothing to answer */
		if (n < 0) {
			if (wait_readable(srv, sock, deadline) != WAIT_READABLE)
				return 1;
			continue;
		}
		if (proxy_header_has_signature(first, (size_t)n))
			return refuse(srv, REJECT_PROXY_UNTRUSTED, peer,
			              "a PROXY protocol header from a peer not in "
			              "server.trusted_proxies");
		if (!proxy_header_may_be_signature(first, (size_t)n))
			return 0;
		/* The start of a signature, the rest not here yet: the bytes
		 * already there keep the socket readable, so wait a slice (or
		 * for the peer's end) and look again. */
		struct pollfd pfd = {.fd = sock, .events = POLLRDHUP};
		if ((poll(&pfd, 1, WAIT_SLICE_MS) < 0 && errno != EINTR) ||
		    clock_now() >= deadline || server_draining(srv))
			return 1;
	}
}

/* Reads and throws away count bytes (a version 2 header's TLVs). */
static bool discard(struct server *srv, int sock, size_t count, clock_mono_t deadline)
{
	uint8_t scratch[512];
	while (count > 0) {
		ssize_t n =
		    receive(sock, scratch, count < sizeof(scratch) ? count : sizeof(scratch), 0);
		if (n == 0 || n == -2)
			return false;
		if (n > 0) {
			count -= (size_t)n;
			continue;
		}
		if (wait_readable(srv, sock, deadline) != WAIT_READABLE)
			return false;
	}
	return true;
}

/* A peer in server.trusted_proxies: its header, consumed up to its last
 * byte and no further. Returns 0 with *h filled, or nonzero (refused). */
static int read_header(struct server *srv, int sock, clock_mono_t deadline, const char *peer,
                       struct proxy_header *h)
{
	uint8_t buf[PROXY_HEADER_PARSE_MAX];
	size_t have = 0;
	for (;;) {
		/* Peeked first: bytes past the header are the client's, left for
		 * TLS or HTTP. */
		ssize_t n = receive(sock, buf + have, sizeof(buf) - have, MSG_PEEK);
		if (n == -2 || (n == 0 && have == 0))
			return 1; /* a plain TCP check, or an error: not counted */
		if (n == 0)
			return refuse(srv, REJECT_PROXY_PROTOCOL, peer,
			              "closed in the middle of its PROXY protocol header");
		if (n < 0) {
			if (wait_readable(srv, sock, deadline) != WAIT_READABLE)
				return refuse(srv, REJECT_PROXY_PROTOCOL, peer,
				              have
				                  ? "its PROXY protocol header was not complete in "
				                    "time (server.handshake_timeout_seconds)"
				                  : "no PROXY protocol header in time "
				                    "(server.handshake_timeout_seconds)");
			continue;
		}
		enum proxy_header_status st = proxy_header_parse(buf, have + (size_t)n, h);
		if (st == PROXY_HEADER_INVALID) {
			char why[160];
			snprintf(why, sizeof(why),
			         "a missing or malformed PROXY protocol header (%s)", h->error);
			return refuse(srv, REJECT_PROXY_PROTOCOL, peer, why);
		}
		/* NEED_MORE: all n bytes are header; DONE: the header ends at
		 * h->length, perhaps past what is here (TLVs). */
		size_t take = (size_t)n;
		if (st == PROXY_HEADER_DONE && h->length - have < take)
			take = h->length - have;
		if (receive(sock, buf + have, take, 0) != (ssize_t)take)
			return 1; /* peeked bytes are there: only an error gets here */
		have += take;
		if (st == PROXY_HEADER_NEED_MORE)
			continue;
		if (!discard(srv, sock, h->length - have, deadline))
			return refuse(srv, REJECT_PROXY_PROTOCOL, peer,
			              "its PROXY protocol header's TLVs did not arrive in time");
		return 0;
	}
}

int proxy_protocol_accept(struct mg_connection *conn, int sock, void *remote_addr,
                          size_t remote_addr_size)
{
	struct server *srv = mg_get_user_data(mg_get_context(conn));
	clock_mono_t deadline =
	    clock_now() + (uint64_t)srv->cfg->server.handshake_timeout_seconds * CLOCK_NS_PER_SEC;
	via[0] = '\0';
	char peer[sizeof(via)];
	format_peer(remote_addr, peer, sizeof(peer));
	struct net_address a;
	bool trusted = net_address_from_sockaddr(remote_addr, &a) &&
	               client_address_trusted(srv->trusted_proxies, srv->trusted_proxies_count, &a);
	if (!trusted)
		return check_untrusted(srv, sock, deadline, peer);
	struct proxy_header h;
	if (read_header(srv, sock, deadline, peer, &h) != 0)
		return 1;
	if (h.kind == PROXY_SOURCE_LOCAL)
		return 0; /* the balancer's own connection: its address stays */
	size_t size =
	    h.kind == PROXY_SOURCE_INET ? sizeof(struct sockaddr_in) : sizeof(struct sockaddr_in6);
	if (size > remote_addr_size)
		return refuse(srv, REJECT_PROXY_PROTOCOL, peer,
		              "an IPv6 client on an IPv4-only build");
	memcpy(remote_addr, &h.source, size);
	snprintf(via, sizeof(via), "%s", peer);
	return 0;
}
