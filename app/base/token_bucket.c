#include "token_bucket.h"

static double level_at(const struct token_bucket *b, clock_mono_t now)
{
	double t = b->tokens;
	if (now > b->last)
		t += (double)(now - b->last) / 1e9 * b->rate;
	return t > b->burst ? b->burst : t;
}

void token_bucket_init(struct token_bucket *b, double rate, double burst, clock_mono_t now)
{
	b->rate = rate;
	b->burst = burst;
	b->tokens = burst;
	b->last = now;
}

bool token_bucket_take(struct token_bucket *b, double cost, clock_mono_t now)
{
	b->tokens = level_at(b, now);
	if (now > b->last)
		b->last = now;
	if (b->tokens < 1.0)
		return false;
	b->tokens -= cost;
	return true;
}

double token_bucket_wait_seconds(const struct token_bucket *b, clock_mono_t now)
{
	double t = level_at(b, now);
	return t >= 1.0 ? 0.0 : (1.0 - t) / b->rate;
}

bool token_bucket_full(const struct token_bucket *b, clock_mono_t now)
{
	return level_at(b, now) >= b->burst;
}
