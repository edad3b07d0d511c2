/* What an authenticated client may do: publish or only receive, which rooms
 * it may join, until when, and who it is (for the logs). Made by the JWT
 * check (the "wsrelay" claim) or the HTTP check (X-Wsrelay-* headers), owned
 * by the client's connection afterwards. Read-only once made: any thread may
 * read it. */
#ifndef WSRELAY_AUTH_GRANT_H
#define WSRELAY_AUTH_GRANT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUTH_ROOM_PATTERN_MAX 128 /* bytes in one room pattern */
#define AUTH_ROOMS_MAX        64  /* patterns in one grant */
#define AUTH_SUBJECT_MAX      128 /* bytes of the subject kept for logs */

struct auth_grant {
	bool publish;
	/* No room list was given: every room. */
	bool all_rooms;
	size_t room_count;
	char **rooms;
	/* Unix seconds at which the client is closed with 1008 "token
	 * expired" (exp plus the leeway); 0: never. */
	int64_t expires;
	/* The token's sub or the HTTP check's X-Wsrelay-Subject, printable
	 * ASCII only (anything else is '?'), "" if none. */
	char subject[AUTH_SUBJECT_MAX + 1];
};

/* A grant that may publish to every room, forever, as nobody; NULL when out
 * of memory. */
struct auth_grant *auth_grant_new(void);
void auth_grant_free(struct auth_grant *grant);

/* Adds one room pattern (the first one ends "every room"). A pattern is 1 to
 * AUTH_ROOM_PATTERN_MAX printable ASCII bytes, no ',' or space, with '*'
 * only as its last byte ("chat-*"; "*" alone matches every room). Returns 0,
 * or -1 for a bad pattern, too many of them, or no memory. */
int auth_grant_add_room(struct auth_grant *grant, const char *pattern, size_t len);

/* The X-Wsrelay-Rooms form: patterns separated by commas, blanks around
 * them ignored. Returns 0, or -1 as auth_grant_add_room. */
int auth_grant_add_rooms_csv(struct auth_grant *grant, const char *csv, size_t len);

/* Keeps s[0..len) as the subject, cut to AUTH_SUBJECT_MAX bytes. */
void auth_grant_set_subject(struct auth_grant *grant, const char *s, size_t len);

/* Whether the grant lets its client join room. For the rooms feature: a
 * pattern equals the room, or ends in '*' and is a prefix of it up to the
 * '*'. */
bool auth_grant_room_allowed(const struct auth_grant *grant, const char *room);

/* One pattern against one room name. */
bool auth_room_pattern_matches(const char *pattern, const char *room);

#endif
