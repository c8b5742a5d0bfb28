/*
 * The HTML report: one file that opens anywhere (a CI artifact, a mail
 * attachment) without loading anything: inline CSS, inline SVG, no
 * script, and a Content-Security-Policy that forbids anything else.
 *
 * The timeline has one row per probe and one mark per sample.  The
 * status keeps no time per sample, only the timeline string, so the marks
 * are spread evenly over the run (start to completion); the fault window
 * (phaseTimes.Injecting, else Observing, to Recovering) is drawn on the
 * same time axis as a band behind them.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "report.h"
#include "units.h"

#define LABEL_W 160.0 /* the probe names' column */
#define PLOT_W 640.0  /* the time axis */
#define ROW_H 24.0
#define MARK_H 14.0
#define TOP 30.0    /* room for the band's label */
#define BOTTOM 26.0 /* room for the axis */

#define ESC(s) fl_report_xml_escape(out, (s))

static const char style[] =
	"body{font:14px/1.4 system-ui,sans-serif;margin:2em;color:#1b1f24}"
	"h1{font-size:1.4em}h2{font-size:1.1em;margin-top:1.6em}"
	"table{border-collapse:collapse}"
	"td,th{border:1px solid #d0d7de;padding:3px 8px;text-align:left;"
	"vertical-align:top}"
	"th{background:#f6f8fa}"
	".hyp{font-style:italic}"
	".Passed{color:#1a7f37;font-weight:bold}"
	".Failed,.Error{color:#cf222e;font-weight:bold}"
	".Aborted{color:#9a6700;font-weight:bold}"
	"svg{background:#fff;border:1px solid #d0d7de}"
	".mark.pass{fill:#2da44e}.mark.fail{fill:#cf222e}"
	".window{fill:#fb8f44;fill-opacity:.2;stroke:#fb8f44}"
	".label{font-size:12px;fill:#1b1f24}"
	".axis{stroke:#57606a}.tick{font-size:11px;fill:#57606a}"
	".note{color:#57606a;font-size:12px}";

/* The run's time span in ms; 0 when the status gives none. */
struct span {
	int64_t t0, t1;
};

static int64_t when(struct json_object *obj, const char *path)
{
	int64_t ms;

	return fl_cli_time_parse(fl_cli_str(obj, path), &ms) ? 0 : ms;
}

/* Start: startTime, else the earliest phase time.  End: completionTime,
 * else the latest phase time. */
static void run_span(struct json_object *obj, struct span *s)
{
	struct json_object *pt = fl_cli_at(obj, "status.phaseTimes");

	s->t0 = when(obj, "status.startTime");
	s->t1 = when(obj, "status.completionTime");
	if (pt && json_object_is_type(pt, json_type_object)) {
		json_object_object_foreach(pt, key, v)
		{
			int64_t ms;

			(void)key;
			if (!json_object_is_type(v, json_type_string) ||
			    fl_cli_time_parse(json_object_get_string(v), &ms))
				continue;
			if (!s->t0 || ms < s->t0)
				s->t0 = ms;
			if (!when(obj, "status.completionTime") && ms > s->t1)
				s->t1 = ms;
		}
	}
	if (s->t1 <= s->t0)
		s->t1 = 0;
}

static double x_of(const struct span *s, int64_t t)
{
	double f = (double)(t - s->t0) / (double)(s->t1 - s->t0);

	if (f < 0)
		f = 0;
	if (f > 1)
		f = 1;
	return LABEL_W + f * PLOT_W;
}

static int band(struct json_object *obj, const struct span *s, double height,
		struct fl_buf *out)
{
	int64_t a = when(obj, "status.phaseTimes.Injecting");
	int64_t b = when(obj, "status.phaseTimes.Recovering");
	double x0, x1;

	if (!a)
		a = when(obj, "status.phaseTimes.Observing");
	if (!a || !s->t1)
		return 0;
	if (!b)
		b = s->t1;
	x0 = x_of(s, a);
	x1 = x_of(s, b);
	return fl_buf_addf(out,
			   "<rect class=\"window\" x=\"%.2f\" y=\"%.2f\" "
			   "width=\"%.2f\" height=\"%.2f\"><title>faults "
			   "active</title></rect>\n"
			   "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\">faults "
			   "active</text>\n",
			   x0, TOP - 6, x1 - x0 > 1 ? x1 - x0 : 1,
			   height - TOP - BOTTOM + 12, x0 + 2, TOP - 10);
}

/* The probes' names, in a nested svg: it clips a long name at the edge
 * of its column instead of letting it run over the marks. */
