/* HTTP answers for requests that must not become WebSocket clients.
 *
 * CivetWeb's WebSocket connect handler can only drop a refused client without
 * an HTTP answer; its begin_request callback runs before the upgrade and can
 * send a proper status, so every refusal with a reason lives here. */
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "address_limits.h"
#include "client_address.h"
#include "log.h"
#include "server_internal.h"

/* A Sec-WebSocket-Key is 16 random bytes in base64 (RFC 6455 section 4.1). */
#define WEBSOCKET_KEY_LENGTH 24

static const char *status_text(int status)
{
	switch (status) {
	case 400:
		return "Bad Request";
	case 401:
		return "Unauthorized";
	case 403:
		return "Forbidden";
	case 404:
		return "Not Found";
	case 426:
		return "Upgrade Required";
	case 429:
		return "Too Many Requests";
	case 503:
		return "Service Unavailable";
	default:
		return "Error";
	}
}

/* Counts the refusal and sends a complete plain-text response, written raw:
 * CivetWeb has already marked an upgrade request as a WebSocket connection,
 * and its response-header functions refuse those. Returns status, for
 * begin_request. */
static int refuse(struct server *srv, enum rejection_reason why, struct mg_connection *conn,
                  int status, const char *header, const char *value, const char *body)
{
	stats_add(&srv->stats.rejected[why], 1);
	char extra[384] = ""; /* room for a WWW-Authenticate challenge */
	if (header)
		snprintf(extra, sizeof(extra), "%s: %s\r\n", header, value);
	mg_printf(conn,
	          "HTTP/1.1 %d %s\r\n"
	          "Content-Type: text/plain; charset=utf-8\r\n"
	          "Content-Length: %zu\r\n"
	          "Connection: close\r\n"
	          "%s\r\n%s",
	          status, status_text(status), strlen(body), extra, body);
	return status;
}

int handshake_refuse(struct server *srv, enum rejection_reason why, struct mg_connection *conn,
                     int status, const char *header, const char *value, const char *body)
{
	return refuse(srv, why, conn, status, header, value, body);
}

static bool header_has_token(const struct mg_connection *conn, const char *name, const char *token)
{
	const char *value = mg_get_header(conn, name);
	return value && strcasestr(value, token) != NULL;
}

static bool origin_allowed(const struct config *cfg, const char *origin)
{
	if (cfg->server.allowed_origins_count == 0)
		return true;
	/* Browsers always send Origin on a WebSocket handshake; a client without
	 * one is not a browser, and cross-site hijacking needs a browser. */
	if (!origin)
		return true;
	for (size_t i = 0; i < cfg->server.allowed_origins_count; i++) {
		if (strcmp(origin, cfg->server.allowed_origins[i]) == 0)
			return true;
	}
	return false;
}

bool handshake_filter_room(const struct server *srv, const struct mg_request_info *ri, char *room,
                           enum room_path *kind)
{
	const struct config *cfg = srv->cfg;
	room[0] = '\0';
	if (!cfg->rooms.enabled) {
		*kind = strcmp(ri->local_uri, cfg->server.websocket_path) == 0 ? ROOM_PATH_BARE
		                                                               : ROOM_PATH_OTHER;
		return *kind == ROOM_PATH_BARE;
	}
	/* decode_url is off with rooms (server.c): local_uri_raw is the path
	 * as sent, before CivetWeb removes any "." or ".." segment. */
	const char *raw = ri->local_uri_raw ? ri->local_uri_raw : "";
	*kind = room_name_from_path(raw, cfg->server.websocket_path, room);
	if (*kind == ROOM_PATH_BARE)
		snprintf(room, ROOM_NAME_MAX + 1, "%s", cfg->rooms.default_room);
	return *kind == ROOM_PATH_NAMED || (*kind == ROOM_PATH_BARE && room[0]);
}

/* 503 for a room that is full or one room too many. */
static int refuse_room(struct server *srv, struct mg_connection *conn, const char *room,
                       enum rooms_refusal why)
{
	const struct mg_request_info *ri = mg_get_request_info(conn);
	bool too_many = why == ROOMS_MAX_ROOMS;
	stats_add(
	    &srv->stats.rooms_refused[too_many ? ROOM_REFUSED_MAX_ROOMS : ROOM_REFUSED_MAX_MEMBERS],
	    1);
	const struct log_field fields[] = {
	    {"client", ri->remote_addr, false},
	    {"reason", too_many ? "max_rooms" : "max_members", false},
	    {"room", room, false}};
	log_event(LOG_LEVEL_WARN, fields, 3, "refused handshake from %s: %s (rooms.%s)",
	          ri->remote_addr, too_many ? "no room for one more room" : "room is full",
	          too_many ? "max_rooms" : "max_members");
	return refuse(srv, REJECT_CAPACITY, conn, 503, "Retry-After", "1",
	              too_many ? "Too many rooms.\n" : "Room is full.\n");
}

bool server_client_key(const struct server *srv, const struct mg_connection *conn,
                       struct net_address *key, char *text, size_t textlen)
{
	struct client_address who;
	if (!client_address_resolve(conn, srv->trusted_proxies, srv->trusted_proxies_count, &who))
		return false;
	*key = net_address_key(&who.addr, srv->cfg->limits.ipv6_prefix_length);
	if (text)
		snprintf(text, textlen, "%s", who.text);
	return true;
}

