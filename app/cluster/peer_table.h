/* What a node remembers of each peer it hears from over the broker: the
 * last sequence number, to drop duplicates and to count gaps.
 *
 * A node numbers its messages from (start time in ms) << 22 upwards, so a
 * restarted node, even one with the same configured node id, continues far
 * above where it left off. A jump of more than PEER_SEQ_WINDOW either way is
 * read as a restart (a new run of that node, or its clock set back), not as
 * a gap; within the window a lower or equal number is a duplicate (a publish
 * retried after a lost reply) and a higher one by more than 1 is a gap.
 *
 * Used by one thread only, the one that receives from the broker: no lock. */
#ifndef WSRELAY_PEER_TABLE_H
#define WSRELAY_PEER_TABLE_H

#include <stddef.h>
#include <stdint.h>

#define PEER_SEQ_WINDOW (UINT64_C(1) << 22)

enum peer_verdict {
	PEER_FIRST,     /* a peer not seen before (or forgotten): deliver */
	PEER_NEXT,      /* the number after the last: deliver */
	PEER_GAP,       /* some numbers were skipped (*missed of them): deliver */
	PEER_RESTART,   /* a new run of the peer: deliver */
	PEER_DUPLICATE, /* seen already: drop */
};

struct peer_table;

/* Remembers up to capacity peers, forgetting the one heard from least
 * recently when full. NULL when out of memory. */
struct peer_table *peer_table_create(size_t capacity);
void peer_table_destroy(struct peer_table *t);

/* Records seq from the peer called id[0..id_len) (1..255 bytes). *missed is
 * set to the number of messages skipped (0 unless PEER_GAP). */
enum peer_verdict peer_table_observe(struct peer_table *t, const char *id, size_t id_len,
                                     uint64_t seq, uint64_t *missed);

/* Peers remembered now. */
size_t peer_table_count(const struct peer_table *t);

#endif
