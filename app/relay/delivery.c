#include "delivery.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "clock.h"
#include "frame_ring.h"
#include "log.h"

/* Frames are gathered into one write up to this size; a frame at least half
 * as large is written straight from its own buffer instead of copied. */
#define BATCH_BYTES     ((size_t)256 * 1024)
#define TICK_MS         100
#define TICK_NS         ((clock_mono_t)TICK_MS * CLOCK_NS_PER_MS)
#define ROUNDS_PER_TURN 4
/* The longest a publisher waits for a receiver's queue while the sender is
 * behind, before treating the receiver as a slow consumer anyway. */
#define PUBLISHER_WAIT_MS 2000

struct sender;

/* Control frames wait in pending, one of each kind at most, and jump the
 * queue, but only at a frame boundary: they are moved to out when no frame
 * is partly written, and nothing from the ring is written until out is. */
struct controls {
	uint8_t pending[OUTBOX_CONTROL_KINDS][OUTBOX_CONTROL_MAX];
	size_t pending_len[OUTBOX_CONTROL_KINDS];
	/* Sender-thread only while the outbox is scheduled. */
	uint8_t out[OUTBOX_CONTROL_KINDS * OUTBOX_CONTROL_MAX];
};

struct outbox {
	pthread_mutex_t lock;
	pthread_cond_t released;
	pthread_cond_t space; /* for publishers waiting on a full queue */
	unsigned space_waiters;
	struct sender *sender;
	void *endpoint;
	size_t max_messages, max_bytes;

	struct frame_ring queue;

	bool scheduled; /* its sender may touch it: run list, epoll or a write */
	bool closed;
	bool finishing;  /* the close frame is queued: nothing else is taken */
	bool drop_queue; /* finishing: the close frame does not wait for the queue */
	bool done;       /* the close frame went out, or a write failed */
	bool lingering;  /* the close frame went out: waiting for the peer's */
	bool blocked;    /* its socket is full: the sender waits for room */
	struct shared_frame *close_frame;
	clock_mono_t deadline;

	/* Control frames (a pong, a ping), kept apart and made on the first
	 * one: most clients never ping, and the queue's fields stay compact.
	 * Set once, under the lock; atomic so that outbox_push_control can see
	 * without the lock whether it must be made. */
	_Atomic(struct controls *) controls;
	bool any_pending;
	size_t ctrl_len, ctrl_off; /* of controls->out */

	/* Sender-thread only. */
	struct outbox *next; /* run list */
	struct outbox *wait_prev, *wait_next;
	bool in_epoll;
	bool waiting;
};

struct sender {
	struct sender_pool *pool;
	pthread_t thread;
	pthread_mutex_t lock;
	struct outbox *run_head, *run_tail;
	bool stop;
	atomic_bool rescan; /* an outbox waiting for room was closed or finished */
	int epfd;
	int evfd;
	/* Sender-thread only. */
	struct outbox *waiting;
	uint8_t *batch;
};

struct sender_pool {
	const struct delivery_io *io;
	unsigned count;
	atomic_uint next;
	struct sender *senders;
};

