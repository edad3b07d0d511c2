/* The wsrelay_* metric families, rendered from the server's counters. The
 * names and labels are a contract with dashboards and alerts: README.md
 * lists them. */
#include <civetweb.h>
#include <openssl/opensslv.h>

#include "auth.h"
#include "relay_metrics.h"
#include "server_state.h"

#ifndef WSRELAY_VERSION
#define WSRELAY_VERSION "unknown"
#endif

static void counter(struct exposition *e, const char *name, const char *help,
                    const atomic_uint_fast64_t *value)
{
	exposition_family(e, name, "counter", help);
	exposition_uint(e, name, NULL, stats_read(value));
}

static void plain_counter(struct exposition *e, const char *name, const char *help, uint64_t value)
{
	exposition_family(e, name, "counter", help);
	exposition_uint(e, name, NULL, value);
}

/* Only with cluster.enabled: a single node has no link to be down, and a
 * wsrelay_cluster_connected of 0 there would page someone for nothing. */
static void cluster_metrics_write(struct cluster *cluster, struct exposition *e)
{
	struct cluster_stats cs;
	cluster_read_stats(cluster, &cs);

	exposition_family(e, "wsrelay_cluster_connected", "gauge",
	                  "1 while this node is subscribed to the cluster's broker, else 0.");
	exposition_uint(e, "wsrelay_cluster_connected", NULL, cs.connected ? 1 : 0);
	plain_counter(e, "wsrelay_cluster_published_total",
	              "Local messages the broker took for the other nodes.", cs.published);
	plain_counter(e, "wsrelay_cluster_received_total",
	              "Messages from other nodes delivered to local clients.", cs.received);
	plain_counter(e, "wsrelay_cluster_reconnects_total",
	              "Times the broker link came back after being lost.", cs.reconnects);
	exposition_family(e, "wsrelay_cluster_dropped_total", "counter",
	                  "Messages dropped by the cluster, by reason: queue_full (local, never "
	                  "published: the publish queue was full, broker down or slow), too_large "
	                  "(local, larger than the broker takes: relayed to this node's clients "
	                  "only) or no_room (from another node, for a room this node does not "
	                  "have: its last member left while the message was on its way).");
	const char *queue_full[] = {"reason", "queue_full", NULL};
	const char *too_large[] = {"reason", "too_large", NULL};
	const char *no_room[] = {"reason", "no_room", NULL};
	exposition_uint(e, "wsrelay_cluster_dropped_total", queue_full, cs.dropped);
	exposition_uint(e, "wsrelay_cluster_dropped_total", too_large, cs.dropped_too_large);
	exposition_uint(e, "wsrelay_cluster_dropped_total", no_room, cs.dropped_no_room);
	plain_counter(e, "wsrelay_cluster_gaps_total",
	              "Messages of other nodes that never arrived, from gaps in their sequence "
	              "numbers.",
	              cs.gaps);
	plain_counter(e, "wsrelay_cluster_malformed_total",
	              "Messages from the broker dropped as not well-formed, too large, not "
	              "UTF-8 text, badly signed, or sent by another node under this node's id "
	              "(the sum of wsrelay_cluster_rejected_total).",
	              cs.malformed);
	exposition_family(e, "wsrelay_cluster_rejected_total", "counter",
	                  "Messages from the broker dropped before their sequence number was "
	                  "looked at, by reason: signature (unsigned, unknown key or altered), "
	                  "malformed, version (unknown format), impostor (a valid envelope "
	                  "under this node's id).");
	for (int r = 0; r < CLUSTER_REJECT_COUNT; r++) {
		const char *labels[] = {"reason", cluster_reject_name(r), NULL};
		exposition_uint(e, "wsrelay_cluster_rejected_total", labels, cs.rejected[r]);
	}
	exposition_family(e, "wsrelay_cluster_queue_messages", "gauge",
	                  "Local messages waiting for the broker.");
	exposition_uint(e, "wsrelay_cluster_queue_messages", NULL, cs.queued);
}

/* Members per room, from 1 (a room of one) to 10 000. */
static const uint64_t room_member_bounds[] = {1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 10000};

/* No label per room: a relay may hold 10 000 of them. */
static void rooms_metrics_write(struct server *srv, struct exposition *e)
{
	const struct relay_stats *s = server_stats(srv);
	struct rooms *rooms = server_rooms(srv);

	exposition_family(e, "wsrelay_rooms", "gauge",
	                  "Rooms alive now (with rooms off, the one room for everyone).");
	exposition_uint(e, "wsrelay_rooms", NULL, rooms_count(rooms));
	plain_counter(e, "wsrelay_room_joins_total", "Clients admitted into a room.",
	              rooms_joins(rooms));
	struct histogram members;
	histogram_init(&members, room_member_bounds,
	               sizeof(room_member_bounds) / sizeof(room_member_bounds[0]));
	rooms_sample_members(rooms, &members);
	exposition_histogram(e, "wsrelay_room_members",
	                     "Members per room, sampled over every room at this scrape.", &members,
	                     1.0);
	exposition_family(e, "wsrelay_rooms_refused_total", "counter",
	                  "Handshakes refused for their room, by reason (also counted in "
	                  "wsrelay_rejected_handshakes_total).");
	for (int r = 0; r < ROOM_REFUSAL_COUNT; r++) {
		const char *labels[] = {"reason", relay_stats_room_refusal_name(r), NULL};
		exposition_uint(e, "wsrelay_rooms_refused_total", labels,
		                stats_read(&s->rooms_refused[r]));
	}
}

