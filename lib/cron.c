/*
 * Cron schedules: a parser for the five-field syntax into bit sets, and a
 * search for the next matching minute that skips whole months, days and
 * hours that cannot match.
 *
 * Accepted per field: "*", a value, a range "a-b", either of "*" and a
 * range followed by a step "/n", a value with a step (from the value to
 * the end of the field's range), and comma-separated lists of these.
 * Months and days of the week also take three-letter English names, in
 * any case.  A field counts as unrestricted (for the day of month / day of
 * week rule) only when it holds "*" with no step other than 1.
 */
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "cron.h"

#define NFIELDS 5
#define QUOTE_MAX 32 /* how much of a bad item an error quotes */
#define VALUE_MAX 9999

struct field_def {
	const char *name; /* in errors */
	int min, max;
	const char *const *names; /* names[i] is value i + name_base */
	int nnames, name_base;
};

static const char *const month_names[] = {"jan", "feb", "mar", "apr",
					  "may", "jun", "jul", "aug",
					  "sep", "oct", "nov", "dec"};
static const char *const day_names[] = {"sun", "mon", "tue", "wed",
					"thu", "fri", "sat"};

static const struct field_def fields[NFIELDS] = {
	{"minute", 0, 59, NULL, 0, 0},
	{"hour", 0, 23, NULL, 0, 0},
	{"day of month", 1, 31, NULL, 0, 0},
	{"month", 1, 12, month_names, 12, 1},
	{"day of week", 0, 7, day_names, 7, 0},
};

