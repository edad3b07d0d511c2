/* Every WebSocket client pins a worker thread, and a thread's stack keeps
 * each page it ever touched. The handshake runs deeper than the read loop in
 * which an idle client's thread then waits, maybe for days (CivetWeb's
 * request parsing, the handshake's hashing, our callbacks), and a client's
 * messages deeper still (relaying, logging): pages that would stay resident
 * for nothing. Measured with GCC 12 and patch 0014, an idle client's wait
 * sits 7 KiB below the top of its stack mapping (thread descriptor and TLS
 * included), within two pages, the same two a worker waiting in the pool
 * keeps; the ready handler's release starts 6.5 KiB down, so a margin of
 * more than 1.7 KiB below it would keep a third page for every client. */
#include "stack_release.h"

#include <pthread.h>
#include <stdint.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#if defined(__x86_64__) && defined(__linux__)
/* The system call itself, with no call below this frame: madvise() would
 * run glibc's stub there, or a sanitizer's interceptor of unknown depth.
 * What stays below the frame address is then this function's own frame
 * (its locals, a stack protector's canary) and the red zone (128 bytes):
 * a few hundred bytes in any build, sanitizers' included. */
#define LIVE_MARGIN_BYTES 1024u
static inline __attribute__((always_inline)) void release_pages(uintptr_t low, uintptr_t end)
{
	long ret;
	__asm__ volatile("syscall"
	                 : "=a"(ret)
	                 : "a"((long)SYS_madvise), "D"(low), "S"(end - low),
	                   "d"((long)MADV_DONTNEED)
	                 : "rcx", "r11", "memory");
	(void)ret;
}
#else
/* Left alone below this function's frame: madvise's, live while it runs (a
 * system call stub, or a sanitizer's interceptor around it, needs far less
 * than a page). */
#define LIVE_MARGIN_BYTES 4096u
static void release_pages(uintptr_t low, uintptr_t end)
{
	(void)madvise((void *)low, end - low, MADV_DONTNEED);
}
#endif

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
	release_pages(low, end);
}
