/*
 * The Markdown report, for a pull request comment or a CI job summary:
 * one summary table, then the probes and the targets.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "report.h"

#define ESC(s, def) fl_report_md_escape(out, (s), (def))

static int row(struct fl_buf *out, const char *label, const char *value)
{
	return fl_buf_addf(out, "| %s | ", label) || ESC(value, "-") ||
	       fl_buf_adds(out, " |\n");
}

static int summary(struct json_object *obj, struct fl_buf *out)
{
	static const char *const rows[][2] = {
		{"Verdict", "status.verdict"},
		{"Phase", "status.phase"},
		{"Run", "status.runId"},
		{"Started", "status.startTime"},
		{"Completed", "status.completionTime"},
		{"Recovery time", "status.recoveryTime"},
		{"Duration", "spec.duration"},
		{"Message", "status.message"},
	};
	struct json_object *av = fl_cli_at(obj, "status.availability");
	char num[64];
	size_t i;

	if (fl_buf_adds(out, "| | |\n| --- | --- |\n"))
		return -1;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (row(out, rows[i][0], fl_cli_str(obj, rows[i][1])))
			return -1;
	snprintf(num, sizeof(num), "%.2f%%",
		 av ? json_object_get_double(av) : 0.0);
	return row(out, "Availability", av ? num : NULL);
}

static int probes(struct json_object *obj, struct fl_buf *out)
{
	struct json_object *ps = fl_cli_at(obj, "status.probes");
	size_t i;

	if (!fl_json_len(ps))
		return 0;
	if (fl_buf_adds(out, "\n## Probes\n\n| Probe | Baseline | During | "
			     "After | Passed | Timeline |\n"
			     "| --- | --- | --- | --- | --- | --- |\n"))
		return -1;
	for (i = 0; i < fl_json_len(ps); i++) {
		struct json_object *p = json_object_array_get_idx(ps, i);

		if (fl_buf_adds(out, "| ") || ESC(fl_json_str(p, "name"), "") ||
		    fl_buf_adds(out, " | ") ||
		    ESC(fl_json_str(p, "baseline"), "-") ||
		    fl_buf_adds(out, " | ") ||
		    ESC(fl_json_str(p, "during"), "-") ||
		    fl_buf_adds(out, " | ") ||
		    ESC(fl_json_str(p, "after"), "-") ||
		    fl_buf_addf(out, " | %lld/%lld | ",
				(long long)fl_cli_int(p, "passed", 0),
				(long long)fl_cli_int(p, "samples", 0)) ||
		    ESC(fl_json_str(p, "timeline"), "-") ||
		    fl_buf_adds(out, " |\n"))
			return -1;
	}
	return 0;
}

static int targets(struct json_object *obj, struct fl_buf *out)
{
	static const char *const cols[] = {"target",	"fault", "kind",
					   "namespace", "name",	 "state",
					   "reason"};
	struct json_object *ts = fl_cli_at(obj, "status.targets");
	size_t i, j;

	if (!fl_json_len(ts))
		return 0;
	if (fl_buf_adds(out, "\n## Targets\n\n| Target | Fault | Kind | "
			     "Namespace | Name | State | Reason |\n"
			     "| --- | --- | --- | --- | --- | --- | --- |\n"))
		return -1;
	for (i = 0; i < fl_json_len(ts); i++) {
		struct json_object *t = json_object_array_get_idx(ts, i);

		for (j = 0; j < sizeof(cols) / sizeof(cols[0]); j++)
			if (fl_buf_adds(out, "| ") ||
			    ESC(fl_json_str(t, cols[j]), "-") ||
			    fl_buf_addc(out, ' '))
				return -1;
		if (fl_buf_adds(out, "|\n"))
			return -1;
	}
	return 0;
}

int fl_report_markdown(struct json_object *obj, struct fl_buf *out)
{
	const char *hyp = fl_cli_str(obj, "spec.hypothesis");

	if (fl_buf_adds(out, "# Chaos experiment ") ||
	    ESC(fl_cli_str(obj, "metadata.namespace"), "") ||
	    fl_buf_addc(out, '/') ||
	    ESC(fl_cli_str(obj, "metadata.name"), "") ||
	    fl_buf_adds(out, "\n\n"))
		return -1;
	if (hyp && (fl_buf_adds(out, "> ") || ESC(hyp, "") ||
		    fl_buf_adds(out, "\n\n")))
		return -1;
	if (summary(obj, out) || probes(obj, out) || targets(obj, out))
		return -1;
	return 0;
}