static const struct {
	const char *name;
	const char *spec;
} macros[] = {
	{"@yearly", "0 0 1 1 *"},  {"@annually", "0 0 1 1 *"},
	{"@monthly", "0 0 1 * *"}, {"@weekly", "0 0 * * 0"},
	{"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
	{"@hourly", "0 * * * *"},
};

/* The text of one field, and where parsing it has got to. */
struct cursor {
	const struct field_def *f;
	const char *p;	 /* next character */
	const char *end; /* end of the field */
	char *err;
	size_t errlen;
};

static int field_error(struct cursor *cur, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* Writes "field: message" into the caller's buffer; returns -1. */
static int field_error(struct cursor *cur, const char *fmt, ...)
{
	char msg[160];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (cur->err && cur->errlen)
		snprintf(cur->err, cur->errlen, "%s: %s", cur->f->name, msg);
	return -1;
}

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int is_alpha(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

/* How much of the text from a to b an error quotes. */
static int quoted(const char *a, const char *b)
{
	return b - a > QUOTE_MAX ? QUOTE_MAX : (int)(b - a);
}

/* The digits from *s, moving *s past them; a value that would grow past
 * VALUE_MAX stays there, which is out of every range. */
static int read_digits(const char **s, const char *end)
{
	int v = 0;

	for (; *s < end && is_digit(**s); (*s)++) {
		if (v <= VALUE_MAX)
			v = v * 10 + (**s - '0');
	}
	return v;
}

/* A number or a name at cur->p, within the field's range. */
static int read_value(struct cursor *cur, int *out)
{
	const struct field_def *f = cur->f;
	const char *s = cur->p;
	int v, i;

	if (s < cur->end && is_digit(*s)) {
		v = read_digits(&s, cur->end);
		if (v < f->min || v > f->max)
			return field_error(cur, "%.*s is out of range %d-%d",
					   quoted(cur->p, s), cur->p, f->min,
					   f->max);
		cur->p = s;
		*out = v;
		return 0;
	}
	while (s < cur->end && is_alpha(*s))
		s++;
	if (s == cur->p)
		return field_error(cur, "expected a value at '%.*s'",
				   quoted(cur->p, cur->end), cur->p);
	for (i = 0; i < f->nnames && s - cur->p == 3; i++) {
		if (!strncasecmp(cur->p, f->names[i], 3)) {
			*out = i + f->name_base;
			cur->p = s;
			return 0;
		}
	}
	return field_error(cur, "'%.*s' is not %s", quoted(cur->p, s), cur->p,
			   f->names ? "a number or a name" : "a number");
}

/* A step after '/': a plain number from 1 to the field's span. */
static int read_step(struct cursor *cur, int *out)
{
	int span = cur->f->max - cur->f->min + 1;
	const char *s = cur->p;
	int v;

	if (s >= cur->end || !is_digit(*s))
		return field_error(cur, "a step needs a number after '/'");
	v = read_digits(&s, cur->end);
	if (v < 1 || v > span)
		return field_error(cur, "step %.*s is out of range 1-%d",
				   quoted(cur->p, s), cur->p, span);
	cur->p = s;
	*out = v;
	return 0;
}

/* One item of a list, up to the next ',' or the end of the field. */
static int parse_item(struct cursor *cur, uint64_t *bits, int *star)
{
	const struct field_def *f = cur->f;
	int lo, hi, step = 1, v, is_star = 0, is_range = 0;

	if (cur->p < cur->end && *cur->p == '*') {
		is_star = 1;
		lo = f->min;
		hi = f->max;
		cur->p++;
	} else {
		if (read_value(cur, &lo))
			return -1;
		hi = lo;
		if (cur->p < cur->end && *cur->p == '-') {
			cur->p++;
			is_range = 1;
			if (read_value(cur, &hi))
				return -1;
			if (hi < lo)
				return field_error(cur,
						   "range %d-%d goes backwards",
						   lo, hi);
		}
	}
	if (cur->p < cur->end && *cur->p == '/') {
		cur->p++;
		if (read_step(cur, &step))
			return -1;
		if (!is_star && !is_range)
			hi = f->max;
	}
	if (cur->p < cur->end && *cur->p != ',') {
		unsigned char ch = (unsigned char)*cur->p;

		if (ch < 0x20 || ch > 0x7e)
			return field_error(cur, "unexpected byte 0x%02x", ch);
		return field_error(cur, "unexpected '%c'", ch);
	}
	for (v = lo; v <= hi; v += step)
		*bits |= 1ULL << v;
	if (is_star && step == 1)
		*star = 1;
	return 0;
}

static int parse_field(struct cursor *cur, uint64_t *bits, int *star)
{
	*bits = 0;
	*star = 0;
	for (;;) {
		if (cur->p >= cur->end || *cur->p == ',')
			return field_error(cur, "empty item in the list");
		if (parse_item(cur, bits, star))
			return -1;
		if (cur->p >= cur->end)
			return 0;
		cur->p++; /* the ',' */
	}
}

static int is_space(char c)
{
	return c == ' ' || c == '\t';
}

/* Splits spec into at most NFIELDS fields; returns how many there are
 * (counting past NFIELDS, so that an error can say how many). */
static int split_fields(const char *spec, const char **start, const char **end)
{
	const char *p = spec;
	int n = 0;

	for (;;) {
		while (is_space(*p))
			p++;
		if (!*p)
			return n;
		if (n < NFIELDS)
			start[n] = p;
		while (*p && !is_space(*p))
			p++;
		if (n < NFIELDS)
			end[n] = p;
		n++;
	}
}

static void set_err(char *err, size_t errlen, const char *msg)
{
	if (err && errlen)
		snprintf(err, errlen, "%s", msg);
}

static int parse_macro(struct fl_cron *c, const char *spec, char *err,
		       size_t errlen)
{
	size_t len = strlen(spec), i;
	char msg[96];

	while (len && is_space(spec[len - 1]))
		len--;
	for (i = 0; i < sizeof(macros) / sizeof(macros[0]); i++) {
		if (strlen(macros[i].name) == len &&
		    !strncasecmp(spec, macros[i].name, len))
			return fl_cron_parse(c, macros[i].spec, err, errlen);
	}
	snprintf(msg, sizeof(msg), "schedule: unknown macro '%.*s'",
		 quoted(spec, spec + len), spec);
	set_err(err, errlen, msg);
	return -1;
}

int fl_cron_parse(struct fl_cron *c, const char *spec, char *err, size_t errlen)
{
	const char *start[NFIELDS], *end[NFIELDS];
	uint64_t bits[NFIELDS];
	int star[NFIELDS], n, i;
	char msg[128];

	set_err(err, errlen, "");
	while (is_space(*spec))
		spec++;
	if (*spec == '@')
		return parse_macro(c, spec, err, errlen);

	n = split_fields(spec, start, end);
	if (n != NFIELDS) {
		snprintf(msg, sizeof(msg),
			 "schedule: want 5 fields (minute hour day-of-month "
			 "month day-of-week), got %d",
			 n);
		set_err(err, errlen, msg);
		return -1;
	}
	for (i = 0; i < NFIELDS; i++) {
		struct cursor cur = {&fields[i], start[i], end[i], err, errlen};

		if (parse_field(&cur, &bits[i], &star[i]))
			return -1;
	}

	/* 7 is Sunday too; the struct keeps only 0..6. */
	if (bits[4] & (1ULL << 7))
		bits[4] = (bits[4] & ~(1ULL << 7)) | 1ULL;
	memset(c, 0, sizeof(*c));
	c->minute = bits[0];
	c->hour = (uint32_t)bits[1];
	c->mday = (uint32_t)bits[2];
	c->month = (uint16_t)bits[3];
	c->wday = (uint8_t)bits[4];
	c->mday_star = star[2];
	c->wday_star = star[4];
	return 0;
}

/* The Vixie rule: with both day fields restricted, either one will do. */
static int day_matches(const struct fl_cron *c, const struct tm *tm)
{
	int dom = !!(c->mday & (1U << tm->tm_mday));
	int dow = !!(c->wday & (1U << tm->tm_wday));

	if (c->mday_star || c->wday_star)
		return dom && dow;
	return dom || dow;
}

/*
 * Each step either returns a matching minute or moves to the start of the
 * next month, day or hour that might match; timegm() normalises the
 * overflowing field (the 13th month, the 32nd day).  So a search over
 * five years takes at most a few thousand steps.
 */
time_t fl_cron_next(const struct fl_cron *c, time_t after)
{
	struct tm tm, lim;
	time_t t, limit;
	long r;

	if (!gmtime_r(&after, &lim) || lim.tm_year > INT_MAX - 5)
		return -1;
	lim.tm_year += 5;
	limit = timegm(&lim);
	r = (long)(after % 60);
	if (r < 0)
		r += 60;
	t = after - r + 60;

	for (;;) {
		uint64_t later;

		if (t > limit || !gmtime_r(&t, &tm))
			return -1;
		if (!(c->month & (1U << (tm.tm_mon + 1)))) {
			tm.tm_mon++;
			tm.tm_mday = 1;
			tm.tm_hour = 0;
			tm.tm_min = 0;
		} else if (!day_matches(c, &tm)) {
			tm.tm_mday++;
			tm.tm_hour = 0;
			tm.tm_min = 0;
		} else if (!(c->hour & (1U << tm.tm_hour))) {
			tm.tm_hour++;
			tm.tm_min = 0;
		} else {
			later = c->minute >> tm.tm_min;
			if (later & 1)
				return t;
			if (later) {
				tm.tm_min += __builtin_ctzll(later);
			} else {
				tm.tm_hour++;
				tm.tm_min = 0;
			}
		}
		tm.tm_sec = 0;
		t = timegm(&tm);
	}
}
