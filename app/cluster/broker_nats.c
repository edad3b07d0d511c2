/* The NATS backend, on the NATS C client, which brings its own threads: it
 * connects (retrying in the background when no server answers at start),
 * reconnects through the seed list, delivers a subscription's messages on
 * one thread in order, and calls us back on state changes. What we add:
 * our backoff as its reconnect delay, no echo of our own messages, and a
 * confirmation thread. The library resubscribes on reconnect, but a SUB is
 * only certain to be in force once the server answered a PING sent after
 * it, so a link is reported up only after a flush: from then on, whatever
 * any node publishes reaches us.
 *
 * With rooms, each room this node has is a subscription of its own to
 * "<channel>.<room>", made and ended by the confirmer thread in batches
 * when the rooms' observer wakes it (room_subs); the library sends a SUB or
 * UNSUB without waiting for an answer and makes them again after a
 * reconnect. Every subscription is then delivered by the library's global
 * delivery pool, of one thread: one thread for all rooms rather than one
 * per room, and the messages of every room reach us serialized, as the
 * broker interface promises. The channel itself stays subscribed: the
 * link's confirmation is its flush. */
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "backoff.h"
#include "broker.h"
#include "broker_nats_options.h"
#include "broker_url.h"
#include "clock.h"
#include "log.h"

#define CONNECT_TIMEOUT_MS 2000
#define FLUSH_TIMEOUT_MS   2000
/* A dead server is noticed after MAX_PINGS_OUT unanswered pings. */
#define PING_INTERVAL_MS 5000
#define MAX_PINGS_OUT    3
/* How long stop() waits for the library to let go of our callbacks. */
#define CLOSE_WAIT_MS 5000
/* Room subscriptions made or ended at once. */
#define SUBSCRIBE_BATCH 256
/* "<channel>.<room>": the channel has at most 200 bytes (config). */
#define SUBJECT_MAX (256 + ROOM_NAME_MAX)

struct broker {
	const struct config *cfg;
	struct broker_events events;
	natsOptions *opts;
	natsConnection *conn;
	natsSubscription *sub;

	pthread_t confirmer;
	pthread_mutex_t lock;
	pthread_cond_t changed;
	bool confirm; /* a (re)connect waits for its flush */
	bool ready;   /* subscribed: a flush now confirms the subscription */
	bool stopping;
	bool closed;           /* the library's closed callback ran */
	bool sub_complete;     /* the subscription's handler will not run again */
	bool rooms_changed;    /* room_subs has changes waiting */
	size_t room_subs_live; /* room subscriptions whose handler may still run */
	atomic_bool quiet;     /* stopping: state changes are ours, not news */
};

static void set_flag(struct broker *b, bool *flag)
{
	pthread_mutex_lock(&b->lock);
	*flag = true;
	pthread_cond_broadcast(&b->changed);
	pthread_mutex_unlock(&b->lock);
}

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure)
{
	(void)nc;
	(void)sub;
	struct broker *b = closure;
	b->events.message(b->events.ctx, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg));
	natsMsg_Destroy(msg);
}

static void on_connected(natsConnection *nc, void *closure)
{
	(void)nc;
	struct broker *b = closure;
	set_flag(b, &b->confirm);
}

static void on_disconnected(natsConnection *nc, void *closure)
{
	(void)nc;
	struct broker *b = closure;
	if (!atomic_load(&b->quiet))
		b->events.link(b->events.ctx, false, "disconnected");
}

static void on_closed(natsConnection *nc, void *closure)
{
	(void)nc;
	struct broker *b = closure;
	if (!atomic_load(&b->quiet))
		b->events.link(b->events.ctx, false, "connection closed");
	set_flag(b, &b->closed);
}

static void on_sub_complete(void *closure)
{
	struct broker *b = closure;
	set_flag(b, &b->sub_complete);
}

