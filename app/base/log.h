/* Leveled, line-oriented logging to stderr, safe from any thread: plain text
 * lines, or one JSON object per line (logging.format). */
#ifndef WSRELAY_LOG_H
#define WSRELAY_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum log_level { LOG_LEVEL_DEBUG, LOG_LEVEL_INFO, LOG_LEVEL_WARN, LOG_LEVEL_ERROR };
/* logging.format: plain lines, or one JSON object per line. */
enum log_format { LOG_FORMAT_TEXT, LOG_FORMAT_JSON };

/* A structured field of a log line: in text after the message as
 * key=value, in JSON as a member ("key":"value", or "key":value when
 * number is true; value must then be a JSON number). */
struct log_field {
	const char *key;
	const char *value;
	bool number;
};

/* Thread: main, before other threads log (they read it without a lock). */
void log_set_level(enum log_level level);
void log_set_format(enum log_format format);
bool log_enabled(enum log_level level);

__attribute__((format(printf, 2, 3))) void log_write(enum log_level level, const char *fmt, ...);

/* log_write with fields (count of them; fields may be NULL when count is 0). */
__attribute__((format(printf, 4, 5))) void
log_event(enum log_level level, const struct log_field *fields, size_t count, const char *fmt, ...);

#define log_debug(...) log_write(LOG_LEVEL_DEBUG, __VA_ARGS__)
#define log_info(...)  log_write(LOG_LEVEL_INFO, __VA_ARGS__)
#define log_warn(...)  log_write(LOG_LEVEL_WARN, __VA_ARGS__)
#define log_error(...) log_write(LOG_LEVEL_ERROR, __VA_ARGS__)

#endif