/* Any thread, any lock held: an eventfd write. */
static void wake(struct sender *s)
{
	uint64_t one = 1;
	while (write(s->evfd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

/* ob->lock held. */
static void wake_publishers_locked(struct outbox *ob)
{
	if (ob->space_waiters)
		pthread_cond_broadcast(&ob->space);
}

/* Appends ob to the sender's run list under the sender's lock (the caller
 * may hold ob->lock: that is the written order); true when the list was
 * empty (the sender may be asleep in epoll_wait). */
static bool run_list_append(struct sender *s, struct outbox *ob)
{
	pthread_mutex_lock(&s->lock);
	bool was_empty = s->run_head == NULL;
	ob->next = NULL;
	if (s->run_tail)
		s->run_tail->next = ob;
	else
		s->run_head = ob;
	s->run_tail = ob;
	pthread_mutex_unlock(&s->lock);
	return was_empty;
}

/* ob->lock held. */
static void schedule_locked(struct outbox *ob)
{
	if (ob->scheduled)
		return;
	ob->scheduled = true;
	if (run_list_append(ob->sender, ob))
		wake(ob->sender);
}

/* ---- the queue ---- */

struct outbox *outbox_create(struct sender_pool *pool, void *endpoint, size_t max_messages,
                             size_t max_bytes)
{
	struct outbox *ob = calloc(1, sizeof(*ob));
	if (!ob)
		return NULL;
	pthread_mutex_init(&ob->lock, NULL);
	pthread_cond_init(&ob->released, NULL);
	pthread_cond_init(&ob->space, NULL);
	unsigned i = atomic_fetch_add_explicit(&pool->next, 1, memory_order_relaxed);
	ob->sender = &pool->senders[i % pool->count];
	ob->endpoint = endpoint;
	ob->max_messages = max_messages;
	ob->max_bytes = max_bytes;
	return ob;
}

/* ob->lock held. A message larger than the byte bound still goes into an
 * empty queue: otherwise max_message_bytes above client_queue_bytes would
 * close every receiver of such a message as a slow consumer. */
static bool over_bounds_locked(const struct outbox *ob, const struct shared_frame *frame)
{
	const struct frame_ring *q = &ob->queue;
	return q->count >= ob->max_messages ||
	       (q->count > 0 && q->bytes + frame->len > ob->max_bytes);
}

/* ob->lock held; drops and retakes it while waiting (the outbox may be
 * closed or finished meanwhile: the caller looks again). A full queue whose
 * socket still takes data only means the sender is behind (a burst, a busy
 * machine): the publisher waits for it, which slows publishers down to what
 * the relay can write. Only a queue that is full while its socket is full
 * too is a slow consumer. */
static bool wait_for_space_locked(struct outbox *ob, const struct shared_frame *frame)
{
	struct timespec until = clock_wait_deadline_ms(PUBLISHER_WAIT_MS);
	ob->space_waiters++;
	while (over_bounds_locked(ob, frame) && !ob->blocked && !ob->closed && !ob->finishing &&
	       !ob->done) {
		if (pthread_cond_timedwait(&ob->space, &ob->lock, &until) == ETIMEDOUT)
			break;
	}
	ob->space_waiters--;
	return !over_bounds_locked(ob, frame);
}

/* Set on a thread whose pushes must never wait for a receiver's queue:
 * the cluster's receiving thread, which would otherwise stop reading the
 * broker for every client of the node (and Redis cuts a subscriber that
 * falls behind). Where a reader thread would wait for a sender that is
 * behind, such a push goes over the queue's bounds instead, up to
 * NEVER_WAIT_OVERRUN times them; a full queue whose socket is full too is
 * a slow consumer at once, as for everyone. */
static _Thread_local bool push_never_waits;
#define NEVER_WAIT_OVERRUN 4

static bool over_overrun_bounds_locked(const struct outbox *ob, const struct shared_frame *frame)
{
	const struct frame_ring *q = &ob->queue;
	return q->count >= NEVER_WAIT_OVERRUN * ob->max_messages ||
	       q->bytes + frame->len > NEVER_WAIT_OVERRUN * ob->max_bytes;
}

void delivery_never_wait_on_this_thread(void)
{
	push_never_waits = true;
}

enum outbox_result outbox_push(struct outbox *ob, struct shared_frame *frame)
{
	pthread_mutex_lock(&ob->lock);
	enum outbox_result result = OUTBOX_QUEUED;
	if (over_bounds_locked(ob, frame) &&
	    (ob->blocked || (push_never_waits ? over_overrun_bounds_locked(ob, frame)
	                                      : !wait_for_space_locked(ob, frame))))
		result = OUTBOX_FULL;
	if (ob->closed || ob->finishing || ob->done)
		result = OUTBOX_CLOSED;
	else if (result == OUTBOX_QUEUED && frame_ring_push(&ob->queue, frame) != 0)
		result = OUTBOX_FULL;
	if (result == OUTBOX_QUEUED) {
		shared_frame_ref(frame); /* the queue's */
		schedule_locked(ob);
	}
	pthread_mutex_unlock(&ob->lock);
	return result;
}

bool outbox_push_control(struct outbox *ob, enum outbox_control kind, const void *frame, size_t len)
{
	if (len > OUTBOX_CONTROL_MAX)
		return false;
	/* Made outside the lock, the first time only. Looked at without the
	 * lock (only to decide whether to allocate; it is used under the lock):
	 * one lock round per control frame, not two. A flood of 6-byte pings
	 * spent a third of its time in the extra round and the contention it
	 * made with the sender. */
	struct controls *fresh = NULL;
	if (!atomic_load_explicit(&ob->controls, memory_order_relaxed))
		fresh = calloc(1, sizeof(*fresh));
	pthread_mutex_lock(&ob->lock);
	if (!ob->controls) {
		atomic_store_explicit(&ob->controls, fresh, memory_order_relaxed);
		fresh = NULL;
	}
	bool replaced = false;
	struct controls *ctl = ob->controls;
	if (ctl && !ob->closed && !ob->done) {
		replaced = ctl->pending_len[kind] != 0;
		memcpy(ctl->pending[kind], frame, len);
		ctl->pending_len[kind] = len;
		ob->any_pending = true;
		schedule_locked(ob);
	}
	pthread_mutex_unlock(&ob->lock);
	free(fresh);
	return replaced;
}

void outbox_finish(struct outbox *ob, const void *close_frame, size_t len, bool keep_queue,
                   int deadline_ms)
{
	/* Allocated before taking the lock; a close frame is small. */
	struct shared_frame *frame = shared_frame_new(close_frame, len, 0);
	pthread_mutex_lock(&ob->lock);
	if (frame && !ob->closed && !ob->finishing && !ob->done) {
		ob->finishing = true;
		ob->drop_queue = !keep_queue;
		ob->close_frame = frame;
		frame = NULL;
		ob->deadline =
		    clock_now() + (uint64_t)(deadline_ms > 0 ? deadline_ms : 0) * CLOCK_NS_PER_MS;
		wake_publishers_locked(ob);
		if (ob->scheduled)
			atomic_store(&ob->sender->rescan, true);
		schedule_locked(ob);
		wake(ob->sender);
	}
	pthread_mutex_unlock(&ob->lock);
	if (frame)
		shared_frame_unref(frame);
}

bool outbox_wait_finished(struct outbox *ob, int timeout_ms)
{
	struct timespec until = clock_wait_deadline_ms(timeout_ms > 0 ? (uint64_t)timeout_ms : 0);
	pthread_mutex_lock(&ob->lock);
	while (!ob->done && !ob->closed) {
		if (pthread_cond_timedwait(&ob->released, &ob->lock, &until) == ETIMEDOUT)
			break;
	}
	bool sent = ob->lingering;
	pthread_mutex_unlock(&ob->lock);
	return sent;
}

void outbox_wake(struct outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
	if (!ob->closed && !ob->done)
		schedule_locked(ob);
	pthread_mutex_unlock(&ob->lock);
}

void outbox_close(struct outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
	ob->closed = true;
	wake_publishers_locked(ob);
	if (ob->scheduled) {
		atomic_store(&ob->sender->rescan, true);
		wake(ob->sender);
		while (ob->scheduled)
			pthread_cond_wait(&ob->released, &ob->lock);
	}
	/* The sender has let go: nobody else touches the queue now. */
	frame_ring_drop(&ob->queue, false);
	if (ob->close_frame) {
		shared_frame_unref(ob->close_frame);
		ob->close_frame = NULL;
	}
	pthread_mutex_unlock(&ob->lock);
}

void outbox_destroy(struct outbox *ob)
{
	if (!ob)
		return;
	if (ob->close_frame)
		shared_frame_unref(ob->close_frame);
	frame_ring_clear(&ob->queue);
	free(ob->controls);
	pthread_cond_destroy(&ob->released);
	pthread_cond_destroy(&ob->space);
	pthread_mutex_destroy(&ob->lock);
	free(ob);
}

size_t outbox_length(struct outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
	size_t n = ob->queue.count;
	pthread_mutex_unlock(&ob->lock);
	return n;
}

/* ---- the sender thread ---- */

/* ob->lock held: the sender lets go of the outbox. */
static void release_locked(struct sender *s, struct outbox *ob)
{
	if (ob->in_epoll) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->pool->io->fd(ob->endpoint), NULL);
		ob->in_epoll = false;
	}
	ob->scheduled = false;
	ob->blocked = false;
	pthread_cond_broadcast(&ob->released);
	wake_publishers_locked(ob);
}

/* Sender-thread only: the waiting list is the sender's own. */
static void wait_list_remove(struct sender *s, struct outbox *ob)
{
	if (!ob->waiting)
		return;
	if (ob->wait_prev)
		ob->wait_prev->wait_next = ob->wait_next;
	else
		s->waiting = ob->wait_next;
	if (ob->wait_next)
		ob->wait_next->wait_prev = ob->wait_prev;
	ob->wait_prev = ob->wait_next = NULL;
	ob->waiting = false;
}

/* Sender-thread only. */
static void wait_list_add(struct sender *s, struct outbox *ob)
{
	ob->waiting = true;
	ob->wait_prev = NULL;
	ob->wait_next = s->waiting;
	if (s->waiting)
		s->waiting->wait_prev = ob;
	s->waiting = ob;
}

/* ob->lock held: the close frame is out; keep the outbox (and so the
 * endpoint) until the peer closes or the deadline passes. No room is
 * needed any more, so it leaves epoll. */
static void linger_locked(struct sender *s, struct outbox *ob)
{
	ob->lingering = true;
	if (ob->in_epoll) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->pool->io->fd(ob->endpoint), NULL);
		ob->in_epoll = false;
	}
	wait_list_add(s, ob);
}

