/* Cluster mode's semantics: the envelope around each message, the bounded
 * publish queue and its thread, and what happens to a message that comes
 * back from the broker. The backends (broker_*.c) only move bytes.
 *
 * Threads: readers call cluster_publish (queue mutex only, never the
 * broker); one publisher thread owns the publishing side of the backend;
 * the backend's receiving thread runs on_message, which alone touches the
 * peer table, and calls hub_broadcast with no lock of ours held. The queue
 * mutex is never held with the hub's or an outbox's. */
#include "cluster.h"

#include <inttypes.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "broker.h"
#include "broker_url.h"
#include "clock.h"
#include "cluster_auth.h"
#include "delivery.h"
#include "envelope.h"
#include "peer_table.h"
#include "log.h"
#include "shared_frame.h"
#include "stats.h"
#include "utf8.h"
#include "ws_frame.h"

/* Peers remembered for duplicate and gap accounting; beyond it the least
 * recently heard is forgotten (and would count as new when it speaks).
 * With rooms, an entry per peer and room, up to this many per room
 * (rooms.max_rooms of them), within the bounds below. */
#define PEER_CAPACITY     1024
#define PEER_PER_ROOM     16
#define PEER_CAPACITY_MAX (1u << 20)
/* With rooms: an entry not heard from for this long goes (its room is gone
 * here, or its node); a quiet room that speaks again starts afresh. */
#define PEER_IDLE_MS (10u * 60u * 1000u)
/* How often the publisher looks again while the broker refuses messages;
 * the backend's own backoff decides when it really reconnects. */
#define PUBLISH_RETRY_MS 50
/* Messages handed to the backend at once: Redis pipelines them, so a busy
 * node pays one round trip per batch rather than per message. */
#define PUBLISH_BATCH 64
/* ...and at most this many bytes (but at least one message), as the
 * backend may copy a whole batch into its output buffer. */
#define PUBLISH_BATCH_BYTES (1u << 20)
/* Messages too large for the broker are logged at most this often. */
#define OVERSIZE_LOG_INTERVAL_S 60

struct outgoing {
	struct outgoing *next;
	char room[ROOM_NAME_MAX + 1]; /* "" with rooms off */
	size_t len;
	uint8_t data[]; /* envelope and payload */
};

struct cluster {
	const struct config *cfg;
	struct rooms *rooms;
	const struct broker_backend *backend;
	struct broker *broker;
	char node_id[ENVELOPE_NODE_ID_MAX + 1];
	size_t node_id_len;
	char url_shown[512]; /* cluster.url[0] with its password as "***" */
	/* NULL without cluster.secret_file; else every envelope is signed and
	 * prefix (CLUSTER_AUTH_PREFIX_SIZE) bytes go in front of it. */
	struct cluster_auth *auth;
	size_t prefix;
	/* The broker's largest message (0: unknown): larger ones stay local. */
	atomic_size_t max_payload;
	atomic_int_fast64_t oversize_logged_at; /* CLOCK_MONOTONIC seconds */
	atomic_bool started;                    /* past the start-up check of max_payload */
	/* c->broker may be read: the link can come up before start() returned it. */
	atomic_bool broker_set;

	/* The publish queue: guarded by lock; wake is signalled when the queue
	 * stops being empty, and at stop. */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	struct outgoing *head, *tail;
	size_t queued;
	uint64_t queued_bytes;
	uint64_t next_seq;
	uint64_t first_seq;
	/* next_seq, for the receiving thread; only ever grows. */
	atomic_uint_fast64_t seq_issued;
	/* With rooms: a room's epoch is epoch_base plus its life here, so
	 * every life of a room numbers its messages anew and a new run starts
	 * far above the last (envelope.h). epoch_top: the highest given out,
	 * for the receiving thread. */
	uint64_t epoch_base;
	atomic_uint_fast64_t epoch_top;
	bool dropping; /* a drop was logged and nothing was published since */
	bool stopping;
	pthread_t publisher;

	/* The receiving side: the backend's receiving thread only. */
	struct peer_table *peers;

	/* With rooms: the rooms wanted from the broker, fed by the observer. */
	struct room_subs *subs;
	struct rooms_observer observer;

