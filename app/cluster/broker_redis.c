/* The Redis backend, on hiredis: SUBSCRIBE on one connection, PUBLISH on
 * another (a subscribed connection may not publish).
 *
 * The subscribing connection has a thread of its own, which waits in poll()
 * on the socket and on a pipe that stop() writes to, so it ends promptly;
 * it reconnects with capped exponential backoff and jitter. The publishing
 * connection belongs to the cluster's publisher thread and is (re)made
 * lazily by publish(), with its own backoff; a timeout on it bounds how long
 * a stuck Redis can hold that thread. Redis keeps no messages for a
 * subscriber that is away: what is published meanwhile is missed, and the
 * receivers count it as a gap.
 *
 * With a password in the URL, every connection sends AUTH (with the user
 * too, for an ACL user) before anything else. hiredis 0.14 has no TLS.
 *
 * With rooms, the subscriber thread also subscribes to "<channel>:<room>"
 * for every room this node has, and unsubscribes from the ones gone: woken
 * through a pipe by the rooms' observer, it takes the changes waiting
 * (room_subs) and sends them as a few SUBSCRIBE / UNSUBSCRIBE commands
 * with many channels each, without waiting for their replies (they come
 * back among the messages). After a reconnect it subscribes to them all
 * again. The channel itself stays subscribed: its reply is the link's. */
#include <errno.h>
#include <fcntl.h>
#include <hiredis/hiredis.h>
#include <poll.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "broker.h"
#include "clock.h"
#include "broker_url.h"
#include "log.h"

/* For connecting, and for a PUBLISH's reply. */
#define CONNECT_TIMEOUT_MS 2000
#define COMMAND_TIMEOUT_MS 2000
/* Channels in one SUBSCRIBE or UNSUBSCRIBE. */
#define SUBSCRIBE_BATCH 256
/* "<channel>:<room>": the channel has at most 200 bytes (config). */
#define CHANNEL_MAX (256 + ROOM_NAME_MAX)

struct broker {
	const struct config *cfg;
	struct broker_url url;
	struct broker_events events;
	pthread_t subscriber;
	int stop_pipe[2]; /* written once by stop() */
	int wake_pipe[2]; /* rooms changed (non-blocking; with rooms only) */

	/* The publisher thread's alone. */
	redisContext *pub;
	uint32_t pub_attempt;
	clock_mono_t pub_next_try;
};

static struct timeval ms_to_timeval(long ms)
{
	return (struct timeval){.tv_sec = ms / 1000, .tv_usec = (ms % 1000) * 1000};
}

/* Sends one command and checks for an OK reply; false with why. */
static bool command_ok(redisContext *ctx, const char *what, char *why, size_t whylen,
                       const char *format, ...)
{
	va_list ap;
	va_start(ap, format);
	redisReply *r = redisvCommand(ctx, format, ap);
	va_end(ap);
	if (!r) {
		snprintf(why, whylen, "%s: %s", what, ctx->errstr);
		return false;
	}
	bool ok = r->type == REDIS_REPLY_STATUS;
	if (!ok)
		snprintf(why, whylen, "redis refused %s: %s", what,
		         r->type == REDIS_REPLY_ERROR ? r->str : "unexpected reply");
	freeReplyObject(r);
	return ok;
}

/* AUTH and SELECT as the URL asks; false with why (and *refused when the
 * server answered no, rather than the link failing). */
static bool log_in(struct broker *b, redisContext *ctx, bool *refused, char *why, size_t whylen)
{
	const struct broker_url *u = &b->url;
	*refused = false;
	if (u->has_password) {
		bool ok = u->user[0] ? command_ok(ctx, "AUTH", why, whylen, "AUTH %s %s", u->user,
		                                  u->password)
		                     : command_ok(ctx, "AUTH", why, whylen, "AUTH %s", u->password);
		if (!ok) {
			*refused = ctx->err == 0;
			return false;
		}
	}
	if (u->db >= 0 && !command_ok(ctx, "SELECT", why, whylen, "SELECT %d", u->db)) {
		*refused = ctx->err == 0;
		return false;
	}
	return true;
}

/* A connected context, or NULL with the reason in why; *refused tells a
 * server that turned down our credentials. */
