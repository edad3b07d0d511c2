/* A token bucket: rate tokens a second, holding at most burst. Not
 * thread-safe: its owner serialises the calls (a mutex, or one thread). */
#ifndef WSRELAY_TOKEN_BUCKET_H
#define WSRELAY_TOKEN_BUCKET_H

#include <stdbool.h>
#include <stdint.h>

#include "clock.h"

struct token_bucket {
	double tokens;
	double rate;  /* per second */
	double burst; /* the most it holds */
	clock_mono_t last;
};

/* Starts full. */
void token_bucket_init(struct token_bucket *b, double rate, double burst, clock_mono_t now);

/* Takes cost tokens if the bucket holds at least one, going into debt for
 * the rest: a cost larger than the burst (a big message against a byte
 * budget) still passes once, and what follows waits for the debt to be
 * paid, so the average stays at the rate. Returns whether it passed. */
bool token_bucket_take(struct token_bucket *b, double cost, clock_mono_t now);

/* Seconds until the bucket holds one token again (0 if it does now). */
double token_bucket_wait_seconds(const struct token_bucket *b, clock_mono_t now);

/* Whether the bucket is full at now: it then says nothing a fresh one
 * would not, and can be forgotten. */
bool token_bucket_full(const struct token_bucket *b, clock_mono_t now);

#endif