static void on_room_sub_complete(void *closure)
{
	struct broker *b = closure;
	pthread_mutex_lock(&b->lock);
	b->room_subs_live--;
	pthread_cond_broadcast(&b->changed);
	pthread_mutex_unlock(&b->lock);
}

/* room_subs's waker: the rooms' observer, under the rooms registry lock
 * (b->lock is a leaf). */
static void wake_confirmer(void *ctx)
{
	struct broker *b = ctx;
	set_flag(b, &b->rooms_changed);
}

static void end_room_sub(void *ctx, void *handle)
{
	(void)ctx;
	natsSubscription_Unsubscribe(handle);
	natsSubscription_Destroy(handle);
}

/* The confirmer thread: subscribes to the rooms that appeared and ends the
 * subscriptions of those gone. */
static void apply_room_changes(struct broker *b)
{
	struct room_sub_change *changes = malloc(SUBSCRIBE_BATCH * sizeof(*changes));
	if (!changes) {
		log_error("cluster: nats: out of memory for room subscriptions");
		return;
	}
	size_t n;
	while ((n = room_subs_take(b->events.rooms, changes, SUBSCRIBE_BATCH)) > 0) {
		for (size_t i = 0; i < n; i++) {
			struct room_sub_change *ch = &changes[i];
			if (!ch->subscribe) {
				/* The library stops delivering at once; its completion
				 * callback says when the handler is done. No handle:
				 * the subscribe had failed. */
				if (ch->handle)
					end_room_sub(b, ch->handle);
				continue;
			}
			char subject[SUBJECT_MAX];
			snprintf(subject, sizeof(subject), "%s.%s", b->cfg->cluster.channel,
			         ch->name);
			natsSubscription *sub = NULL;
			pthread_mutex_lock(&b->lock);
			b->room_subs_live++;
			pthread_mutex_unlock(&b->lock);
			natsStatus s = natsConnection_Subscribe(&sub, b->conn, subject, on_msg, b);
			if (s == NATS_OK)
				s = natsSubscription_SetOnCompleteCB(sub, on_room_sub_complete, b);
			if (s != NATS_OK) {
				log_error("cluster: nats: cannot subscribe to %s: %s (room %s gets "
				          "no messages from other nodes)",
				          subject, natsStatus_GetText(s), ch->name);
				if (sub) {
					natsSubscription_Unsubscribe(sub);
					natsSubscription_Destroy(sub);
				}
				/* No completion callback was set, or it will not run
				 * for a subscription that never started. */
				pthread_mutex_lock(&b->lock);
				b->room_subs_live--;
				pthread_mutex_unlock(&b->lock);
				continue;
			}
			room_subs_set_handle(ch->entry, sub);
		}
		log_debug("cluster: nats: %zu room subscription changes", n);
	}
	free(changes);
}

static void on_error(natsConnection *nc, natsSubscription *sub, natsStatus err, void *closure)
{
	(void)nc;
	(void)sub;
	(void)closure;
	/* Mostly a slow consumer: the library dropped messages that waited
	 * too long for us; the receivers count them as gaps. */
	log_warn("cluster: nats: %s", natsStatus_GetText(err));
}

static int64_t reconnect_delay(natsConnection *nc, int attempts, void *closure)
{
	(void)nc;
	(void)closure;
	uint32_t attempt = attempts > 1 ? (uint32_t)attempts - 1 : 0;
	return backoff_delay_ms(attempt, BACKOFF_BASE_MS, BACKOFF_CAP_MS, backoff_random());
}