static redisContext *connect_to(struct broker *b, bool *refused, char *why, size_t whylen)
{
	*refused = false;
	redisContext *ctx =
	    redisConnectWithTimeout(b->url.host, b->url.port, ms_to_timeval(CONNECT_TIMEOUT_MS));
	if (!ctx) {
		snprintf(why, whylen, "out of memory");
		return NULL;
	}
	if (ctx->err) {
		snprintf(why, whylen, "%s", ctx->errstr);
		redisFree(ctx);
		return NULL;
	}
	/* A broker that vanished without a FIN (a dead host, a dropped
	 * route) is found by TCP keepalive rather than never. */
	redisEnableKeepAlive(ctx);
	/* Bounds AUTH's reply; the subscriber polls before it reads, so the
	 * timeout never cuts a quiet subscription. */
	redisSetTimeout(ctx, ms_to_timeval(COMMAND_TIMEOUT_MS));
	if (!log_in(b, ctx, refused, why, whylen)) {
		redisFree(ctx);
		return NULL;
	}
	return ctx;
}

/* Waits up to ms for stop(); true when it came. */
static bool stop_requested(struct broker *b, int ms)
{
	struct pollfd p = {.fd = b->stop_pipe[0], .events = POLLIN};
	int n;
	do
		n = poll(&p, 1, ms);
	while (n < 0 && errno == EINTR);
	return n > 0;
}

static bool reply_is(const redisReply *r, const char *kind)
{
	return r->type == REDIS_REPLY_ARRAY && r->elements == 3 &&
	       r->element[0]->type == REDIS_REPLY_STRING && strcmp(r->element[0]->str, kind) == 0;
}

/* Writes what hiredis has buffered; false with why. */
static bool flush_commands(redisContext *ctx, char *why, size_t whylen)
{
	int done = 0;
	while (!done)
		if (redisBufferWrite(ctx, &done) != REDIS_OK) {
			snprintf(why, whylen, "%s", ctx->errstr);
			return false;
		}
	return true;
}

/* One SUBSCRIBE or UNSUBSCRIBE of many room channels, built up and then
 * appended to hiredis's buffer in one piece. */
struct channel_batch {
	const struct broker *b;
	redisContext *ctx;
	const char *verb;
	size_t count;
	bool failed;
	char names[SUBSCRIBE_BATCH][CHANNEL_MAX];
};

static void batch_append(struct channel_batch *cb)
{
	if (cb->count == 0 || cb->failed)
		return;
	const char *argv[SUBSCRIBE_BATCH + 1];
	size_t lens[SUBSCRIBE_BATCH + 1];
	argv[0] = cb->verb;
	lens[0] = strlen(cb->verb);
	for (size_t i = 0; i < cb->count; i++) {
		argv[i + 1] = cb->names[i];
		lens[i + 1] = strlen(cb->names[i]);
	}
	if (redisAppendCommandArgv(cb->ctx, (int)cb->count + 1, argv, lens) != REDIS_OK)
		cb->failed = true;
	cb->count = 0;
}

static void batch_add(void *ctx, const char *room)
{
	struct channel_batch *cb = ctx;
	snprintf(cb->names[cb->count++], CHANNEL_MAX, "%s:%s", cb->b->cfg->cluster.channel, room);
	if (cb->count == SUBSCRIBE_BATCH)
		batch_append(cb);
}

/* The channel itself, and with rooms every room wanted now. */
static bool send_subscribe(struct broker *b, redisContext *ctx, char *why, size_t whylen)
{
	if (redisAppendCommand(ctx, "SUBSCRIBE %s", b->cfg->cluster.channel) != REDIS_OK) {
		snprintf(why, whylen, "%s", ctx->errstr);
		return false;
	}
	if (b->events.rooms) {
		struct channel_batch *cb = malloc(sizeof(*cb));
		if (!cb) {
			snprintf(why, whylen, "out of memory");
			return false;
		}
		*cb = (struct channel_batch){.b = b, .ctx = ctx, .verb = "SUBSCRIBE"};
		room_subs_resync(b->events.rooms, batch_add, cb);
		batch_append(cb);
		bool failed = cb->failed;
		free(cb);
		if (failed) {
			snprintf(why, whylen, "%s", ctx->errstr);
			return false;
		}
	}
	return flush_commands(ctx, why, whylen);
}

