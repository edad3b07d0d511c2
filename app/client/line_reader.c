/* Line splitting over a raw descriptor. */
#include "line_reader.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define READ_CHUNK 65536

void line_reader_init(struct line_reader *r, int fd, size_t max_line)
{
	memset(r, 0, sizeof(*r));
	r->fd = fd;
	r->max_line = max_line;
}

void line_reader_free(struct line_reader *r)
{
	free(r->buf);
	r->buf = NULL;
	r->cap = r->start = r->end = 0;
}

/* Room for one more chunk, moving the unconsumed tail to the front first so
 * the buffer only grows for lines that really are long. */
static int make_room(struct line_reader *r)
{
	if (r->start > 0) {
		memmove(r->buf, r->buf + r->start, r->end - r->start);
		r->end -= r->start;
		r->start = 0;
	}
	if (r->cap - r->end >= READ_CHUNK)
		return 0;
	if (r->end >= r->max_line + 1) {
		errno = ENOMEM;
		return -1;
	}
	size_t cap = r->cap ? r->cap * 2 : READ_CHUNK;
	while (cap - r->end < READ_CHUNK)
		cap *= 2;
	char *grown = realloc(r->buf, cap);
	if (!grown)
		return -1;
	r->buf = grown;
	r->cap = cap;
	return 0;
}

int line_reader_fill(struct line_reader *r)
{
	if (r->eof)
		return 0;
	if (make_room(r) < 0)
		return -1;
	for (;;) {
		ssize_t n = read(r->fd, r->buf + r->end, r->cap - r->end);
		if (n > 0) {
			r->end += (size_t)n;
			return 1;
		}
		if (n == 0) {
			r->eof = true;
			return 0;
		}
		if (errno != EINTR)
			return -1;
	}
}

int line_reader_next(struct line_reader *r, const char **line, size_t *len)
{
	size_t avail = r->end - r->start;
	if (avail == 0)
		return 0;
	char *begin = r->buf + r->start;
	char *nl = memchr(begin, '\n', avail);
	if (nl) {
		*line = begin;
		*len = (size_t)(nl - begin);
		r->start += *len + 1;
		return 1;
	}
	if (!r->eof)
		return 0;
	*line = begin;
	*len = avail;
	r->start = r->end;
	return 1;
}
