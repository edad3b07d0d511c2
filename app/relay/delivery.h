/* Delivery: each client's bounded outbound queue (its outbox) and the fixed
 * pool of sender threads that write the queues to the sockets.
 *
 * Why: CivetWeb spends a thread per client already, and a write to a client
 * that stopped reading blocks for the whole write timeout. So a broadcast
 * only queues the shared frame on every receiver (no socket I/O, no waiting),
 * and a small pool of sender threads, each owning a share of the clients,
 * writes a client's queue only as far as its socket takes it without
 * blocking, batching
 * many queued frames into one write. A client whose socket is full waits in
 * its sender's epoll set for room and costs nothing but its own queue; a
 * queue that outgrows its bounds makes the client a slow consumer, which is
 * closed with 1008 while everyone else keeps their latency.
 *
 * Locking: each outbox has its own mutex, held only to add or take frames,
 * never during a write; each sender has a mutex for its run list. An outbox
 * is touched by its sender only while "scheduled", and outbox_close waits
 * for that to end, so the endpoint outlives every write to it. */
#ifndef WSRELAY_DELIVERY_H
#define WSRELAY_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared_frame.h"

/* How a sender reaches an endpoint; all run on the sender thread. */
struct delivery_io {
	/* Writes what the socket takes now without blocking: returns the bytes
	 * written (0 when the socket is full), or -1 when it is gone. */
	long (*write_some)(void *endpoint, const void *data, size_t len);
	/* Optional, with flush: whether the endpoint holds bytes below the
	 * queue (accepted, not yet taken by the socket). Called under the
	 * outbox's lock: must neither block nor lock. */
	bool (*pending)(void *endpoint);
	/* Writes those bytes as far as the socket takes them. Returns 1 when
	 * nothing is left, 0 when the socket is full, -1 when it is gone. */
	int (*flush)(void *endpoint);
	/* The socket, to wait for room with epoll. */
	int (*fd)(void *endpoint);
	/* frames whole frames carrying payload_bytes were written. */
	void (*delivered)(void *endpoint, size_t frames, uint64_t payload_bytes);
	/* A write failed, or a finished outbox missed its deadline: end the
	 * connection. Called at most once per outbox. */
	void (*failed)(void *endpoint, bool deadline);
};

struct sender_pool;
struct outbox;

struct sender_pool *sender_pool_start(unsigned threads, const struct delivery_io *io);
/* After every outbox is closed. */
void sender_pool_stop(struct sender_pool *pool);

struct outbox *outbox_create(struct sender_pool *pool, void *endpoint, size_t max_messages,
                             size_t max_bytes);

enum outbox_result {
	OUTBOX_QUEUED,
	OUTBOX_FULL,   /* over its bounds: the frame was not queued */
	OUTBOX_CLOSED, /* finishing or closed: frames are no longer taken */
};

/* Queues a frame (taking a reference) and wakes the sender if needed. */
enum outbox_result outbox_push(struct outbox *ob, struct shared_frame *frame);

/* Control frames from the endpoint (a pong, a keepalive ping), whole and
 * at most OUTBOX_CONTROL_MAX bytes. */
#define OUTBOX_CONTROL_MAX 127
enum outbox_control { OUTBOX_PONG, OUTBOX_PING, OUTBOX_CONTROL_KINDS };

/* Queues a control frame ahead of the queued frames: it goes out at the
 * next frame boundary, never inside a frame, and never after a close
 * frame. One frame of each kind waits at most: a newer one replaces the
 * older (RFC 6455 section 5.5.3 lets a pong answer only the latest ping),
 * and then this returns true. Ignored once the outbox is done or closed. */
bool outbox_push_control(struct outbox *ob, enum outbox_control kind, const void *frame,
                         size_t len);

/* Queues close_frame as the last thing to write, behind what is queued
 * (keep_queue) or instead of it (but the rest of a frame already partly
 * written). Later pushes are refused. Unless the peer ends the connection
 * within deadline_ms, io->failed is called. */
void outbox_finish(struct outbox *ob, const void *close_frame, size_t len, bool keep_queue,
                   int deadline_ms);

/* Waits up to timeout_ms for the close frame queued by outbox_finish to be
 * written (true) or for the outbox to fail or close (false). */
bool outbox_wait_finished(struct outbox *ob, int timeout_ms);

/* The endpoint holds bytes to flush (io->flush) that no queued frame will
 * make the sender look at: schedules the outbox anyway. */
void outbox_wake(struct outbox *ob);

/* Stops all writing to the endpoint and waits until its sender has let go.
 * Pushes after this are refused; the outbox stays valid until
 * outbox_destroy. */
void outbox_close(struct outbox *ob);
void outbox_destroy(struct outbox *ob);

/* Frames queued, for tests. */
size_t outbox_length(struct outbox *ob);

#endif
