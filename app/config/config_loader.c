/* Every load error has the same shape, "path:line:column: message" on one
 * line (1-based), so editors and people can jump to it. */
#include <stdarg.h>
#include <stdio.h>

#include "config_loader.h"

/* Writes the position, then prefix, then the message; marks are 0-based. */
__attribute__((format(printf, 4, 0))) static int
vfail(struct config_loader *ld, yaml_mark_t mark, const char *prefix, const char *fmt, va_list ap)
{
	int n;

	if (!ld->err || ld->errlen == 0)
		return -1;
	n = snprintf(ld->err, ld->errlen, "%s:%zu:%zu: %s", ld->path, mark.line + 1,
	             mark.column + 1, prefix);
	if (n >= 0 && (size_t)n < ld->errlen)
		vsnprintf(ld->err + n, ld->errlen - (size_t)n, fmt, ap);
	return -1;
}

int config_loader_fail_at(struct config_loader *ld, yaml_mark_t mark, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfail(ld, mark, "", fmt, ap);
	va_end(ap);
	return -1;
}

int config_loader_fail_value(struct config_loader *ld, const yaml_node_t *node, const char *fmt,
                             ...)
{
	char prefix[sizeof(ld->name) + 2];
	va_list ap;

	snprintf(prefix, sizeof(prefix), "%s: ", ld->name);
	va_start(ap, fmt);
	vfail(ld, node->start_mark, prefix, fmt, ap);
	va_end(ap);
	return -1;
}

int config_loader_out_of_memory(struct config_loader *ld, const yaml_node_t *node)
{
	return config_loader_fail_at(ld, node->start_mark, "out of memory");
}