	atomic_bool connected;
	atomic_bool ever_connected;
	atomic_uint_fast64_t published, received, reconnects, dropped, gaps, malformed, queued_now;
	atomic_uint_fast64_t too_large, no_room;
	atomic_uint_fast64_t rejected[CLUSTER_REJECT_COUNT];
	uint64_t impostors; /* receiving thread only: for rate-limited logging */
};

/* Logging every event of a flood would be a flood of its own: the 1st,
 * 2nd, 4th, 8th... */
static bool worth_logging(uint64_t nth)
{
	return (nth & (nth - 1)) == 0;
}

static const char *const reject_names[CLUSTER_REJECT_COUNT] = {
    [CLUSTER_REJECT_SIGNATURE] = "signature",
    [CLUSTER_REJECT_MALFORMED] = "malformed",
    [CLUSTER_REJECT_VERSION] = "version",
    [CLUSTER_REJECT_IMPOSTOR] = "impostor",
};

const char *cluster_reject_name(enum cluster_reject reason)
{
	return (unsigned)reason < CLUSTER_REJECT_COUNT ? reject_names[reason] : "unknown";
}

/* ---- publishing ---- */

/* A message larger than the broker takes is relayed to this node's clients
 * only: counted, and logged once a minute at most whatever the rate. Any
 * thread. */
static void drop_too_large(struct cluster *c, size_t len)
{
	stats_add(&c->too_large, 1);
	int_fast64_t now = (int_fast64_t)(clock_now() / CLOCK_NS_PER_SEC);
	int_fast64_t last = atomic_load_explicit(&c->oversize_logged_at, memory_order_relaxed);
	if (now - last < OVERSIZE_LOG_INTERVAL_S ||
	    !atomic_compare_exchange_strong(&c->oversize_logged_at, &last, now))
		return;
	log_warn("cluster: a message of %zu bytes with its envelope is larger than the broker "
	         "takes (%zu bytes): relayed to this node's clients only (%" PRIu64
	         " so far; logged once a minute)",
	         len, atomic_load(&c->max_payload), stats_read(&c->too_large));
}

/* Caller holds the lock. */
static void enqueue_locked(struct cluster *c, struct outgoing *o)
{
	if (c->tail)
		c->tail->next = o;
	else
		c->head = o;
	c->tail = o;
	c->queued++;
	c->queued_bytes += o->len;
	atomic_store_explicit(&c->queued_now, c->queued, memory_order_relaxed);
	if (c->queued == 1)
		pthread_cond_signal(&c->wake);
}

void cluster_publish(struct cluster *c, struct room *room, uint8_t opcode, const void *payload,
                     size_t len)
{
	const char *name = rooms_name(room);
	size_t room_len = strlen(name);
	size_t header = c->prefix + envelope_header_size(c->node_id_len, room_len);
	size_t limit = atomic_load_explicit(&c->max_payload, memory_order_relaxed);
	if (limit && header + len > limit) {
		/* Takes no number: the other nodes are not missing anything they
		 * could have had. */
		drop_too_large(c, header + len);
		return;
	}
	struct outgoing *o = malloc(sizeof(*o) + header + len);
	if (o) {
		o->next = NULL;
		memcpy(o->room, name, room_len + 1);
		o->len = header + len;
		if (len)
			memcpy(o->data + header, payload, len);
	}

	/* The sender is a member: the room and its life outlast this call. */
	uint64_t epoch = room_len ? c->epoch_base + rooms_life(room) : 0;
	pthread_mutex_lock(&c->lock);
	/* Every message takes a number, queued or not, so the other nodes see
	 * a drop here as a gap in our numbers. Under the lock, so numbers go
	 * out in the order they were given. */
	uint64_t seq;
	if (room_len) {
		seq = rooms_next_number(room);
		if (epoch > atomic_load_explicit(&c->epoch_top, memory_order_relaxed))
			atomic_store_explicit(&c->epoch_top, epoch, memory_order_relaxed);
	} else {
		seq = c->next_seq++;
		atomic_store_explicit(&c->seq_issued, c->next_seq, memory_order_relaxed);
	}
	/* A message larger than the byte bound still goes when the queue is
	 * empty: the bound is against a backlog, not against big messages. */
	bool fits = o && !c->stopping && c->queued < c->cfg->cluster.queue_messages &&
	            (c->queued == 0 || c->queued_bytes + o->len <= c->cfg->cluster.queue_bytes);
	bool first_drop = false;
	if (fits) {
		envelope_write_header(o->data + c->prefix, opcode, c->node_id, c->node_id_len, name,
		                      room_len, epoch, seq);
		enqueue_locked(c, o);
	} else {
		first_drop = !c->dropping;
		c->dropping = true;
	}
	size_t queued = c->queued;
	pthread_mutex_unlock(&c->lock);

	if (fits)
		return;
	free(o);
	stats_add(&c->dropped, 1);
	if (first_drop)
		log_warn("cluster: publish queue full (%zu messages) or out of memory: messages "
		         "for the other nodes are dropped until the broker takes them again",
		         queued);
}