static int labels(struct json_object *ps, double height, struct fl_buf *out)
{
	size_t i;

	if (fl_buf_addf(out,
			"<svg class=\"labels\" x=\"0\" y=\"0\" "
			"width=\"%.0f\" height=\"%.0f\">\n",
			LABEL_W - 8, height))
		return -1;
	for (i = 0; i < fl_json_len(ps); i++) {
		struct json_object *p = json_object_array_get_idx(ps, i);

		if (fl_buf_addf(out,
				"<text class=\"label\" x=\"6\" "
				"y=\"%.2f\"><title>",
				TOP + (double)i * ROW_H + MARK_H - 2) ||
		    ESC(fl_json_str(p, "name")) ||
		    fl_buf_adds(out, "</title>") ||
		    ESC(fl_json_str(p, "name")) ||
		    fl_buf_adds(out, "</text>\n"))
			return -1;
	}
	return fl_buf_adds(out, "</svg>\n");
}

static int marks(struct json_object *p, size_t row, struct fl_buf *out)
{
	const char *tl = fl_json_str(p, "timeline");
	size_t i, n = tl ? strlen(tl) : 0;
	double y = TOP + (double)row * ROW_H, step, w;

	if (!n)
		return 0;
	step = PLOT_W / (double)n;
	w = step * 0.8 > 1 ? step * 0.8 : 1;
	for (i = 0; i < n; i++) {
		int pass = tl[i] == '+';

		if (fl_buf_addf(out,
				"<rect class=\"mark %s\" x=\"%.2f\" y=\"%.2f\" "
				"width=\"%.2f\" height=\"%.2f\"><title>",
				pass ? "pass" : "fail",
				LABEL_W + (double)i * step + (step - w) / 2, y,
				w, MARK_H) ||
		    ESC(fl_json_str(p, "name")) ||
		    fl_buf_addf(out, " sample %zu: %s</title></rect>\n", i + 1,
				pass ? "passed" : "failed"))
			return -1;
	}
	return 0;
}

static int axis(const struct span *s, double height, struct fl_buf *out)
{
	char total[32];
	double y = height - BOTTOM + 4;

	if (fl_buf_addf(
		    out,
		    "<line class=\"axis\" x1=\"%.2f\" y1=\"%.2f\" "
		    "x2=\"%.2f\" y2=\"%.2f\"/>\n"
		    "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\">0s</text>\n",
		    LABEL_W, y, LABEL_W + PLOT_W, y, LABEL_W, y + 14))
		return -1;
	if (!s->t1)
		return 0;
	fl_duration_format((s->t1 - s->t0) / 1000 * 1000, total, sizeof(total));
	return fl_buf_addf(out,
			   "<text class=\"tick\" x=\"%.2f\" y=\"%.2f\" "
			   "text-anchor=\"end\">%s</text>\n",
			   LABEL_W + PLOT_W, y + 14, total);
}

static int timeline(struct json_object *obj, struct fl_buf *out)
{
	struct json_object *ps = fl_cli_at(obj, "status.probes");
	size_t i, n = fl_json_len(ps);
	double height = TOP + (double)(n ? n : 1) * ROW_H + BOTTOM;
	struct span s;

	run_span(obj, &s);
	if (fl_buf_addf(out,
			"<h2>Timeline</h2>\n<svg id=\"timeline\" "
			"width=\"%.0f\" height=\"%.0f\" viewBox=\"0 0 %.0f "
			"%.0f\" role=\"img\" aria-label=\"probe samples over "
			"the run\">\n",
			LABEL_W + PLOT_W + 10, height, LABEL_W + PLOT_W + 10,
			height) ||
	    band(obj, &s, height, out) || labels(ps, height, out))
		return -1;
	for (i = 0; i < n; i++)
		if (marks(json_object_array_get_idx(ps, i), i, out))
			return -1;
	if (axis(&s, height, out) || fl_buf_adds(out, "</svg>\n"))
		return -1;
	return fl_buf_adds(out,
			   "<p class=\"note\">One mark per probe sample, green "
			   "passed, red failed; the status keeps no time per "
			   "sample, so marks are spread evenly over the run. "
			   "The shaded band is the time the faults were "
			   "active.</p>\n");
}

static int cell(struct fl_buf *out, const char *s)
{
	return fl_buf_adds(out, "<td>") || ESC(s ? s : "-") ||
	       fl_buf_adds(out, "</td>");
}

