/* libFuzzer target: the relay's frame path, end to end. The real server runs
 * in this process on a loopback port; each input becomes a sequence of
 * frames from one client, masked like a real client's (or, now and then,
 * raw bytes), and the harness reads whatever comes back until the server
 * closes or goes quiet. Sanitizers watch the server side. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <civetweb.h>

#include "config.h"
#include "relay_process.h"
#include "server.h"
#include "ws_raw.h"
#include "test_file.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct config cfg;
static struct server *srv;
static uint16_t port;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	char path[64], yaml[256];
	snprintf(path, sizeof(path), "/tmp/wsrelay-fuzz-frames-%d.yaml", (int)getpid());
	port = free_loopback_port();
	snprintf(yaml, sizeof(yaml),
	         "server:\n  listen: \"127.0.0.1:%u\"\n  max_connections: 16\n"
	         "  max_message_bytes: 4096\n  document_root: \"\"\n"
	         "metrics:\n  enabled: false\nlogging:\n  level: error\n",
	         port);
	char err[1024];
	if (test_file_write(path, yaml) != 0 || config_load(&cfg, path, err, sizeof(err)) != 0)
		abort();
	unlink(path);
	mg_init_library(MG_FEATURES_WEBSOCKET | MG_FEATURES_IPV6);
	srv = server_start(&cfg, err, sizeof(err));
	if (!srv) {
		fprintf(stderr, "fuzz_frames: %s\n", err);
		abort();
	}
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct ws_raw c;
	int status = 0;
	ws_raw_init(&c);
	if (ws_raw_connect(&c, port, "/ws", NULL, &status, 2000) != 0) {
		ws_raw_close(&c);
		return 0;
	}
	/* Input: frames of [first byte][length byte][payload], or, after a
	 * 0xFF marker, the rest as raw bytes. */
	size_t i = 0;
	while (i + 2 <= size) {
		if (data[i] == 0xFF) {
			ws_raw_send_bytes(&c, data + i + 1, size - i - 1);
			break;
		}
		uint8_t first = data[i];
		size_t len = data[i + 1];
		i += 2;
		if (len > size - i)
			len = size - i;
		if (ws_raw_send_frame(&c, first, data + i, len, true) != 0)
			break;
		i += len;
	}
	/* Drain replies until the server closes or is quiet for a moment. */
	for (int frames = 0; frames < 64; frames++) {
		struct ws_raw_frame f;
		int r = ws_raw_read_frame(&c, &f, 20);
		if (r != WS_FRAME)
			break;
		ws_raw_frame_free(&f);
	}
	ws_raw_close(&c);
	return 0;
}