/* Caller holds c->lock. Waits up to ms or until woken; the wait drops and
 * retakes the lock. */
static void wait_ms_locked(struct cluster *c, long ms)
{
	struct timespec until = clock_wait_deadline_ms((uint64_t)ms);
	pthread_cond_timedwait(&c->wake, &c->lock, &until);
}

/* The head of the queue stays there until the broker took it, so a message
 * caught by a broken link goes out again after the reconnect (a duplicate,
 * if the broker had it already, which the receivers drop by its number). */
static void *publisher_main(void *arg)
{
	struct cluster *c = arg;
	pthread_mutex_lock(&c->lock);
	for (;;) {
		while (!c->stopping && !c->head)
			pthread_cond_wait(&c->wake, &c->lock);
		if (c->stopping)
			break;
		/* Readers only append behind the tail, and only this thread
		 * takes from the head: the batch stays valid without the lock. */
		struct broker_message batch[PUBLISH_BATCH];
		size_t n = 0, bytes = 0;
		for (const struct outgoing *o = c->head;
		     o && n < PUBLISH_BATCH && (n == 0 || bytes + o->len <= PUBLISH_BATCH_BYTES);
		     o = o->next) {
			batch[n++] = (struct broker_message){
			    .data = o->data, .len = o->len, .room = o->room};
			bytes += o->len;
		}
		pthread_mutex_unlock(&c->lock);

		/* Signed here rather than by the readers: the hashing stays off
		 * their path and outside the queue mutex, and a message that goes
		 * again after a rotation carries the newest key. */
		for (size_t i = 0; c->auth && i < n; i++) {
			uint8_t *msg = (uint8_t *)(uintptr_t)batch[i].data;
			if (cluster_auth_sign(c->auth, msg, batch[i].len) != 0) {
				log_error(
				    "cluster: cannot sign a message (OpenSSL failed): held back");
				n = i;
			}
		}

		enum broker_publish_result stopped = BROKER_PUBLISHED;
		size_t taken = n ? c->backend->publish(c->broker, batch, n, &stopped) : 0;
		if (n == 0)
			stopped = BROKER_RETRY;
		if (taken > n)
			taken = n;
		size_t done = taken < n && stopped == BROKER_REFUSED ? taken + 1 : taken;

		pthread_mutex_lock(&c->lock);
		/* The batch is the head of the queue: c->head runs out no sooner. */
		for (size_t i = 0; i < done && c->head; i++) {
			struct outgoing *o = c->head;
			c->head = o->next;
			if (!c->head)
				c->tail = NULL;
			c->queued--;
			c->queued_bytes -= o->len;
			if (i == taken)
				drop_too_large(c, o->len);
			free(o);
		}
		atomic_store_explicit(&c->queued_now, c->queued, memory_order_relaxed);
		stats_add(&c->published, taken);
		if (taken > 0 && c->dropping) {
			c->dropping = false;
			log_info("cluster: publishing again (%" PRIu64 " messages dropped so far)",
			         stats_read(&c->dropped));
		}
		if (done < n && !c->stopping)
			wait_ms_locked(c, PUBLISH_RETRY_MS);
	}
	pthread_mutex_unlock(&c->lock);
	return NULL;
}

/* ---- receiving ---- */

/* Every rejection counts in malformed as well, which is their sum. */
static void reject(struct cluster *c, enum cluster_reject reason, const char *why, size_t len)
{
	stats_add(&c->malformed, 1);
	stats_add(&c->rejected[reason], 1);
	uint64_t n = stats_read(&c->rejected[reason]);
	if (worth_logging(n))
		log_warn("cluster: dropped a message from the broker (%zu bytes): %s (%" PRIu64
		         " rejected as %s so far)",
		         len, why, n, reject_names[reason]);
}