/* Takes the rooms' changes waiting and sends them; false with why when the
 * link failed. */
static bool send_room_changes(struct broker *b, redisContext *ctx, char *why, size_t whylen)
{
	why[0] = '\0';
	struct room_sub_change *changes = malloc(SUBSCRIBE_BATCH * sizeof(*changes));
	struct channel_batch *sub = malloc(sizeof(*sub));
	struct channel_batch *unsub = malloc(sizeof(*unsub));
	bool ok = changes && sub && unsub;
	if (!ok)
		snprintf(why, whylen, "out of memory");
	size_t n;
	while (ok && (n = room_subs_take(b->events.rooms, changes, SUBSCRIBE_BATCH)) > 0) {
		*sub = (struct channel_batch){.b = b, .ctx = ctx, .verb = "SUBSCRIBE"};
		*unsub = (struct channel_batch){.b = b, .ctx = ctx, .verb = "UNSUBSCRIBE"};
		for (size_t i = 0; i < n; i++)
			batch_add(changes[i].subscribe ? sub : unsub, changes[i].name);
		batch_append(sub);
		batch_append(unsub);
		ok = !sub->failed && !unsub->failed && flush_commands(ctx, why, whylen);
		log_debug("cluster: redis: %zu room subscription changes", n);
		if (!ok && !why[0])
			snprintf(why, whylen, "%s", ctx->errstr);
	}
	free(changes);
	free(sub);
	free(unsub);
	return ok;
}

/* Empties the wake pipe (non-blocking). */
static void drain_wake_pipe(struct broker *b)
{
	char buf[64];
	while (read(b->wake_pipe[0], buf, sizeof(buf)) > 0)
		;
}

/* room_subs's waker: the rooms' observer, under the rooms registry lock; a
 * full pipe already says the same. */
static void wake_subscriber(void *ctx)
{
	struct broker *b = ctx;
	ssize_t n;
	do
		n = write(b->wake_pipe[1], "r", 1);
	while (n < 0 && errno == EINTR);
}

/* A subscribe reply for the channel itself, not for a room's. */
static bool is_base_channel(const struct broker *b, const redisReply *r)
{
	return r->element[1]->type == REDIS_REPLY_STRING &&
	       strcmp(r->element[1]->str, b->cfg->cluster.channel) == 0;
}

/* Hands out messages until the link breaks (returns false, why says how) or
 * stop() is called (returns true). */
