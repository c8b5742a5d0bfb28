/*
 * The JUnit XML report, for CI systems that show test results: the run is
 * a testsuite and each probe a testcase.  An experiment without probes
 * gets one testcase, "verdict", so that its outcome still shows.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "report.h"

/* What one testcase says, beside its name. */
struct outcome {
	const char *element; /* "failure", "error", "skipped" or NULL */
	const char *type;
	char message[1200];
};

static int is(const char *s, const char *want)
{
	return s && !strcmp(s, want);
}

static void judge(struct json_object *obj, struct json_object *probe,
		  struct outcome *o)
{
	const char *verdict = fl_cli_str(obj, "status.verdict");
	const char *msg = fl_cli_str(obj, "status.message");
	const char *phase = fl_cli_str(obj, "status.phase");
	const char *name = fl_json_str(probe, "name");

	memset(o, 0, sizeof(*o));
	if (probe && (is(fl_json_str(probe, "during"), "Failed") ||
		      is(fl_json_str(probe, "after"), "Failed"))) {
		o->element = "failure";
		o->type = "ProbeFailed";
		snprintf(o->message, sizeof(o->message), "probe '%s' failed %s",
			 name ? name : "",
			 is(fl_json_str(probe, "during"), "Failed")
				 ? "while the faults were active"
				 : "after the faults were reverted");
	} else if (is(verdict, "Failed") || is(verdict, "Aborted")) {
		o->element = "failure";
		o->type = verdict;
		snprintf(o->message, sizeof(o->message),
			 "the experiment's verdict is %s%s%s", verdict,
			 msg ? ": " : "", msg ? msg : "");
	} else if (verdict && !is(verdict, "Passed")) {
		o->element = "error";
		o->type = verdict;
		snprintf(o->message, sizeof(o->message),
			 "the experiment ended in %s%s%s", verdict,
			 msg ? ": " : "", msg ? msg : "");
	} else if (!verdict) {
		o->element = "skipped";
		o->type = "NoVerdict";
		snprintf(o->message, sizeof(o->message),
			 "no verdict (phase %s)", phase ? phase : "none");
	}
}

static int attr(struct fl_buf *out, const char *name, const char *value)
{
	if (!value)
		return 0;
	if (fl_buf_addf(out, " %s=\"", name) ||
	    fl_report_xml_escape(out, value) || fl_buf_addc(out, '"'))
		return -1;
	return 0;
}

static int property(struct fl_buf *out, const char *name, const char *value)
{
	if (!value)
		return 0;
	return fl_buf_adds(out, "      <property") || attr(out, "name", name) ||
	       attr(out, "value", value) || fl_buf_adds(out, "/>\n");
}

static int properties(struct json_object *obj, struct fl_buf *out)
{
	static const char *const keys[] = {
		"status.runId",	       "status.phase",	  "status.verdict",
		"status.recoveryTime", "spec.hypothesis", "status.message",
	};
	struct json_object *av = fl_cli_at(obj, "status.availability");
	char num[64];
	size_t i;

	if (fl_buf_adds(out, "    <properties>\n"))
		return -1;
	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		if (property(out, strchr(keys[i], '.') + 1,
			     fl_cli_str(obj, keys[i])))
			return -1;
	snprintf(num, sizeof(num), "%lld",
		 (long long)fl_cli_int(obj, "metadata.generation", 0));
	if (property(out, "generation", num))
		return -1;
	if (av) {
		snprintf(num, sizeof(num), "%.3f", json_object_get_double(av));
		if (property(out, "availability", num))
			return -1;
	}
	return fl_buf_adds(out, "    </properties>\n");
}

