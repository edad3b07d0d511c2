/* Rooms: independent hubs, one per conversation, found by name.
 *
 * Each room is a hub of its own (its own lock, member list and fan-out), so
 * a broadcast costs what its room's members cost and a join or leave in one
 * room never waits for another. The registry of rooms has a lock of its own,
 * held only to find, create or forget a room: a room exists from its first
 * join to its last leave. A quota shared by every room's hub keeps the
 * clients of all rooms together within the relay's max_connections.
 *
 * With rooms off (named false) there is one room for everyone, made at
 * start and never forgotten, and names are ignored: the relay as it always
 * was. Lock order: the registry lock, then a room's hub lock (never the
 * other way round); the observer runs under the registry lock. */
#ifndef WSRELAY_ROOMS_H
#define WSRELAY_ROOMS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "histogram.h"
#include "hub.h"
#include "room_name.h"

struct rooms_limits {
	bool named;           /* rooms.enabled */
	uint32_t max_clients; /* every room together (server.max_connections) */
	uint32_t max_rooms;   /* rooms alive at once */
	uint32_t max_members; /* clients per room, 0: only max_clients */
};

/* Told when a room appears (its first join) and when it is gone (its last
 * leave), in that order for each name, under the registry lock: neither
 * may block nor call into the rooms. Only with named rooms. */
struct rooms_observer {
	void *ctx;
	void (*appeared)(void *ctx, const char *name);
	void (*gone)(void *ctx, const char *name);
};

enum rooms_refusal {
	ROOMS_ADMITTED,
	ROOMS_FULL,        /* max_clients reached, closing, or out of memory */
	ROOMS_MAX_ROOMS,   /* the room would be one more than max_rooms */
	ROOMS_MAX_MEMBERS, /* the room has max_members members */
};

struct rooms;
struct room;

/* NULL when out of memory. */
struct rooms *rooms_create(const struct rooms_limits *limits, const struct hub_endpoint_ops *ops);
/* After every room is gone (every client left). */
void rooms_destroy(struct rooms *rooms);

/* Before the first join; observer must outlive the rooms or be replaced by
 * NULL first. */
void rooms_set_observer(struct rooms *rooms, const struct rooms_observer *observer);

/* Whether a client could join room name now (a check before the upgrade;
 * rooms_join decides). */
enum rooms_refusal rooms_admits(struct rooms *rooms, const char *name);

/* Adds endpoint to room name, creating the room; *room and *client are set
 * when ROOMS_ADMITTED. As hub_join otherwise. */
enum rooms_refusal rooms_join(struct rooms *rooms, const char *name, void *endpoint,
                              struct room **room, struct hub_client **client);

/* hub_leave in the client's room, then forgets the room if that was its
 * last member. The client's reader only, once. */
enum disconnect_reason rooms_leave(struct rooms *rooms, struct room *room,
                                   struct hub_client *client, enum disconnect_reason fallback);

/* The room's hub, for hub_broadcast, hub_remove and hub_drop by a member. */
struct hub *rooms_hub(const struct room *room);
/* The room's name ("" for the one room when rooms are off). */
const char *rooms_name(const struct room *room);

/* hub_broadcast with no sender into room name, if it exists (with rooms
 * off, into the one room whatever the name). false when there is no such
 * room: nobody here is to get it. */
bool rooms_broadcast_to(struct rooms *rooms, const char *name, struct shared_frame *frame,
                        size_t *slow);

enum rooms_delivery {
	ROOMS_DELIVERED,
	ROOMS_NO_ROOM,  /* no room of that name here */
	ROOMS_DECLINED, /* check said no */
};

/* As rooms_broadcast_to, but first calls check(ctx, life) with the room
 * found and pinned (no lock held), and broadcasts only when it says yes.
 * life tells this life of the room from every other: a room made again
 * after its last member left gets a new one, higher than any before (the
 * one room of rooms off has life 1). check runs on the caller's thread
 * and may not call into the rooms. */
enum rooms_delivery rooms_broadcast_checked(struct rooms *rooms, const char *name,
                                            bool (*check)(void *ctx, uint64_t life), void *ctx,
                                            struct shared_frame *frame, size_t *slow);

/* The room's life, as rooms_broadcast_checked tells it. Any thread. */
uint64_t rooms_life(const struct room *room);

/* 1, 2, 3... over the room's life: the cluster numbers a room's messages
 * with it. Not thread-safe: its callers serialize (cluster_publish calls it
 * under its queue mutex), and only while a member pins the room. */
uint64_t rooms_next_number(struct room *room);

/* hub_close_all in every room; no room is created afterwards. Returns the
 * members closed. */
size_t rooms_close_all(struct rooms *rooms, const void *frame, size_t len,
                       enum disconnect_reason reason);
/* hub_abort_all in every room. */
void rooms_abort_all(struct rooms *rooms);

/* Clients in every room together, and rooms alive now. */
size_t rooms_client_count(struct rooms *rooms);
size_t rooms_count(struct rooms *rooms);
/* Joins ever admitted. */
uint64_t rooms_joins(struct rooms *rooms);
/* Observes each room's member count now into h. */
void rooms_sample_members(struct rooms *rooms, struct histogram *h);

#endif
