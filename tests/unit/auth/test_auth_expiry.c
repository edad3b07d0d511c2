/* The expiry timer (auth_expiry.c): entries fire once, in deadline order,
 * cancelled ones never, and cancel waits for a fire under way. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "auth_expiry.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t changed = PTHREAD_COND_INITIALIZER;
static int fired[64];
static size_t fired_count;
static atomic_bool in_fire;
static atomic_bool release_fire;

static void record(void *arg)
{
	pthread_mutex_lock(&lock);
	fired[fired_count++] = (int)(intptr_t)arg;
	pthread_cond_broadcast(&changed);
	pthread_mutex_unlock(&lock);
}

/* Generous: sanitizer builds are slow; no test here depends on speed. */
static void wait_for_fires(size_t n)
{
	struct timespec until;
	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += 30;
	pthread_mutex_lock(&lock);
	while (fired_count < n)
		if (pthread_cond_timedwait(&changed, &lock, &until) != 0)
			break;
	size_t got = fired_count;
	pthread_mutex_unlock(&lock);
	assert_int_equal(got, n);
}

static int64_t now_s(void)
{
	return (int64_t)time(NULL);
}

static int reset(void **state)
{
	(void)state;
	fired_count = 0;
	memset(fired, 0, sizeof(fired));
	return 0;
}

static void test_order_and_cancel(void **state)
{
	(void)state;
	struct auth_expiry *t = auth_expiry_start(record);
	assert_non_null(t);
	int64_t now = now_s();
	/* Past deadlines fire at once, in deadline order. */
	struct auth_expiry_entry *e[8];
	e[0] = auth_expiry_add(t, now - 5, (void *)(intptr_t)2);
	e[1] = auth_expiry_add(t, now + 3600, (void *)(intptr_t)99); /* cancelled */
	e[2] = auth_expiry_add(t, now - 10, (void *)(intptr_t)1);
	e[3] = auth_expiry_add(t, now + 1, (void *)(intptr_t)3);
	e[4] = auth_expiry_add(t, now + 3600, (void *)(intptr_t)98); /* left at stop */
	for (int i = 0; i < 5; i++)
		assert_non_null(e[i]);
	auth_expiry_cancel(t, e[1]);
	wait_for_fires(3);
	/* The two past ones may be added after the thread fired one of
	 * them; the later deadline never comes first. */
	assert_true(fired[2] == 3);
	assert_true((fired[0] == 1 && fired[1] == 2) || (fired[0] == 2 && fired[1] == 1));
	auth_expiry_cancel(t, e[0]);
	auth_expiry_cancel(t, e[2]);
	auth_expiry_cancel(t, e[3]);
	auth_expiry_cancel(t, NULL);
	auth_expiry_stop(t);
	assert_int_equal(fired_count, 3);
}

static void slow_fire(void *arg)
{
	(void)arg;
	atomic_store(&in_fire, true);
	while (!atomic_load(&release_fire))
		usleep(1000);
	atomic_store(&in_fire, false);
}

static void *release_later(void *arg)
{
	(void)arg;
	usleep(100 * 1000);
	atomic_store(&release_fire, true);
	return NULL;
}

static void test_cancel_waits_for_fire(void **state)
{
	(void)state;
	struct auth_expiry *t = auth_expiry_start(slow_fire);
	struct auth_expiry_entry *e = auth_expiry_add(t, now_s() - 1, NULL);
	while (!atomic_load(&in_fire))
		usleep(1000);
	pthread_t releaser;
	assert_int_equal(pthread_create(&releaser, NULL, release_later, NULL), 0);
	auth_expiry_cancel(t, e);
	/* Cancel returned: the fire is over, whatever the timing. */
	assert_false(atomic_load(&in_fire));
	assert_true(atomic_load(&release_fire));
	pthread_join(releaser, NULL);
	auth_expiry_stop(t);
}

static void test_many(void **state)
{
	(void)state;
	struct auth_expiry *t = auth_expiry_start(record);
	struct auth_expiry_entry *e[300];
	int64_t now = now_s();
	/* Enough to grow the heap; the odd ones cancelled from the middle. */
	for (int i = 0; i < 300; i++)
		e[i] = auth_expiry_add(t, now + 3600 + (i * 7919) % 300, (void *)(intptr_t)i);
	for (int i = 1; i < 300; i += 2)
		auth_expiry_cancel(t, e[i]);
	struct auth_expiry_entry *soon = auth_expiry_add(t, now - 1, (void *)(intptr_t)7);
	wait_for_fires(1);
	assert_int_equal(fired[0], 7);
	auth_expiry_cancel(t, soon);
	for (int i = 0; i < 300; i += 2)
		auth_expiry_cancel(t, e[i]);
	auth_expiry_stop(t);
	assert_int_equal(fired_count, 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup(test_order_and_cancel, reset),
	    cmocka_unit_test_setup(test_cancel_waits_for_fire, reset),
	    cmocka_unit_test_setup(test_many, reset),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
