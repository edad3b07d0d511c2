/* Hands back to the kernel the stack pages a worker thread touched once and
 * no longer needs. */
#ifndef WSRELAY_STACK_RELEASE_H
#define WSRELAY_STACK_RELEASE_H

/* Releases the calling thread's stack below the caller's frame. The pages
 * stay mapped; their next touch gets a zeroed page. Does nothing when the
 * stack's bounds are unknown. */
void stack_release_below_caller(void);

#endif
