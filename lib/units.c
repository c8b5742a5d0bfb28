/*
 * Durations, quantities and rates.  Every parser works on exact integers
 * with checked arithmetic: no floating point, so "0.1s" is 100 ms exactly
 * and a value one past the limit is refused instead of wrapping.
 *
 * A number is "12", "1.5" or ".5"; a trailing point ("5.") and signs are
 * refused.  Everything these parsers accept, Go's time.ParseDuration and
 * Kubernetes' resource.ParseQuantity accept too, with the same value; the
 * one exception is durations past Go's range of about 292 years, which
 * int64 nanoseconds cannot hold but int64 milliseconds can.
 */
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "units.h"

#define MS_PER_S 1000
#define MS_PER_M (60 * MS_PER_S)
#define MS_PER_H (60 * MS_PER_M)

typedef unsigned __int128 u128;

/* The digits and the fraction of one number, as spans of the text. */
struct number {
	const char *ip; /* integer digits */
	size_t ip_len;
	const char *fp; /* fraction digits, after the point */
	size_t fp_len;
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

/*
 * Splits the number at *s and moves *s past it.  Returns -1 when there is
 * no digit at all or when a point has no digit after it.
 */
static int number_scan(const char **s, struct number *num)
{
	const char *p = *s;

	num->ip = p;
	while (is_digit(*p))
		p++;
	num->ip_len = (size_t)(p - num->ip);
	num->fp = p;
	num->fp_len = 0;
	if (*p == '.') {
		num->fp = ++p;
		while (is_digit(*p))
			p++;
		num->fp_len = (size_t)(p - num->fp);
		if (!num->fp_len)
			return -1;
	}
	if (!num->ip_len && !num->fp_len)
		return -1;
	*s = p;
	return 0;
}

/* Digits to int64, or -1 on overflow. */
static int digits_i64(const char *p, size_t n, int64_t *out)
{
	int64_t v = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, p[i] - '0', &v))
			return -1;
	}
	*out = v;
	return 0;
}

/*
 * The fraction .fp times unit, which must come out a whole number.  Once
 * its trailing zeros are gone, a fraction of more than 7 digits never
 * does: the largest unit, 3600000 ms, is 2^7 * 3^2 * 5^5.
 */
static int fraction_ms(const char *fp, size_t n, int64_t unit, int64_t *out)
{
	int64_t f, scale = 1;
	size_t i;

	while (n && fp[n - 1] == '0')
		n--;
	if (n > 7)
		return -1;
	if (digits_i64(fp, n, &f) < 0)
		return -1;
	for (i = 0; i < n; i++)
		scale *= 10;
	f *= unit;
	if (f % scale)
		return -1;
	*out = f / scale;
	return 0;
}

static int64_t duration_unit(const char *u, size_t n)
{
	static const struct {
		const char *name;
		int64_t ms;
	} units[] = {
		{"ms", 1},
		{"s", MS_PER_S},
		{"m", MS_PER_M},
		{"h", MS_PER_H},
	};
	size_t i;

	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strlen(units[i].name) == n && !memcmp(u, units[i].name, n))
			return units[i].ms;
	}
	return -1;
}

/* One <number><unit> group at *s, added to *total. */
static int duration_group(const char **s, int64_t *total)
{
	struct number num;
	const char *u;
	int64_t unit, whole, frac;

	if (number_scan(s, &num) < 0)
		return -1;
	u = *s;
	while (**s && !is_digit(**s) && **s != '.')
		(*s)++;
	unit = duration_unit(u, (size_t)(*s - u));
	if (unit < 0)
		return -1;

	if (digits_i64(num.ip, num.ip_len, &whole) < 0 ||
	    __builtin_mul_overflow(whole, unit, &whole))
		return -1;
	if (fraction_ms(num.fp, num.fp_len, unit, &frac) < 0 ||
	    __builtin_add_overflow(whole, frac, &whole) ||
	    __builtin_add_overflow(*total, whole, total))
		return -1;
	return 0;
}

/*
 * Groups may repeat and come in any order ("1s1h" is 3601 s), as in Go.
 * Unlike Go, a bare "0" is refused: every number needs its unit.
 */
int fl_duration_parse(const char *s, int64_t *ms)
{
	int64_t total = 0;

	if (!*s)
		return -1;
	while (*s) {
		if (duration_group(&s, &total) < 0)
			return -1;
	}
	*ms = total;
	return 0;
}

/* "12s", "1.5s" or "0.25s" for ms under a minute; nothing for zero. */
static void format_seconds(char *p, size_t n, unsigned ms)
{
	unsigned frac = ms % MS_PER_S;
	int width = 3;

	if (!ms)
		return;
	while (frac && frac % 10 == 0) {
		frac /= 10;
		width--;
	}
	if (frac)
		snprintf(p, n, "%u.%0*us", ms / MS_PER_S, width, frac);
	else
		snprintf(p, n, "%us", ms / MS_PER_S);
}

/* "1h30m", "1m0.5s", "2s" for ms of a second or more. */
static void format_hms(char *p, size_t n, uint64_t ms)
{
	int len = 0;

	if (ms >= MS_PER_H)
		len = snprintf(p, n, "%" PRIu64 "h", ms / MS_PER_H);
	ms %= MS_PER_H;
	if (ms >= MS_PER_M)
		len += snprintf(p + len, n - len, "%um",
				(unsigned)(ms / MS_PER_M));
	format_seconds(p + len, n - len, (unsigned)(ms % MS_PER_M));
}

