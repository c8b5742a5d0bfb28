/*
 * Prometheus metrics: the exact text rendered for counters, gauges,
 * labelled series and histograms; number formatting; escaping of label
 * values and help text; the series cap and its dropped counter; refused
 * declarations and updates (which change nothing); concurrent updates.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#define DROPPED_HEAD                                                     \
	"# HELP faultline_metrics_dropped_total Metric updates dropped " \
	"because a metric had too many series.\n"                        \
	"# TYPE faultline_metrics_dropped_total counter\n"

/* Renders m and compares it with want, whole. */
static void expect_render(fl_metrics *m, const char *want)
{
	size_t len = 0;
	char *got = fl_metrics_render(m, &len);

	assert_non_null(got);
	assert_string_equal(got, want);
	assert_int_equal(len, strlen(want));
	free(got);
}

static void test_empty_has_dropped_counter(void **state)
{
	fl_metrics *m = fl_metrics_new();

	(void)state;
	assert_non_null(m);
	expect_render(m, DROPPED_HEAD "faultline_metrics_dropped_total 0\n");
	fl_metrics_free(m);
}

static void test_counters_and_gauges(void **state)
{
	fl_metrics *m = fl_metrics_new();

	(void)state;
	assert_int_equal(fl_metrics_declare(m, "fl_reconciles_total",
					    FL_METRIC_COUNTER,
					    "Reconciles done.", NULL, 0),
			 0);
	assert_int_equal(fl_metrics_declare(m, "fl_experiments",
					    FL_METRIC_GAUGE,
					    "Experiments by phase.", NULL, 0),
			 0);
	assert_int_equal(fl_metrics_declare(m, "fl_unused", FL_METRIC_GAUGE,
					    "Never set.", NULL, 0),
			 0);

	assert_int_equal(
		fl_metrics_add(m, "fl_reconciles_total", "result=\"error\"", 1),
		0);
	assert_int_equal(fl_metrics_add(m, "fl_reconciles_total", NULL, 1), 0);
	assert_int_equal(fl_metrics_add(m, "fl_reconciles_total", "", 2), 0);
	assert_int_equal(
		fl_metrics_add(m, "fl_reconciles_total", "result=\"error\"", 1),
		0);
	assert_int_equal(fl_metrics_set(m, "fl_experiments",
					"phase=\"Running\",ns=\"shop\"", 3),
			 0);
	assert_int_equal(fl_metrics_set(m, "fl_experiments",
					"phase=\"Completed\",ns=\"shop\"", 1.5),
			 0);
	assert_int_equal(fl_metrics_add(m, "fl_experiments",
					"phase=\"Running\",ns=\"shop\"", -1),
			 0);

	expect_render(m, DROPPED_HEAD
		      "faultline_metrics_dropped_total 0\n"
		      "# HELP fl_reconciles_total Reconciles done.\n"
		      "# TYPE fl_reconciles_total counter\n"
		      "fl_reconciles_total{result=\"error\"} 2\n"
		      "fl_reconciles_total 3\n"
		      "# HELP fl_experiments Experiments by phase.\n"
		      "# TYPE fl_experiments gauge\n"
		      "fl_experiments{phase=\"Running\",ns=\"shop\"} 2\n"
		      "fl_experiments{phase=\"Completed\",ns=\"shop\"} 1.5\n"
		      "# HELP fl_unused Never set.\n"
		      "# TYPE fl_unused gauge\n");
	fl_metrics_free(m);
}

