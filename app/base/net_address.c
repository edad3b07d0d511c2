#include "net_address.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const uint8_t v4_mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

bool net_address_is_v4(const struct net_address *a)
{
	return memcmp(a->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix)) == 0;
}

bool net_address_from_sockaddr(const void *sockaddr, struct net_address *out)
{
	sa_family_t family;
	memcpy(&family, (const char *)sockaddr + offsetof(struct sockaddr, sa_family),
	       sizeof(family));
	if (family == AF_INET) {
		struct sockaddr_in sin;
		memcpy(&sin, sockaddr, sizeof(sin));
		memcpy(out->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix));
		memcpy(out->bytes + 12, &sin.sin_addr, 4);
		return true;
	}
	if (family == AF_INET6) {
		struct sockaddr_in6 sin6;
		memcpy(&sin6, sockaddr, sizeof(sin6));
		memcpy(out->bytes, &sin6.sin6_addr, 16);
		return true;
	}
	return false;
}

bool net_address_parse(const char *text, size_t len, struct net_address *out)
{
	while (len > 0 && isspace((unsigned char)*text)) {
		text++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)text[len - 1]))
		len--;
	if (len >= 2 && text[0] == '[' && text[len - 1] == ']') {
		text++;
		len -= 2;
	}
	char buf[NET_ADDRESS_TEXT_SIZE];
	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, text, len);
	buf[len] = '\0';
	struct in_addr v4;
	if (inet_pton(AF_INET, buf, &v4) == 1) {
		memcpy(out->bytes, v4_mapped_prefix, sizeof(v4_mapped_prefix));
		memcpy(out->bytes + 12, &v4, 4);
		return true;
	}
	return inet_pton(AF_INET6, buf, out->bytes) == 1;
}

void net_address_format(const struct net_address *a, char out[NET_ADDRESS_TEXT_SIZE])
{
	if (net_address_is_v4(a))
		inet_ntop(AF_INET, a->bytes + 12, out, NET_ADDRESS_TEXT_SIZE);
	else
		inet_ntop(AF_INET6, a->bytes, out, NET_ADDRESS_TEXT_SIZE);
}

/* Clears every bit of a from bit prefix on. */
static void mask_from(struct net_address *a, unsigned prefix)
{
	for (unsigned i = 0; i < 16; i++) {
		unsigned first = i * 8;
		if (prefix <= first)
			a->bytes[i] = 0;
		else if (prefix < first + 8)
			a->bytes[i] &= (uint8_t)(0xffu << (first + 8 - prefix));
	}
}

int net_cidr_parse(const char *text, struct net_cidr *out, char *why, size_t whylen)
{
	const char *slash = strchr(text, '/');
	size_t addr_len = slash ? (size_t)(slash - text) : strlen(text);
	if (!net_address_parse(text, addr_len, &out->base)) {
		snprintf(why, whylen, "\"%.*s\" is not an IPv4 or IPv6 address",
		         (int)(addr_len > 64 ? 64 : addr_len), text);
		return -1;
	}
	bool v4 = net_address_is_v4(&out->base);
	unsigned max = v4 ? 32 : 128;
	unsigned bits = max;
	if (slash) {
		char *end;
		unsigned long n = strtoul(slash + 1, &end, 10);
		if (!isdigit((unsigned char)slash[1]) || *end != '\0' || n > max) {
			snprintf(why, whylen, "the prefix length after \"/\" must be 0 to %u", max);
			return -1;
		}
		bits = (unsigned)n;
	}
	out->prefix = v4 ? 96 + bits : bits;
	struct net_address masked = out->base;
	mask_from(&masked, out->prefix);
	if (memcmp(&masked, &out->base, sizeof(masked)) != 0) {
		char shown[NET_ADDRESS_TEXT_SIZE];
		net_address_format(&masked, shown);
		snprintf(why, whylen, "has bits set past its /%u prefix (did you mean %s/%u?)",
		         bits, shown, bits);
		return -1;
	}
	return 0;
}

bool net_cidr_contains(const struct net_cidr *net, const struct net_address *a)
{
	struct net_address masked = *a;
	mask_from(&masked, net->prefix);
	return memcmp(&masked, &net->base, sizeof(masked)) == 0;
}

void net_cidr_format_acl(const struct net_cidr *net, char out[NET_CIDR_ACL_SIZE])
{
	char addr[NET_ADDRESS_TEXT_SIZE];
	net_address_format(&net->base, addr);
	if (net_address_is_v4(&net->base))
		snprintf(out, NET_CIDR_ACL_SIZE, "%s/%u", addr, net->prefix - 96);
	else
		snprintf(out, NET_CIDR_ACL_SIZE, "[%s]/%u", addr, net->prefix);
}

struct net_address net_address_key(const struct net_address *a, unsigned ipv6_prefix)
{
	struct net_address key = *a;
	if (!net_address_is_v4(a))
		mask_from(&key, ipv6_prefix);
	return key;
}
