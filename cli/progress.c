/*
 * One line that says where a run stands: phase, time into the fault
 * window, targets injected, and each probe's last sample.  `run --wait`
 * redraws it in place on a terminal and prints it as a log line
 * elsewhere; the outcome of a finished run is decided here too.
 */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json.h"
#include "units.h"

#define BAR_WIDTH 20

/* Appends to out[*len..n), never past the end. */
static void put(char *out, size_t n, size_t *len, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void put(char *out, size_t n, size_t *len, const char *fmt, ...)
{
	va_list ap;
	int w;

	if (*len + 1 >= n)
		return;
	va_start(ap, fmt);
	w = vsnprintf(out + *len, n - *len, fmt, ap);
	va_end(ap);
	if (w > 0)
		*len += (size_t)w < n - *len ? (size_t)w : n - *len - 1;
}

/* When the faults went in: phaseTimes.Injecting, else startTime. */
static int window_start(struct json_object *obj, int64_t *ms)
{
	const char *t = fl_cli_str(obj, "status.phaseTimes.Injecting");

	if (!t)
		t = fl_cli_str(obj, "status.startTime");
	return fl_cli_time_parse(t, ms);
}

static void put_time(char *out, size_t n, size_t *len, struct json_object *obj,
		     int64_t duration_ms, int64_t now_ms, int bar)
{
	const char *end = fl_cli_str(obj, "status.completionTime");
	char a[32], b[32];
	int64_t start, stop = now_ms, elapsed;
	int i, fill;

	if (window_start(obj, &start))
		return;
	if (end)
		fl_cli_time_parse(end, &stop);
	elapsed = stop > start ? stop - start : 0;
	/* Whole seconds: milliseconds would make every redraw differ. */
	fl_duration_format(elapsed / 1000 * 1000, a, sizeof(a));
	fl_duration_format(duration_ms, b, sizeof(b));
	if (bar) {
		fill = duration_ms > 0
			       ? (int)(elapsed * BAR_WIDTH / duration_ms)
			       : BAR_WIDTH;
		if (fill > BAR_WIDTH)
			fill = BAR_WIDTH;
		put(out, n, len, " [");
		for (i = 0; i < BAR_WIDTH; i++)
			put(out, n, len, "%c", i < fill ? '#' : '.');
		put(out, n, len, "]");
	}
	put(out, n, len, " %s/%s", a, b);
}

static void put_targets(char *out, size_t n, size_t *len,
			struct json_object *obj)
{
	struct json_object *ts = fl_cli_at(obj, "status.targets");
	size_t i, injected = 0, reverted = 0, failed = 0;
	int64_t total = fl_cli_int(obj, "status.targetCount", -1);

	if (total < 0)
		total = (int64_t)fl_json_len(ts);
	for (i = 0; i < fl_json_len(ts); i++) {
		const char *s =
			fl_json_str(json_object_array_get_idx(ts, i), "state");

		if (!s)
			continue;
		injected += !strcmp(s, "Injected");
		reverted += !strcmp(s, "Reverted");
		failed += !strcmp(s, "Failed");
	}
	put(out, n, len, ", targets %zu/%lld injected", injected,
	    (long long)total);
	if (reverted)
		put(out, n, len, ", %zu reverted", reverted);
	if (failed)
		put(out, n, len, ", %zu failed", failed);
}

static void put_probes(char *out, size_t n, size_t *len,
		       struct json_object *obj)
{
	struct json_object *ps = fl_cli_at(obj, "status.probes");
	char name[64];
	size_t i;

	for (i = 0; i < fl_json_len(ps); i++) {
		struct json_object *p = json_object_array_get_idx(ps, i);
		const char *tl = fl_json_str(p, "timeline");
		size_t tn = tl ? strlen(tl) : 0;

		put(out, n, len, "%s%s %s", i ? ", " : ", probes ",
		    fl_cli_safe(fl_json_str(p, "name"), "?", name,
				sizeof(name)),
		    !tn			? "?"
		    : tl[tn - 1] == '+' ? "pass"
					: "FAIL");
	}
}

size_t fl_cli_progress_line(struct json_object *obj, int64_t duration_ms,
			    int64_t now_ms, int bar, int with_time, char *out,
			    size_t n)
{
	char phase[40], run[80];
	size_t len = 0;

	if (!n)
		return 0;
	out[0] = '\0';
	put(out, n, &len, "run %s: %s",
	    fl_cli_safe(fl_cli_str(obj, "status.runId"), "-", run, sizeof(run)),
	    fl_cli_safe(fl_cli_str(obj, "status.phase"), "Pending", phase,
			sizeof(phase)));
	if (with_time)
		put_time(out, n, &len, obj, duration_ms, now_ms, bar);
	put_targets(out, n, &len, obj);
	put_probes(out, n, &len, obj);
	return len;
}

int fl_cli_run_finished(struct json_object *obj)
{
	const char *p = fl_cli_str(obj, "status.phase");

	return p && (!strcmp(p, "Completed") || !strcmp(p, "Aborted") ||
		     !strcmp(p, "Failed"));
}

int fl_cli_run_exit_code(struct json_object *obj, int dry_run)
{
	const char *v = fl_cli_str(obj, "status.verdict");
	const char *p = fl_cli_str(obj, "status.phase");

	if (v && !strcmp(v, "Passed"))
		return 0;
	if (v && !strcmp(v, "Failed"))
		return FL_EXIT_FAILED;
	if (v && !strcmp(v, "Aborted"))
		return FL_EXIT_ABORTED;
	if (v)
		return FL_EXIT_ERROR;
	/* No verdict: a dry run that completed has nothing to judge. */
	if (p && !strcmp(p, "Completed") && dry_run)
		return 0;
	if (p && !strcmp(p, "Aborted"))
		return FL_EXIT_ABORTED;
	return FL_EXIT_ERROR;
}
