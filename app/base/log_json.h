/* JSON string output for the log's JSON format (writing only: nothing here
 * parses JSON). */
#ifndef WSRELAY_LOG_JSON_H
#define WSRELAY_LOG_JSON_H

#include <stddef.h>

/* Appends s as a JSON string, quotes included, at dst[pos] and returns the
 * new end. '"', '\' and control characters are escaped, and bytes that are
 * not well-formed UTF-8 become U+FFFD, so the result is always valid JSON
 * in valid UTF-8. When room runs short, s is cut at a character boundary,
 * never inside an escape, and the closing quote still fits: the caller
 * guarantees cap - pos >= 2 and gets a NUL-terminated dst. Thread: any. */
size_t log_json_string(char *dst, size_t cap, size_t pos, const char *s);

#endif
