/*
 * Allocation wrappers.  Each one dies with a message on failure: a process
 * that cannot allocate a few bytes cannot revert a fault safely either, so
 * the caller never sees NULL and never has to check.
 */
#ifndef FL_ALLOC_H
#define FL_ALLOC_H

#include <stddef.h>

void *fl_malloc(size_t n);
void *fl_calloc(size_t nmemb, size_t size);
void *fl_realloc(void *p, size_t n);
char *fl_strdup(const char *s);
char *fl_strndup(const char *s, size_t n);

/* Returns a newly allocated string made like printf; the caller frees it. */
char *fl_asprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
