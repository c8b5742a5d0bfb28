/*
 * Durations, quantities and rates: tables of accepted and refused text,
 * the limits of int64 on both sides, and format/parse round trips.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <string.h>

#include "units.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define SENTINEL ((int64_t)0x5eed5eed)

struct i64_case {
	const char *s;
	int64_t want;
};

typedef int (*i64_parser)(const char *s, int64_t *out);

static void expect_i64(i64_parser parse, const char *what,
		       const struct i64_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int64_t got = SENTINEL;
		int rc = parse(cases[i].s, &got);

		if (rc != 0 || got != cases[i].want) {
			print_error("%s '%s': rc %d, got %" PRId64
				    ", want %" PRId64 "\n",
				    what, cases[i].s, rc, got, cases[i].want);
			fail();
		}
	}
}

/* A refused text returns -1 and leaves the output alone. */
static void expect_i64_refused(i64_parser parse, const char *what,
			       const char *const *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		int64_t got = SENTINEL;
		int rc = parse(cases[i], &got);

		if (rc != -1 || got != SENTINEL) {
			print_error("%s '%s' accepted: rc %d, got %" PRId64
				    "\n",
				    what, cases[i], rc, got);
			fail();
		}
	}
}

static void test_duration_valid(void **state)
{
	static const struct i64_case cases[] = {
		{"0s", 0},
		{"0ms", 0},
		{"0h", 0},
		{"0.0s", 0},
		{"1ms", 1},
		{"250ms", 250},
		{"1s", 1000},
		{"1.5s", 1500},
		{".5s", 500},
		{"0.001s", 1},
		{"1.000s", 1000},
		{"1.50000000000000000000000s", 1500},
		{"00001s", 1000},
		{"1m", 60000},
		{"0.5m", 30000},
		{"1m30s", 90000},
		{"1h", 3600000},
		{"1.5h", 5400000},
		{"1h30m", 5400000},
		{"2h45m30.5s", 9930500},
		{"0.0005h", 1800},
		{"0.00001h", 36},
		{"0.0000025h", 9},
		{"1s500ms", 1500},
		{"1s1h", 3601000},
		{"1s1s", 2000},
		{"24h", 86400000},
		{"9223372036854775807ms", INT64_MAX},
		{"9223372036854775.807s", INT64_MAX},
		{"153722867280912m55.807s", INT64_MAX},
		{"2562047788015h", 9223372036854000000},
		{"2562047788015h12m55s807ms", INT64_MAX},
		{"2562047788015h12m55.807s", INT64_MAX},
	};

	(void)state;
	expect_i64(fl_duration_parse, "duration", cases, N(cases));
}

static void test_duration_invalid(void **state)
{
	static const char *const cases[] = {
		"",
		"0",
		"1",
		"1.5",
		"-1s",
		"+1s",
		"-0s",
		" 1s",
		"1s ",
		"1 s",
		"1s 1m",
		"1.s",
		".s",
		".",
		"s",
		"ms",
		"1x",
		"1sec",
		"1mss",
		"1S",
		"1H",
		"1us",
		"1ns",
		"1d",
		"1e3ms",
		"1..5s",
		"1.5.5s",
		"1h-1m",
		"0.5ms",
		"1.0001s",
		"1.5000001s",
		"0.0000001h",
		"0.00000025h",
		"1.0000000000000000000001s",
		"9223372036854775808ms",
		"99999999999999999999ms",
		"9223372036854775.808s",
		"2562047788016h",
		"2562047788015h12m55s808ms",
		"2562047788015h12m56s",
		"9223372036854775807ms1ms",
		"5124095576030431h",
	};

	(void)state;
	expect_i64_refused(fl_duration_parse, "duration", cases, N(cases));
}

