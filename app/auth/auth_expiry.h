/* The expiry timer: one thread that closes clients whose token runs out
 * while they are connected. Entries are kept in a heap by deadline; the
 * thread sleeps until the earliest one.
 *
 * Threads and locks: the timer's mutex guards the heap only; fire() runs on
 * the timer thread with no lock of the timer's held. auth_expiry_cancel
 * waits for a fire() of its entry that is under way, so once it returns the
 * entry's argument is never touched again. */
#ifndef WSRELAY_AUTH_EXPIRY_H
#define WSRELAY_AUTH_EXPIRY_H

#include <stdint.h>

struct auth_expiry;
struct auth_expiry_entry;

/* Contract of fire: called once per entry whose deadline passed, on the
 * timer thread, with no lock held; it must not call auth_expiry_cancel or
 * block for long (it only queues a close). */
typedef void (*auth_expiry_fire)(void *arg);

/* Starts the thread; NULL when out of memory or threads. */
struct auth_expiry *auth_expiry_start(auth_expiry_fire fire);

/* Stops the thread; entries left are freed without firing. The caller
 * makes sure no add or cancel runs any more. */
void auth_expiry_stop(struct auth_expiry *timer);

/* Calls fire(arg) at deadline (Unix seconds; at once if it is past). Any
 * thread. NULL when out of memory. */
struct auth_expiry_entry *auth_expiry_add(struct auth_expiry *timer, int64_t deadline, void *arg);

/* Takes the entry out, waiting for its fire() if one is running, and frees
 * it. Any thread but the timer's. NULL entry: nothing. */
void auth_expiry_cancel(struct auth_expiry *timer, struct auth_expiry_entry *entry);

#endif
