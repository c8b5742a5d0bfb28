/*
 * Cron schedules: every syntax form against the bit sets it must give,
 * refused specs with the field named in the error, next times across
 * month, year and leap-day boundaries, the day-of-month / day-of-week
 * rule, and random schedules checked against a plain day-by-day search.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cron.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define ALL_MINUTES ((1ULL << 60) - 1)
#define ALL_HOURS ((1U << 24) - 1)
#define ALL_MDAYS (((1U << 31) - 1) << 1)
#define ALL_MONTHS (((1U << 12) - 1) << 1)
#define ALL_WDAYS 0x7f
#define B(n) (1ULL << (n))

/* Seconds since the epoch for a UTC date and time. */
static time_t utc(int y, int mon, int d, int h, int mi)
{
	struct tm tm = {0};

	tm.tm_year = y - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	return timegm(&tm);
}

static void show(time_t t, char *out, size_t n)
{
	struct tm tm;

	if (t == -1 || !gmtime_r(&t, &tm)) {
		snprintf(out, n, "never");
		return;
	}
	strftime(out, n, "%Y-%m-%d %H:%M:%S %a", &tm);
}

struct parse_case {
	const char *spec;
	uint64_t minute;
	uint32_t hour, mday;
	uint16_t month;
	uint8_t wday;
	int mday_star, wday_star;
};