/* ob->lock held: park the outbox until its socket has room. */
static void wait_for_room_locked(struct sender *s, struct outbox *ob)
{
	ob->blocked = true;
	wake_publishers_locked(ob);
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data.ptr = ob};
	int fd = s->pool->io->fd(ob->endpoint);
	int op = ob->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	/* Should epoll refuse, the next tick retries the outbox instead. */
	ob->in_epoll = fd >= 0 && epoll_ctl(s->epfd, op, fd, &ev) == 0;
	wait_list_add(s, ob);
}

/* ob->lock held; drops and retakes it around io->failed. The endpoint hears
 * of the failure while the outbox is still scheduled, so outbox_close (and
 * the endpoint's end) waits for it. */
static void fail_locked(struct sender *s, struct outbox *ob, bool deadline)
{
	ob->done = true;
	frame_ring_drop(&ob->queue, false);
	pthread_mutex_unlock(&ob->lock);
	s->pool->io->failed(ob->endpoint, deadline);
	pthread_mutex_lock(&ob->lock);
	release_locked(s, ob);
}

/* ob->lock held. After a finish, the close frame goes behind the queue, or
 * behind what is left of a partly written frame (the peer must get whole
 * frames) when the queue is to be dropped. */
static void queue_close_locked(struct outbox *ob)
{
	if (ob->drop_queue)
		frame_ring_drop(&ob->queue, true);
	if (frame_ring_push(&ob->queue, ob->close_frame) != 0) {
		/* No room for the close frame: drop the rest too, but not a frame
		 * partly written (the peer must get whole frames). */
		frame_ring_drop(&ob->queue, true);
		if (ob->queue.count == ob->queue.cap)
			return;
		(void)frame_ring_push(&ob->queue, ob->close_frame); /* has room now */
	}
	ob->close_frame = NULL;
}

