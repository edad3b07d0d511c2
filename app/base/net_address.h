/* IP addresses and CIDR networks for the address-based limits: parsing
 * (IPv4 and IPv6, as text), matching an address against a network, and the
 * key under which a client is counted. Pure functions, safe from any
 * thread. */
#ifndef WSRELAY_NET_ADDRESS_H
#define WSRELAY_NET_ADDRESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* An address in IPv6 form: an IPv4 address is stored IPv4-mapped
 * (::ffff:a.b.c.d), so both families share one key space. */
struct net_address {
	uint8_t bytes[16];
};

/* A network: prefix counts bits of bytes (0..128, an IPv4 /n as 96 + n). */
struct net_cidr {
	struct net_address base;
	unsigned prefix;
};

/* Room for any address's text (INET6_ADDRSTRLEN), and for an access-list
 * entry ("[" address "]/128"). */
#define NET_ADDRESS_TEXT_SIZE 46
#define NET_CIDR_ACL_SIZE     72

/* "192.0.2.1", "2001:db8::1" (also "[2001:db8::1]" and "::ffff:192.0.2.1"),
 * surrounding blanks allowed. Returns false for anything else. */
bool net_address_parse(const char *text, size_t len, struct net_address *out);

bool net_address_is_v4(const struct net_address *a);

/* A struct sockaddr_in or sockaddr_in6 (the port is ignored); false for
 * any other family. */
bool net_address_from_sockaddr(const void *sockaddr, struct net_address *out);

/* The address as people write it: dotted for IPv4, RFC 5952 for IPv6. */
void net_address_format(const struct net_address *a, char out[NET_ADDRESS_TEXT_SIZE]);

/* "10.0.0.0/8", "2001:db8::/32", or one address (a /32 or /128). Host bits
 * set below the prefix are an error (a typo more often than a wish).
 * Returns 0, or -1 with the reason in why. */
int net_cidr_parse(const char *text, struct net_cidr *out, char *why, size_t whylen);

bool net_cidr_contains(const struct net_cidr *net, const struct net_address *a);

/* The network in CivetWeb's access-list form: "a.b.c.d/n" or "[v6]/n". */
void net_cidr_format_acl(const struct net_cidr *net, char out[NET_CIDR_ACL_SIZE]);

/* The key a client is counted under: its whole IPv4 address, or its IPv6
 * address cut to ipv6_prefix bits (one /64 is one subscriber's LAN). */
struct net_address net_address_key(const struct net_address *a, unsigned ipv6_prefix);

#endif
