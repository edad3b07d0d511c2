/* Every WebSocket client pins a worker thread, and a thread's stack keeps
 * each page it ever touched. The handshake runs deeper than the read loop in
 * which an idle client's thread then waits, maybe for days (CivetWeb's
 * request parsing, the handshake's hashing, our callbacks), and a client's
 * messages deeper still (relaying, logging): pages that would stay resident
 * for nothing. Measured with GCC 12, an idle client's stack holds 32 KiB
 * without this, 28 with it and 20 with -fconserve-stack as well (see
 * third_party/CMakeLists.txt); the rest are live frames. A worker back in
 * the pool keeps 16 KiB instead of 20. */
#include "stack_release.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <unistd.h>

/* Left alone below this function's frame: madvise's, live while it runs (a
 * system call stub, or a sanitizer's interceptor around it, needs far less
 * than a page). */
#define LIVE_MARGIN_BYTES 4096u

void stack_release_below_caller(void)
{
	pthread_attr_t attr;
	if (pthread_getattr_np(pthread_self(), &attr) != 0)
		return;
	void *base = NULL;
	size_t size = 0;
	int rc = pthread_attr_getstack(&attr, &base, &size);
	pthread_attr_destroy(&attr);
	long page_size = sysconf(_SC_PAGESIZE);
	if (rc != 0 || page_size <= 0)
		return;
	uintptr_t page = (uintptr_t)page_size;
	uintptr_t low = ((uintptr_t)base + page - 1) & ~(page - 1);
	uintptr_t high = (uintptr_t)base + size;
	/* This frame, not a local's address: sanitizers may move locals off the
	 * real stack. Everything below it is dead once the bounds are known. */
	uintptr_t here = (uintptr_t)__builtin_frame_address(0);
	/* Our frame outside the stack we were told about (a main thread
	 * grown beyond its first mapping, say): touch nothing. */
	if (here <= low || here > high || here - low <= LIVE_MARGIN_BYTES + page)
		return;
	uintptr_t end = (here - LIVE_MARGIN_BYTES) & ~(page - 1);
	/* Private anonymous memory: the dropped pages come back zeroed on their
	 * next touch, which is all a stack below its live frames may assume. */
	(void)madvise((void *)low, end - low, MADV_DONTNEED);
}