static void test_parse_forms(void **state)
{
	static const struct parse_case cases[] = {
		{"* * * * *", ALL_MINUTES, ALL_HOURS, ALL_MDAYS, ALL_MONTHS,
		 ALL_WDAYS, 1, 1},
		{"5 4 3 2 1", B(5), B(4), B(3), B(2), B(1), 0, 0},
		{"0,15,30,45 * * * *", B(0) | B(15) | B(30) | B(45), ALL_HOURS,
		 ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, 1, 1},
		{"10-12 22-23 * * *", B(10) | B(11) | B(12), B(22) | B(23),
		 ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, 1, 1},
		{"*/15 */12 * * *", B(0) | B(15) | B(30) | B(45), B(0) | B(12),
		 ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, 1, 1},
		{"1-10/3 * * * *", B(1) | B(4) | B(7) | B(10), ALL_HOURS,
		 ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, 1, 1},
		{"5/20 * * * *", B(5) | B(25) | B(45), ALL_HOURS, ALL_MDAYS,
		 ALL_MONTHS, ALL_WDAYS, 1, 1},
		{"1,5-6,*/30 * * * *", B(0) | B(1) | B(5) | B(6) | B(30),
		 ALL_HOURS, ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, 1, 1},
		{"0 0 * JAN,mar-May *", B(0), B(0), ALL_MDAYS,
		 B(1) | B(3) | B(4) | B(5), ALL_WDAYS, 1, 1},
		{"0 0 * dec * ", B(0), B(0), ALL_MDAYS, B(12), ALL_WDAYS, 1, 1},
		{"0 0 * * Mon-FRI", B(0), B(0), ALL_MDAYS, ALL_MONTHS,
		 B(1) | B(2) | B(3) | B(4) | B(5), 1, 0},
		{"0 0 * * 7", B(0), B(0), ALL_MDAYS, ALL_MONTHS, B(0), 1, 0},
		{"0 0 * * 5-7", B(0), B(0), ALL_MDAYS, ALL_MONTHS,
		 B(0) | B(5) | B(6), 1, 0},
		{"0 0 * * sat,sun", B(0), B(0), ALL_MDAYS, ALL_MONTHS,
		 B(0) | B(6), 1, 0},
		{"0 0 * * 0-7", B(0), B(0), ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, 1,
		 0},
		{"0 0 */10 * *", B(0), B(0), B(1) | B(11) | B(21) | B(31),
		 ALL_MONTHS, ALL_WDAYS, 0, 1},
		{"0 0 * * */1", B(0), B(0), ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, 1,
		 1},
		{"59 23 31 12 6", B(59), B(23), B(31), B(12), B(6), 0, 0},
		{" \t0\t0  1  *\t* ", B(0), B(0), B(1), ALL_MONTHS, ALL_WDAYS,
		 0, 1},
		{"@hourly", B(0), ALL_HOURS, ALL_MDAYS, ALL_MONTHS, ALL_WDAYS,
		 1, 1},
		{"@daily", B(0), B(0), ALL_MDAYS, ALL_MONTHS, ALL_WDAYS, 1, 1},
		{"@weekly", B(0), B(0), ALL_MDAYS, ALL_MONTHS, B(0), 1, 0},
		{"@monthly", B(0), B(0), B(1), ALL_MONTHS, ALL_WDAYS, 0, 1},
		{"@yearly", B(0), B(0), B(1), B(1), ALL_WDAYS, 0, 1},
		{"@ANNUALLY", B(0), B(0), B(1), B(1), ALL_WDAYS, 0, 1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		const struct parse_case *w = &cases[i];
		struct fl_cron c;
		char err[128] = "unset";

		if (fl_cron_parse(&c, w->spec, err, sizeof(err))) {
			print_error("'%s' refused: %s\n", w->spec, err);
			fail();
		}
		if (c.minute != w->minute || c.hour != w->hour ||
		    c.mday != w->mday || c.month != w->month ||
		    c.wday != w->wday || c.mday_star != w->mday_star ||
		    c.wday_star != w->wday_star) {
			print_error("'%s': minute %" PRIx64 " hour %x mday %x "
				    "month %x wday %x stars %d %d\n",
				    w->spec, c.minute, c.hour, c.mday, c.month,
				    c.wday, c.mday_star, c.wday_star);
			fail();
		}
	}
}

struct bad_case {
	const char *spec;
	const char *err; /* the whole message, or its start */
};

static void test_parse_refused(void **state)
{
	static const struct bad_case cases[] = {
		{"", "schedule: want 5 fields"},
		{"   ", "schedule: want 5 fields"},
		{"* * * *", "schedule: want 5 fields (minute hour day-of-month "
			    "month day-of-week), got 4"},
		{"* * * * * *", "schedule: want 5 fields (minute hour "
				"day-of-month month day-of-week), got 6"},
		{"60 * * * *", "minute: 60 is out of range 0-59"},
		{"99999999999999999999 * * * *",
		 "minute: 99999999999999999999 is out of range 0-59"},
		{"jan * * * *", "minute: 'jan' is not a number"},
		{"1,,2 * * * *", "minute: empty item in the list"},
		{"1, * * * *", "minute: empty item in the list"},
		{",1 * * * *", "minute: empty item in the list"},
		{"*/0 * * * *", "minute: step 0 is out of range 1-60"},
		{"*/61 * * * *", "minute: step 61 is out of range 1-60"},
		{"*/ * * * *", "minute: a step needs a number after '/'"},
		{"1-2-3 * * * *", "minute: unexpected '-'"},
		{"** * * * *", "minute: unexpected '*'"},
		{"-5 * * * *", "minute: expected a value at '-5'"},
		{"* 24 * * *", "hour: 24 is out of range 0-23"},
		{"* 5-3 * * *", "hour: range 5-3 goes backwards"},
		{"* 1x * * *", "hour: unexpected 'x'"},
		{"* * 0 * *", "day of month: 0 is out of range 1-31"},
		{"* * 32 * *", "day of month: 32 is out of range 1-31"},
		{"* * 1- * *", "day of month: expected a value at ''"},
		{"* * * 13 *", "month: 13 is out of range 1-12"},
		{"* * * 0 *", "month: 0 is out of range 1-12"},
		{"* * * foo *", "month: 'foo' is not a number or a name"},
		{"* * * january *", "month: 'january' is not a number or a "
				    "name"},
		{"* * * mon *", "month: 'mon' is not a number or a name"},
		{"* * * * 8", "day of week: 8 is out of range 0-7"},
		{"* * * * sunday", "day of week: 'sunday' is not a number or a "
				   "name"},
		{"* * * * sat-sun", "day of week: range 6-0 goes backwards"},
		{"* * * * */9", "day of week: step 9 is out of range 1-8"},
		{"* * * * 1\x01", "day of week: unexpected byte 0x01"},
		{"@reboot", "schedule: unknown macro '@reboot'"},
		{"@daily 5", "schedule: unknown macro '@daily 5'"},
		{"@", "schedule: unknown macro '@'"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct fl_cron c, before;
		char err[128] = "";

		memset(&c, 0xab, sizeof(c));
		before = c;
		if (fl_cron_parse(&c, cases[i].spec, err, sizeof(err)) != -1) {
			print_error("'%s' accepted\n", cases[i].spec);
			fail();
		}
		if (strncmp(err, cases[i].err, strlen(cases[i].err))) {
			print_error("'%s': error '%s', want '%s'\n",
				    cases[i].spec, err, cases[i].err);
			fail();
		}
		if (memcmp(&c, &before, sizeof(c))) {
			print_error("'%s' changed the output\n", cases[i].spec);
			fail();
		}
	}
}

/* A small error buffer cuts the message, a NULL one is not written. */
static void test_parse_error_buffers(void **state)
{
	struct fl_cron c;
	char err[8];

	(void)state;
	assert_int_equal(fl_cron_parse(&c, "* * * * 9", err, sizeof(err)), -1);
	assert_string_equal(err, "day of ");
	assert_int_equal(fl_cron_parse(&c, "* * * * 9", NULL, 0), -1);
	assert_int_equal(fl_cron_parse(&c, "x", NULL, 0), -1);
	assert_int_equal(fl_cron_parse(&c, "@x", NULL, 0), -1);
}

struct next_case {
	const char *spec;
	time_t after;
	time_t want; /* -1: none within five years */
};

static void test_next(void **state)
{
	const struct next_case cases[] = {
		{"* * * * *", utc(2026, 12, 3, 12, 0), utc(2026, 12, 3, 12, 1)},
		{"* * * * *", utc(2026, 12, 3, 12, 0) + 30,
		 utc(2026, 12, 3, 12, 1)},
		{"*/15 * * * *", utc(2026, 12, 3, 12, 14) + 59,
		 utc(2026, 12, 3, 12, 15)},
		{"*/15 * * * *", utc(2026, 12, 3, 12, 15),
		 utc(2026, 12, 3, 12, 30)},
		{"*/15 * * * *", utc(2026, 12, 3, 23, 45),
		 utc(2026, 12, 4, 0, 0)},
		{"0 12 * * *", utc(2027, 1, 31, 13, 0), utc(2027, 2, 1, 12, 0)},
		{"0 0 1 1 *", utc(2026, 12, 31, 23, 59), utc(2027, 1, 1, 0, 0)},
		{"59 23 31 12 *", utc(2026, 12, 31, 23, 59),
		 utc(2027, 12, 31, 23, 59)},
		{"30 23 31 * *", utc(2027, 2, 1, 0, 0),
		 utc(2027, 3, 31, 23, 30)},
		{"30 23 31 * *", utc(2027, 3, 31, 23, 30),
		 utc(2027, 5, 31, 23, 30)},
		{"0 3 * * 1-5", utc(2026, 12, 4, 3, 0), utc(2026, 12, 7, 3, 0)},
		{"0 0 29 2 *", utc(2026, 3, 1, 0, 0), utc(2028, 2, 29, 0, 0)},
		{"0 0 29 2 *", utc(2028, 2, 29, 0, 0), utc(2032, 2, 29, 0, 0)},
		{"0 0 29 2 *", utc(2028, 2, 28, 23, 59),
		 utc(2028, 2, 29, 0, 0)},
		/* 2100 is no leap year, and 2104 is too far. */
		{"0 0 29 2 *", utc(2096, 3, 1, 0, 0), -1},
		{"0 0 30 2 *", utc(2026, 1, 1, 0, 0), -1},
		{"0 0 31 4,6,9,11 *", utc(2026, 1, 1, 0, 0), -1},
		/* Within five years, by a day. */
		{"0 0 29 2 *", utc(2099, 3, 1, 0, 0), utc(2104, 2, 29, 0, 0)},
		/* Only one day field restricted: that one decides. */
		{"0 0 13 * *", utc(2026, 12, 1, 0, 0), utc(2026, 12, 13, 0, 0)},
		{"0 0 * * 5", utc(2026, 12, 1, 0, 0), utc(2026, 12, 4, 0, 0)},
		/* Both restricted: the 13th or a Friday. */
		{"0 0 13 * 5", utc(2026, 12, 1, 0, 0), utc(2026, 12, 4, 0, 0)},
		{"0 0 13 * 5", utc(2026, 12, 11, 0, 0),
		 utc(2026, 12, 13, 0, 0)},
		{"0 0 13 * fri", utc(2026, 12, 13, 0, 0),
		 utc(2026, 12, 18, 0, 0)},
		{"0 0 */2 * 5", utc(2026, 12, 1, 0, 0), utc(2026, 12, 3, 0, 0)},
		{"0 0 * * 7", utc(2026, 12, 1, 0, 0), utc(2026, 12, 6, 0, 0)},
		{"@weekly", utc(2026, 12, 2, 10, 0), utc(2026, 12, 6, 0, 0)},
		{"@monthly", utc(2026, 12, 2, 10, 0), utc(2027, 1, 1, 0, 0)},
		{"@hourly", utc(2026, 12, 2, 10, 0), utc(2026, 12, 2, 11, 0)},
		{"@yearly", utc(2026, 12, 2, 10, 0), utc(2027, 1, 1, 0, 0)},
		/* Before the epoch: whole minutes still count from 0. */
		{"* * * * *", -1, 0},
		{"* * * * *", -90, -60},
		{"0 0 1 1 *", -1, 0},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct fl_cron c;
		char err[128], got[64], want[64];
		time_t t;

		assert_int_equal(
			fl_cron_parse(&c, cases[i].spec, err, sizeof(err)), 0);
		t = fl_cron_next(&c, cases[i].after);
		if (t != cases[i].want) {
			show(cases[i].after, err, sizeof(err));
			show(t, got, sizeof(got));
			show(cases[i].want, want, sizeof(want));
			print_error("'%s' after %s: got %s, want %s\n",
				    cases[i].spec, err, got, want);
			fail();
		}
	}
}

/* A time too far out for struct tm finds nothing instead of wrapping. */
static void test_next_far_future(void **state)
{
	struct fl_cron c;

	(void)state;
	assert_int_equal(fl_cron_parse(&c, "* * * * *", NULL, 0), 0);
	assert_int_equal(fl_cron_next(&c, INT64_MAX), -1);
	assert_int_equal(fl_cron_next(&c, INT64_MAX - 30), -1);
}

/*
 * Random schedules.  The sets are drawn first and written out as text in
 * one of several forms, so that the parser's result can be compared with
 * what was meant, and the next time with a day-by-day, minute-by-minute
 * search written independently of fl_cron_next().
 */
struct ref {
	uint64_t set[5]; /* minute, hour, mday, month, wday (0..6) */
	int star[5];
};

static uint64_t rng_state;

static uint64_t rnd(void)
{
	/* xorshift64*, seeded once per run. */
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dULL;
}

static int rnd_in(int lo, int hi)
{
	return lo + (int)(rnd() % (uint64_t)(hi - lo + 1));
}

static const int lo_of[5] = {0, 0, 1, 1, 0};
static const int hi_of[5] = {59, 23, 31, 12, 6};

/* Writes v as a number or a name; a lone Sunday may be written 7. */
static void put_value(int field, int v, int lone, char **p, char *end)
{
	static const char *const mon[] = {"Jan", "feb", "MAR", "apr",
					  "May", "jun", "jul", "AUG",
					  "sep", "oct", "Nov", "dec"};
	static const char *const day[] = {"sun", "Mon", "tue", "WED",
					  "thu", "fri", "Sat"};
	int form = rnd_in(0, 2);

	if (field == 3 && form == 0)
		*p += snprintf(*p, (size_t)(end - *p), "%s", mon[v - 1]);
	else if (field == 4 && form == 0)
		*p += snprintf(*p, (size_t)(end - *p), "%s", day[v]);
	else if (field == 4 && v == 0 && lone && form == 1)
		*p += snprintf(*p, (size_t)(end - *p), "7");
	else
		*p += snprintf(*p, (size_t)(end - *p), "%d", v);
}

/* One random field into text and its set. */
static void random_field(int field, struct ref *r, char **p, char *end)
{
	int lo = lo_of[field], hi = hi_of[field];
	int items = rnd_in(1, 3), i, v, a, b, step, kind;

	if (rnd_in(0, 3) == 0) {
		*p += snprintf(*p, (size_t)(end - *p), "*");
		for (v = lo; v <= hi; v++)
			r->set[field] |= 1ULL << v;
		r->star[field] = 1;
		return;
	}
	for (i = 0; i < items; i++) {
		if (i)
			*p += snprintf(*p, (size_t)(end - *p), ",");
		a = rnd_in(lo, hi);
		b = rnd_in(a, hi);
		step = rnd_in(1, hi - lo + 1);
		kind = rnd_in(0, 4);
		if (kind == 3 && (field != 4 || a == 0))
			kind = 0;
		switch (kind) {
		case 0: /* a value */
			put_value(field, a, 1, p, end);
			r->set[field] |= 1ULL << a;
			break;
		case 1: /* a range */
			put_value(field, a, 0, p, end);
			*p += snprintf(*p, (size_t)(end - *p), "-");
			put_value(field, b, 0, p, end);
			for (v = a; v <= b; v++)
				r->set[field] |= 1ULL << v;
			break;
		case 2: /* a range with a step */
			put_value(field, a, 0, p, end);
			*p += snprintf(*p, (size_t)(end - *p), "-");
			put_value(field, b, 0, p, end);
			*p += snprintf(*p, (size_t)(end - *p), "/%d", step);
			for (v = a; v <= b; v += step)
				r->set[field] |= 1ULL << v;
			break;
		case 3: /* a range up to Sunday written as 7 */
			*p += snprintf(*p, (size_t)(end - *p), "%d-7", a);
			for (v = a; v <= 6; v++)
				r->set[field] |= 1ULL << v;
			r->set[field] |= 1;
			break;
		default: /* a stepped star, never unrestricted */
			step = step < 2 ? 2 : step;
			*p += snprintf(*p, (size_t)(end - *p), "*/%d", step);
			for (v = lo; v <= hi; v += step)
				r->set[field] |= 1ULL << v;
			break;
		}
	}
}

static int ref_day(const struct ref *r, const struct tm *tm)
{
	int dom = (r->set[2] >> tm->tm_mday) & 1;
	int dow = (r->set[4] >> tm->tm_wday) & 1;

	if (r->star[2] || r->star[4])
		return dom && dow;
	return dom || dow;
}

static time_t ref_next(const struct ref *r, time_t after)
{
	struct tm tm, lim;
	time_t day, limit, t;
	int m;

	gmtime_r(&after, &lim);
	lim.tm_year += 5;
	limit = timegm(&lim);
	for (day = after - after % 86400; day <= limit; day += 86400) {
		gmtime_r(&day, &tm);
		if (!((r->set[3] >> (tm.tm_mon + 1)) & 1) || !ref_day(r, &tm))
			continue;
		for (m = 0; m < 1440; m++) {
			t = day + m * 60;
			if (t <= after || t > limit)
				continue;
			if (((r->set[1] >> (m / 60)) & 1) &&
			    ((r->set[0] >> (m % 60)) & 1))
				return t;
		}
	}
	return -1;
}

#define RANDOM_SCHEDULES 3000

static void test_next_random(void **state)
{
	uint64_t seed = 0x5eedc0de2026ULL;
	const char *env = getenv("FL_TEST_SEED");
	int i, f;

	(void)state;
	if (env)
		seed = strtoull(env, NULL, 0);
	printf("cron random schedules: seed 0x%" PRIx64
	       " (FL_TEST_SEED=0x%" PRIx64 " replays it)\n",
	       seed, seed);
	rng_state = seed ? seed : 1;
	for (i = 0; i < RANDOM_SCHEDULES; i++) {
		struct ref r = {0};
		struct fl_cron c;
		char spec[256], err[128], *p = spec;
		time_t after, got, want;

		for (f = 0; f < 5; f++) {
			if (f)
				p += snprintf(p,
					      (size_t)(spec + sizeof(spec) - p),
					      " ");
			random_field(f, &r, &p, spec + sizeof(spec));
		}
		after = (time_t)rnd_in(946684800 / 60, 3786912000 / 60) * 60 +
			rnd_in(0, 59);
		if (fl_cron_parse(&c, spec, err, sizeof(err))) {
			print_error("case %d: '%s' refused: %s\n", i, spec,
				    err);
			fail();
		}
		if (c.minute != r.set[0] || c.hour != r.set[1] ||
		    c.mday != r.set[2] || c.month != r.set[3] ||
		    c.wday != r.set[4] || c.mday_star != r.star[2] ||
		    c.wday_star != r.star[4]) {
			print_error("case %d: '%s' parsed into other sets\n", i,
				    spec);
			fail();
		}
		got = fl_cron_next(&c, after);
		want = ref_next(&r, after);
		if (got != want) {
			print_error("case %d: '%s' after %" PRId64
				    ": got %" PRId64 ", want %" PRId64 "\n",
				    i, spec, (int64_t)after, (int64_t)got,
				    (int64_t)want);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_forms),
		cmocka_unit_test(test_parse_refused),
		cmocka_unit_test(test_parse_error_buffers),
		cmocka_unit_test(test_next),
		cmocka_unit_test(test_next_far_future),
		cmocka_unit_test(test_next_random),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