static bool pump_messages(struct broker *b, redisContext *ctx, bool *subscribed, char *why,
                          size_t whylen)
{
	for (;;) {
		void *reply = NULL;
		if (redisReaderGetReply(ctx->reader, &reply) != REDIS_OK) {
			snprintf(why, whylen, "protocol error: %s", ctx->reader->errstr);
			return false;
		}
		if (reply) {
			const redisReply *r = reply;
			if (reply_is(r, "message") && r->element[2]->type == REDIS_REPLY_STRING)
				b->events.message(b->events.ctx, r->element[2]->str,
				                  r->element[2]->len);
			else if (reply_is(r, "subscribe") && is_base_channel(b, r)) {
				*subscribed = true;
				b->events.link(b->events.ctx, true, NULL);
			} else if (r->type == REDIS_REPLY_ERROR && !*subscribed) {
				/* NOAUTH, NOPERM: the subscription never happened;
				 * waiting on would be waiting forever. */
				snprintf(why, whylen, "redis refused SUBSCRIBE: %s", r->str);
				freeReplyObject(reply);
				return false;
			} else if (r->type == REDIS_REPLY_ERROR) {
				log_warn("cluster: redis: %s", r->str);
			}
			freeReplyObject(reply);
			continue;
		}
		struct pollfd fds[3] = {{.fd = ctx->fd, .events = POLLIN},
		                        {.fd = b->stop_pipe[0], .events = POLLIN},
		                        {.fd = b->wake_pipe[0], .events = POLLIN}};
		if (poll(fds, b->events.rooms ? 3 : 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			char reason[128];
			snprintf(why, whylen, "poll: %s",
			         strerror_r(errno, reason, sizeof(reason)));
			return false;
		}
		if (fds[1].revents)
			return true;
		if (b->events.rooms && fds[2].revents) {
			/* Drained before the changes are taken: a change made
			 * after the take wakes us again. */
			drain_wake_pipe(b);
			if (!send_room_changes(b, ctx, why, whylen))
				return false;
		}
		if (!(fds[0].revents & (POLLIN | POLLHUP | POLLERR)))
			continue;
		if (redisBufferRead(ctx) != REDIS_OK) {
			snprintf(why, whylen, "%s",
			         ctx->err == REDIS_ERR_EOF ? "connection closed" : ctx->errstr);
			return false;
		}
	}
}

static void *subscriber_main(void *arg)
{
	struct broker *b = arg;
	uint32_t attempt = 0;
	char why[256];

	for (;;) {
		bool refused;
		redisContext *ctx = connect_to(b, &refused, why, sizeof(why));
		if (ctx && send_subscribe(b, ctx, why, sizeof(why))) {
			bool subscribed = false;
			bool stopped = pump_messages(b, ctx, &subscribed, why, sizeof(why));
			/* Only a link that got as far as the subscription resets the
			 * backoff: a broker that accepts and drops connections at
			 * once is still backed off from. */
			if (subscribed)
				attempt = 0;
			if (stopped) {
				redisFree(ctx);
				break;
			}
			b->events.link(b->events.ctx, false, why);
		} else if (attempt == 0) {
			log_warn("cluster: broker not reachable at redis://%s:%u: %s (retrying)",
			         b->url.host, b->url.port, why);
		}
		if (ctx)
			redisFree(ctx);
		uint32_t delay =
		    backoff_delay_ms(attempt++, BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoff_random());
		log_debug("cluster: next subscribe attempt in %u ms", delay);
		if (stop_requested(b, (int)delay))
			break;
	}
	return NULL;
}

static void close_pipes(struct broker *b)
{
	for (int i = 0; i < 2; i++) {
		close(b->stop_pipe[i]);
		if (b->wake_pipe[i] >= 0)
			close(b->wake_pipe[i]);
	}
}

static struct broker *redis_start(const struct config *cfg, const char *node_id,
                                  const struct broker_events *events, char *err, size_t errlen)
{
	(void)node_id;
	struct broker *b = calloc(1, sizeof(*b));
	char why[256];

	if (!b) {
		snprintf(err, errlen, "cluster: out of memory");
		return NULL;
	}
	b->cfg = cfg;
	b->events = *events;
	/* The config loader checked it already. */
	if (broker_url_parse(cfg->cluster.urls[0], &b->url, why, sizeof(why)) != 0) {
		snprintf(err, errlen, "cluster.url: %s", why);
		free(b);
		return NULL;
	}
	b->wake_pipe[0] = b->wake_pipe[1] = -1;
	if (pipe2(b->stop_pipe, O_CLOEXEC) != 0) {
		snprintf(err, errlen, "cluster: pipe: %s", strerror_r(errno, why, sizeof(why)));
		free(b);
		return NULL;
	}
	if (events->rooms && pipe2(b->wake_pipe, O_CLOEXEC | O_NONBLOCK) != 0) {
		snprintf(err, errlen, "cluster: pipe: %s", strerror_r(errno, why, sizeof(why)));
		close_pipes(b);
		free(b);
		return NULL;
	}
	/* One attempt now: a server that answers and refuses our password is a
	 * start-up error; one that does not answer is retried in the
	 * background. The connection becomes the publishing one. */
	bool refused;
	b->pub = connect_to(b, &refused, why, sizeof(why));
	/* A server that wants a password we did not give says so to a PING. */
	if (b->pub && !command_ok(b->pub, "PING", why, sizeof(why), "PING")) {
		refused = b->pub->err == 0;
		redisFree(b->pub);
		b->pub = NULL;
	}
	if (!b->pub && refused) {
		snprintf(err, errlen,
		         "cluster: redis://%s:%u: %s (check the user and password in cluster.url)",
		         b->url.host, b->url.port, why);
		close_pipes(b);
		free(b);
		return NULL;
	}
	if (events->rooms)
		room_subs_set_waker(events->rooms, wake_subscriber, b);
	int rc = pthread_create(&b->subscriber, NULL, subscriber_main, b);
	if (rc != 0) {
		snprintf(err, errlen, "cluster: cannot start the redis thread: %s",
		         strerror_r(rc, why, sizeof(why)));
		if (b->pub)
			redisFree(b->pub);
		if (events->rooms)
			room_subs_set_waker(events->rooms, NULL, NULL);
		close_pipes(b);
		free(b);
		return NULL;
	}
	return b;
}

static void back_off_publishing(struct broker *b, const char *why)
{
	uint32_t delay =
	    backoff_delay_ms(b->pub_attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoff_random());
	if (b->pub_attempt == 0)
		log_warn("cluster: cannot publish at redis://%s:%u: %s (retrying)", b->url.host,
		         b->url.port, why);
	b->pub_attempt++;
	b->pub_next_try = clock_now() + delay * CLOCK_NS_PER_MS;
}

/* Drops the publishing connection after a failure; hiredis cannot use a
 * context after an I/O error, and after an error reply the rest of a
 * pipeline's replies would still be in the way. */
static void drop_publisher(struct broker *b, const char *why)
{
	redisFree(b->pub);
	b->pub = NULL;
	back_off_publishing(b, why);
}

/* All of the batch is written before any reply is read (pipelining):
 * one round trip per batch. */
static size_t redis_publish(struct broker *b, const struct broker_message *msgs, size_t count,
                            enum broker_publish_result *stopped)
{
	char why[256];

	*stopped = BROKER_RETRY;
	if (!b->pub) {
		if (clock_now() < b->pub_next_try)
			return 0;
		bool refused;
		b->pub = connect_to(b, &refused, why, sizeof(why));
		if (!b->pub) {
			back_off_publishing(b, why);
			return 0;
		}
	}
	for (size_t i = 0; i < count; i++) {
		int rc =
		    msgs[i].room && msgs[i].room[0]
		        ? redisAppendCommand(b->pub, "PUBLISH %s:%s %b", b->cfg->cluster.channel,
		                             msgs[i].room, msgs[i].data, msgs[i].len)
		        : redisAppendCommand(b->pub, "PUBLISH %s %b", b->cfg->cluster.channel,
		                             msgs[i].data, msgs[i].len);
		if (rc != REDIS_OK) {
			snprintf(why, sizeof(why), "%s", b->pub->errstr);
			drop_publisher(b, why);
			return 0;
		}
	}
	for (size_t i = 0; i < count; i++) {
		void *reply = NULL;
		if (redisGetReply(b->pub, &reply) != REDIS_OK || !reply) {
			/* Whether Redis got the rest is unknown; they go again, and
			 * the receivers drop what turns out to be a duplicate. */
			snprintf(why, sizeof(why), "%s", b->pub->errstr);
			drop_publisher(b, why);
			return i;
		}
		const redisReply *r = reply;
		if (r->type != REDIS_REPLY_INTEGER) {
			/* An error reply (NOAUTH, a replica's READONLY, out of
			 * memory) is about the server's state, not the message:
			 * wait for that to change. */
			snprintf(why, sizeof(why), "redis answered: %s",
			         r->type == REDIS_REPLY_ERROR ? r->str : "not a number");
			freeReplyObject(reply);
			drop_publisher(b, why);
			return i;
		}
		freeReplyObject(reply);
	}
	b->pub_attempt = 0;
	return count;
}

/* Redis takes up to 512 MB a message: never the limit here. */
static size_t redis_max_payload(struct broker *b)
{
	(void)b;
	return 0;
}

static void redis_stop(struct broker *b)
{
	if (!b)
		return;
	/* The thread polls the pipe: one byte wakes it wherever it waits. */
	ssize_t n;
	do
		n = write(b->stop_pipe[1], "x", 1);
	while (n < 0 && errno == EINTR);
	pthread_join(b->subscriber, NULL);
	if (b->events.rooms)
		room_subs_set_waker(b->events.rooms, NULL, NULL);
	if (b->pub)
		redisFree(b->pub);
	close_pipes(b);
	free(b);
}

const struct broker_backend broker_redis = {
    .name = "redis",
    .start = redis_start,
    .publish = redis_publish,
    .stop = redis_stop,
    .max_payload = redis_max_payload,
};