static void test_histogram(void **state)
{
	fl_metrics *m = fl_metrics_new();
	const double b[] = {0.25, 1, 2.5};

	(void)state;
	assert_int_equal(fl_metrics_declare(m, "fl_phase_seconds",
					    FL_METRIC_HISTOGRAM,
					    "Time spent in a phase.", b, 3),
			 0);
	/* 0.25 is in its own bucket: the bounds are inclusive. */
	assert_int_equal(fl_metrics_observe(m, "fl_phase_seconds", NULL, 0.125),
			 0);
	assert_int_equal(fl_metrics_observe(m, "fl_phase_seconds", NULL, 0.25),
			 0);
	assert_int_equal(fl_metrics_observe(m, "fl_phase_seconds", NULL, 0.5),
			 0);
	assert_int_equal(fl_metrics_observe(m, "fl_phase_seconds", NULL, 20),
			 0);
	assert_int_equal(fl_metrics_observe(m, "fl_phase_seconds",
					    "phase=\"Injecting\"", 2),
			 0);

	expect_render(
		m, DROPPED_HEAD
		"faultline_metrics_dropped_total 0\n"
		"# HELP fl_phase_seconds Time spent in a phase.\n"
		"# TYPE fl_phase_seconds histogram\n"
		"fl_phase_seconds_bucket{le=\"0.25\"} 2\n"
		"fl_phase_seconds_bucket{le=\"1\"} 3\n"
		"fl_phase_seconds_bucket{le=\"2.5\"} 3\n"
		"fl_phase_seconds_bucket{le=\"+Inf\"} 4\n"
		"fl_phase_seconds_sum 20.875\n"
		"fl_phase_seconds_count 4\n"
		"fl_phase_seconds_bucket{phase=\"Injecting\",le=\"0.25\"} 0\n"
		"fl_phase_seconds_bucket{phase=\"Injecting\",le=\"1\"} 0\n"
		"fl_phase_seconds_bucket{phase=\"Injecting\",le=\"2.5\"} 1\n"
		"fl_phase_seconds_bucket{phase=\"Injecting\",le=\"+Inf\"} 1\n"
		"fl_phase_seconds_sum{phase=\"Injecting\"} 2\n"
		"fl_phase_seconds_count{phase=\"Injecting\"} 1\n");
	fl_metrics_free(m);
}

static void test_histogram_without_buckets(void **state)
{
	fl_metrics *m = fl_metrics_new();

	(void)state;
	assert_int_equal(
		fl_metrics_declare(m, "h", FL_METRIC_HISTOGRAM, "H.", NULL, 0),
		0);
	assert_int_equal(fl_metrics_observe(m, "h", "a=\"b\"", 0.5), 0);
	expect_render(m, DROPPED_HEAD "faultline_metrics_dropped_total 0\n"
				      "# HELP h H.\n# TYPE h histogram\n"
				      "h_bucket{a=\"b\",le=\"+Inf\"} 1\n"
				      "h_sum{a=\"b\"} 0.5\n"
				      "h_count{a=\"b\"} 1\n");
	fl_metrics_free(m);
}

/* The sample line of gauge g after setting it to v. */
static void expect_number(fl_metrics *m, double v, const char *want)
{
	char *got, line[128];

	assert_int_equal(fl_metrics_set(m, "g", NULL, v), 0);
	got = fl_metrics_render(m, NULL);
	snprintf(line, sizeof(line), "\ng %s\n", want);
	if (!strstr(got, line))
		fail_msg("want '%s' in:\n%s", want, got);
	free(got);
}

static void test_number_format(void **state)
{
	fl_metrics *m = fl_metrics_new();

	(void)state;
	assert_int_equal(
		fl_metrics_declare(m, "g", FL_METRIC_GAUGE, "G.", NULL, 0), 0);
	expect_number(m, 0, "0");
	expect_number(m, -0.0, "0");
	expect_number(m, 42, "42");
	expect_number(m, -2, "-2");
	expect_number(m, 1e6, "1000000");
	expect_number(m, 9007199254740992.0, "9007199254740992");
	expect_number(m, 1e20, "1e+20");
	expect_number(m, 0.1, "0.1");
	expect_number(m, 1.0 / 3, "0.3333333333333333");
	expect_number(m, 123456789.125, "123456789.125");
	expect_number(m, 2.5e-7, "2.5e-07");
	expect_number(m, INFINITY, "+Inf");
	expect_number(m, -INFINITY, "-Inf");
	expect_number(m, NAN, "NaN");
	fl_metrics_free(m);
}

static void test_escape(void **state)
{
	fl_metrics *m = fl_metrics_new();
	char out[64], labels[96];

	(void)state;
	assert_string_equal(fl_metrics_escape("a\"b\\c\nd", out, sizeof(out)),
			    "a\\\"b\\\\c\\nd");
	assert_string_equal(fl_metrics_escape("plain", out, sizeof(out)),
			    "plain");
	assert_string_equal(fl_metrics_escape("", out, sizeof(out)), "");
	/* Cut to fit, never inside an escape. */
	assert_string_equal(fl_metrics_escape("abcdef", out, 4), "abc");
	assert_string_equal(fl_metrics_escape("a\"b", out, 4), "a\\\"");
	assert_string_equal(fl_metrics_escape("a\"b", out, 3), "a");
	assert_string_equal(fl_metrics_escape("\n", out, 2), "");
	out[0] = 'x';
	fl_metrics_escape("abc", out, 0);
	assert_int_equal(out[0], 'x');

	/* An escaped value is a valid label; help escapes \ and newline. */
	assert_int_equal(fl_metrics_declare(m, "c", FL_METRIC_COUNTER,
					    "Two\nlines, a \\ and \"quotes\".",
					    NULL, 0),
			 0);
	snprintf(labels, sizeof(labels), "name=\"%s\"",
		 fl_metrics_escape("x\"y\\z\nw", out, sizeof(out)));
	assert_int_equal(fl_metrics_add(m, "c", labels, 1), 0);
	expect_render(m, DROPPED_HEAD
		      "faultline_metrics_dropped_total 0\n"
		      "# HELP c Two\\nlines, a \\\\ and \"quotes\".\n"
		      "# TYPE c counter\n"
		      "c{name=\"x\\\"y\\\\z\\nw\"} 1\n");
	fl_metrics_free(m);
}

