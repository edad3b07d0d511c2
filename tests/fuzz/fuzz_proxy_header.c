/* libFuzzer target: the PROXY protocol header parser (proxy_header.c), the
 * first bytes a trusted balancer's connection is read for. Besides never
 * crashing, it checks what the reader in server/proxy_protocol.c relies
 * on: NEED_MORE asks for more than it was given; a complete header's
 * length is consistent (version 1: within what was given, ending in CRLF,
 * 107 bytes at most); the answer does not change when the input is cut to
 * the reader's buffer (PROXY_HEADER_PARSE_MAX) or, for a complete header,
 * to its own length; every proper prefix of a header still being read is
 * NEED_MORE too. */
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "proxy_header.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(int ok)
{
	if (!ok)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct proxy_header h;
	enum proxy_header_status st = proxy_header_parse(data, size, &h);
	struct proxy_header cut;
	size_t bounded = size < PROXY_HEADER_PARSE_MAX ? size : PROXY_HEADER_PARSE_MAX;
	if (bounded < size)
		check(proxy_header_parse(data, bounded, &cut) == st &&
		      st != PROXY_HEADER_NEED_MORE);
	switch (st) {
	case PROXY_HEADER_NEED_MORE:
		check(h.length > size);
		for (size_t i = 0; i < size; i++)
			check(proxy_header_parse(data, i, &cut) == PROXY_HEADER_NEED_MORE);
		break;
	case PROXY_HEADER_DONE:
		check(h.version == 1 || h.version == 2);
		if (h.version == 1) {
			check(h.length <= size && h.length <= PROXY_HEADER_V1_MAX);
			check(data[h.length - 2] == '\r' && data[h.length - 1] == '\n');
		} else {
			check(h.length >= PROXY_HEADER_V2_FIXED);
		}
		if (h.kind == PROXY_SOURCE_INET)
			check(h.source.ss_family == AF_INET);
		if (h.kind == PROXY_SOURCE_INET6)
			check(h.source.ss_family == AF_INET6);
		if (h.length < size) {
			size_t length = h.length;
			check(proxy_header_parse(data, length, &cut) == PROXY_HEADER_DONE);
			check(cut.length == length && cut.kind == h.kind);
		}
		break;
	case PROXY_HEADER_INVALID:
		check(h.error != NULL);
		break;
	}
	return 0;
}