/* Always rendered, also in mode none (all zero there), so dashboards and
 * alerts need not know the mode. */
static void auth_metrics_write(const struct auth_stats *as, struct exposition *e)
{
	exposition_family(e, "wsrelay_auth_failures_total", "counter",
	                  "Handshakes refused by access control, by reason.");
	for (int r = AUTH_OK + 1; r < AUTH_REASON_COUNT; r++) {
		const char *labels[] = {"reason", auth_reason_name(r), NULL};
		exposition_uint(e, "wsrelay_auth_failures_total", labels,
		                stats_read(&as->failures[r]));
	}
	exposition_histogram(e, "wsrelay_auth_http_duration_seconds",
	                     "Time the HTTP check (auth.mode http) took per handshake.",
	                     &as->http_duration, 1e-9);
	exposition_family(e, "wsrelay_auth_key_reloads_total", "counter",
	                  "Key file reloads on SIGHUP (auth.mode jwt), by result.");
	const char *ok[] = {"result", "ok", NULL};
	const char *error[] = {"result", "error", NULL};
	exposition_uint(e, "wsrelay_auth_key_reloads_total", ok, stats_read(&as->reloads_ok));
	exposition_uint(e, "wsrelay_auth_key_reloads_total", error, stats_read(&as->reloads_error));
}

void relay_metrics_write(struct server *srv, struct exposition *e)
{
	const struct relay_stats *s = server_stats(srv);

	counter(e, "wsrelay_connections_total",
	        "WebSocket connections accepted (handshake completed).", &s->connections);

	exposition_family(e, "wsrelay_disconnections_total", "counter",
	                  "WebSocket connections ended, by reason; one per accepted connection.");
	for (int r = DISCONNECT_NONE + 1; r < DISCONNECT_REASON_COUNT; r++) {
		const char *labels[] = {"reason", hub_disconnect_reason_name(r), NULL};
		exposition_uint(e, "wsrelay_disconnections_total", labels,
		                stats_read(&s->disconnections[r]));
	}

	exposition_family(e, "wsrelay_connected_clients", "gauge",
	                  "WebSocket clients connected now.");
	exposition_uint(e, "wsrelay_connected_clients", NULL, server_client_count(srv));

	counter(e, "wsrelay_messages_total",
	        "Messages received from clients and accepted for relay.", &s->messages);
	counter(e, "wsrelay_messages_delivered_total",
	        "Messages written to receivers, one per receiver.", &s->deliveries);
	counter(e, "wsrelay_received_bytes_total", "Payload bytes of the messages accepted.",
	        &s->received_bytes);
	counter(e, "wsrelay_sent_bytes_total", "Payload bytes written to receivers.",
	        &s->sent_bytes);
	counter(e, "wsrelay_broadcast_write_errors_total",
	        "Writes to receivers that failed; each ends that receiver's connection.",
	        &s->write_errors);
	counter(e, "wsrelay_pongs_coalesced_total",
	        "Pongs dropped unsent because the client pinged again first; only the "
	        "latest ping is answered.",
	        &s->pongs_coalesced);

	exposition_family(e, "wsrelay_rejected_handshakes_total", "counter",
	                  "WebSocket handshakes refused before the upgrade, by reason.");
	for (int r = 0; r < REJECT_REASON_COUNT; r++) {
		const char *labels[] = {"reason", relay_stats_rejection_name(r), NULL};
		exposition_uint(e, "wsrelay_rejected_handshakes_total", labels,
		                stats_read(&s->rejected[r]));
	}

	exposition_family(e, "wsrelay_messages_dropped_total", "counter",
	                  "Messages from clients discarded instead of relayed, by reason.");
	const char *rate_limited[] = {"reason", "rate_limited", NULL};
	exposition_uint(e, "wsrelay_messages_dropped_total", rate_limited,
	                stats_read(&s->rate_dropped));

	exposition_histogram(e, "wsrelay_message_size_bytes",
	                     "Sizes of the messages received from clients.", &s->message_size, 1.0);
	exposition_histogram(e, "wsrelay_broadcast_duration_seconds",
	                     "Time to hand one message to every receiver.", &s->broadcast_duration,
	                     1e-9);

	rooms_metrics_write(srv, e);
	auth_metrics_write(auth_stats(server_auth(srv)), e);

	struct cluster *cluster = server_cluster(srv);
	if (cluster)
		cluster_metrics_write(cluster, e);

	exposition_family(e, "wsrelay_build_info", "gauge",
	                  "Versions of wsrelay and its libraries; always 1.");
	const char *build[] = {"version", WSRELAY_VERSION,      "civetweb", mg_version(),
	                       "openssl", OPENSSL_VERSION_TEXT, NULL};
	exposition_uint(e, "wsrelay_build_info", build, 1);

	exposition_family(e, "wsrelay_start_time_seconds", "gauge",
	                  "When the relay started, in seconds since the Unix epoch.");
	exposition_double(e, "wsrelay_start_time_seconds", NULL, server_start_time(srv));
}
