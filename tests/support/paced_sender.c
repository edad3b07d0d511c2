/* A client that sends messages at a fixed rate. */
#include "paced_sender.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static int64_t paced_now_ns(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

/* Thread rule: the sender's own thread; p is the caller's until joined. */
static void *paced_main(void *arg)
{
	struct paced_sender *p = arg;
	char *text = malloc(p->size + 1);
	if (!text) {
		p->failed = true;
		return NULL;
	}
	memset(text, 'x', p->size);
	text[p->size] = '\0';
	int64_t next = paced_now_ns();
	for (long i = 0; i < p->count; i++) {
		char head[PACED_HEAD_CAP];
		int n = p->head(head, i);
		memcpy(text, head, (size_t)n);
		if (ws_raw_send_text(p->ws, text) != 0) {
			p->failed = true;
			break;
		}
		next += 1000000000 / p->rate;
		struct timespec until = {.tv_sec = next / 1000000000, .tv_nsec = next % 1000000000};
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until, NULL);
	}
	free(text);
	return NULL;
}

int paced_sender_start(struct paced_sender *p)
{
	p->failed = false;
	return pthread_create(&p->thread, NULL, paced_main, p) == 0 ? 0 : -1;
}

bool paced_sender_join(struct paced_sender *p)
{
	pthread_join(p->thread, NULL);
	return !p->failed;
}
