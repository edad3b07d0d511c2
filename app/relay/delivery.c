#include "delivery.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include "log.h"
#include "ws_frame.h"

/* Frames are gathered into one write up to this size; a frame at least half
 * as large is written straight from its own buffer instead of copied. */
#define BATCH_BYTES     ((size_t)256 * 1024)
#define TICK_MS         100
#define ROUNDS_PER_TURN 4
/* The longest a publisher waits for a receiver's queue while the sender is
 * behind, before treating the receiver as a slow consumer anyway. */
#define PUBLISHER_WAIT_S 2

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

	/* The queue: a ring of frames, the first one possibly partly written. */
	struct shared_frame **ring;
	size_t cap, head, count;
	size_t bytes; /* queued and not yet written */
	size_t head_offset;

	bool scheduled; /* its sender may touch it: run list, epoll or a write */
	bool closed;
	bool finishing;  /* the close frame is queued: nothing else is taken */
	bool drop_queue; /* finishing: the close frame does not wait for the queue */
	bool done;       /* the close frame went out, or a write failed */
	bool lingering;  /* the close frame went out: waiting for the peer's */
	bool blocked;    /* its socket is full: the sender waits for room */
	struct shared_frame *close_frame;
	int64_t deadline_ms;

	/* Control frames (a pong, a ping), kept apart and made on the first
	 * one: most clients never ping, and the queue's fields stay compact. */
	struct controls *controls;
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

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wake(struct sender *s)
{
	uint64_t one = 1;
	while (write(s->evfd, &one, sizeof(one)) < 0 && errno == EINTR)
		;
}

static void wake_publishers(struct outbox *ob)
{
	if (ob->space_waiters)
		pthread_cond_broadcast(&ob->space);
}

/* Appends ob to the sender's run list; true when the list was empty (the
 * sender may be asleep in epoll_wait). */
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

/* Caller holds ob->lock. */
static void schedule_locked(struct outbox *ob)
{
	if (ob->scheduled)
		return;
	ob->scheduled = true;
	if (run_list_append(ob->sender, ob))
		wake(ob->sender);
}

/* ---- the queue ---- */

static int grow(struct outbox *ob)
{
	size_t cap = ob->cap ? ob->cap * 2 : 16;
	/* An array of pointers: the element size is a pointer's on purpose. */
	// NOLINTNEXTLINE(bugprone-sizeof-expression)
	struct shared_frame **ring = malloc(cap * sizeof(*ring));
	if (!ring)
		return -1;
	for (size_t i = 0; i < ob->count; i++)
		ring[i] = ob->ring[(ob->head + i) % ob->cap];
	free(ob->ring);
	ob->ring = ring;
	ob->cap = cap;
	ob->head = 0;
	return 0;
}

/* ob->lock held: drops queued frames from the tail, all of them or all but
 * a partly written head. */
static void drop_frames(struct outbox *ob, bool keep_partial_head)
{
	size_t keep = (keep_partial_head && ob->head_offset > 0) ? 1 : 0;
	while (ob->count > keep) {
		struct shared_frame *f = ob->ring[(ob->head + ob->count - 1) % ob->cap];
		ob->bytes -= ob->count == 1 ? f->len - ob->head_offset : f->len;
		shared_frame_unref(f);
		ob->count--;
	}
	if (ob->count == 0)
		ob->head_offset = 0;
}

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

/* A message larger than the byte bound still goes into an empty queue:
 * otherwise max_message_bytes above client_queue_bytes would close every
 * receiver of such a message as a slow consumer. */
static bool over_bounds(const struct outbox *ob, const struct shared_frame *frame)
{
	return ob->count >= ob->max_messages ||
	       (ob->count > 0 && ob->bytes + frame->len > ob->max_bytes);
}

/* ob->lock held. A full queue whose socket still takes data only means the
 * sender is behind (a burst, a busy machine): the publisher waits for it,
 * which slows publishers down to what the relay can write. Only a queue
 * that is full while its socket is full too is a slow consumer. */
static bool wait_for_space(struct outbox *ob, const struct shared_frame *frame)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PUBLISHER_WAIT_S;
	ob->space_waiters++;
	while (over_bounds(ob, frame) && !ob->blocked && !ob->closed && !ob->finishing &&
	       !ob->done) {
		if (pthread_cond_timedwait(&ob->space, &ob->lock, &until) == ETIMEDOUT)
			break;
	}
	ob->space_waiters--;
	return !over_bounds(ob, frame);
}

enum outbox_result outbox_push(struct outbox *ob, struct shared_frame *frame)
{
	pthread_mutex_lock(&ob->lock);
	enum outbox_result result = OUTBOX_QUEUED;
	if (over_bounds(ob, frame) && (ob->blocked || !wait_for_space(ob, frame)))
		result = OUTBOX_FULL;
	if (ob->closed || ob->finishing || ob->done)
		result = OUTBOX_CLOSED;
	else if (result == OUTBOX_QUEUED && ob->count == ob->cap && grow(ob) != 0)
		result = OUTBOX_FULL;
	if (result == OUTBOX_QUEUED) {
		shared_frame_ref(frame);
		ob->ring[(ob->head + ob->count) % ob->cap] = frame;
		ob->count++;
		ob->bytes += frame->len;
		schedule_locked(ob);
	}
	pthread_mutex_unlock(&ob->lock);
	return result;
}