static void *confirmer_main(void *arg)
{
	struct broker *b = arg;
	pthread_mutex_lock(&b->lock);
	for (;;) {
		while (!b->stopping && !(b->confirm && b->ready) && !(b->rooms_changed && b->ready))
			pthread_cond_wait(&b->changed, &b->lock);
		if (b->stopping)
			break;
		if (b->rooms_changed) {
			b->rooms_changed = false;
			pthread_mutex_unlock(&b->lock);
			apply_room_changes(b);
			pthread_mutex_lock(&b->lock);
			continue;
		}
		b->confirm = false;
		pthread_mutex_unlock(&b->lock);

		natsStatus s = natsConnection_FlushTimeout(b->conn, FLUSH_TIMEOUT_MS);
		if (s == NATS_OK) {
			b->events.link(b->events.ctx, true, NULL);
		} else if (natsConnection_Status(b->conn) == NATS_CONN_STATUS_CONNECTED) {
			/* Connected but silent: ask again rather than wait for a
			 * reconnect that may never come. */
			log_warn("cluster: nats: no answer to a flush: %s", natsStatus_GetText(s));
			pthread_mutex_lock(&b->lock);
			b->confirm = true;
			pthread_mutex_unlock(&b->lock);
		}
		pthread_mutex_lock(&b->lock);
	}
	pthread_mutex_unlock(&b->lock);
	return NULL;
}

static bool configure(struct broker *b, const struct config *cfg, const char *node_id)
{
	natsOptions *o = b->opts;
	/* The library wants const char **; the URLs stay ours and unchanged. */
	const char **urls = (const char **)(uintptr_t)cfg->cluster.urls;
	return natsOptions_SetServers(o, urls, (int)cfg->cluster.url_count) == NATS_OK &&
	       natsOptions_SetName(o, node_id) == NATS_OK &&
	       /* Our own messages were delivered locally when they were sent. */
	       natsOptions_SetNoEcho(o, true) == NATS_OK &&
	       /* Relaying is about latency: the library's flusher thread
	        * would hold a publish back to gather more. Our publisher
	        * thread sends batches already. */
	       natsOptions_SetSendAsap(o, true) == NATS_OK &&
	       natsOptions_SetTimeout(o, CONNECT_TIMEOUT_MS) == NATS_OK &&
	       natsOptions_SetPingInterval(o, PING_INTERVAL_MS) == NATS_OK &&
	       natsOptions_SetMaxPingsOut(o, MAX_PINGS_OUT) == NATS_OK &&
	       natsOptions_SetAllowReconnect(o, true) == NATS_OK &&
	       natsOptions_SetMaxReconnect(o, -1) == NATS_OK &&
	       natsOptions_SetCustomReconnectDelay(o, reconnect_delay, b) == NATS_OK &&
	       natsOptions_SetRetryOnFailedConnect(o, true, on_connected, b) == NATS_OK &&
	       natsOptions_SetReconnectedCB(o, on_connected, b) == NATS_OK &&
	       natsOptions_SetDisconnectedCB(o, on_disconnected, b) == NATS_OK &&
	       natsOptions_SetClosedCB(o, on_closed, b) == NATS_OK &&
	       natsOptions_SetErrorHandler(o, on_error, b) == NATS_OK &&
	       /* With rooms, one delivery thread for every room's subscription
	        * (the pool is the process's: one relay, one cluster). */
	       (!b->events.rooms || (natsOptions_UseGlobalMessageDelivery(o, true) == NATS_OK &&
	                             nats_SetMessageDeliveryPoolSize(1) == NATS_OK));
}

static void destroy(struct broker *b)
{
	if (b->events.rooms)
		room_subs_set_waker(b->events.rooms, NULL, NULL);
	natsSubscription_Destroy(b->sub);
	natsConnection_Destroy(b->conn);
	natsOptions_Destroy(b->opts);
	pthread_cond_destroy(&b->changed);
	pthread_mutex_destroy(&b->lock);
	free(b);
	/* Lets the library's own threads end, so nothing of it outlives us. */
	nats_CloseAndWait(CLOSE_WAIT_MS);
}