/* ob->lock held: the next bytes of the queue, copied into the sender's
 * batch or pointing at the head frame itself when it is large. Frames leave
 * the queue only on this thread, so the data stays valid while the lock is
 * dropped. Control frames waiting for a boundary get the next one. */
static size_t gather_locked(struct sender *s, struct outbox *ob, const uint8_t **out)
{
	return frame_ring_gather(&ob->queue, s->batch, BATCH_BYTES, ob->any_pending, out);
}

/* ob->lock held, no frame partly written: the waiting control frames
 * become the next bytes to write. */
static void take_controls_locked(struct outbox *ob)
{
	struct controls *ctl = ob->controls;
	ob->ctrl_len = ob->ctrl_off = 0;
	for (int k = 0; k < OUTBOX_CONTROL_KINDS; k++) {
		memcpy(ctl->out + ob->ctrl_len, ctl->pending[k], ctl->pending_len[k]);
		ob->ctrl_len += ctl->pending_len[k];
		ctl->pending_len[k] = 0;
	}
	ob->any_pending = false;
}

/* Sender thread, no lock held (takes ob->lock). Writes as much of ob's
 * queue as its socket takes now, a few batches at
 * most so that one busy client cannot starve the sender's others. Returns
 * true when ob is still scheduled and wants another round; otherwise it was
 * released or parked in epoll to wait for room. */
