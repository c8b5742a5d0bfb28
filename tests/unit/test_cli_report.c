/*
 * The CLI's renderers without a cluster: the reports (JUnit well-formed
 * and escaped, HTML marks per sample and nothing from the object turned
 * into markup, Markdown cells, the stable JSON shape), the progress line
 * and the exit code of a finished run, RFC 3339 times and the YAML
 * writer (read back by our own YAML reader).
 *
 * The run comes from tests/data/cli/status.json, the same status the
 * integration tests write through the API server.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libxml/parser.h>
#include <libxml/tree.h>

#include "alloc.h"
#include "cli.h"
#include "report.h"
#include "yamljson.h"

static struct json_object *load_status(void)
{
	const char *dir = getenv("FL_TESTDATA");
	char *path =
		fl_asprintf("%s/cli/status.json", dir ? dir : "tests/data");
	struct json_object *st = json_object_from_file(path);

	assert_non_null(st);
	free(path);
	return st;
}

/* An experiment as the API server returns it, with the fixture's status
 * (or none). */
static struct json_object *experiment(int with_status)
{
	struct json_object *o = json_tokener_parse(
		"{\"metadata\": {\"name\": \"checkout\", \"namespace\": "
		"\"shop\", \"generation\": 1}, \"spec\": {\"hypothesis\": "
		"\"a <b>bold</b> & 'quoted' claim\", \"duration\": \"2m\"}}");

	assert_non_null(o);
	if (with_status)
		json_object_object_add(o, "status", load_status());
	return o;
}

static size_t count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle))) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* Counts elements named name under node, at any depth. */
static size_t count_elements(xmlNode *node, const char *name)
{
	size_t n = 0;

	for (; node; node = node->next) {
		if (node->type == XML_ELEMENT_NODE &&
		    !strcmp((const char *)node->name, name))
			n++;
		n += count_elements(node->children, name);
	}
	return n;
}

static void test_junit_is_well_formed_and_escaped(void **state)
{
	struct json_object *o = experiment(1);
	struct fl_buf out;
	xmlDoc *doc;
	xmlNode *root;

	(void)state;
	fl_buf_init(&out, 0);
	assert_int_equal(fl_report_junit(o, &out), 0);
	doc = xmlReadMemory(out.data, (int)out.len, "junit.xml", NULL,
			    XML_PARSE_NONET | XML_PARSE_NOERROR |
				    XML_PARSE_NOWARNING);
	assert_non_null(doc);
	root = xmlDocGetRootElement(doc);
	assert_string_equal((const char *)root->name, "testsuites");
	assert_int_equal(count_elements(root, "testsuite"), 1);
	assert_int_equal(count_elements(root, "testcase"), 2);
	/* The verdict failed: both cases fail, the first as a probe. */
	assert_int_equal(count_elements(root, "failure"), 2);
	assert_non_null(strstr(out.data, "type=\"ProbeFailed\""));
	assert_non_null(strstr(out.data, "failures=\"2\""));
	/* Markup from the object stays text; the bell becomes U+FFFD. */
	assert_null(strstr(out.data, "<script>"));
	assert_null(strstr(out.data, "<b>"));
	assert_null(strchr(out.data, '\a'));
	assert_non_null(strstr(out.data, "\xef\xbf\xbd"
					 "bell"));
	assert_non_null(strstr(out.data, "name=\"runId\" value=\"run-7f3a\""));
	assert_non_null(strstr(out.data, "name=\"availability\" "
					 "value=\"83.330\""));
	xmlFreeDoc(doc);
	fl_buf_release(&out);
	json_object_put(o);
}

static void test_junit_without_probes_or_verdict(void **state)
{
	struct json_object *o = experiment(0);
	struct fl_buf out;

	(void)state;
	fl_buf_init(&out, 0);
	assert_int_equal(fl_report_junit(o, &out), 0);
	/* One case carries the (missing) verdict, as skipped. */
	assert_int_equal(count(out.data, "<testcase"), 1);
	assert_non_null(strstr(out.data, "name=\"verdict\""));
	assert_non_null(strstr(out.data, "<skipped"));
	assert_non_null(strstr(out.data, "skipped=\"1\""));
	fl_buf_release(&out);
	json_object_put(o);
}