/* Waits up to CLOSE_WAIT_MS for *flag; false on timeout. */
static bool wait_flag(struct broker *b, const bool *flag)
{
	struct timespec until = clock_wait_deadline_ms(CLOSE_WAIT_MS);
	pthread_mutex_lock(&b->lock);
	int rc = 0;
	while (!*flag && rc == 0)
		rc = pthread_cond_timedwait(&b->changed, &b->lock, &until);
	bool set = *flag;
	pthread_mutex_unlock(&b->lock);
	return set;
}

/* Waits up to CLOSE_WAIT_MS for every room subscription's completion;
 * false on timeout. */
static bool wait_room_subs(struct broker *b)
{
	struct timespec until = clock_wait_deadline_ms(CLOSE_WAIT_MS);
	pthread_mutex_lock(&b->lock);
	int rc = 0;
	while (b->room_subs_live > 0 && rc == 0)
		rc = pthread_cond_timedwait(&b->changed, &b->lock, &until);
	bool done = b->room_subs_live == 0;
	pthread_mutex_unlock(&b->lock);
	return done;
}

static struct broker *nats_start(const struct config *cfg, const char *node_id,
                                 const struct broker_events *events, char *err, size_t errlen)
{
	struct broker *b = calloc(1, sizeof(*b));
	if (!b) {
		snprintf(err, errlen, "cluster: out of memory");
		return NULL;
	}
	b->cfg = cfg;
	b->events = *events;
	pthread_mutex_init(&b->lock, NULL);
	pthread_cond_init(&b->changed, NULL);

	natsStatus s = natsOptions_Create(&b->opts);
	if (s != NATS_OK || !configure(b, cfg, node_id)) {
		const char *why = nats_GetLastError(NULL);
		snprintf(err, errlen, "cluster: nats options: %s",
		         why ? why : natsStatus_GetText(s));
		destroy(b);
		return NULL;
	}
	if (broker_nats_options_set_security(b->opts, cfg, err, errlen) != 0) {
		destroy(b);
		return NULL;
	}
	if (events->rooms)
		room_subs_set_waker(events->rooms, wake_confirmer, b);
	if (pthread_create(&b->confirmer, NULL, confirmer_main, b) != 0) {
		snprintf(err, errlen, "cluster: cannot start the nats thread");
		destroy(b);
		return NULL;
	}
	/* One attempt first without the library's retry: a server that answers
	 * and refuses our credentials or our TLS is a start-up error, which the
	 * background retry would only ever report as "no server available". */
	char first_error[256] = "";
	s = natsOptions_SetRetryOnFailedConnect(b->opts, false, NULL, NULL);
	if (s == NATS_OK)
		s = natsConnection_Connect(&b->conn, b->opts);
	if (s != NATS_OK) {
		const char *text = nats_GetLastError(NULL);
		snprintf(first_error, sizeof(first_error), "%s",
		         text && text[0] ? text : natsStatus_GetText(s));
	}
	bool refused = s == NATS_CONNECTION_AUTH_FAILED || s == NATS_SSL_ERROR ||
	               strstr(first_error, "uthorization") || strstr(first_error, "SSL") ||
	               strstr(first_error, "certificate");
	if (s != NATS_OK && !refused) {
		char shown[512];
		broker_url_redact(cfg->cluster.urls[0], shown, sizeof(shown));
		log_warn("cluster: broker not reachable at %s%s: %s (retrying)", shown,
		         cfg->cluster.url_count > 1 ? " or its other seeds" : "", first_error);
		s = natsOptions_SetRetryOnFailedConnect(b->opts, true, on_connected, b);
		if (s == NATS_OK)
			s = natsConnection_Connect(&b->conn, b->opts);
	}
	if (s == NATS_OK || s == NATS_NOT_YET_CONNECTED)
		s = natsConnection_Subscribe(&b->sub, b->conn, cfg->cluster.channel, on_msg, b);
	if (s == NATS_OK)
		s = natsSubscription_SetOnCompleteCB(b->sub, on_sub_complete, b);
	if (s == NATS_OK) {
		/* There is no connected callback when the first attempt works,
		 * and a flush before the SUB would confirm nothing. */
		pthread_mutex_lock(&b->lock);
		b->ready = true;
		b->confirm = true;
		pthread_cond_broadcast(&b->changed);
		pthread_mutex_unlock(&b->lock);
	} else {
		bool auth = s == NATS_CONNECTION_AUTH_FAILED || strstr(first_error, "uthorization");
		snprintf(err, errlen, "cluster: nats: %s%s",
		         first_error[0] ? first_error : natsStatus_GetText(s),
		         auth ? " (check the user and password in cluster.url, or cluster.nats)"
		         : refused ? " (check cluster.nats.tls and the server's certificate)"
		                   : "");
		atomic_store(&b->quiet, true);
		set_flag(b, &b->stopping);
		pthread_join(b->confirmer, NULL);
		if (b->conn) {
			/* The library may still call back into b until it says it
			 * has closed; a late callback on freed memory would be worse
			 * than a leak on a failed start. */
			natsConnection_Close(b->conn);
			if (!wait_flag(b, &b->closed))
				return NULL;
		}
		destroy(b);
		return NULL;
	}
	return b;
}

