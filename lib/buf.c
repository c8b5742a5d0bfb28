/*
 * A growable byte buffer with a hard maximum.  Growth doubles the
 * allocation, but never past what the maximum can use, so a buffer capped
 * at 1 MiB never holds more than 1 MiB + 1 bytes.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"

#define BUF_MIN_CAP 64

void fl_buf_init(struct fl_buf *b, size_t max)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
	b->max = max;
}

/* Frees the memory; b is then as fl_buf_init() left it, same maximum. */
void fl_buf_release(struct fl_buf *b)
{
	free(b->data);
	fl_buf_init(b, b->max);
}

void fl_buf_reset(struct fl_buf *b)
{
	b->len = 0;
	if (b->data)
		b->data[0] = '\0';
}

/*
 * Makes room for n more bytes plus the NUL.  Returns -1, touching nothing,
 * when len + n would pass the maximum (or size_t).
 */
static int buf_grow(struct fl_buf *b, size_t n)
{
	size_t want, cap;

	if (__builtin_add_overflow(b->len, n, &want))
		return -1;
	if (b->max && want > b->max)
		return -1;
	if (__builtin_add_overflow(want, 1, &want))
		return -1;
	if (want <= b->cap)
		return 0;

	cap = b->cap ? b->cap : BUF_MIN_CAP;
	while (cap < want) {
		if (__builtin_mul_overflow(cap, 2, &cap)) {
			cap = want;
			break;
		}
	}
	if (b->max && cap > b->max + 1)
		cap = b->max + 1;

	b->data = fl_realloc(b->data, cap);
	if (!b->cap)
		b->data[0] = '\0';
	b->cap = cap;
	return 0;
}

/* Whether p points into the memory b owns, which a grow could move. */
static int buf_owns(const struct fl_buf *b, const void *p)
{
	uintptr_t start = (uintptr_t)b->data, at = (uintptr_t)p;

	return b->data && at >= start && at < start + b->cap;
}

int fl_buf_add(struct fl_buf *b, const void *p, size_t n)
{
	size_t off = 0;
	int inside = buf_owns(b, p);

	if (inside)
		off = (uintptr_t)p - (uintptr_t)b->data;
	if (buf_grow(b, n) < 0)
		return -1;
	if (inside)
		p = b->data + off;

	if (n)
		memmove(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = '\0';
	return 0;
}

int fl_buf_adds(struct fl_buf *b, const char *s)
{
	return fl_buf_add(b, s, strlen(s));
}

int fl_buf_addc(struct fl_buf *b, char c)
{
	return fl_buf_add(b, &c, 1);
}

int fl_buf_addf(struct fl_buf *b, const char *fmt, ...)
{
	va_list ap;
	int rc;

	va_start(ap, fmt);
	rc = fl_buf_vaddf(b, fmt, ap);
	va_end(ap);
	return rc;
}

/*
 * Formats into the spare room first; only when that is too small does it
 * grow and format again.  A failed attempt may have scribbled past len,
 * which is fine as long as the NUL at len is put back.
 */
int fl_buf_vaddf(struct fl_buf *b, const char *fmt, va_list ap)
{
	va_list again;
	size_t room;
	int rc = -1;
	int n;

	va_copy(again, ap);
	if (buf_grow(b, 0) < 0)
		goto out;

	room = b->cap - b->len;
	n = vsnprintf(b->data + b->len, room, fmt, ap);
	if (n < 0)
		goto out;
	if ((size_t)n >= room) {
		if (buf_grow(b, (size_t)n) < 0)
			goto out;
		vsnprintf(b->data + b->len, (size_t)n + 1, fmt, again);
	}
	b->len += (size_t)n;
	rc = 0;
out:
	if (rc < 0 && b->data)
		b->data[b->len] = '\0';
	va_end(again);
	return rc;
}

char *fl_buf_detach(struct fl_buf *b, size_t *len)
{
	char *s = b->data ? b->data : fl_strdup("");

	if (len)
		*len = b->len;
	fl_buf_init(b, b->max);
	return s;
}