static void drop_malformed(struct cluster *c, const char *why, size_t len)
{
	reject(c, CLUSTER_REJECT_MALFORMED, why, len);
}

/* Checks the signature (with a secret) and finds the envelope in data;
 * false when the message was rejected. */
static bool authenticate(struct cluster *c, const uint8_t *data, size_t len, const uint8_t **env,
                         size_t *env_len)
{
	*env = data;
	*env_len = len;
	if (!c->auth) {
		if (len > 0 && data[0] == CLUSTER_AUTH_MAGIC) {
			reject(c, CLUSTER_REJECT_SIGNATURE,
			       "signed, but this node has no cluster.secret_file", len);
			return false;
		}
		return true;
	}
	switch (cluster_auth_verify(c->auth, data, len, env, env_len)) {
	case CLUSTER_AUTH_VALID:
		return true;
	case CLUSTER_AUTH_UNSIGNED:
		reject(c, CLUSTER_REJECT_SIGNATURE, "not signed (cluster.secret_file is set here)",
		       len);
		return false;
	case CLUSTER_AUTH_BAD_SCHEME:
		reject(c, CLUSTER_REJECT_VERSION, "an unknown signature scheme", len);
		return false;
	case CLUSTER_AUTH_TRUNCATED:
		drop_malformed(c, "a signed message cut short", len);
		return false;
	case CLUSTER_AUTH_BAD_TAG:
		reject(c, CLUSTER_REJECT_SIGNATURE,
		       "its signature matches no key of cluster.secret_file", len);
		return false;
	}
	return false;
}

/* Whether env is one of ours coming back (Redis echoes them): numbers we
 * gave out. */
static bool issued_here(const struct cluster *c, const struct envelope *env)
{
	if (env->room_len)
		return env->epoch > c->epoch_base &&
		       env->epoch <= atomic_load_explicit(&c->epoch_top, memory_order_relaxed);
	return env->seq >= c->first_seq &&
	       env->seq < atomic_load_explicit(&c->seq_issued, memory_order_relaxed);
}

/* One message on its way into a room here: the peer table's say. */
struct arrival {
	struct cluster *c;
	const struct envelope *env;
};

/* rooms_broadcast_checked's check, with the room pinned: whether the
 * message goes to its members. The receiving thread. */
static bool admit(void *ctx, uint64_t life)
{
	const struct arrival *a = ctx;
	struct cluster *c = a->c;
	const struct envelope *env = a->env;
	const struct peer_message m = {.node_id = env->node_id,
	                               .node_id_len = env->node_id_len,
	                               .room = env->room,
	                               .room_len = env->room_len,
	                               .epoch = env->epoch,
	                               .seq = env->seq};
	uint64_t missed;
	enum peer_verdict verdict =
	    peer_table_observe(c->peers, &m, life, clock_now() / CLOCK_NS_PER_MS, &missed);
	int id_len = (int)env->node_id_len, room_len = (int)env->room_len;
	switch (verdict) {
	case PEER_DUPLICATE:
		log_debug("cluster: dropped a duplicate from node %.*s (sequence %" PRIu64 ")",
		          id_len, env->node_id, env->seq);
		return false;
	case PEER_FIRST:
		/* With rooms, every room's first message: not news. */
		if (room_len)
			log_debug("cluster: first message from node %.*s in room %.*s", id_len,
			          env->node_id, room_len, env->room);
		else
			log_info("cluster: first message from node %.*s", id_len, env->node_id);
		break;
	case PEER_RESTART:
		if (room_len)
			log_debug("cluster: room %.*s lives again on node %.*s", room_len,
			          env->room, id_len, env->node_id);
		else
			log_info("cluster: node %.*s restarted", id_len, env->node_id);
		break;
	case PEER_GAP: {
		stats_add(&c->gaps, missed);
		log_warn("cluster: %" PRIu64 " messages from node %.*s%s%.*s never arrived", missed,
		         id_len, env->node_id, room_len ? " in room " : "", room_len, env->room);
		break;
	}
	case PEER_NEXT:
		break;
	}
	/* Counted first: whoever sees the message may look at the counter. */
	stats_add(&c->received, 1);
	return true;
}

