/*
 * Kubernetes-style durations ("250ms", "1h30m") and quantities ("128Mi",
 * "500m", "1.5G"), and tc-style bit rates ("10mbit").
 *
 * Parsers return 0 and store the value, or -1 for text that is not
 * well-formed or whose value does not fit; they never read past the NUL.
 */
#ifndef FL_UNITS_H
#define FL_UNITS_H

#include <stddef.h>
#include <stdint.h>

/* Durations in milliseconds.  Accepts one or more <number><unit> groups,
 * unit one of ms, s, m, h; the number may have a fraction ("1.5s").  The
 * result must fit in int64 milliseconds and be exactly representable in
 * milliseconds ("0.5ms" is refused). */
int fl_duration_parse(const char *s, int64_t *ms);

/* Formats ms as the shortest canonical duration ("1h30m", "250ms", "0s")
 * into out (size n, at least 32 bytes is always enough); returns out. */
char *fl_duration_format(int64_t ms, char *out, size_t n);

/* Quantities: a decimal number with an optional suffix, binary (Ki, Mi,
 * Gi, Ti, Pi, Ei) or decimal (m, k, M, G, T, P, E).  Stored in
 * thousandths ("500m" is 500, "1" is 1000, "1Ki" is 1024000), so CPU
 * millicores and byte sizes share one parser.  Refuses negative values
 * and overflow. */
int fl_quantity_parse_milli(const char *s, int64_t *milli);

/* A quantity that must be a whole number of units (bytes): "128Mi" gives
 * 134217728; "1500m" is refused. */
int fl_quantity_parse_int(const char *s, int64_t *v);

/* A tc-style rate: <digits><unit>, unit bit, kbit, mbit or gbit (powers of
 * 1000), to bits per second. */
int fl_rate_parse(const char *s, uint64_t *bits_per_sec);

#endif
