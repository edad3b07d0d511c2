/* Splits a descriptor's bytes into lines without stdio, so the caller can
 * poll() the descriptor: a FILE would hide buffered lines from poll. */
#ifndef WSRELAY_CLIENT_LINE_READER_H
#define WSRELAY_CLIENT_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>

struct line_reader {
	int fd;
	char *buf;
	size_t cap;
	size_t start; /* unconsumed bytes are buf[start, end) */
	size_t end;
	size_t max_line;
	bool eof;
};

void line_reader_init(struct line_reader *r, int fd, size_t max_line);
void line_reader_free(struct line_reader *r);

/* One read() into the buffer. Returns 1 when bytes arrived, 0 at end of
 * input, -1 on error (errno set; ENOMEM when a line would pass max_line). */
int line_reader_fill(struct line_reader *r);

/* The next complete line, without its '\n' (a final line without one counts
 * once input has ended). *line stays valid until the next fill. Returns 1
 * with a line, 0 when none is complete yet. */
int line_reader_next(struct line_reader *r, const char **line, size_t *len);

#endif
