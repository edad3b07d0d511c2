#include "flooder.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "ws_raw.h"

static void *flood(void *arg)
{
	struct flooder *fl = arg;
	struct ws_raw c;
	int status = 0;
	ws_raw_init(&c);
	if (ws_raw_connect(&c, fl->port, "/ws", NULL, &status, 5000) != 0) {
		ws_raw_close(&c);
		return NULL;
	}
	atomic_store(&fl->connected, true);
	char *msg = malloc(fl->message_size + 1);
	if (msg) {
		memset(msg, 'f', fl->message_size);
		msg[fl->message_size] = '\0';
		while (!atomic_load(&fl->stop) && ws_raw_send_text(&c, msg) == 0) {
			atomic_fetch_add(&fl->sent, 1);
			struct ws_raw_frame f;
			while (ws_raw_read_frame(&c, &f, 0) == WS_FRAME)
				ws_raw_frame_free(&f);
			if (fl->pause_us)
				usleep(fl->pause_us);
		}
		free(msg);
	}
	/* Stay connected (answering nothing) until told to stop, so the relay
	 * ends the connection on its own terms when it shuts down. */
	while (!atomic_load(&fl->stop))
		usleep(10 * 1000);
	ws_raw_close(&c);
	return NULL;
}

int flooder_start(struct flooder *fl, uint16_t port, size_t message_size, unsigned pause_us)
{
	memset(fl, 0, sizeof(*fl));
	fl->port = port;
	fl->message_size = message_size;
	fl->pause_us = pause_us;
	if (pthread_create(&fl->thread, NULL, flood, fl) != 0)
		return -1;
	for (int waited = 0; waited < 5000; waited += 5) {
		if (atomic_load(&fl->connected))
			return 0;
		usleep(5 * 1000);
	}
	flooder_stop(fl);
	return -1;
}

int flooder_wait_sent(struct flooder *fl, int count, int timeout_ms)
{
	for (int waited = 0; waited < timeout_ms && atomic_load(&fl->sent) < count; waited += 5)
		usleep(5 * 1000);
	return atomic_load(&fl->sent);
}

int flooder_stop(struct flooder *fl)
{
	atomic_store(&fl->stop, true);
	pthread_join(fl->thread, NULL);
	return atomic_load(&fl->sent);
}
