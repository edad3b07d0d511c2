/* The PROXY protocol header (HAProxy's proxy-protocol.txt, versions 1 and
 * 2) that a TCP load balancer writes before the client's own bytes, naming
 * the client it connects for. A pure parser over the bytes received so far:
 * no socket, no allocation. Thread: any.
 *
 * Version 1: "PROXY TCP4|TCP6 <src> <dst> <sport> <dport>\r\n" or
 * "PROXY UNKNOWN[ anything]\r\n", 107 bytes at most with the CRLF.
 * Version 2: the 12-byte signature, version/command, family/transport, a
 * 16-bit length, then the addresses and TLVs (type-length-value entries,
 * skipped: the caller discards them unread). */
#ifndef WSRELAY_PROXY_HEADER_H
#define WSRELAY_PROXY_HEADER_H

#include <netinet/in.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A version 1 header's longest form, CRLF included. */
#define PROXY_HEADER_V1_MAX 107u
/* Version 2: signature, version/command, family, length. */
#define PROXY_HEADER_V2_FIXED 16u
/* The longest address block of version 2 (two AF_UNIX paths). */
#define PROXY_HEADER_V2_ADDR_MAX 216u
/* Enough for every header's parsed part: a caller's buffer of this size
 * never has to hold a TLV. */
#define PROXY_HEADER_PARSE_MAX (PROXY_HEADER_V2_FIXED + PROXY_HEADER_V2_ADDR_MAX)

enum proxy_header_status {
	PROXY_HEADER_NEED_MORE, /* every byte so far belongs to a header: read on */
	PROXY_HEADER_DONE,      /* a whole header; *out filled */
	PROXY_HEADER_INVALID,   /* not a PROXY header, or a malformed one */
};

enum proxy_header_source {
	/* The connection's own peer is the client: version 1 UNKNOWN, version 2
	 * LOCAL (the balancer's health check), or an AF_UNSPEC / AF_UNIX
	 * address. */
	PROXY_SOURCE_LOCAL,
	PROXY_SOURCE_INET, /* source is a sockaddr_in */
	PROXY_SOURCE_INET6,
};

struct proxy_header {
	int version; /* 1 or 2 */
	enum proxy_header_source kind;
	/* The client (valid unless kind is PROXY_SOURCE_LOCAL): a sockaddr_in or
	 * sockaddr_in6 with the port, in network byte order. */
	struct sockaddr_storage source;
	/* The whole header's length in bytes, TLVs included. With NEED_MORE:
	 * how many bytes the parser needs before it can say more (at least
	 * one more than it was given). */
	size_t length;
	const char *error; /* with INVALID: what is wrong, for logs */
};

/* Looks at the first len bytes received on a connection. NEED_MORE means
 * that they are all part of a header that is not complete yet (so a caller
 * may consume them); DONE that out->length bytes make the header, of which
 * at most PROXY_HEADER_PARSE_MAX had to be in buf (a version 2 header's
 * TLVs may go past len: the caller discards them); INVALID that these
 * bytes cannot start a header, or that it is malformed (out->error says
 * how). */
enum proxy_header_status proxy_header_parse(const uint8_t *buf, size_t len,
                                            struct proxy_header *out);

/* True when buf (len bytes) begins with a complete PROXY signature: "PROXY "
 * or version 2's 12 bytes. */
bool proxy_header_has_signature(const uint8_t *buf, size_t len);

/* Whether buf could still be the start of a signature: every byte so far
 * matches one of the two. */
bool proxy_header_may_be_signature(const uint8_t *buf, size_t len);

#endif
