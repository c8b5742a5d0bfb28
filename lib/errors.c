#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "errors.h"

void fl_errors_add(struct fl_errors *errs, int line, const char *path,
		   const char *fmt, ...)
{
	struct fl_error *e;
	va_list ap;

	if (errs->n >= FL_ERRORS_MAX) {
		errs->dropped++;
		return;
	}
	e = &errs->e[errs->n++];
	e->line = line;
	snprintf(e->path, sizeof(e->path), "%s", path ? path : "");
	va_start(ap, fmt);
	vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
	va_end(ap);
}

char *fl_errors_format(const struct fl_errors *errs, size_t i, const char *file,
		       char *out, size_t n)
{
	const struct fl_error *e = &errs->e[i];
	size_t off = 0;

	out[0] = '\0';
	if (file && *file)
		off += snprintf(out + off, n - off, "%s:", file);
	if (e->line > 0 && off < n)
		off += snprintf(out + off, n - off, "%d:", e->line);
	if (off > 0 && off < n)
		off += snprintf(out + off, n - off, " ");
	if (e->path[0] && off < n)
		off += snprintf(out + off, n - off, "%s: ", e->path);
	if (off < n)
		snprintf(out + off, n - off, "%s", e->msg);
	return out;
}
