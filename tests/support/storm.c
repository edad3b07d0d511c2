/* The storm of the relay tests. */
#include "storm.h"

#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct storm_start {
	struct storm_client *client;
	pthread_barrier_t *start;
};

/* "<sender>:<seq>" with a sender of the storm; false if not. */
static bool storm_parse(const struct ws_raw_frame *f, int clients, long *sender, long *seq)
{
	char *colon = NULL, *end = NULL;
	*sender = strtol((const char *)f->payload, &colon, 10);
	*seq = (colon && *colon == ':') ? strtol(colon + 1, &end, 10) : -1;
	return f->opcode == WS_OP_TEXT && end && *end == '\0' && *sender >= 0 &&
	       *sender < clients && *seq >= 0;
}

/* Thread rule: one per storm client, which no other thread touches until
 * it is joined. */
static void *storm_thread(void *arg)
{
	struct storm_start *st = arg;
	struct storm_client *sc = st->client;
	pthread_barrier_wait(st->start);
	int sent = 0;
	while (sc->received < sc->clients * sc->messages) {
		/* Like a real client, keep reading while sending: one that only
		 * sends would be, rightly, a slow consumer. */
		if (sent < sc->messages) {
			char msg[32];
			snprintf(msg, sizeof(msg), "%d:%d", sc->id, sent++);
			if (ws_raw_send_text(&sc->ws, msg) != 0) {
				snprintf(sc->error, sizeof(sc->error), "send failed: %s",
				         sc->ws.err);
				return NULL;
			}
		}
		struct ws_raw_frame f;
		int r = ws_raw_read_message(&sc->ws, &f, sent < sc->messages ? 0 : 20000);
		if (r == WS_TIMEOUT && sent < sc->messages)
			continue;
		if (r != WS_FRAME) {
			snprintf(sc->error, sizeof(sc->error), "after %d messages: result %d",
			         sc->received, r);
			return NULL;
		}
		long sender = -1, seq = -1;
		bool ok = storm_parse(&f, sc->clients, &sender, &seq);
		if (!ok)
			snprintf(sc->error, sizeof(sc->error),
			         "malformed message after %d: opcode %d, %zu bytes \"%.40s\"",
			         sc->received, f.opcode, f.len, (const char *)f.payload);
		ws_raw_frame_free(&f);
		if (!ok)
			return NULL;
		if (seq != sc->next_seq[sender]) {
			snprintf(sc->error, sizeof(sc->error),
			         "from sender %ld: got seq %ld, expected %d", sender, seq,
			         sc->next_seq[sender]);
			return NULL;
		}
		sc->next_seq[sender]++;
		sc->received++;
	}
	return NULL;
}

int storm_run(struct storm_client *clients, int count, int messages)
{
	pthread_t threads[STORM_MAX_CLIENTS];
	struct storm_start starts[STORM_MAX_CLIENTS];
	pthread_barrier_t start;

	if (count < 1 || count > STORM_MAX_CLIENTS)
		return 0;
	pthread_barrier_init(&start, NULL, (unsigned)count);
	for (int i = 0; i < count; i++) {
		clients[i].id = i;
		clients[i].clients = count;
		clients[i].messages = messages;
		clients[i].received = 0;
		memset(clients[i].next_seq, 0, sizeof(clients[i].next_seq));
		clients[i].error[0] = '\0';
		starts[i] = (struct storm_start){.client = &clients[i], .start = &start};
	}
	for (int i = 0; i < count; i++) {
		/* The others would wait at the barrier for good. */
		if (pthread_create(&threads[i], NULL, storm_thread, &starts[i]) != 0) {
			fprintf(stderr, "storm: cannot start a client thread\n");
			abort();
		}
	}
	for (int i = 0; i < count; i++)
		pthread_join(threads[i], NULL);
	pthread_barrier_destroy(&start);
	for (int i = 0; i < count; i++) {
		for (int s = 0; s < count && !clients[i].error[0]; s++)
			if (clients[i].next_seq[s] != messages)
				snprintf(clients[i].error, sizeof(clients[i].error),
				         "from sender %d: %d of %d messages", s,
				         clients[i].next_seq[s], messages);
		if (clients[i].error[0])
			return i;
	}
	return -1;
}
