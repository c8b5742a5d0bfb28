/*
 * A growable byte buffer with a hard maximum.  Everything that grows from
 * network or user input goes through one of these, so that a hostile or
 * simply huge input ends in an error instead of unbounded memory.
 *
 * The caller owns the struct: fl_buf_init() before use, fl_buf_release()
 * after.  The contents are always NUL-terminated (the NUL is not counted in
 * len), so b->data can be used as a string when it holds text.
 */
#ifndef FL_BUF_H
#define FL_BUF_H

#include <stdarg.h>
#include <stddef.h>

struct fl_buf {
	char *data; /* NULL until the first append */
	size_t len; /* bytes used, not counting the trailing NUL */
	size_t cap; /* bytes allocated */
	size_t max; /* largest len allowed; 0 means no limit */
};

void fl_buf_init(struct fl_buf *b, size_t max);
void fl_buf_release(struct fl_buf *b);
void fl_buf_reset(struct fl_buf *b); /* len = 0, keeps the memory */

/* Each returns 0, or -1 when the result would exceed b->max (the buffer is
 * then left unchanged). */
int fl_buf_add(struct fl_buf *b, const void *p, size_t n);
int fl_buf_adds(struct fl_buf *b, const char *s);
int fl_buf_addc(struct fl_buf *b, char c);
int fl_buf_addf(struct fl_buf *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
int fl_buf_vaddf(struct fl_buf *b, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));

/* Hands the contents to the caller (who frees them) and empties b.  Never
 * returns NULL: an empty buffer gives an empty string. */
char *fl_buf_detach(struct fl_buf *b, size_t *len);

#endif