static void test_duration_format(void **state)
{
	static const struct {
		int64_t ms;
		const char *want;
	} cases[] = {
		{0, "0s"},
		{1, "1ms"},
		{250, "250ms"},
		{999, "999ms"},
		{1000, "1s"},
		{1001, "1.001s"},
		{1010, "1.01s"},
		{1500, "1.5s"},
		{59999, "59.999s"},
		{60000, "1m"},
		{60500, "1m0.5s"},
		{90000, "1m30s"},
		{3600000, "1h"},
		{3600500, "1h0.5s"},
		{3660000, "1h1m"},
		{3661001, "1h1m1.001s"},
		{5400000, "1h30m"},
		{86400000, "24h"},
		{INT64_MAX, "2562047788015h12m55.807s"},
		{-1, "-1ms"},
		{-1500, "-1.5s"},
		{INT64_MIN, "-2562047788015h12m55.808s"},
	};
	char out[32];
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		memset(out, 'x', sizeof(out));
		assert_ptr_equal(
			fl_duration_format(cases[i].ms, out, sizeof(out)), out);
		assert_string_equal(out, cases[i].want);
	}
}

static void test_duration_format_small_buffer(void **state)
{
	char out[8];

	(void)state;
	memset(out, 'x', sizeof(out));
	fl_duration_format(5400000, out, 4);
	assert_memory_equal(out, "1h3\0xxxx", 8);

	memset(out, 'x', sizeof(out));
	fl_duration_format(5400000, out, 0);
	assert_memory_equal(out, "xxxxxxxx", 8);
}

static void expect_round_trip(int64_t ms)
{
	char out[32];
	int64_t back = SENTINEL;

	fl_duration_format(ms, out, sizeof(out));
	if (fl_duration_parse(out, &back) != 0 || back != ms) {
		print_error("%" PRId64 " formats as '%s', parses as %" PRId64
			    "\n",
			    ms, out, back);
		fail();
	}
}

/* xorshift64: the same sequence every run, so a failure reproduces. */
static uint64_t next_random(uint64_t *x)
{
	*x ^= *x << 13;
	*x ^= *x >> 7;
	*x ^= *x << 17;
	return *x;
}

static void test_duration_round_trip(void **state)
{
	static const int64_t fixed[] = {
		0,
		1,
		9,
		10,
		999,
		1000,
		1001,
		59999,
		60000,
		60001,
		3599999,
		3600000,
		3600001,
		86399999,
		86400000,
		INT64_MAX,
		INT64_MAX - 1,
		INT64_MAX - 999,
	};
	uint64_t x = 0x9e3779b97f4a7c15;
	size_t i;

	(void)state;
	for (i = 0; i < N(fixed); i++)
		expect_round_trip(fixed[i]);
	/* Random magnitudes, so that small and huge values both occur. */
	for (i = 0; i < 20000; i++) {
		uint64_t r = next_random(&x);

		expect_round_trip(
			(int64_t)((r >> 1) >> (next_random(&x) % 63)));
	}
}

static void test_quantity_milli_valid(void **state)
{
	static const struct i64_case cases[] = {
		{"0", 0},
		{"0m", 0},
		{"1", 1000},
		{"007", 7000},
		{"500m", 500},
		{"1m", 1},
		{"1.5", 1500},
		{"0.5", 500},
		{".5", 500},
		{"0.001", 1},
		{"1.000000000000000000000000", 1000},
		{"1k", 1000000},
		{"1.5k", 1500000},
		{"2M", 2000000000},
		{"1G", 1000000000000},
		{"1T", 1000000000000000},
		{"9P", 9000000000000000000},
		{"1Ki", 1024000},
		{"0.5Ki", 512000},
		{"0.0009765625Ki", 1000},
		{"0.0000009765625Ki", 1},
		{"128Mi", 134217728000},
		{"1.5Gi", 1610612736000},
		{"1Ti", 1099511627776000},
		{"8388Ti", 9222703533785088000},
		{"9223372036854775807m", INT64_MAX},
		{"9223372036854775.807", INT64_MAX},
	};

	(void)state;
	expect_i64(fl_quantity_parse_milli, "quantity", cases, N(cases));
}

/* Text no quantity parser takes, whether milli or whole. */
static const char *const bad_quantities[] = {
	"",
	"-1",
	"+1",
	"-0",
	" 1",
	"1 ",
	"1.",
	".",
	"Ki",
	"m",
	"1K",
	"1KI",
	"1ki",
	"1Kib",
	"1e3",
	"1E3",
	"1.5.5",
	"1i",
	"1mi",
	"0x10",
	"1m ",
	"abc",
	"1,5",
	"1 Gi",
	"1b",
	"1MM",
	"1.0.0",
	"1..5",
	"1Gi1",
	"1E18",
	"99999999999999999999999999999999999999999999",
	"99999999999999999999999999999999999999999999Ei",
	/* 2^65 Ei in thousandths is 125 * 2^128: zero, were it to wrap. */
	"36893488147419103232Ei",
};

