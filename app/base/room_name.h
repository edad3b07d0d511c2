/* Room names and the request path that carries one.
 *
 * A room name is 1 to ROOM_NAME_MAX bytes of A-Z a-z 0-9 . _ -, safe as it
 * is in a URL, a log line, a NATS subject token (no '.' at either end, no
 * "..": a subject's tokens are separated by dots) and a Redis channel. */
#ifndef WSRELAY_ROOM_NAME_H
#define WSRELAY_ROOM_NAME_H

#include <stdbool.h>
#include <stddef.h>

#define ROOM_NAME_MAX 64

/* Whether name[0..len) is a room name. */
bool room_name_valid(const char *name, size_t len);

enum room_path {
	ROOM_PATH_OTHER, /* not websocket_path nor under it */
	ROOM_PATH_BARE,  /* exactly websocket_path: the default room */
	ROOM_PATH_NAMED, /* websocket_path "/" a valid name: copied out */
	ROOM_PATH_BAD,   /* under websocket_path, but not one valid name */
};

/* Reads the room from raw_path, the request path as the client sent it
 * (before any percent-decoding, without the query string): a percent sign
 * is not a name byte, so "%2F" or "%00" can never hide in a name. out has
 * ROOM_NAME_MAX + 1 bytes and gets the NUL-terminated name for
 * ROOM_PATH_NAMED, "" otherwise. */
enum room_path room_name_from_path(const char *raw_path, const char *websocket_path, char *out);

#endif