static void test_html_marks_and_escaping(void **state)
{
	struct json_object *o = experiment(1);
	struct fl_buf out;

	(void)state;
	fl_buf_init(&out, 0);
	assert_int_equal(fl_report_html(o, &out), 0);
	/* "++++-----+++" and "++++++++++": 17 passed, 5 failed. */
	assert_int_equal(count(out.data, "class=\"mark pass\""), 17);
	assert_int_equal(count(out.data, "class=\"mark fail\""), 5);
	assert_int_equal(count(out.data, "class=\"window\""), 1);
	assert_null(strstr(out.data, "<script"));
	assert_null(strstr(out.data, "<b>"));
	assert_non_null(strstr(out.data, "&lt;script&gt;alert(&quot;x&quot;)"));
	assert_non_null(strstr(out.data, "Content-Security-Policy"));
	fl_buf_release(&out);
	json_object_put(o);
}

static void test_reports_stop_at_the_maximum(void **state)
{
	struct json_object *o = experiment(1);
	struct fl_buf out;

	(void)state;
	fl_buf_init(&out, 256);
	assert_int_equal(fl_report_html(o, &out), -1);
	assert_true(out.len <= 256);
	fl_buf_reset(&out);
	assert_int_equal(fl_report_junit(o, &out), -1);
	fl_buf_reset(&out);
	assert_int_equal(fl_report_markdown(o, &out), -1);
	fl_buf_release(&out);
	json_object_put(o);
}

static void test_markdown_cells(void **state)
{
	struct json_object *o = experiment(1);
	struct fl_buf out;

	(void)state;
	fl_buf_init(&out, 0);
	assert_int_equal(fl_report_md_escape(&out, "a|b<c>\nd`e", NULL), 0);
	assert_string_equal(out.data, "a\\|b&lt;c&gt; d\\`e");
	fl_buf_reset(&out);
	assert_int_equal(fl_report_markdown(o, &out), 0);
	assert_non_null(strstr(out.data, "| Verdict | Failed |\n"));
	assert_non_null(strstr(out.data, "\\| pipe"));
	assert_null(strstr(out.data, "<b>"));
	fl_buf_release(&out);
	json_object_put(o);
}

static void test_json_shape_is_stable(void **state)
{
	struct json_object *full = experiment(1), *bare = experiment(0);
	struct json_object *a, *b, *run;
	struct fl_buf out;

	(void)state;
	fl_buf_init(&out, 0);
	assert_int_equal(fl_report_json(full, &out), 0);
	a = json_tokener_parse(out.data);
	fl_buf_reset(&out);
	assert_int_equal(fl_report_json(bare, &out), 0);
	b = json_tokener_parse(out.data);
	assert_non_null(a);
	assert_non_null(b);
	assert_int_equal(json_object_object_length(a),
			 json_object_object_length(b));
	run = json_object_object_get(b, "run");
	assert_int_equal(
		json_object_object_length(json_object_object_get(a, "run")),
		json_object_object_length(run));
	/* Absent fields are there, as null. */
	assert_true(json_object_object_get_ex(run, "verdict", NULL));
	assert_null(json_object_object_get(run, "verdict"));
	assert_string_equal(
		json_object_get_string(json_object_object_get(
			json_object_object_get(a, "run"), "verdict")),
		"Failed");
	json_object_put(a);
	json_object_put(b);
	fl_buf_release(&out);
	json_object_put(full);
	json_object_put(bare);
}

