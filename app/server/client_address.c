#include "client_address.h"

#include <string.h>
#include <strings.h>

bool client_address_trusted(const struct net_cidr *trusted, size_t count,
                            const struct net_address *a)
{
	for (size_t i = 0; i < count; i++)
		if (net_cidr_contains(&trusted[i], a))
			return true;
	return false;
}

/* Walks one header's comma-separated list from its end. Returns false on
 * an entry that is not an address; *done once an untrusted one is found. */
static bool walk_back(const char *value, const struct net_cidr *trusted, size_t count,
                      struct net_address *out, bool *done)
{
	size_t end = strlen(value);
	while (end > 0) {
		size_t start = end;
		while (start > 0 && value[start - 1] != ',')
			start--;
		struct net_address a;
		if (!net_address_parse(value + start, end - start, &a))
			return false;
		*out = a;
		if (!client_address_trusted(trusted, count, &a)) {
			*done = true;
			return true;
		}
		end = start > 0 ? start - 1 : 0;
	}
	return true;
}

bool client_address_resolve(const struct mg_connection *conn, const struct net_cidr *trusted,
                            size_t trusted_count, struct client_address *out)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	out->forwarded = false;
	/* CivetWeb writes the peer as inet_ntop does, so this always parses. */
	if (!net_address_parse(ri->remote_addr, strlen(ri->remote_addr), &out->addr))
		memset(&out->addr, 0, sizeof(out->addr));
	if (trusted_count > 0 && client_address_trusted(trusted, trusted_count, &out->addr)) {
		bool done = false;
		for (int i = ri->num_headers - 1; i >= 0 && !done; i--) {
			if (strcasecmp(ri->http_headers[i].name, "X-Forwarded-For") != 0)
				continue;
			if (!walk_back(ri->http_headers[i].value, trusted, trusted_count,
			               &out->addr, &done))
				return false;
			out->forwarded = true;
		}
	}
	net_address_format(&out->addr, out->text);
	return true;
}