static bool service(struct sender *s, struct outbox *ob)
{
	const struct delivery_io *io = s->pool->io;
	bool again = false;
	pthread_mutex_lock(&ob->lock);
	ob->blocked = false;
	for (int round = 0;; round++) {
		if (ob->lingering && !ob->closed) {
			linger_locked(s, ob);
			break;
		}
		if (ob->closed || ob->done) {
			release_locked(s, ob);
			break;
		}
		if (ob->close_frame)
			queue_close_locked(ob);
		if (ob->any_pending && ob->ctrl_off == ob->ctrl_len && ob->queue.head_offset == 0)
			take_controls_locked(ob);
		bool control = ob->ctrl_off < ob->ctrl_len;
		if (ob->queue.count == 0 && !control && io->pending && io->pending(ob->endpoint)) {
			pthread_mutex_unlock(&ob->lock);
			int flushed = io->flush(ob->endpoint);
			pthread_mutex_lock(&ob->lock);
			if (flushed < 0) {
				fail_locked(s, ob, false);
				break;
			}
			if (flushed == 0) {
				wait_for_room_locked(s, ob);
				break;
			}
			/* Frames or a close may have come while unlocked. */
			if (ob->queue.count != 0 || ob->closed || ob->close_frame ||
			    ob->any_pending)
				continue;
		}
		if (ob->queue.count == 0 && !control) {
			if (!ob->finishing) {
				release_locked(s, ob);
				break;
			}
			/* The close frame is out: nothing may follow it, and the
			 * peer has until the deadline to answer before it is cut. */
			ob->done = true;
			pthread_cond_broadcast(&ob->released);
			linger_locked(s, ob);
			break;
		}
		if (round == ROUNDS_PER_TURN) {
			again = true;
			break;
		}
		const uint8_t *out;
		size_t len;
		if (control) {
			out = ob->controls->out + ob->ctrl_off;
			len = ob->ctrl_len - ob->ctrl_off;
		} else {
			len = gather_locked(s, ob, &out);
		}
		pthread_mutex_unlock(&ob->lock);
		long n = io->write_some(ob->endpoint, out, len);
		pthread_mutex_lock(&ob->lock);
		if (n < 0) {
			fail_locked(s, ob, false);
			break;
		}
		if (control) {
			ob->ctrl_off += (size_t)n;
			if (ob->ctrl_off == ob->ctrl_len)
				ob->ctrl_off = ob->ctrl_len = 0;
			if ((size_t)n < len) {
				wait_for_room_locked(s, ob);
				break;
			}
			continue;
		}
		size_t frames = 0, messages = 0;
		uint64_t payload = 0;
		frame_ring_consume(&ob->queue, (size_t)n, &frames, &messages, &payload);
		if (frames) {
			wake_publishers_locked(ob);
			pthread_mutex_unlock(&ob->lock);
			if (messages)
				io->delivered(ob->endpoint, messages, payload);
			pthread_mutex_lock(&ob->lock);
		}
		if ((size_t)n < len) {
			wait_for_room_locked(s, ob);
			break;
		}
	}
	pthread_mutex_unlock(&ob->lock);
	return again;
}

/* Sender thread, no lock held. Outboxes parked for room that were closed, finished or are past
 * their deadline need the sender's attention without any room event. */
