#include "proxy_header.h"

#include <arpa/inet.h>
#include <string.h>

static const uint8_t v1_signature[6] = {'P', 'R', 'O', 'X', 'Y', ' '};
static const uint8_t v2_signature[12] = {0x0D, 0x0A, 0x0D, 0x0A, 0x00, 0x0D,
                                         0x0A, 0x51, 0x55, 0x49, 0x54, 0x0A};

/* Version 2's command (low nibble of byte 12; the high one is the version). */
#define V2_LOCAL 0x0
#define V2_PROXY 0x1
/* Version 2's family and transport (byte 13): the only valid values. */
#define V2_UNSPEC      0x00
#define V2_TCP4        0x11
#define V2_UDP4        0x12
#define V2_TCP6        0x21
#define V2_UDP6        0x22
#define V2_UNIX_STREAM 0x31
#define V2_UNIX_DGRAM  0x32
#define V2_INET_LEN    12u /* two IPv4 addresses, two ports */
#define V2_INET6_LEN   36u
#define V2_UNIX_LEN    216u /* two 108-byte paths */

static bool prefix_matches(const uint8_t *buf, size_t len, const uint8_t *sig, size_t siglen)
{
	size_t n = len < siglen ? len : siglen;
	return memcmp(buf, sig, n) == 0;
}

bool proxy_header_has_signature(const uint8_t *buf, size_t len)
{
	return (len >= sizeof(v1_signature) &&
	        prefix_matches(buf, len, v1_signature, sizeof(v1_signature))) ||
	       (len >= sizeof(v2_signature) &&
	        prefix_matches(buf, len, v2_signature, sizeof(v2_signature)));
}

bool proxy_header_may_be_signature(const uint8_t *buf, size_t len)
{
	return prefix_matches(buf, len, v1_signature, sizeof(v1_signature)) ||
	       prefix_matches(buf, len, v2_signature, sizeof(v2_signature));
}

static enum proxy_header_status invalid(struct proxy_header *out, const char *why)
{
	out->error = why;
	return PROXY_HEADER_INVALID;
}

static enum proxy_header_status need(struct proxy_header *out, size_t length)
{
	out->length = length;
	return PROXY_HEADER_NEED_MORE;
}

/* ---- version 1 ---- */

/* The next space-separated field of line[*pos..end): its bounds, and *pos
 * past the one space that must follow it unless it is the last. */
static bool v1_field(const char *line, size_t end, size_t *pos, bool last, const char **field,
                     size_t *flen)
{
	size_t start = *pos, i = start;
	while (i < end && line[i] != ' ')
		i++;
	if (i == start || (last ? i != end : i == end))
		return false;
	*field = line + start;
	*flen = i - start;
	*pos = last ? i : i + 1;
	return true;
}

/* A port: decimal 0..65535, no sign, no leading zero. */
static bool v1_port(const char *s, size_t n, uint16_t *port)
{
	if (n == 0 || n > 5 || (n > 1 && s[0] == '0'))
		return false;
	unsigned v = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10u + (unsigned)(s[i] - '0');
	}
	if (v > 65535u)
		return false;
	*port = (uint16_t)v;
	return true;
}

/* An address of family (AF_INET or AF_INET6) in inet_pton's form. */
static bool v1_address(const char *s, size_t n, int family, void *dst)
{
	char text[INET6_ADDRSTRLEN];
	if (n >= sizeof(text))
		return false;
	memcpy(text, s, n);
	text[n] = '\0';
	return inet_pton(family, text, dst) == 1;
}

/* "TCP4 src dst sport dport" or its TCP6 form, from line[pos..end). */
static enum proxy_header_status v1_addresses(const char *line, size_t pos, size_t end, bool v6,
                                             struct proxy_header *out)
{
	const char *src, *dst, *sport, *dport;
	size_t src_len, dst_len, sport_len, dport_len;
	if (!v1_field(line, end, &pos, false, &src, &src_len) ||
	    !v1_field(line, end, &pos, false, &dst, &dst_len) ||
	    !v1_field(line, end, &pos, false, &sport, &sport_len) ||
	    !v1_field(line, end, &pos, true, &dport, &dport_len))
		return invalid(
		    out, "version 1: expected four fields after the protocol, one space apart");
	uint16_t source_port, destination_port;
	if (!v1_port(sport, sport_len, &source_port) ||
	    !v1_port(dport, dport_len, &destination_port))
		return invalid(out, "version 1: a port is not a number from 0 to 65535");
	memset(&out->source, 0, sizeof(out->source));
	if (v6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->source;
		struct in6_addr ignored;
		if (!v1_address(src, src_len, AF_INET6, &sin6->sin6_addr) ||
		    !v1_address(dst, dst_len, AF_INET6, &ignored))
			return invalid(out, "version 1: TCP6 with an address that is not IPv6");
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(source_port);
		out->kind = PROXY_SOURCE_INET6;
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->source;
		struct in_addr ignored;
		if (!v1_address(src, src_len, AF_INET, &sin->sin_addr) ||
		    !v1_address(dst, dst_len, AF_INET, &ignored))
			return invalid(out, "version 1: TCP4 with an address that is not IPv4");
		sin->sin_family = AF_INET;
		sin->sin_port = htons(source_port);
		out->kind = PROXY_SOURCE_INET;
	}
	return PROXY_HEADER_DONE;
}

