#include "exposition.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void exposition_init(struct exposition *e)
{
	memset(e, 0, sizeof(*e));
}

void exposition_free(struct exposition *e)
{
	free(e->text);
	memset(e, 0, sizeof(*e));
}

static bool reserve(struct exposition *e, size_t more)
{
	if (e->failed)
		return false;
	if (e->len + more + 1 <= e->cap)
		return true;
	size_t cap = e->cap ? e->cap : 4096;
	while (cap < e->len + more + 1)
		cap *= 2;
	char *grown = realloc(e->text, cap);
	if (!grown) {
		e->failed = true;
		return false;
	}
	e->text = grown;
	e->cap = cap;
	return true;
}

static void append(struct exposition *e, const char *s, size_t n)
{
	if (!reserve(e, n))
		return;
	memcpy(e->text + e->len, s, n);
	e->len += n;
	e->text[e->len] = '\0';
}

__attribute__((format(printf, 2, 3))) static void appendf(struct exposition *e, const char *fmt,
                                                          ...)
{
	char small[256];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(small, sizeof(small), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		append(e, small, (size_t)n);
		return;
	}
	if (!reserve(e, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(e->text + e->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	e->len += (size_t)n;
}

/* HELP text escapes backslash and newline; label values also '"'. */
static void append_escaped(struct exposition *e, const char *s, bool quote)
{
	for (; *s; s++) {
		if (*s == '\\')
			append(e, "\\\\", 2);
		else if (*s == '\n')
			append(e, "\\n", 2);
		else if (quote && *s == '"')
			append(e, "\\\"", 2);
		else
			append(e, s, 1);
	}
}

void exposition_family(struct exposition *e, const char *name, const char *type, const char *help)
{
	appendf(e, "# HELP %s ", name);
	append_escaped(e, help, false);
	appendf(e, "\n# TYPE %s %s\n", name, type);
}

static void sample_start(struct exposition *e, const char *name, const char *const *labels)
{
	append(e, name, strlen(name));
	if (!labels || !labels[0]) {
		append(e, " ", 1);
		return;
	}
	append(e, "{", 1);
	for (size_t i = 0; labels[i] && labels[i + 1]; i += 2) {
		appendf(e, "%s%s=\"", i ? "," : "", labels[i]);
		append_escaped(e, labels[i + 1], true);
		append(e, "\"", 1);
	}
	append(e, "} ", 2);
}

void exposition_uint(struct exposition *e, const char *name, const char *const *labels,
                     uint64_t value)
{
	sample_start(e, name, labels);
	appendf(e, "%" PRIu64 "\n", value);
}

void exposition_double(struct exposition *e, const char *name, const char *const *labels,
                       double value)
{
	sample_start(e, name, labels);
	/* The shortest form that reads back as the same double, as the official
	 * clients print: 0.76 rather than 0.76000000000000001. */
	char text[32];
	for (int digits = 15; digits <= 17; digits++) {
		snprintf(text, sizeof(text), "%.*g", digits, value);
		if (strtod(text, NULL) == value)
			break;
	}
	appendf(e, "%s\n", text);
}

void exposition_histogram(struct exposition *e, const char *name, const char *help,
                          const struct histogram *h, double scale)
{
	struct histogram_snapshot snap;
	histogram_read(h, &snap);
	exposition_family(e, name, "histogram", help);

	char metric[128];
	snprintf(metric, sizeof(metric), "%s_bucket", name);
	for (size_t i = 0; i <= snap.bucket_count; i++) {
		char le[32];
		if (i < snap.bucket_count)
			snprintf(le, sizeof(le), "%.9g", (double)h->bounds[i] * scale);
		else
			snprintf(le, sizeof(le), "+Inf");
		const char *labels[] = {"le", le, NULL};
		exposition_uint(e, metric, labels, snap.cumulative[i]);
	}
	snprintf(metric, sizeof(metric), "%s_sum", name);
	exposition_double(e, metric, NULL, (double)snap.sum * scale);
	snprintf(metric, sizeof(metric), "%s_count", name);
	exposition_uint(e, metric, NULL, snap.cumulative[snap.bucket_count]);
}