static void test_quantity_milli_invalid(void **state)
{
	static const char *const cases[] = {
		"1.5m",
		"0.05m",
		"1.05m",
		"0.0001",
		"0.0000001Ki",
		"9223372036854775808m",
		"9223372036854775.808",
		"9223372036854776",
		"10P",
		"1E",
		"1Ei",
		"8389Ti",
	};

	(void)state;
	expect_i64_refused(fl_quantity_parse_milli, "quantity", cases,
			   N(cases));
	expect_i64_refused(fl_quantity_parse_milli, "quantity", bad_quantities,
			   N(bad_quantities));
}

static void test_quantity_int_valid(void **state)
{
	static const struct i64_case cases[] = {
		{"0", 0},
		{"1", 1},
		{"2000m", 2},
		{"1k", 1000},
		{"1.5k", 1500},
		{"1Ki", 1024},
		{"0.5Ki", 512},
		{"128Mi", 134217728},
		{"1.5Gi", 1610612736},
		{"1Ei", 1152921504606846976},
		{"7Ei", 8070450532247928832},
		{"9E", 9000000000000000000},
		{"9.223372036854775807E", INT64_MAX},
		{"9223372036854775807", INT64_MAX},
		{"9223372036854775807000m", INT64_MAX},
	};

	(void)state;
	expect_i64(fl_quantity_parse_int, "quantity", cases, N(cases));
}

static void test_quantity_int_invalid(void **state)
{
	static const char *const cases[] = {
		"1500m",
		"1m",
		"0.5",
		"0.3Ki",
		"1.0001k",
		"8Ei",
		"10E",
		"9223372036854775808",
		"9.223372036854775808E",
	};

	(void)state;
	expect_i64_refused(fl_quantity_parse_int, "quantity", cases, N(cases));
	expect_i64_refused(fl_quantity_parse_int, "quantity", bad_quantities,
			   N(bad_quantities));
}

static void test_rate(void **state)
{
	static const struct {
		const char *s;
		uint64_t want;
	} good[] = {
		{"0bit", 0},
		{"1bit", 1},
		{"10kbit", 10000},
		{"10mbit", 10000000},
		{"1gbit", 1000000000},
		{"10Mbit", 10000000},
		{"10KBIT", 10000},
		{"18446744073709551615bit", UINT64_MAX},
		{"18446744073gbit", 18446744073000000000u},
	};
	static const char *const bad[] = {
		"",
		"bit",
		"10",
		"10 mbit",
		" 10mbit",
		"10mbit ",
		"-1mbit",
		"+1mbit",
		"1.5mbit",
		"10mbps",
		"10kbits",
		"10Kibit",
		"mbit10",
		"10tbit",
		"10bps",
		"18446744073709551616bit",
		"18446744074gbit",
		"99999999999999999999999kbit",
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(good); i++) {
		uint64_t got = 7;

		if (fl_rate_parse(good[i].s, &got) || got != good[i].want) {
			print_error("rate '%s'\n", good[i].s);
			fail();
		}
	}
	for (i = 0; i < N(bad); i++) {
		uint64_t got = 7;

		if (fl_rate_parse(bad[i], &got) != -1 || got != 7) {
			print_error("rate '%s' accepted\n", bad[i]);
			fail();
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_duration_valid),
		cmocka_unit_test(test_duration_invalid),
		cmocka_unit_test(test_duration_format),
		cmocka_unit_test(test_duration_format_small_buffer),
		cmocka_unit_test(test_duration_round_trip),
		cmocka_unit_test(test_quantity_milli_valid),
		cmocka_unit_test(test_quantity_milli_invalid),
		cmocka_unit_test(test_quantity_int_valid),
		cmocka_unit_test(test_quantity_int_invalid),
		cmocka_unit_test(test_rate),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