static enum proxy_header_status parse_v1(const uint8_t *buf, size_t len, struct proxy_header *out)
{
	/* The CR may be at most at index 105: 107 bytes end with its LF. */
	size_t scan = len < PROXY_HEADER_V1_MAX - 1 ? len : PROXY_HEADER_V1_MAX - 1;
	size_t cr = 0;
	while (cr < scan && buf[cr] != '\r') {
		if (buf[cr] == '\n')
			return invalid(out, "version 1: a line feed without a carriage return");
		cr++;
	}
	if (cr == scan) {
		if (len >= PROXY_HEADER_V1_MAX - 1)
			return invalid(out, "version 1: no CRLF within 107 bytes");
		return need(out, len + 1);
	}
	if (cr + 1 >= len)
		return need(out, cr + 2); /* the CR is the last byte so far */
	if (buf[cr + 1] != '\n')
		return invalid(out, "version 1: a carriage return without a line feed");
	const char *line = (const char *)buf;
	out->version = 1;
	out->length = cr + 2;
	size_t pos = sizeof(v1_signature);
	size_t proto_end = pos;
	while (proto_end < cr && line[proto_end] != ' ')
		proto_end++;
	size_t proto_len = proto_end - pos;
	if (proto_len == 7 && memcmp(line + pos, "UNKNOWN", 7) == 0) {
		/* The rest of the line, if any, is to be ignored. */
		out->kind = PROXY_SOURCE_LOCAL;
		return PROXY_HEADER_DONE;
	}
	bool tcp4 = proto_len == 4 && memcmp(line + pos, "TCP4", 4) == 0;
	bool tcp6 = proto_len == 4 && memcmp(line + pos, "TCP6", 4) == 0;
	if (!tcp4 && !tcp6)
		return invalid(out, "version 1: the protocol is not TCP4, TCP6 or UNKNOWN");
	if (proto_end == cr)
		return invalid(out, "version 1: no addresses after the protocol");
	return v1_addresses(line, proto_end + 1, cr, tcp6, out);
}

/* ---- version 2 ---- */

static enum proxy_header_status parse_v2(const uint8_t *buf, size_t len, struct proxy_header *out)
{
	if (len < PROXY_HEADER_V2_FIXED)
		return need(out, PROXY_HEADER_V2_FIXED);
	if ((buf[12] >> 4) != 2)
		return invalid(out, "version 2: the version nibble is not 2");
	unsigned command = buf[12] & 0x0Fu;
	if (command != V2_LOCAL && command != V2_PROXY)
		return invalid(out, "version 2: the command is neither LOCAL nor PROXY");
	size_t addr_len = ((size_t)buf[14] << 8) | buf[15];
	out->version = 2;
	out->length = PROXY_HEADER_V2_FIXED + addr_len;
	out->kind = PROXY_SOURCE_LOCAL;
	if (command == V2_LOCAL)
		return PROXY_HEADER_DONE; /* the family and addresses are ignored */
	size_t want;
	switch (buf[13]) {
	case V2_UNSPEC:
		return PROXY_HEADER_DONE;
	case V2_TCP4:
		want = V2_INET_LEN;
		break;
	case V2_TCP6:
		want = V2_INET6_LEN;
		break;
	case V2_UNIX_STREAM:
		want = V2_UNIX_LEN;
		break;
	case V2_UDP4:
	case V2_UDP6:
	case V2_UNIX_DGRAM:
		return invalid(out, "version 2: a datagram client on a stream connection");
	default:
		return invalid(out, "version 2: an unknown address family or transport");
	}
	if (addr_len < want)
		return invalid(out,
		               "version 2: the length is shorter than the addresses of its family");
	if (buf[13] == V2_UNIX_STREAM)
		return PROXY_HEADER_DONE; /* a path says nothing to count a client by */
	if (len < PROXY_HEADER_V2_FIXED + want)
		return need(out, PROXY_HEADER_V2_FIXED + want);
	const uint8_t *a = buf + PROXY_HEADER_V2_FIXED;
	memset(&out->source, 0, sizeof(out->source));
	if (buf[13] == V2_TCP4) {
		struct sockaddr_in *sin = (struct sockaddr_in *)&out->source;
		sin->sin_family = AF_INET;
		memcpy(&sin->sin_addr, a, 4);
		memcpy(&sin->sin_port, a + 8, 2); /* both in network order */
		out->kind = PROXY_SOURCE_INET;
	} else {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&out->source;
		sin6->sin6_family = AF_INET6;
		memcpy(&sin6->sin6_addr, a, 16);
		memcpy(&sin6->sin6_port, a + 32, 2);
		out->kind = PROXY_SOURCE_INET6;
	}
	/* Whatever follows the addresses up to out->length are TLVs: skipped. */
	return PROXY_HEADER_DONE;
}

enum proxy_header_status proxy_header_parse(const uint8_t *buf, size_t len,
                                            struct proxy_header *out)
{
	out->error = NULL;
	out->kind = PROXY_SOURCE_LOCAL;
	out->version = 0;
	if (len == 0)
		return need(out, 1);
	if (buf[0] == v1_signature[0]) {
		if (!prefix_matches(buf, len, v1_signature, sizeof(v1_signature)))
			return invalid(out, "not a PROXY protocol header");
		if (len <= sizeof(v1_signature))
			return need(out, len + 1);
		return parse_v1(buf, len, out);
	}
	if (!prefix_matches(buf, len, v2_signature, sizeof(v2_signature)))
		return invalid(out, "not a PROXY protocol header");
	return parse_v2(buf, len, out);
}