bool outbox_push_control(struct outbox *ob, enum outbox_control kind, const void *frame, size_t len)
{
	if (len > OUTBOX_CONTROL_MAX)
		return false;
	/* Made outside the lock, the first time only. */
	struct controls *fresh = NULL;
	pthread_mutex_lock(&ob->lock);
	bool have = ob->controls != NULL;
	pthread_mutex_unlock(&ob->lock);
	if (!have)
		fresh = calloc(1, sizeof(*fresh));
	pthread_mutex_lock(&ob->lock);
	if (!ob->controls) {
		ob->controls = fresh;
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
		ob->deadline_ms = now_ms() + deadline_ms;
		wake_publishers(ob);
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
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += timeout_ms / 1000;
	until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
	if (until.tv_nsec >= 1000000000L) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000L;
	}
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
	wake_publishers(ob);
	if (ob->scheduled) {
		atomic_store(&ob->sender->rescan, true);
		wake(ob->sender);
		while (ob->scheduled)
			pthread_cond_wait(&ob->released, &ob->lock);
	}
	/* The sender has let go: nobody else touches the queue now. */
	drop_frames(ob, false);
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
	free(ob->ring);
	free(ob->controls);
	pthread_cond_destroy(&ob->released);
	pthread_cond_destroy(&ob->space);
	pthread_mutex_destroy(&ob->lock);
	free(ob);
}

size_t outbox_length(struct outbox *ob)
{
	pthread_mutex_lock(&ob->lock);
	size_t n = ob->count;
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
	wake_publishers(ob);
}

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
static void linger(struct sender *s, struct outbox *ob)
{
	ob->lingering = true;
	if (ob->in_epoll) {
		epoll_ctl(s->epfd, EPOLL_CTL_DEL, s->pool->io->fd(ob->endpoint), NULL);
		ob->in_epoll = false;
	}
	wait_list_add(s, ob);
}

/* ob->lock held: park the outbox until its socket has room. */
static void wait_for_room(struct sender *s, struct outbox *ob)
{
	ob->blocked = true;
	wake_publishers(ob);
	struct epoll_event ev = {.events = EPOLLOUT | EPOLLONESHOT, .data.ptr = ob};
	int fd = s->pool->io->fd(ob->endpoint);
	int op = ob->in_epoll ? EPOLL_CTL_MOD : EPOLL_CTL_ADD;
	/* Should epoll refuse, the next tick retries the outbox instead. */
	ob->in_epoll = fd >= 0 && epoll_ctl(s->epfd, op, fd, &ev) == 0;
	wait_list_add(s, ob);
}

/* ob->lock held. The endpoint hears of the failure while the outbox is
 * still scheduled, so outbox_close (and the endpoint's end) waits for it. */
static void fail(struct sender *s, struct outbox *ob, bool deadline)
{
	ob->done = true;
	drop_frames(ob, false);
	pthread_mutex_unlock(&ob->lock);
	s->pool->io->failed(ob->endpoint, deadline);
	pthread_mutex_lock(&ob->lock);
	release_locked(s, ob);
}

/* ob->lock held. After a finish, the close frame goes behind the queue, or
 * behind what is left of a partly written frame (the peer must get whole
 * frames) when the queue is to be dropped. */
static void queue_close(struct outbox *ob)
{
	if (ob->drop_queue)
		drop_frames(ob, true);
	if (ob->count == ob->cap && grow(ob) != 0) {
		/* No room for the close frame: drop the rest too, but not a frame
		 * partly written (the peer must get whole frames). */
		drop_frames(ob, true);
	}
	if (ob->count < ob->cap) {
		ob->ring[(ob->head + ob->count) % ob->cap] = ob->close_frame;
		ob->count++;
		ob->bytes += ob->close_frame->len;
		ob->close_frame = NULL;
	}
}

/* ob->lock held: copies frames from the head into the sender's batch, or
 * points at the head frame itself when it is large. Frames leave the queue
 * only on this thread, so the data stays valid while the lock is dropped. */
static size_t gather(struct sender *s, struct outbox *ob, const uint8_t **out)
{
	const struct shared_frame *first = ob->ring[ob->head];
	size_t first_rest = first->len - ob->head_offset;
	/* Control frames waiting for a boundary get the next one. */
	if (first_rest >= BATCH_BYTES / 2 || ob->count == 1 || ob->any_pending) {
		*out = first->data + ob->head_offset;
		return first_rest;
	}
	size_t len = 0;
	size_t offset = ob->head_offset;
	for (size_t i = 0; i < ob->count && len < BATCH_BYTES; i++) {
		const struct shared_frame *f = ob->ring[(ob->head + i) % ob->cap];
		size_t part = f->len - offset;
		if (part > BATCH_BYTES - len)
			part = BATCH_BYTES - len;
		memcpy(s->batch + len, f->data + offset, part);
		len += part;
		offset = 0;
	}
	*out = s->batch;
	return len;
}