static void test_series_cap(void **state)
{
	fl_metrics *m = fl_metrics_new();
	char labels[64], *text;
	int i;

	(void)state;
	assert_int_equal(
		fl_metrics_declare(m, "g", FL_METRIC_GAUGE, "G.", NULL, 0), 0);
	assert_int_equal(
		fl_metrics_declare(m, "c", FL_METRIC_COUNTER, "C.", NULL, 0),
		0);
	for (i = 0; i < FL_METRICS_MAX_SERIES; i++) {
		snprintf(labels, sizeof(labels), "id=\"%d\"", i);
		assert_int_equal(fl_metrics_set(m, "g", labels, i), 0);
	}
	assert_int_equal(fl_metrics_set(m, "g", "id=\"new\"", 1), -1);
	assert_int_equal(fl_metrics_set(m, "g", "id=\"other\"", 1), -1);
	/* Existing series still update; other metrics have their own cap. */
	assert_int_equal(fl_metrics_set(m, "g", "id=\"7\"", 70), 0);
	assert_int_equal(fl_metrics_add(m, "c", "id=\"new\"", 1), 0);

	text = fl_metrics_render(m, NULL);
	assert_non_null(strstr(text, "\nfaultline_metrics_dropped_total 2\n"));
	assert_non_null(strstr(text, "\ng{id=\"7\"} 70\n"));
	assert_non_null(strstr(text, "\ng{id=\"999\"} 999\n"));
	assert_null(strstr(text, "g{id=\"new\"}"));
	assert_null(strstr(text, "other"));
	assert_non_null(strstr(text, "\nc{id=\"new\"} 1\n"));
	free(text);
	fl_metrics_free(m);
}