static void rescan_waiting(struct sender *s, struct outbox **run)
{
	clock_mono_t now = clock_now();
	struct outbox *ob = s->waiting;
	while (ob) {
		struct outbox *next = ob->wait_next;
		pthread_mutex_lock(&ob->lock);
		bool late = ob->finishing && !ob->closed && now >= ob->deadline;
		bool attend =
		    ob->closed || late || (!ob->lingering && (ob->close_frame || !ob->in_epoll));
		/* Off the waiting list before fail_locked releases the outbox: once
		 * released, its owner may free it at any moment. */
		if (attend)
			wait_list_remove(s, ob);
		if (late)
			fail_locked(s, ob, true);
		pthread_mutex_unlock(&ob->lock);
		if (attend && !late) {
			ob->next = *run;
			*run = ob;
		}
		ob = next;
	}
}

static void *sender_main(void *arg)
{
	struct sender *s = arg;
	clock_mono_t next_tick = clock_now() + TICK_NS;
	for (;;) {
		pthread_mutex_lock(&s->lock);
		struct outbox *run = s->run_head;
		s->run_head = s->run_tail = NULL;
		bool stop = s->stop;
		pthread_mutex_unlock(&s->lock);
		if (stop)
			break;

		struct epoll_event events[64];
		int n = epoll_wait(s->epfd, events, 64, run ? 0 : TICK_MS);
		for (int i = 0; i < n; i++) {
			struct outbox *ob = events[i].data.ptr;
			if (!ob) {
				uint64_t count;
				while (read(s->evfd, &count, sizeof(count)) < 0 && errno == EINTR)
					;
				continue;
			}
			/* A rescan may have taken it off the waiting list already
			 * (it is on the run list, or released): then this event is
			 * stale, and queueing the outbox twice would corrupt the
			 * lists. */
			if (!ob->waiting)
				continue;
			wait_list_remove(s, ob);
			ob->next = run;
			run = ob;
		}
		clock_mono_t now = clock_now();
		if (atomic_exchange(&s->rescan, false) || now >= next_tick) {
			rescan_waiting(s, &run);
			next_tick = now + TICK_NS;
		}
		struct outbox *again = NULL;
		while (run) {
			struct outbox *ob = run;
			run = ob->next;
			if (service(s, ob)) {
				ob->next = again;
				again = ob;
			}
		}
		/* Busy outboxes go behind anything scheduled meanwhile. */
		while (again) {
			struct outbox *ob = again;
			again = ob->next;
			run_list_append(s, ob);
		}
	}
	return NULL;
}

struct sender_pool *sender_pool_start(unsigned threads, const struct delivery_io *io)
{
	struct sender_pool *pool = calloc(1, sizeof(*pool));
	if (!pool)
		return NULL;
	pool->io = io;
	pool->senders = calloc(threads, sizeof(*pool->senders));
	if (!pool->senders) {
		free(pool);
		return NULL;
	}
	for (unsigned i = 0; i < threads; i++) {
		struct sender *s = &pool->senders[i];
		s->pool = pool;
		pthread_mutex_init(&s->lock, NULL);
		s->epfd = epoll_create1(EPOLL_CLOEXEC);
		s->evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
		s->batch = malloc(BATCH_BYTES);
		struct epoll_event ev = {.events = EPOLLIN, .data.ptr = NULL};
		if (s->epfd < 0 || s->evfd < 0 || !s->batch ||
		    epoll_ctl(s->epfd, EPOLL_CTL_ADD, s->evfd, &ev) != 0 ||
		    pthread_create(&s->thread, NULL, sender_main, s) != 0) {
			log_error("cannot start sender thread %u", i + 1);
			pool->count = i;
			free(s->batch);
			if (s->epfd >= 0)
				close(s->epfd);
			if (s->evfd >= 0)
				close(s->evfd);
			pthread_mutex_destroy(&s->lock);
			sender_pool_stop(pool);
			return NULL;
		}
		pool->count = i + 1;
	}
	return pool;
}

void sender_pool_stop(struct sender_pool *pool)
{
	if (!pool)
		return;
	for (unsigned i = 0; i < pool->count; i++) {
		struct sender *s = &pool->senders[i];
		pthread_mutex_lock(&s->lock);
		s->stop = true;
		pthread_mutex_unlock(&s->lock);
		wake(s);
		pthread_join(s->thread, NULL);
		close(s->epfd);
		close(s->evfd);
		free(s->batch);
		pthread_mutex_destroy(&s->lock);
	}
	free(pool->senders);
	free(pool);
}
