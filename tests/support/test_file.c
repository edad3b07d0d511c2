/* Whole-file reads and writes for the tests. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* nftw, strerror_r returning the text */
#endif
#include "test_file.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

char *test_file_read(const char *path, size_t *len)
{
	size_t cap = 4096;
	size_t n = 0;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return NULL;
	buf = malloc(cap);
	if (!buf)
		goto fail;
	for (;;) {
		if (cap - n < 2) {
			char *nb = realloc(buf, cap * 2);
			if (!nb)
				goto fail;
			buf = nb;
			cap *= 2;
		}
		ssize_t r = read(fd, buf + n, cap - n - 1);
		if (r == 0)
			break;
		if (r < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	if (len)
		*len = n;
	return buf;

fail:;
	int saved = errno;
	free(buf);
	close(fd);
	errno = saved;
	return NULL;
}

int test_file_write(const char *path, const char *text)
{
	size_t left = strlen(text);
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);

	if (fd < 0)
		return -1;
	while (left > 0) {
		ssize_t r = write(fd, text, left);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			close(fd);
			return -1;
		}
		text += r;
		left -= (size_t)r;
	}
	return close(fd);
}

/* Entries that could not be removed in this thread's current walk. */
static _Thread_local unsigned remove_failures;

/* Goes on past an entry it cannot remove (saying so): the rest still goes. */
static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	if (remove(path) < 0) {
		char why[128];
		fprintf(stderr, "test_file: cannot remove %s: %s\n", path,
		        strerror_r(errno, why, sizeof(why)));
		remove_failures++;
	}
	return 0;
}

int test_file_remove_tree(const char *path)
{
	remove_failures = 0;
	int rc = nftw(path, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
	return rc == 0 && remove_failures == 0 ? 0 : -1;
}
