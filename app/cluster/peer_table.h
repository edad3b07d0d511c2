/* What a node remembers of each peer it hears from over the broker, per
 * room: the last sequence number, to drop duplicates and to count gaps.
 *
 * An entry is keyed by (peer's node id, room): with rooms off the room is
 * "" and there is one entry per peer. A peer numbers a room's messages
 * within an epoch, one per life of that room on the peer (with rooms off,
 * one epoch, 0, and numbers from (start time in ms) << 22 upwards, so a
 * restarted node continues far above where it left off).
 *
 * Within an epoch: a jump of more than PEER_SEQ_WINDOW either way is read as
 * a restart (a new run of that node, or its clock set back), not as a gap;
 * within the window a lower or equal number is a duplicate (a publish
 * retried after a lost reply) and a higher one by more than 1 is a gap. A
 * higher epoch is a restart (a new life of the room on the peer); a lower
 * one by less than the window is a duplicate from an earlier life, by more
 * a new run with its clock set back.
 *
 * The receiver's own room has lives too (rooms_broadcast_checked): an
 * entry made in an earlier life of the room here is forgotten, since what
 * this node missed while it had no member there (and no subscription) was
 * never meant for it: such a message is FIRST, not a gap.
 *
 * Memory is bounded: at most capacity entries (the least recently heard
 * goes first), and with idle_ms, entries not heard from for that long are
 * dropped (rooms gone here, peers gone away).
 *
 * Used by one thread only, the one that receives from the broker: no lock. */
#ifndef WSRELAY_PEER_TABLE_H
#define WSRELAY_PEER_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define PEER_SEQ_WINDOW (UINT64_C(1) << 22)

enum peer_verdict {
	PEER_FIRST,     /* a peer (or room life) not seen before (or forgotten): deliver */
	PEER_NEXT,      /* the number after the last: deliver */
	PEER_GAP,       /* some numbers were skipped (*missed of them): deliver */
	PEER_RESTART,   /* a new run of the peer, or a new life of its room: deliver */
	PEER_DUPLICATE, /* seen already: drop */
};

/* One message's numbering, as its envelope carries it. */
struct peer_message {
	const char *node_id; /* 1..255 bytes */
	size_t node_id_len;
	const char *room; /* 0..64 bytes */
	size_t room_len;
	uint64_t epoch;
	uint64_t seq;
};

struct peer_table;

/* Remembers up to capacity entries; idle_ms 0: never forgets by age. NULL
 * when out of memory. */
struct peer_table *peer_table_create(size_t capacity, uint64_t idle_ms);
void peer_table_destroy(struct peer_table *t);

/* Records m, heard at now_ms (a monotonic clock), for this node's room in
 * its life local_life. *missed is set to the number of messages skipped (0
 * unless PEER_GAP). */
enum peer_verdict peer_table_observe(struct peer_table *t, const struct peer_message *m,
                                     uint64_t local_life, uint64_t now_ms, uint64_t *missed);

/* Entries remembered now. */
size_t peer_table_count(const struct peer_table *t);

#endif