static void on_message(void *ctx, const void *data, size_t len)
{
	struct cluster *c = ctx;
	struct envelope env;
	const uint8_t *inner;
	size_t inner_len;

	/* This thread reads the broker for every client of the node: a client
	 * whose queue is full is dropped, never waited for. */
	delivery_never_wait_on_this_thread();
	if (!authenticate(c, data, len, &inner, &inner_len))
		return;
	enum envelope_status status = envelope_decode(inner, inner_len, &env);
	if (status != ENVELOPE_OK) {
		reject(c,
		       status == ENVELOPE_BAD_VERSION ? CLUSTER_REJECT_VERSION
		                                      : CLUSTER_REJECT_MALFORMED,
		       envelope_status_text(status), len);
		return;
	}
	if (env.node_id_len == c->node_id_len &&
	    memcmp(env.node_id, c->node_id, c->node_id_len) == 0) {
		/* Ours, delivered locally when it was sent: unless we never
		 * issued that number (and NATS never echoes ours at all). */
		if (c->backend == &broker_nats || !issued_here(c, &env)) {
			stats_add(&c->malformed, 1);
			stats_add(&c->rejected[CLUSTER_REJECT_IMPOSTOR], 1);
			if (worth_logging(++c->impostors))
				log_error(
				    "cluster: another node publishes as node id %s: give each "
				    "node its own cluster.node_id (its messages are dropped here)",
				    c->node_id);
		}
		return;
	}
	if (env.payload_len > c->cfg->server.max_message_bytes) {
		drop_malformed(c, "larger than server.max_message_bytes", len);
		return;
	}
	/* The sending node checked it, but anyone who can publish on the
	 * channel could have sent this, and browsers close on bad UTF-8. */
	if (env.opcode == WS_OPCODE_TEXT && !utf8_valid(env.payload, env.payload_len)) {
		drop_malformed(c, "text that is not UTF-8", len);
		return;
	}
	/* A node with rooms has no room "" and one without has only that:
	 * a message of the other kind (a cluster whose nodes disagree on
	 * rooms.enabled) has no room here. */
	char room[ROOM_NAME_MAX + 1];
	memcpy(room, env.room ? env.room : "", env.room_len);
	room[env.room_len] = '\0';
	if ((env.room_len != 0) != (c->subs != NULL)) {
		stats_add(&c->no_room, 1);
		return;
	}

	struct shared_frame *frame =
	    shared_frame_from_payload(env.opcode, env.payload, env.payload_len);
	if (!frame) {
		log_error("cluster: out of memory: a message from node %.*s not relayed",
		          (int)env.node_id_len, env.node_id);
		return;
	}
	size_t slow;
	struct arrival arrival = {.c = c, .env = &env};
	/* A room this node no longer has: its last member left while the
	 * message was on its way, or before the unsubscribe took effect. */
	if (rooms_broadcast_checked(c->rooms, room, admit, &arrival, frame, &slow) == ROOMS_NO_ROOM)
		stats_add(&c->no_room, 1);
	shared_frame_unref(frame);
}

/* The broker says how large a message it takes when the link comes up. */
static size_t needed_payload(const struct cluster *c)
{
	/* The longest room name counts: any may be the one. */
	return c->prefix + envelope_header_size(c->node_id_len, c->subs ? ROOM_NAME_MAX : 0) +
	       (size_t)c->cfg->server.max_message_bytes;
}

static void update_max_payload(struct cluster *c)
{
	if (!atomic_load(&c->broker_set))
		return; /* cluster_start looks itself once it has the broker */
	size_t max = c->backend->max_payload(c->broker);
	size_t was = atomic_exchange(&c->max_payload, max);
	if (max && max != was && needed_payload(c) > max &&
	    !c->cfg->cluster.allow_local_only_oversize && atomic_load(&c->started))
		log_error("cluster: the broker takes messages up to %zu bytes, but "
		          "server.max_message_bytes (%" PRIu64
		          ") with the envelope needs %zu: larger messages reach this node's "
		          "clients only",
		          max, c->cfg->server.max_message_bytes, needed_payload(c));
}

static void on_link(void *ctx, bool up, const char *why)
{
	struct cluster *c = ctx;
	const char *url = c->url_shown;

	if (up) {
		update_max_payload(c);
		if (atomic_exchange(&c->connected, true))
			return;
		if (atomic_exchange(&c->ever_connected, true)) {
			stats_add(&c->reconnects, 1);
			log_info("cluster: reconnected to %s", url);
		} else {
			log_info("cluster: connected to %s, channel \"%s\"", url,
			         c->cfg->cluster.channel);
		}
		return;
	}
	if (atomic_exchange(&c->connected, false))
		log_warn("cluster: lost the broker at %s (%s); local clients are still served, "
		         "reconnecting",
		         url, why);
}

