#include "log.h"

#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "log_json.h"

static atomic_int current_level = LOG_LEVEL_INFO;
static atomic_int current_format = LOG_FORMAT_TEXT;

static const char *const level_tags[] = {
    [LOG_LEVEL_DEBUG] = "DEBUG",
    [LOG_LEVEL_INFO] = "INFO",
    [LOG_LEVEL_WARN] = "WARN",
    [LOG_LEVEL_ERROR] = "ERROR",
};

/* The JSON format's names: those of logging.level. */
static const char *const level_names[] = {
    [LOG_LEVEL_DEBUG] = "debug",
    [LOG_LEVEL_INFO] = "info",
    [LOG_LEVEL_WARN] = "warn",
    [LOG_LEVEL_ERROR] = "error",
};

/* A message longer than this is cut; a JSON line can grow to six bytes per
 * byte of it (control characters), and the fields come on top. */
#define LOG_MESSAGE_MAX ((size_t)1024)
#define LOG_LINE_MAX    (8 * LOG_MESSAGE_MAX)

void log_set_level(enum log_level level)
{
	atomic_store(&current_level, (int)level);
}

void log_set_format(enum log_format format)
{
	atomic_store(&current_format, (int)format);
}

bool log_enabled(enum log_level level)
{
	return (int)level >= atomic_load_explicit(&current_level, memory_order_relaxed);
}

/* "2026-12-06T00:45:20.022Z": RFC 3339, UTC, milliseconds. */
static void format_time(char *out, size_t cap)
{
	struct timespec now;
	struct tm tm;
	clock_gettime(CLOCK_REALTIME, &now);
	gmtime_r(&now.tv_sec, &tm);
	snprintf(out, cap, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ", tm.tm_year + 1900, tm.tm_mon + 1,
	         tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, now.tv_nsec / 1000000L);
}

/* Appends text at line[pos] within cap (keeping room for the newline and
 * the NUL); returns the new end. */
static size_t append(char *line, size_t cap, size_t pos, const char *text)
{
	size_t room = cap - 2 - pos;
	size_t n = strnlen(text, room);
	memcpy(line + pos, text, n);
	return pos + n;
}

static size_t format_text(char *line, const char *time, enum log_level level, const char *message,
                          const struct log_field *fields, size_t count)
{
	size_t pos = (size_t)snprintf(line, LOG_LINE_MAX, "%s %-5s ", time, level_tags[level]);
	pos = append(line, LOG_LINE_MAX, pos, message);
	for (size_t i = 0; i < count; i++) {
		pos = append(line, LOG_LINE_MAX, pos, " ");
		pos = append(line, LOG_LINE_MAX, pos, fields[i].key);
		pos = append(line, LOG_LINE_MAX, pos, "=");
		pos = append(line, LOG_LINE_MAX, pos, fields[i].value);
	}
	return pos;
}

static size_t format_json(char *line, const char *time, enum log_level level, const char *message,
                          const struct log_field *fields, size_t count)
{
	/* Fields and message are bounded (LOG_MESSAGE_MAX, short values) so that
	 * the whole object, with its closing brace, fits in LOG_LINE_MAX. */
	size_t pos = (size_t)snprintf(line, LOG_LINE_MAX,
	                              "{\"time\":\"%s\",\"level\":\"%s\",\"message\":", time,
	                              level_names[level]);
	pos = log_json_string(line, LOG_LINE_MAX - 4 * LOG_MESSAGE_MAX, pos, message);
	for (size_t i = 0; i < count && pos < LOG_LINE_MAX - LOG_MESSAGE_MAX; i++) {
		line[pos++] = ',';
		pos = log_json_string(line, LOG_LINE_MAX - LOG_MESSAGE_MAX / 2, pos, fields[i].key);
		line[pos++] = ':';
		if (fields[i].number)
			pos =
			    append(line, LOG_LINE_MAX - LOG_MESSAGE_MAX / 4, pos, fields[i].value);
		else
			pos = log_json_string(line, LOG_LINE_MAX - LOG_MESSAGE_MAX / 4, pos,
			                      fields[i].value);
	}
	line[pos++] = '}';
	return pos;
}

__attribute__((format(printf, 4, 0))) static void log_vevent(enum log_level level,
                                                             const struct log_field *fields,
                                                             size_t count, const char *fmt,
                                                             va_list ap)
{
	char message[LOG_MESSAGE_MAX];
	vsnprintf(message, sizeof(message), fmt, ap);
	char time[96];
	format_time(time, sizeof(time));

	/* One buffered line and a single fputs, so lines from many threads never
	 * interleave mid-line. */
	char line[LOG_LINE_MAX];
	size_t len = atomic_load_explicit(&current_format, memory_order_relaxed) == LOG_FORMAT_JSON
	                 ? format_json(line, time, level, message, fields, count)
	                 : format_text(line, time, level, message, fields, count);
	line[len] = '\n';
	line[len + 1] = '\0';
	fputs(line, stderr);
}

void log_write(enum log_level level, const char *fmt, ...)
{
	if (!log_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vevent(level, NULL, 0, fmt, ap);
	va_end(ap);
}

void log_event(enum log_level level, const struct log_field *fields, size_t count, const char *fmt,
               ...)
{
	if (!log_enabled(level))
		return;
	va_list ap;
	va_start(ap, fmt);
	log_vevent(level, fields, count, fmt, ap);
	va_end(ap);
}
