/* Whole-file reads and writes for the tests. */
#ifndef WSRELAY_TESTS_TEST_FILE_H
#define WSRELAY_TESTS_TEST_FILE_H

#include <stddef.h>

/* The whole file as a malloc'd NUL-terminated string (length in *len if
 * len is not NULL), or NULL with errno set. */
char *test_file_read(const char *path, size_t *len);

/* Creates or truncates path with text. Returns 0 or -1. */
int test_file_write(const char *path, const char *text);

/* Removes path and everything below it, on past what it cannot remove
 * (each named on stderr). Returns 0, or -1 when anything is left. */
int test_file_remove_tree(const char *path);

#endif