/* ---- start and stop ---- */

static bool id_char(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       ch == '-' || ch == '_' || ch == '.';
}

/* hostname-pid-random: readable in logs, unique across restarts and
 * across nodes that share a host name (containers). */
static void make_node_id(char *out, size_t cap)
{
	char host[64] = "";
	if (gethostname(host, sizeof(host) - 1) != 0 || !host[0])
		snprintf(host, sizeof(host), "node");
	host[40] = '\0';
	for (char *p = host; *p; p++)
		if (!id_char(*p))
			*p = '_';
	snprintf(out, cap, "%s-%ld-%08" PRIx32, host, (long)getpid(), backoff_random());
}

static uint64_t first_sequence(void)
{
	return clock_wall_ms() * PEER_SEQ_WINDOW + 1;
}

/* The rooms' observer, under the rooms registry lock: only marks. */
static void room_appeared(void *ctx, const char *name)
{
	struct cluster *c = ctx;
	room_subs_want(c->subs, name, true);
}

static void room_gone(void *ctx, const char *name)
{
	struct cluster *c = ctx;
	room_subs_want(c->subs, name, false);
}

static size_t peer_capacity(const struct config *cfg)
{
	if (!cfg->rooms.enabled)
		return PEER_CAPACITY;
	uint64_t n = (uint64_t)cfg->rooms.max_rooms * PEER_PER_ROOM;
	return n < PEER_CAPACITY ? PEER_CAPACITY : n > PEER_CAPACITY_MAX ? PEER_CAPACITY_MAX : n;
}

struct cluster *cluster_start(const struct config *cfg, struct rooms *rooms, char *err,
                              size_t errlen)
{
	struct cluster *c = calloc(1, sizeof(*c));
	if (!c) {
		snprintf(err, errlen, "cluster: out of memory");
		return NULL;
	}
	c->cfg = cfg;
	c->rooms = rooms;
	c->backend = cfg->cluster.broker == CLUSTER_BROKER_NATS ? &broker_nats : &broker_redis;
	if (cfg->cluster.node_id[0])
		snprintf(c->node_id, sizeof(c->node_id), "%s", cfg->cluster.node_id);
	else
		make_node_id(c->node_id, 64);
	c->node_id_len = strlen(c->node_id);
	broker_url_redact(cfg->cluster.urls[0], c->url_shown, sizeof(c->url_shown));
	atomic_init(&c->max_payload, 0);
	atomic_init(&c->oversize_logged_at, -OVERSIZE_LOG_INTERVAL_S);
	c->next_seq = c->first_seq = first_sequence();
	atomic_init(&c->seq_issued, c->next_seq);
	c->epoch_base = c->first_seq;
	atomic_init(&c->epoch_top, c->epoch_base);
	c->peers = peer_table_create(peer_capacity(cfg), cfg->rooms.enabled ? PEER_IDLE_MS : 0);
	pthread_mutex_init(&c->lock, NULL);
	pthread_cond_init(&c->wake, NULL);
	if (cfg->rooms.enabled) {
		c->subs = room_subs_create();
		c->observer =
		    (struct rooms_observer){.ctx = c, .appeared = room_appeared, .gone = room_gone};
	}
	if (!c->peers || (cfg->rooms.enabled && !c->subs)) {
		snprintf(err, errlen, "cluster: out of memory");
		goto fail;
	}

	if (cfg->cluster.secret_file[0]) {
		c->auth = cluster_auth_create(cfg->cluster.secret_file, err, errlen);
		if (!c->auth)
			goto fail;
		c->prefix = CLUSTER_AUTH_PREFIX_SIZE;
		log_info("cluster: envelopes signed with HMAC-SHA256, %zu key%s in %s",
		         cluster_auth_key_count(c->auth),
		         cluster_auth_key_count(c->auth) == 1 ? "" : "s", cfg->cluster.secret_file);
	} else {
		log_warn("cluster: no cluster.secret_file: envelopes are not signed, so anyone "
		         "who can publish on the channel reaches every client of every node");
	}

	log_info("cluster: node id %s, broker %s at %s, channel \"%s\"", c->node_id,
	         c->backend->name, c->url_shown, cfg->cluster.channel);
	const struct broker_events events = {
	    .ctx = c, .message = on_message, .link = on_link, .rooms = c->subs};
	c->broker = c->backend->start(cfg, c->node_id, &events, err, errlen);
	if (!c->broker)
		goto fail;
	atomic_store(&c->broker_set, true);
	/* Known now when the broker answered at start. */
	size_t max = c->backend->max_payload(c->broker);
	if (max && needed_payload(c) > max) {
		if (!cfg->cluster.allow_local_only_oversize) {
			snprintf(
			    err, errlen,
			    "cluster: the broker takes messages up to %zu bytes (its "
			    "max_payload), but server.max_message_bytes (%" PRIu64
			    ") with the envelope needs %zu: raise max_payload in the "
			    "nats-server config, lower server.max_message_bytes to %zu, or set "
			    "cluster.allow_local_only_oversize: true",
			    max, cfg->server.max_message_bytes, needed_payload(c),
			    max - (needed_payload(c) - (size_t)cfg->server.max_message_bytes));
			c->backend->stop(c->broker);
			goto fail;
		}
		log_warn("cluster: the broker takes messages up to %zu bytes: larger ones (with "
		         "the envelope) reach this node's clients only "
		         "(cluster.allow_local_only_oversize)",
		         max);
	}
	atomic_store(&c->max_payload, max);
	atomic_store(&c->started, true);
	/* The backend set its waker: rooms may come now (none exists before
	 * the listener starts). */
	if (c->subs)
		rooms_set_observer(rooms, &c->observer);
	int rc = pthread_create(&c->publisher, NULL, publisher_main, c);
	if (rc != 0) {
		char why[128];
		snprintf(err, errlen, "cluster: cannot start the publisher thread: %s",
		         strerror_r(rc, why, sizeof(why)));
		c->backend->stop(c->broker);
		goto fail;
	}
	return c;
fail:
	if (c->subs)
		rooms_set_observer(rooms, NULL);
	cluster_auth_destroy(c->auth);
	peer_table_destroy(c->peers);
	room_subs_destroy(c->subs);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
	return NULL;
}