/* ob->lock held: takes written bytes off the head; counts whole frames, and
 * among them the messages (our close frame is not one) and their payload. */
static void consume(struct outbox *ob, size_t written, size_t *frames, size_t *messages,
                    uint64_t *payload)
{
	while (written > 0) {
		struct shared_frame *f = ob->ring[ob->head];
		size_t rest = f->len - ob->head_offset;
		if (written < rest) {
			ob->head_offset += written;
			ob->bytes -= written;
			return;
		}
		written -= rest;
		ob->bytes -= rest;
		(*frames)++;
		/* Deliveries are messages: our close frame is not one. */
		if ((f->data[0] & WS_OPCODE_MASK) != WS_OPCODE_CLOSE) {
			(*messages)++;
			*payload += f->payload_len;
		}
		ob->head_offset = 0;
		ob->head = (ob->head + 1) % ob->cap;
		ob->count--;
		shared_frame_unref(f);
	}
}

/* ob->lock held, no frame partly written: the waiting control frames
 * become the next bytes to write. */
static void take_controls(struct outbox *ob)
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

/* Writes as much of ob's queue as its socket takes now, a few batches at
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
			linger(s, ob);
			break;
		}
		if (ob->closed || ob->done) {
			release_locked(s, ob);
			break;
		}
		if (ob->close_frame)
			queue_close(ob);
		if (ob->any_pending && ob->ctrl_off == ob->ctrl_len && ob->head_offset == 0)
			take_controls(ob);
		bool control = ob->ctrl_off < ob->ctrl_len;
		if (ob->count == 0 && !control && io->pending && io->pending(ob->endpoint)) {
			pthread_mutex_unlock(&ob->lock);
			int flushed = io->flush(ob->endpoint);
			pthread_mutex_lock(&ob->lock);
			if (flushed < 0) {
				fail(s, ob, false);
				break;
			}
			if (flushed == 0) {
				wait_for_room(s, ob);
				break;
			}
			/* Frames or a close may have come while unlocked. */
			if (ob->count != 0 || ob->closed || ob->close_frame || ob->any_pending)
				continue;
		}
		if (ob->count == 0 && !control) {
			if (!ob->finishing) {
				release_locked(s, ob);
				break;
			}
			/* The close frame is out: nothing may follow it, and the
			 * peer has until the deadline to answer before it is cut. */
			ob->done = true;
			pthread_cond_broadcast(&ob->released);
			linger(s, ob);
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
			len = gather(s, ob, &out);
		}
		pthread_mutex_unlock(&ob->lock);
		long n = io->write_some(ob->endpoint, out, len);
		pthread_mutex_lock(&ob->lock);
		if (n < 0) {
			fail(s, ob, false);
			break;
		}
		if (control) {
			ob->ctrl_off += (size_t)n;
			if (ob->ctrl_off == ob->ctrl_len)
				ob->ctrl_off = ob->ctrl_len = 0;
			if ((size_t)n < len) {
				wait_for_room(s, ob);
				break;
			}
			continue;
		}
		size_t frames = 0, messages = 0;
		uint64_t payload = 0;
		consume(ob, (size_t)n, &frames, &messages, &payload);
		if (frames) {
			wake_publishers(ob);
			pthread_mutex_unlock(&ob->lock);
			if (messages)
				io->delivered(ob->endpoint, messages, payload);
			pthread_mutex_lock(&ob->lock);
		}
		if ((size_t)n < len) {
			wait_for_room(s, ob);
			break;
		}
	}
	pthread_mutex_unlock(&ob->lock);
	return again;
}

/* Outboxes parked for room that were closed, finished or are past their
 * deadline need the sender's attention without any room event. */
static void rescan_waiting(struct sender *s, struct outbox **run)
{
	int64_t now = now_ms();
	struct outbox *ob = s->waiting;
	while (ob) {
		struct outbox *next = ob->wait_next;
		pthread_mutex_lock(&ob->lock);
		bool late = ob->finishing && !ob->closed && now >= ob->deadline_ms;
		bool attend =
		    ob->closed || late || (!ob->lingering && (ob->close_frame || !ob->in_epoll));
		/* Off the waiting list before fail() releases the outbox: once
		 * released, its owner may free it at any moment. */
		if (attend)
			wait_list_remove(s, ob);
		if (late)
			fail(s, ob, true);
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
	int64_t next_tick = now_ms() + TICK_MS;
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
		int64_t now = now_ms();
		if (atomic_exchange(&s->rescan, false) || now >= next_tick) {
			rescan_waiting(s, &run);
			next_tick = now + TICK_MS;
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