/*
 * Hours, minutes and seconds, each left out when zero; seconds carry the
 * milliseconds as a fraction without trailing zeros.  Under a second the
 * unit is ms.  Negative values get a leading '-', as Go writes them,
 * although the parser refuses them.  The text is cut to fit n bytes.
 */
char *fl_duration_format(int64_t ms, char *out, size_t n)
{
	uint64_t u = ms < 0 ? -(uint64_t)ms : (uint64_t)ms;
	char tmp[32];
	int len = 0;

	if (ms < 0)
		tmp[len++] = '-';
	if (!u)
		snprintf(tmp, sizeof(tmp), "0s");
	else if (u < MS_PER_S)
		snprintf(tmp + len, sizeof(tmp) - len, "%ums", (unsigned)u);
	else
		format_hms(tmp + len, sizeof(tmp) - len, u);
	if (n)
		snprintf(out, n, "%s", tmp);
	return out;
}

/* A quantity in thousandths may reach this before it is narrowed. */
#define MILLI_CAP ((u128)INT64_MAX * 1000 + 999)

#define KILO ((u128)1000)
#define KIBI ((u128)1024)

/* A suffix's worth in thousandths, or 0 if the suffix is unknown. */
static u128 quantity_suffix(const char *s)
{
	static const struct {
		const char *name;
		u128 milli;
	} suffixes[] = {
		{"m", 1},
		{"", KILO},
		{"k", KILO * KILO},
		{"M", KILO * KILO * KILO},
		{"G", KILO * KILO * KILO * KILO},
		{"T", KILO * KILO * KILO * KILO * KILO},
		{"P", KILO * KILO * KILO * KILO * KILO * KILO},
		{"E", KILO * KILO * KILO * KILO * KILO * KILO * KILO},
		{"Ki", KILO * KIBI},
		{"Mi", KILO * KIBI * KIBI},
		{"Gi", KILO * KIBI * KIBI * KIBI},
		{"Ti", KILO * KIBI * KIBI * KIBI * KIBI},
		{"Pi", KILO * KIBI * KIBI * KIBI * KIBI * KIBI},
		{"Ei", KILO * KIBI * KIBI * KIBI * KIBI * KIBI * KIBI},
	};
	size_t i;

	for (i = 0; i < sizeof(suffixes) / sizeof(suffixes[0]); i++) {
		if (!strcmp(s, suffixes[i].name))
			return suffixes[i].milli;
	}
	return 0;
}

/*
 * The fraction .fp times mult, by Horner's rule from the last digit:
 * every partial sum must divide by ten, or the whole is no integer.  The
 * sums stay under ten times mult, far inside 128 bits.
 */
static int fraction_times(const char *fp, size_t n, u128 mult, u128 *out)
{
	u128 sum = 0;

	while (n--) {
		if (sum % 10)
			return -1;
		sum = (u128)(fp[n] - '0') * mult + sum / 10;
	}
	if (sum % 10)
		return -1;
	*out = sum / 10;
	return 0;
}

/* The quantity in thousandths, up to MILLI_CAP, or -1. */
static int quantity_milli(const char *s, u128 *milli)
{
	struct number num;
	u128 mult, whole = 0, frac;
	size_t i;

	if (number_scan(&s, &num) < 0)
		return -1;
	mult = quantity_suffix(s);
	if (!mult)
		return -1;

	for (i = 0; i < num.ip_len; i++) {
		whole = whole * 10 + (u128)(num.ip[i] - '0');
		if (whole > MILLI_CAP)
			return -1;
	}
	if (whole > MILLI_CAP / mult)
		return -1;
	whole *= mult;
	if (fraction_times(num.fp, num.fp_len, mult, &frac) < 0)
		return -1;
	if (whole + frac > MILLI_CAP)
		return -1;
	*milli = whole + frac;
	return 0;
}

int fl_quantity_parse_milli(const char *s, int64_t *milli)
{
	u128 v;

	if (quantity_milli(s, &v) < 0 || v > INT64_MAX)
		return -1;
	*milli = (int64_t)v;
	return 0;
}

int fl_quantity_parse_int(const char *s, int64_t *v)
{
	u128 m;

	if (quantity_milli(s, &m) < 0 || m % 1000)
		return -1;
	*v = (int64_t)(m / 1000);
	return 0;
}

/* Units are matched without regard to case, as tc does ("10Mbit"). */
int fl_rate_parse(const char *s, uint64_t *bits_per_sec)
{
	static const struct {
		const char *name;
		uint64_t mult;
	} units[] = {
		{"bit", 1},
		{"kbit", 1000},
		{"mbit", 1000000},
		{"gbit", 1000000000},
	};
	uint64_t v = 0;
	const char *p = s;
	size_t i;

	for (; is_digit(*p); p++) {
		if (__builtin_mul_overflow(v, 10, &v) ||
		    __builtin_add_overflow(v, (uint64_t)(*p - '0'), &v))
			return -1;
	}
	if (p == s)
		return -1;
	for (i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (strcasecmp(p, units[i].name))
			continue;
		if (__builtin_mul_overflow(v, units[i].mult, &v))
			return -1;
		*bits_per_sec = v;
		return 0;
	}
	return -1;
}
