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
 * for that to end, so the endpoint outlives every write to it. The queue
 * itself is frame_ring.c's, under the outbox's mutex.
 *
 * One module, two prefixes: outbox_ (one client's queue) and sender_pool_
 * (the threads that write them) live together in delivery.c because the
 * outbox's locking and the sender's are one protocol (scheduled, released,
 * the run list and epoll), which a split would spread over two files.
 *
 * No function here may be called with an outbox's or a sender's lock held,
 * nor with the hub's (the written lock order, AGENTS.md). */
#ifndef WSRELAY_DELIVERY_H
#define WSRELAY_DELIVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "shared_frame.h"

/* How a sender reaches an endpoint; all run on the sender thread, and
 * none with a lock of delivery's held unless it says so. */
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

/* Starts threads senders. Once, at start-up; NULL (nothing left running)
 * when a thread or its memory cannot be had. */
struct sender_pool *sender_pool_start(unsigned threads, const struct delivery_io *io);
/* After every outbox is closed; joins the threads. One thread, once. */
void sender_pool_stop(struct sender_pool *pool);

/* An outbox for endpoint on one of pool's senders (round robin). Any
 * thread; NULL when out of memory. */
struct outbox *outbox_create(struct sender_pool *pool, void *endpoint, size_t max_messages,
                             size_t max_bytes);

enum outbox_result {
	OUTBOX_QUEUED,
	OUTBOX_FULL,   /* over its bounds: the frame was not queued */
	OUTBOX_CLOSED, /* finishing or closed: frames are no longer taken */
};

/* From now on, outbox_push on the calling thread never waits for room: a
 * queue over its bounds whose socket is full is OUTBOX_FULL at once, and one
 * whose sender is only behind takes the frame, up to 4 times its bounds.
 * Thread: the one it is called on. */
void delivery_never_wait_on_this_thread(void);

/* Queues a frame (taking a reference) and wakes the sender if needed. Any
 * thread (readers, the cluster's receiver). May wait up to 2 s for room
 * while the sender is behind but the socket takes data (never on a thread
 * that called delivery_never_wait_on_this_thread); returns at once when the
 * socket is full too (a slow consumer). */
enum outbox_result outbox_push(struct outbox *ob, struct shared_frame *frame);

/* Control frames from the endpoint (a pong, a keepalive ping), whole and
 * at most OUTBOX_CONTROL_MAX bytes. */
#define OUTBOX_CONTROL_MAX 127
enum outbox_control { OUTBOX_PONG, OUTBOX_PING, OUTBOX_CONTROL_KINDS };

/* Any thread (the reader's control handler, the keepalive); never waits.
 * Queues a control frame ahead of the queued frames: it goes out at the
 * next frame boundary, never inside a frame, and never after a close
 * frame. One frame of each kind waits at most: a newer one replaces the
 * older (RFC 6455 section 5.5.3 lets a pong answer only the latest ping),
 * and then this returns true. Ignored once the outbox is done or closed. */
bool outbox_push_control(struct outbox *ob, enum outbox_control kind, const void *frame,
                         size_t len);

/* Queues close_frame as the last thing to write, behind what is queued
 * (keep_queue) or instead of it (but the rest of a frame already partly
 * written). Later pushes are refused. Unless the peer ends the connection
 * within deadline_ms, io->failed is called. Any thread; never waits (the
 * sender writes the frame). */
void outbox_finish(struct outbox *ob, const void *close_frame, size_t len, bool keep_queue,
                   int deadline_ms);

/* Waits up to timeout_ms for the close frame queued by outbox_finish to be
 * written (true) or for the outbox to fail or close (false). Blocks: the
 * endpoint's own reader thread, never a sender. */
bool outbox_wait_finished(struct outbox *ob, int timeout_ms);

/* The endpoint holds bytes to flush (io->flush) that no queued frame will
 * make the sender look at: schedules the outbox anyway. Any thread, also
 * under the connection lock (the TLS queue's wake-up); never waits. */
void outbox_wake(struct outbox *ob);

/* Stops all writing to the endpoint and waits until its sender has let go.
 * Pushes after this are refused; the outbox stays valid until
 * outbox_destroy. Blocks (until a write in flight returns): the endpoint's
 * close handler, never a sender, with no lock held. */
void outbox_close(struct outbox *ob);
/* Once no thread can reach ob any more: after outbox_close, or for an
 * outbox nothing was ever pushed to. */
void outbox_destroy(struct outbox *ob);

/* Frames queued, for tests. Any thread. */
size_t outbox_length(struct outbox *ob);

#endif