static int summary(struct json_object *obj, struct fl_buf *out)
{
	static const char *const rows[][2] = {
		{"Phase", "status.phase"},
		{"Run", "status.runId"},
		{"Started", "status.startTime"},
		{"Completed", "status.completionTime"},
		{"Recovery time", "status.recoveryTime"},
		{"Duration", "spec.duration"},
		{"Message", "status.message"},
	};
	const char *verdict = fl_cli_str(obj, "status.verdict");
	struct json_object *av = fl_cli_at(obj, "status.availability");
	size_t i;

	if (fl_buf_adds(out, "<table class=\"summary\">\n<tr><th>Verdict</th>"
			     "<td class=\"") ||
	    ESC(verdict ? verdict : "none") || fl_buf_adds(out, "\">") ||
	    ESC(verdict ? verdict : "none") || fl_buf_adds(out, "</td></tr>\n"))
		return -1;
	for (i = 0; i < sizeof(rows) / sizeof(rows[0]); i++)
		if (fl_buf_addf(out, "<tr><th>%s</th>", rows[i][0]) ||
		    cell(out, fl_cli_str(obj, rows[i][1])) ||
		    fl_buf_adds(out, "</tr>\n"))
			return -1;
	if (av &&
	    fl_buf_addf(out, "<tr><th>Availability</th><td>%.2f%%</td></tr>\n",
			json_object_get_double(av)))
		return -1;
	return fl_buf_adds(out, "</table>\n");
}

/* A table of the array at path with the given columns. */
static int table(struct json_object *obj, const char *title, const char *path,
		 const char *const *keys, size_t nkeys, struct fl_buf *out)
{
	struct json_object *a = fl_cli_at(obj, path);
	size_t i, j;

	if (!fl_json_len(a))
		return 0;
	if (fl_buf_addf(out, "<h2>%s</h2>\n<table>\n<tr>", title))
		return -1;
	for (j = 0; j < nkeys; j++)
		if (fl_buf_addf(out, "<th>%s</th>", keys[j]))
			return -1;
	if (fl_buf_adds(out, "</tr>\n"))
		return -1;
	for (i = 0; i < fl_json_len(a); i++) {
		struct json_object *it = json_object_array_get_idx(a, i);

		if (fl_buf_adds(out, "<tr>"))
			return -1;
		for (j = 0; j < nkeys; j++) {
			struct json_object *v = fl_json_get(it, keys[j]);

			if (cell(out, v ? json_object_get_string(v) : NULL))
				return -1;
		}
		if (fl_buf_adds(out, "</tr>\n"))
			return -1;
	}
	return fl_buf_adds(out, "</table>\n");
}

static int tables(struct json_object *obj, struct fl_buf *out)
{
	static const char *const probe[] = {"name",	"baseline", "during",
					    "after",	"passed",   "samples",
					    "passRate", "lastError"};
	static const char *const target[] = {
		"target", "fault",	"kind",	      "namespace", "name",
		"state",  "injectedAt", "revertedAt", "reason"};
	static const char *const cond[] = {"type", "status", "reason",
					   "message"};
	static const char *const hist[] = {
		"runId",     "generation",     "phase",	       "verdict",
		"startTime", "completionTime", "availability", "recoveryTime"};

	return table(obj, "Probes", "status.probes", probe, 8, out) ||
	       table(obj, "Targets", "status.targets", target, 9, out) ||
	       table(obj, "Conditions", "status.conditions", cond, 4, out) ||
	       table(obj, "History", "status.history", hist, 8, out);
}

int fl_report_html(struct json_object *obj, struct fl_buf *out)
{
	const char *ns = fl_cli_str(obj, "metadata.namespace");
	const char *name = fl_cli_str(obj, "metadata.name");
	const char *hyp = fl_cli_str(obj, "spec.hypothesis");

	if (fl_buf_adds(out,
			"<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
			"<meta charset=\"utf-8\">\n"
			"<meta http-equiv=\"Content-Security-Policy\" "
			"content=\"default-src 'none'; "
			"style-src 'unsafe-inline'\">\n<title>faultline: ") ||
	    ESC(ns) || fl_buf_addc(out, '/') || ESC(name) ||
	    fl_buf_addf(out, "</title>\n<style>%s</style>\n</head>\n<body>\n",
			style) ||
	    fl_buf_adds(out, "<h1>Chaos experiment <code>") || ESC(ns) ||
	    fl_buf_addc(out, '/') || ESC(name) ||
	    fl_buf_adds(out, "</code></h1>\n"))
		return -1;
	if (hyp && (fl_buf_adds(out, "<p class=\"hyp\">") || ESC(hyp) ||
		    fl_buf_adds(out, "</p>\n")))
		return -1;
	if (summary(obj, out) || timeline(obj, out) || tables(obj, out))
		return -1;
	return fl_buf_adds(out, "</body>\n</html>\n") ? -1 : 0;
}