static int testcase(struct json_object *obj, struct json_object *probe,
		    const char *classname, struct fl_buf *out)
{
	struct outcome o;
	const char *name = probe ? fl_json_str(probe, "name") : "verdict";

	judge(obj, probe, &o);
	if (fl_buf_adds(out, "    <testcase") ||
	    attr(out, "name", name ? name : "") ||
	    attr(out, "classname", classname))
		return -1;
	if (!o.element)
		return fl_buf_adds(out, "/>\n");
	if (fl_buf_addf(out, ">\n      <%s", o.element) ||
	    attr(out, "type", o.type) || attr(out, "message", o.message) ||
	    fl_buf_adds(out, ">"))
		return -1;
	if (probe) {
		const char *tl = fl_json_str(probe, "timeline");
		const char *err = fl_json_str(probe, "lastError");

		static const char *const when[] = {"baseline", "during",
						   "after"};
		size_t i;

		for (i = 0; i < 3; i++) {
			const char *v = fl_json_str(probe, when[i]);

			if (fl_buf_addf(out, "%s%s ", i ? ", " : "", when[i]) ||
			    fl_report_xml_escape(out, v ? v : "-"))
				return -1;
		}
		if (tl && (fl_buf_adds(out, "; timeline ") ||
			   fl_report_xml_escape(out, tl)))
			return -1;
		if (err && (fl_buf_adds(out, "; last error: ") ||
			    fl_report_xml_escape(out, err)))
			return -1;
	}
	return fl_buf_addf(out, "</%s>\n    </testcase>\n", o.element);
}

/* Counts what the testcases will hold, for the suite's attributes. */
static void count(struct json_object *obj, size_t *tests, size_t *failures,
		  size_t *errors, size_t *skipped)
{
	struct json_object *ps = fl_cli_at(obj, "status.probes");
	size_t i, n = fl_json_len(ps);
	struct outcome o;

	*tests = n ? n : 1;
	*failures = *errors = *skipped = 0;
	for (i = 0; i < *tests; i++) {
		judge(obj, n ? json_object_array_get_idx(ps, i) : NULL, &o);
		*failures += is(o.element, "failure");
		*errors += is(o.element, "error");
		*skipped += is(o.element, "skipped");
	}
}

static int suite_open(struct json_object *obj, const char *suite,
		      struct fl_buf *out)
{
	const char *start = fl_cli_str(obj, "status.startTime");
	const char *end = fl_cli_str(obj, "status.completionTime");
	size_t tests, failures, errors, skipped;
	int64_t a, b;

	count(obj, &tests, &failures, &errors, &skipped);
	if (fl_buf_addf(out,
			"<testsuites tests=\"%zu\" failures=\"%zu\" "
			"errors=\"%zu\"",
			tests, failures, errors) ||
	    attr(out, "name", "faultline") || fl_buf_adds(out, ">\n") ||
	    fl_buf_adds(out, "  <testsuite") || attr(out, "name", suite) ||
	    fl_buf_addf(out,
			" tests=\"%zu\" failures=\"%zu\" errors=\"%zu\" "
			"skipped=\"%zu\"",
			tests, failures, errors, skipped) ||
	    attr(out, "id", fl_cli_str(obj, "status.runId")) ||
	    attr(out, "timestamp", start))
		return -1;
	if (start && end && !fl_cli_time_parse(start, &a) &&
	    !fl_cli_time_parse(end, &b) && b >= a &&
	    fl_buf_addf(out, " time=\"%lld.%03lld\"", (long long)(b - a) / 1000,
			(long long)(b - a) % 1000))
		return -1;
	return fl_buf_adds(out, ">\n");
}

int fl_report_junit(struct json_object *obj, struct fl_buf *out)
{
	struct json_object *ps = fl_cli_at(obj, "status.probes");
	const char *ns = fl_cli_str(obj, "metadata.namespace");
	const char *name = fl_cli_str(obj, "metadata.name");
	char suite[400], classname[400];
	const char *msg = fl_cli_str(obj, "status.message");
	size_t i;

	snprintf(suite, sizeof(suite), "%s/%s", ns ? ns : "", name ? name : "");
	snprintf(classname, sizeof(classname), "faultline.%s.%s", ns ? ns : "",
		 name ? name : "");
	if (fl_buf_adds(out, "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n") ||
	    suite_open(obj, suite, out) || properties(obj, out))
		return -1;
	for (i = 0; i < fl_json_len(ps); i++)
		if (testcase(obj, json_object_array_get_idx(ps, i), classname,
			     out))
			return -1;
	if (!fl_json_len(ps) && testcase(obj, NULL, classname, out))
		return -1;
	if (msg && (fl_buf_adds(out, "    <system-out>") ||
		    fl_report_xml_escape(out, msg) ||
		    fl_buf_adds(out, "</system-out>\n")))
		return -1;
	return fl_buf_adds(out, "  </testsuite>\n</testsuites>\n") ? -1 : 0;
}
