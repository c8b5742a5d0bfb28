/*
 * A short list of validation errors, each naming a field path and, when
 * the input came from a file, the line.  Validators keep going after the
 * first error so that a user fixes a manifest in one pass, but the list is
 * bounded: a hostile document cannot make it grow without end.
 */
#ifndef FL_ERRORS_H
#define FL_ERRORS_H

#include <stddef.h>

#define FL_ERRORS_MAX 16

struct fl_error {
	int line;	/* 1-based source line; 0 when unknown */
	char path[256]; /* "spec.faults[1].target"; empty for the whole */
	char msg[512];	/* lowercase, says what is wrong */
};

struct fl_errors {
	struct fl_error e[FL_ERRORS_MAX];
	size_t n;	/* entries filled, at most FL_ERRORS_MAX */
	size_t dropped; /* errors that did not fit */
};

/* Appends an error; past FL_ERRORS_MAX it only counts it. */
void fl_errors_add(struct fl_errors *errs, int line, const char *path,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Formats error i as "FILE:LINE: PATH: MSG" (parts left out when empty)
 * into out; returns out. */
char *fl_errors_format(const struct fl_errors *errs, size_t i, const char *file,
		       char *out, size_t n);

#endif
