#include "room_name.h"

#include <string.h>

static bool name_byte(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '.' || ch == '_' || ch == '-';
}

bool room_name_valid(const char *name, size_t len)
{
	if (len == 0 || len > ROOM_NAME_MAX || name[0] == '.' || name[len - 1] == '.')
		return false;
	for (size_t i = 0; i < len; i++) {
		if (!name_byte(name[i]))
			return false;
		if (name[i] == '.' && name[i + 1] == '.')
			return false;
	}
	return true;
}

enum room_path room_name_from_path(const char *raw_path, const char *websocket_path, char *out)
{
	out[0] = '\0';
	if (strcmp(raw_path, websocket_path) == 0)
		return ROOM_PATH_BARE;
	size_t base = strlen(websocket_path);
	/* A websocket_path of "/" serves every room as "/<name>". */
	if (base > 0 && websocket_path[base - 1] == '/')
		base--;
	if (strncmp(raw_path, websocket_path, base) != 0 || raw_path[base] != '/')
		return ROOM_PATH_OTHER; /* "/wsx" is not under "/ws" */
	const char *name = raw_path + base + 1;
	size_t len = strlen(name);
	/* An empty name, a trailing slash and a second segment all end here. */
	if (!room_name_valid(name, len))
		return ROOM_PATH_BAD;
	memcpy(out, name, len + 1);
	return ROOM_PATH_NAMED;
}