static void test_progress_and_exit_codes(void **state)
{
	struct json_object *o = experiment(1);
	struct json_object *st = json_object_object_get(o, "status");
	char line[512];

	(void)state;
	fl_cli_progress_line(o, 120000, 0, 0, 0, line, sizeof(line));
	assert_string_equal(line,
			    "run run-7f3a: Completed, targets 0/2 "
			    "injected, 1 reverted, 1 failed, probes "
			    "checkout pass, <script>alert(\"x\")</script> "
			    "pass");
	/* With the time: the window from Injecting to completion is
	 * 3m30s of a 2m duration, so the bar is full. */
	fl_cli_progress_line(o, 120000, 0, 1, 1, line, sizeof(line));
	assert_non_null(strstr(line, "[####################] 3m30s/2m"));

	assert_true(fl_cli_run_finished(o));
	assert_int_equal(fl_cli_run_exit_code(o, 0), FL_EXIT_FAILED);
	json_object_object_add(st, "verdict", json_object_new_string("Passed"));
	assert_int_equal(fl_cli_run_exit_code(o, 0), 0);
	json_object_object_add(st, "verdict",
			       json_object_new_string("Aborted"));
	assert_int_equal(fl_cli_run_exit_code(o, 0), FL_EXIT_ABORTED);
	json_object_object_add(st, "verdict", json_object_new_string("Error"));
	assert_int_equal(fl_cli_run_exit_code(o, 0), FL_EXIT_ERROR);
	json_object_object_del(st, "verdict");
	assert_int_equal(fl_cli_run_exit_code(o, 1), 0);
	assert_int_equal(fl_cli_run_exit_code(o, 0), FL_EXIT_ERROR);
	json_object_object_add(st, "phase",
			       json_object_new_string("Observing"));
	assert_false(fl_cli_run_finished(o));
	json_object_put(o);
}

static void test_times(void **state)
{
	int64_t ms;
	char age[32];

	(void)state;
	assert_int_equal(fl_cli_time_parse("2026-11-30T10:00:00Z", &ms), 0);
	assert_int_equal(ms, 1796032800000LL);
	assert_int_equal(fl_cli_time_parse("2026-11-30T11:00:00.25+01:00", &ms),
			 0);
	assert_int_equal(ms, 1796032800250LL);
	assert_int_equal(fl_cli_time_parse("1970-01-01T00:00:00Z", &ms), 0);
	assert_int_equal(ms, 0);
	assert_int_equal(fl_cli_time_parse("2026-11-30 10:00:00", &ms), -1);
	assert_int_equal(fl_cli_time_parse("2026-13-30T10:00:00Z", &ms), -1);
	assert_int_equal(fl_cli_time_parse("2026-11-30T10:00:00Zjunk", &ms),
			 -1);
	assert_int_equal(fl_cli_time_parse(NULL, &ms), -1);
	assert_string_equal(fl_cli_age("2026-11-30T10:00:00Z",
				       1796032800000LL + 200000, age,
				       sizeof(age)),
			    "3m20s");
	assert_string_equal(fl_cli_age("nonsense", 0, age, sizeof(age)),
			    "<unknown>");
}

static void test_yaml_reads_back(void **state)
{
	struct json_object *o = experiment(1), *docs = NULL;
	struct fl_errors errs = {0};
	struct fl_buf out;

	(void)state;
	/* Strings a plain scalar would turn into something else. */
	json_object_object_add(
		o, "tricky",
		json_tokener_parse(
			"[\"yes\", \"1.5\", \"-x\", \"a: b\", \"\", \"null\", "
			"\"#c\", \"multi\\nline\", \"\\u0001\", [], {}, [[1, 2]], "
			"[{\"k\": [\"v\"]}]]"));
	fl_buf_init(&out, 0);
	assert_int_equal(fl_cli_yaml_emit(o, &out), 0);
	assert_int_equal(fl_yaml_parse(out.data, out.len, NULL, &docs, &errs),
			 0);
	assert_int_equal(json_object_array_length(docs), 1);
	assert_true(json_object_equal(json_object_array_get_idx(docs, 0), o));
	json_object_put(docs);
	fl_buf_release(&out);
	json_object_put(o);
}

static void test_safe_text(void **state)
{
	char buf[16];

	(void)state;
	assert_string_equal(fl_cli_safe("a\x1b[2Jb\x7f", "-", buf, sizeof(buf)),
			    "a?[2Jb?");
	assert_string_equal(fl_cli_safe(NULL, "-", buf, sizeof(buf)), "-");
	assert_string_equal(
		fl_cli_safe("0123456789abcdefgh", "", buf, sizeof(buf)),
		"0123456789abcde");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_junit_is_well_formed_and_escaped),
		cmocka_unit_test(test_junit_without_probes_or_verdict),
		cmocka_unit_test(test_html_marks_and_escaping),
		cmocka_unit_test(test_reports_stop_at_the_maximum),
		cmocka_unit_test(test_markdown_cells),
		cmocka_unit_test(test_json_shape_is_stable),
		cmocka_unit_test(test_progress_and_exit_codes),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_yaml_reads_back),
		cmocka_unit_test(test_safe_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