/* The library buffers publishes and flushes them on its own thread, so a
 * batch costs no round trip here. */
static size_t nats_publish(struct broker *b, const struct broker_message *msgs, size_t count,
                           enum broker_publish_result *stopped)
{
	for (size_t i = 0; i < count; i++) {
		/* While disconnected the library would buffer messages itself;
		 * they wait in our bounded queue instead, where they are
		 * counted. */
		if (natsConnection_Status(b->conn) != NATS_CONN_STATUS_CONNECTED) {
			*stopped = BROKER_RETRY;
			return i;
		}
		natsStatus s;
		if (msgs[i].room && msgs[i].room[0]) {
			char subject[SUBJECT_MAX];
			snprintf(subject, sizeof(subject), "%s.%s", b->cfg->cluster.channel,
			         msgs[i].room);
			s = natsConnection_Publish(b->conn, subject, msgs[i].data,
			                           (int)msgs[i].len);
		} else {
			s = natsConnection_Publish(b->conn, b->cfg->cluster.channel, msgs[i].data,
			                           (int)msgs[i].len);
		}
		if (s != NATS_OK) {
			*stopped = s == NATS_MAX_PAYLOAD ? BROKER_REFUSED : BROKER_RETRY;
			return i;
		}
	}
	return count;
}

static size_t nats_max_payload(struct broker *b)
{
	if (natsConnection_Status(b->conn) != NATS_CONN_STATUS_CONNECTED)
		return 0;
	int64_t max = natsConnection_GetMaxPayload(b->conn);
	return max > 0 ? (size_t)max : 0;
}

static void nats_stop(struct broker *b)
{
	if (!b)
		return;
	atomic_store(&b->quiet, true);
	set_flag(b, &b->stopping);
	pthread_join(b->confirmer, NULL);
	/* The handler may be running on the library's thread: it is done only
	 * when the completion callback says so. */
	natsSubscription_Unsubscribe(b->sub);
	if (b->events.rooms) {
		room_subs_set_waker(b->events.rooms, NULL, NULL);
		room_subs_each_handle(b->events.rooms, end_room_sub, b);
	}
	natsConnection_Close(b->conn);
	bool clean = wait_flag(b, &b->sub_complete);
	clean = wait_room_subs(b) && clean;
	clean = wait_flag(b, &b->closed) && clean;
	if (!clean) {
		/* Freeing what a late callback still uses would be worse than a
		 * leak at exit. */
		log_warn("cluster: nats: the library did not let go in time");
		return;
	}
	destroy(b);
}

const struct broker_backend broker_nats = {
    .name = "nats",
    .start = nats_start,
    .publish = nats_publish,
    .stop = nats_stop,
    .max_payload = nats_max_payload,
};
