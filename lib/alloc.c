/*
 * Allocation wrappers that never return NULL.  This is the one file in lib/
 * that prints: when memory runs out there is nobody left to return an error
 * to, so it says what happened on stderr and aborts.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"

/*
 * Writes the message with one write() on a stack buffer: stdio may itself
 * need memory, and this runs precisely when there is none.
 */
static void __attribute__((noreturn)) die_nomem(const char *what, size_t n)
{
	static const char head[] = "faultline: fatal: out of memory";
	char msg[128];
	int len;

	if (n)
		len = snprintf(msg, sizeof(msg), "%s (%s of %zu bytes)\n", head,
			       what, n);
	else
		len = snprintf(msg, sizeof(msg), "%s (%s)\n", head, what);
	if (len >= (int)sizeof(msg))
		len = sizeof(msg) - 1;
	if (len > 0) {
		ssize_t r = write(STDERR_FILENO, msg, (size_t)len);

		(void)r;
	}
	abort();
}

/* malloc(0) may return NULL legitimately: ask for one byte instead. */
void *fl_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		die_nomem("malloc", n);
	return p;
}

void *fl_calloc(size_t nmemb, size_t size)
{
	void *p;

	if (!nmemb || !size)
		nmemb = size = 1;
	p = calloc(nmemb, size);
	if (!p) {
		size_t total;

		if (__builtin_mul_overflow(nmemb, size, &total))
			total = (size_t)-1;
		die_nomem("calloc", total);
	}
	return p;
}

/* realloc(p, 0) frees p on some systems; keep one byte instead. */
void *fl_realloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);

	if (!q)
		die_nomem("realloc", n);
	return q;
}

char *fl_strdup(const char *s)
{
	return fl_strndup(s, strlen(s));
}

char *fl_strndup(const char *s, size_t n)
{
	size_t len = strnlen(s, n);
	char *p = fl_malloc(len + 1);

	memcpy(p, s, len);
	p[len] = '\0';
	return p;
}

char *fl_asprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	int r;

	va_start(ap, fmt);
	r = vasprintf(&s, fmt, ap);
	va_end(ap);
	if (r < 0)
		die_nomem("asprintf", 0);
	return s;
}
