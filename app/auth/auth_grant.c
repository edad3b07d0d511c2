/* Grants: the permissions of one client and the room patterns they name. */
#include "auth_grant.h"

#include <stdlib.h>
#include <string.h>

struct auth_grant *auth_grant_new(void)
{
	struct auth_grant *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->publish = true;
	g->all_rooms = true;
	return g;
}

void auth_grant_free(struct auth_grant *grant)
{
	if (!grant)
		return;
	for (size_t i = 0; i < grant->room_count; i++)
		free(grant->rooms[i]);
	free(grant->rooms);
	free(grant);
}

static bool pattern_valid(const char *p, size_t len)
{
	if (len == 0 || len > AUTH_ROOM_PATTERN_MAX)
		return false;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)p[i];
		if (c <= 0x20 || c >= 0x7f || c == ',')
			return false;
		if (c == '*' && i != len - 1)
			return false;
	}
	return true;
}

int auth_grant_add_room(struct auth_grant *grant, const char *pattern, size_t len)
{
	if (!pattern_valid(pattern, len) || grant->room_count == AUTH_ROOMS_MAX)
		return -1;
	if (!grant->rooms) {
		grant->rooms = calloc(AUTH_ROOMS_MAX, sizeof(*grant->rooms));
		if (!grant->rooms)
			return -1;
	}
	char *copy = strndup(pattern, len);
	if (!copy)
		return -1;
	grant->rooms[grant->room_count++] = copy;
	grant->all_rooms = false;
	return 0;
}

static bool blank(char c)
{
	return c == ' ' || c == '\t';
}

int auth_grant_add_rooms_csv(struct auth_grant *grant, const char *csv, size_t len)
{
	size_t i = 0;
	for (;;) {
		size_t start = i;
		while (i < len && csv[i] != ',')
			i++;
		size_t end = i;
		while (start < end && blank(csv[start]))
			start++;
		while (end > start && blank(csv[end - 1]))
			end--;
		if (auth_grant_add_room(grant, csv + start, end - start) != 0)
			return -1;
		if (i == len)
			return 0;
		i++; /* the comma */
	}
}

void auth_grant_set_subject(struct auth_grant *grant, const char *s, size_t len)
{
	if (len > AUTH_SUBJECT_MAX)
		len = AUTH_SUBJECT_MAX;
	/* It goes into log lines: nothing that could forge or break one. */
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f)
			grant->subject[i] = s[i];
		else
			grant->subject[i] = '?';
	}
	grant->subject[len] = '\0';
}

bool auth_room_pattern_matches(const char *pattern, const char *room)
{
	size_t len = strlen(pattern);
	if (len > 0 && pattern[len - 1] == '*')
		return strncmp(pattern, room, len - 1) == 0;
	return strcmp(pattern, room) == 0;
}

bool auth_grant_room_allowed(const struct auth_grant *grant, const char *room)
{
	if (grant->all_rooms)
		return true;
	for (size_t i = 0; i < grant->room_count; i++)
		if (auth_room_pattern_matches(grant->rooms[i], room))
			return true;
	return false;
}