/* The per-address limits: 429 before the upgrade, or 0. */
static int address_gate(struct server *srv, struct mg_connection *conn)
{
	struct net_address key;
	char who[NET_ADDRESS_TEXT_SIZE];
	if (!server_client_key(srv, conn, &key, who, sizeof(who)))
		return refuse(srv, REJECT_BAD_REQUEST, conn, 400, NULL, NULL,
		              "Malformed X-Forwarded-For.\n");
	unsigned retry_s = 1;
	enum address_verdict verdict = address_limits_check(srv->address_limits, &key, &retry_s);
	if (verdict == ADDRESS_OK)
		return 0;
	bool rate = verdict == ADDRESS_TOO_MANY_HANDSHAKES;
	const struct log_field fields[] = {
	    {"client", who, false}, {"reason", rate ? "handshake_rate" : "address_limit", false}};
	log_event(LOG_LEVEL_INFO, fields, 2, "refused handshake from %s: %s", who,
	          rate ? "too many handshakes (limits.handshakes_per_address_per_second)"
	               : "too many clients (limits.max_connections_per_address)");
	char retry[16];
	snprintf(retry, sizeof(retry), "%u", retry_s);
	return refuse(srv, rate ? REJECT_HANDSHAKE_RATE : REJECT_ADDRESS_LIMIT, conn, 429,
	              "Retry-After", retry, "Too many connections from your address.\n");
}

int handshake_filter(struct mg_connection *conn)
{
	struct server *srv = mg_get_user_data(mg_get_context(conn));
	const struct mg_request_info *ri = mg_get_request_info(conn);
	bool upgrade = header_has_token(conn, "Upgrade", "websocket");
	char room[ROOM_NAME_MAX + 1];
	enum room_path kind;
	bool ws_path = handshake_filter_room(srv, ri, room, &kind);

	if (!ws_path) {
		if (!upgrade)
			return 0; /* static files */
		if (kind == ROOM_PATH_BAD)
			stats_add(&srv->stats.rooms_refused[ROOM_REFUSED_BAD_NAME], 1);
		return refuse(srv, REJECT_BAD_REQUEST, conn, 404, NULL, NULL,
		              "No WebSocket endpoint here.\n");
	}
	if (!upgrade)
		return refuse(srv, REJECT_BAD_REQUEST, conn, 426, "Upgrade", "websocket",
		              "This is a WebSocket endpoint: connect with a WebSocket client.\n");
	/* CivetWeb checks these too, but its answers for an upgrade request go
	 * out without a status line (see reply()), so they are made here. */
	const char *version = mg_get_header(conn, "Sec-WebSocket-Version");
	if (!version || strcmp(version, "13") != 0)
		return refuse(srv, REJECT_BAD_REQUEST, conn, 426, "Sec-WebSocket-Version", "13",
		              "Only WebSocket version 13 (RFC 6455) is spoken here.\n");
	const char *key = mg_get_header(conn, "Sec-WebSocket-Key");
	if (!key || strlen(key) != WEBSOCKET_KEY_LENGTH)
		return refuse(srv, REJECT_BAD_REQUEST, conn, 400, NULL, NULL,
		              "Malformed Sec-WebSocket-Key.\n");
	const char *origin = mg_get_header(conn, "Origin");
	if (!origin_allowed(srv->cfg, origin)) {
		const struct log_field fields[] = {{"client", ri->remote_addr, false},
		                                   {"reason", "origin", false}};
		log_event(LOG_LEVEL_INFO, fields, 2,
		          "refused handshake from %s: origin %s not allowed", ri->remote_addr,
		          origin);
		return refuse(srv, REJECT_ORIGIN, conn, 403, NULL, NULL, "Origin not allowed.\n");
	}
	if (atomic_load(&srv->draining))
		return refuse(srv, REJECT_SHUTDOWN, conn, 503, "Retry-After", "5",
		              "Server is shutting down.\n");
	int limited = address_gate(srv, conn);
	if (limited)
		return limited;
	if (rooms_client_count(srv->rooms) >= srv->cfg->server.max_connections) {
		const struct log_field fields[] = {{"client", ri->remote_addr, false},
		                                   {"reason", "capacity", false}};
		log_event(
		    LOG_LEVEL_WARN, fields, 2,
		    "refused handshake from %s: %u clients connected (server.max_connections)",
		    ri->remote_addr, srv->cfg->server.max_connections);
		return refuse(srv, REJECT_CAPACITY, conn, 503, "Retry-After", "1",
		              "Too many clients.\n");
	}
	/* The other checks cost nothing, this one may cost a signature check or
	 * a request to the application. Before the room's capacity: a client
	 * without access learns nothing about the room. */
	int denied = handshake_auth(srv, conn, room);
	if (denied)
		return denied;
	if (srv->cfg->rooms.enabled) {
		enum rooms_refusal why = rooms_admits(srv->rooms, room);
		if (why == ROOMS_MAX_ROOMS || why == ROOMS_MAX_MEMBERS)
			return refuse_room(srv, conn, room, why);
	}
	/* Anything else wrong with the handshake, CivetWeb answers itself. */
	return 0;
}