static void test_refused(void **state)
{
	fl_metrics *m = fl_metrics_new();
	const double good[] = {1, 2}, same[] = {1, 1}, down[] = {2, 1},
		     nan_b[] = {1, NAN}, inf_b[] = {1, INFINITY};
	char *before;

	(void)state;
	assert_int_equal(
		fl_metrics_declare(m, "c", FL_METRIC_COUNTER, "C.", NULL, 0),
		0);
	assert_int_equal(
		fl_metrics_declare(m, "g", FL_METRIC_GAUGE, "G.", NULL, 0), 0);
	assert_int_equal(
		fl_metrics_declare(m, "h", FL_METRIC_HISTOGRAM, "H.", good, 2),
		0);
	assert_int_equal(fl_metrics_add(m, "c", "a=\"1\"", 1), 0);
	before = fl_metrics_render(m, NULL);

	/* Declarations. */
	assert_int_equal(
		fl_metrics_declare(m, "c", FL_METRIC_GAUGE, "Again.", NULL, 0),
		-1);
	assert_int_equal(fl_metrics_declare(m,
					    "faultline_metrics_dropped_total",
					    FL_METRIC_COUNTER, "X.", NULL, 0),
			 -1);
	assert_int_equal(
		fl_metrics_declare(m, "1abc", FL_METRIC_GAUGE, "X.", NULL, 0),
		-1);
	assert_int_equal(
		fl_metrics_declare(m, "a-b", FL_METRIC_GAUGE, "X.", NULL, 0),
		-1);
	assert_int_equal(
		fl_metrics_declare(m, "", FL_METRIC_GAUGE, "X.", NULL, 0), -1);
	assert_int_equal(
		fl_metrics_declare(m, NULL, FL_METRIC_GAUGE, "X.", NULL, 0),
		-1);
	assert_int_equal(fl_metrics_declare(m, "x", (enum fl_metric_type)7,
					    "X.", NULL, 0),
			 -1);
	assert_int_equal(
		fl_metrics_declare(m, "x", FL_METRIC_GAUGE, "X.", good, 2), -1);
	assert_int_equal(
		fl_metrics_declare(m, "x", FL_METRIC_HISTOGRAM, "X.", same, 2),
		-1);
	assert_int_equal(
		fl_metrics_declare(m, "x", FL_METRIC_HISTOGRAM, "X.", down, 2),
		-1);
	assert_int_equal(
		fl_metrics_declare(m, "x", FL_METRIC_HISTOGRAM, "X.", nan_b, 2),
		-1);
	assert_int_equal(
		fl_metrics_declare(m, "x", FL_METRIC_HISTOGRAM, "X.", inf_b, 2),
		-1);
	assert_int_equal(
		fl_metrics_declare(m, "x", FL_METRIC_HISTOGRAM, "X.", NULL, 2),
		-1);

	/* Updates: unknown name, wrong type, negative counter step. */
	assert_int_equal(fl_metrics_add(m, "nope", NULL, 1), -1);
	assert_int_equal(fl_metrics_add(m, NULL, NULL, 1), -1);
	assert_int_equal(fl_metrics_add(m, "c", "a=\"1\"", -1), -1);
	assert_int_equal(fl_metrics_add(m, "c", "a=\"1\"", NAN), -1);
	assert_int_equal(fl_metrics_set(m, "c", "a=\"1\"", 5), -1);
	assert_int_equal(fl_metrics_observe(m, "c", "a=\"1\"", 5), -1);
	assert_int_equal(fl_metrics_observe(m, "g", NULL, 5), -1);
	assert_int_equal(fl_metrics_add(m, "h", NULL, 5), -1);
	assert_int_equal(fl_metrics_set(m, "h", NULL, 5), -1);

	/* Label text that would break the format. */
	assert_int_equal(fl_metrics_add(m, "c", "a=1", 1), -1);
	assert_int_equal(fl_metrics_add(m, "c", "a=\"1", 1), -1);
	assert_int_equal(fl_metrics_add(m, "c", "a=\"1\"b", 1), -1);
	assert_int_equal(fl_metrics_add(m, "c", "a=\"1\",", 1), -1);
	assert_int_equal(fl_metrics_add(m, "c", ",a=\"1\"", 1), -1);
	assert_int_equal(fl_metrics_add(m, "c", "a=\"x\ny\"", 1), -1);
	assert_int_equal(fl_metrics_add(m, "c", "a=\"x\\ty\"", 1), -1);
	assert_int_equal(fl_metrics_add(m, "c", "a:b=\"1\"", 1), -1);
	assert_int_equal(fl_metrics_add(m, "c", "a=\"1\"}", 1), -1);
	assert_int_equal(fl_metrics_observe(m, "h", "le=\"1\"", 1), -1);

	expect_render(m, before);
	free(before);

	/* Several labels and escapes are fine. */
	assert_int_equal(
		fl_metrics_add(m, "c", "a=\"x\\\"\\\\\\n\",_b2=\"\"", 1), 0);
	fl_metrics_free(m);
}

#define THREADS 4
#define ROUNDS 20000

static void *adder_main(void *arg)
{
	fl_metrics *m = arg;
	int i;

	for (i = 0; i < ROUNDS; i++) {
		fl_metrics_add(m, "c", i % 2 ? "side=\"odd\"" : "side=\"even\"",
			       1);
		fl_metrics_observe(m, "h", NULL, i % 3);
	}
	return NULL;
}

static void test_threads(void **state)
{
	fl_metrics *m = fl_metrics_new();
	const double b[] = {0.5, 1.5};
	pthread_t t[THREADS];
	char *text, want[128];
	int i;

	(void)state;
	assert_int_equal(
		fl_metrics_declare(m, "c", FL_METRIC_COUNTER, "C.", NULL, 0),
		0);
	assert_int_equal(
		fl_metrics_declare(m, "h", FL_METRIC_HISTOGRAM, "H.", b, 2), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, adder_main, m), 0);
	for (i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(t[i], NULL), 0);

	text = fl_metrics_render(m, NULL);
	snprintf(want, sizeof(want), "\nc{side=\"odd\"} %d\n",
		 THREADS * ROUNDS / 2);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "\nh_count %d\n", THREADS * ROUNDS);
	assert_non_null(strstr(text, want));
	snprintf(want, sizeof(want), "\nh_bucket{le=\"+Inf\"} %d\n",
		 THREADS * ROUNDS);
	assert_non_null(strstr(text, want));
	free(text);
	fl_metrics_free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_empty_has_dropped_counter),
		cmocka_unit_test(test_counters_and_gauges),
		cmocka_unit_test(test_histogram),
		cmocka_unit_test(test_histogram_without_buckets),
		cmocka_unit_test(test_number_format),
		cmocka_unit_test(test_escape),
		cmocka_unit_test(test_series_cap),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_threads),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