void cluster_read_stats(struct cluster *c, struct cluster_stats *out)
{
	out->connected = atomic_load(&c->connected);
	out->published = stats_read(&c->published);
	out->received = stats_read(&c->received);
	out->reconnects = stats_read(&c->reconnects);
	out->dropped = stats_read(&c->dropped);
	out->gaps = stats_read(&c->gaps);
	out->malformed = stats_read(&c->malformed);
	out->dropped_too_large = stats_read(&c->too_large);
	out->dropped_no_room = stats_read(&c->no_room);
	for (int i = 0; i < CLUSTER_REJECT_COUNT; i++)
		out->rejected[i] = stats_read(&c->rejected[i]);
	out->queued = stats_read(&c->queued_now);
}

void cluster_stop(struct cluster *c)
{
	if (!c)
		return;
	if (c->subs)
		rooms_set_observer(c->rooms, NULL);
	pthread_mutex_lock(&c->lock);
	c->stopping = true;
	pthread_cond_broadcast(&c->wake);
	pthread_mutex_unlock(&c->lock);
	/* The publisher may be inside publish(): the backend bounds that. */
	pthread_join(c->publisher, NULL);
	c->backend->stop(c->broker);

	size_t lost = c->queued;
	while (c->head) {
		struct outgoing *next = c->head->next;
		free(c->head);
		c->head = next;
	}
	if (lost)
		log_warn("cluster: %zu messages for the other nodes were still queued at shutdown",
		         lost);
	peer_table_destroy(c->peers);
	room_subs_destroy(c->subs);
	cluster_auth_destroy(c->auth);
	pthread_cond_destroy(&c->wake);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

void cluster_reload_keys(struct cluster *c)
{
	if (!c || !c->auth)
		return;
	char err[1024];
	if (cluster_auth_reload(c->auth, err, sizeof(err)) == 0)
		log_info("cluster.secret_file: reloaded, %zu key%s; signing with the first",
		         cluster_auth_key_count(c->auth),
		         cluster_auth_key_count(c->auth) == 1 ? "" : "s");
	else
		log_error("%s; the keys in use stay", err);
}
