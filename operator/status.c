/*
 * Writing a run into status: times, phases, kstatus conditions, history,
 * and the Events that go with each transition.
 *
 * Conditions follow what kstatus, Flux and Argo CD read: a run in
 * progress is Reconciling; a finished run is Complete, and Ready only
 * when its verdict passed; Stalled only when the operator itself cannot
 * go on (a bad spec), never because the hypothesis failed.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "json.h"
#include "kube.h"
#include "log.h"
#include "run.h"

int64_t fl_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

char *fl_time_format(int64_t ms, char *out, size_t n)
{
	time_t s = (time_t)(ms / 1000);
	struct tm tm;

	gmtime_r(&s, &tm);
	snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec, (int)(ms % 1000));
	return out;
}

/* Reads exactly n digits at *p into *v. */
static int digits(const char **p, int n, int *v)
{
	*v = 0;
	for (int i = 0; i < n; i++) {
		if ((*p)[i] < '0' || (*p)[i] > '9')
			return -1;
		*v = *v * 10 + ((*p)[i] - '0');
	}
	*p += n;
	return 0;
}

int64_t fl_time_parse(const char *s)
{
	struct tm tm = {0};
	int y, mo, d, h, mi, sec, ms = 0, offset_s = 0;
	const char *p = s;

	if (!s || digits(&p, 4, &y) || *p++ != '-' || digits(&p, 2, &mo) ||
	    *p++ != '-' || digits(&p, 2, &d) || (*p != 'T' && *p != 't'))
		return -1;
	p++;
	if (digits(&p, 2, &h) || *p++ != ':' || digits(&p, 2, &mi) ||
	    *p++ != ':' || digits(&p, 2, &sec))
		return -1;
	if (*p == '.') {
		int scale = 100;

		for (p++; *p >= '0' && *p <= '9'; p++, scale /= 10)
			ms += (*p - '0') * scale;
	}
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1, oh, om;

		p++;
		if (digits(&p, 2, &oh) || *p++ != ':' || digits(&p, 2, &om))
			return -1;
		offset_s = sign * (oh * 3600 + om * 60);
	} else {
		return -1;
	}
	if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 ||
	    sec > 60)
		return -1;
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	return ((int64_t)timegm(&tm) - offset_s) * 1000 + ms;
}

static struct json_object *status_obj(struct fl_run *r)
{
	if (!r->status) {
		r->status = json_object_new_object();
		json_object_object_add(r->obj, "status", r->status);
	}
	return r->status;
}

const char *fl_st_str(struct fl_run *r, const char *key)
{
	return fl_json_str(r->status, key);
}

int64_t fl_st_int(struct fl_run *r, const char *key, int64_t dflt)
{
	struct json_object *v = fl_json_get(r->status, key);

	return v && json_object_is_type(v, json_type_int)
		       ? json_object_get_int64(v)
		       : dflt;
}

void fl_st_set(struct fl_run *r, const char *key, struct json_object *v)
{
	struct json_object *st = status_obj(r);

	if (v)
		json_object_object_add(st, key, v);
	else
		json_object_object_del(st, key);
}

void fl_st_set_str(struct fl_run *r, const char *key, const char *v)
{
	fl_st_set(r, key, v ? json_object_new_string(v) : NULL);
}

struct json_object *fl_st_targets(struct fl_run *r)
{
	struct json_object *t = fl_json_get(r->status, "targets");

	if (!t || !json_object_is_type(t, json_type_array)) {
		t = json_object_new_array();
		fl_st_set(r, "targets", t);
	}
	return t;
}

int64_t fl_st_phase_time(struct fl_run *r, const char *phase)
{
	struct json_object *times = fl_json_get(r->status, "phaseTimes");

	return fl_time_parse(fl_json_str(times, phase));
}

void fl_st_condition(struct fl_run *r, const char *type, const char *status,
		     const char *reason, const char *message)
{
	struct json_object *conds = fl_json_get(r->status, "conditions");
	struct json_object *c = NULL;
	char now[40];

	if (!conds || !json_object_is_type(conds, json_type_array)) {
		conds = json_object_new_array();
		fl_st_set(r, "conditions", conds);
	}
	for (size_t i = 0; i < fl_json_len(conds); i++) {
		struct json_object *e = json_object_array_get_idx(conds, i);
		const char *t = fl_json_str(e, "type");

		if (t && !strcmp(t, type))
			c = e;
	}
	if (!c) {
		c = json_object_new_object();
		json_object_object_add(c, "type", json_object_new_string(type));
		json_object_array_add(conds, c);
	}

	const char *old = fl_json_str(c, "status");

	if (!old || strcmp(old, status) ||
	    !fl_json_get(c, "lastTransitionTime"))
		json_object_object_add(c, "lastTransitionTime",
				       json_object_new_string(fl_time_format(
					       fl_now_ms(), now, sizeof(now))));
	json_object_object_add(c, "status", json_object_new_string(status));
	json_object_object_add(c, "reason", json_object_new_string(reason));
	json_object_object_add(c, "message",
			       json_object_new_string(message ? message : ""));
	json_object_object_add(c, "observedGeneration",
			       json_object_new_int64(r->x.generation));
}

/* Sets status.phase, the time it started and the message. */
static void phase_set(struct fl_run *r, const char *phase, const char *message)
{
	struct json_object *times = fl_json_get(r->status, "phaseTimes");
	char now[40];

	if (!times || !json_object_is_type(times, json_type_object)) {
		times = json_object_new_object();
		fl_st_set(r, "phaseTimes", times);
	}
	fl_time_format(fl_now_ms(), now, sizeof(now));
	json_object_object_add(times, phase, json_object_new_string(now));
	fl_st_set_str(r, "phase", phase);
	if (message)
		fl_st_set_str(r, "message", message);
}

void fl_st_phase(struct fl_run *r, const char *phase, const char *message)
{
	char msg[512];

	phase_set(r, phase, message);
	r->entered = phase;
	snprintf(msg, sizeof(msg), "run %s: %s", r->run_id, phase);
	fl_st_condition(r, "Reconciling", "True", phase, msg);
	fl_st_condition(r, "Ready", "False", "Running", msg);
	fl_st_condition(r, "Stalled", "False", "Running", "");
	fl_st_condition(r, "Complete", "False", "Running", msg);
	FL_LOG(FL_LOG_INFO, &r->log, "phase %s%s%s", phase, message ? ": " : "",
	       message ? message : "");
	fl_run_event(r, "Normal", phase, phase, "run %s: %s%s%s", r->run_id,
		     phase, message ? ": " : "", message ? message : "");
}

/* Appends the finished run to status.history (replacing an entry of the
 * same run, so a retried write does not add it twice), oldest first,
 * at most FL_HISTORY_MAX. */
static void history_push(struct fl_run *r)
{
	struct json_object *hist = fl_json_get(r->status, "history");
	struct json_object *next = json_object_new_array();
	struct json_object *e = json_object_new_object();
	static const char *const keep[] = {"phase", "verdict", "startTime",
					   "completionTime", "recoveryTime"};
	const char *msg = fl_st_str(r, "message");
	size_t n = fl_json_len(hist), from = 0, kept = 0;

	for (size_t i = 0; i < n; i++) {
		const char *id = fl_json_str(json_object_array_get_idx(hist, i),
					     "runId");

		if (!id || strcmp(id, r->run_id))
			kept++;
	}
	if (kept >= FL_HISTORY_MAX)
		from = kept - (FL_HISTORY_MAX - 1);
	for (size_t i = 0, k = 0; i < n; i++) {
		struct json_object *h = json_object_array_get_idx(hist, i);
		const char *id = fl_json_str(h, "runId");

		if (id && !strcmp(id, r->run_id))
			continue;
		if (k++ >= from)
			json_object_array_add(next, json_object_get(h));
	}

	json_object_object_add(e, "runId", json_object_new_string(r->run_id));
	json_object_object_add(e, "generation",
			       json_object_new_int64(r->x.generation));
	for (size_t i = 0; i < sizeof(keep) / sizeof(keep[0]); i++) {
		struct json_object *v = fl_json_get(r->status, keep[i]);

		if (v)
			json_object_object_add(e, keep[i], json_object_get(v));
	}
	if (fl_json_get(r->status, "availability"))
		json_object_object_add(e, "availability",
				       json_object_get(fl_json_get(
					       r->status, "availability")));
	if (msg)
		json_object_object_add(
			e, "message",
			json_object_new_string_len(
				msg, (int)(strlen(msg) > 1024 ? 1024
							      : strlen(msg))));
	json_object_array_add(next, e);
	fl_st_set(r, "history", next);
}

void fl_st_finish(struct fl_run *r, const char *phase, const char *verdict,
		  const char *message)
{
	char now[40];
	const char *reason = verdict ? verdict : phase;
	int ready = verdict ? !strcmp(verdict, "Passed")
			    : !strcmp(phase, FL_PH_COMPLETED);

	phase_set(r, phase, message);
	fl_st_set(r, "ending", NULL);
	r->ended_phase = phase;
	r->ended_verdict = verdict ? verdict : "None";
	fl_st_set_str(r, "verdict", verdict);
	fl_st_set_str(r, "completionTime",
		      fl_time_format(fl_now_ms(), now, sizeof(now)));
	fl_st_condition(r, "Reconciling", "False", phase, message);
	fl_st_condition(r, "Stalled", "False", phase, "");
	fl_st_condition(r, "Ready", ready ? "True" : "False", reason, message);
	fl_st_condition(r, "Complete", "True", reason, message);
	history_push(r);
	fl_run_event(r, ready ? "Normal" : "Warning", reason, phase,
		     "run %s ended %s%s%s: %s", r->run_id, phase,
		     verdict ? ", verdict " : "", verdict ? verdict : "",
		     message ? message : "");
	FL_LOG(ready ? FL_LOG_INFO : FL_LOG_WARN, &r->log,
	       "run ended: phase %s, verdict %s: %s", phase,
	       verdict ? verdict : "none", message ? message : "");
}

/* Counts what a successful write made true. */
static void count_written(struct fl_run *r)
{
	char labels[96];

	if (r->entered) {
		snprintf(labels, sizeof(labels), "phase=\"%s\"", r->entered);
		fl_metrics_add(r->w->op->metrics,
			       "faultline_phase_transitions_total", labels, 1);
		r->entered = NULL;
	}
	if (r->ended_phase) {
		snprintf(labels, sizeof(labels), "phase=\"%s\",verdict=\"%s\"",
			 r->ended_phase, r->ended_verdict);
		fl_metrics_add(r->w->op->metrics, "faultline_runs_total",
			       labels, 1);
		r->ended_phase = NULL;
	}
}

int fl_st_write(struct fl_run *r)
{
	struct fl_kube_ref ref = {FL_GROUP, FL_VERSION, FL_RESOURCE,
				  r->ns,    r->name,	"status"};
	struct fl_kube_status st = {0};
	struct json_object *out = NULL;

	r->conflict = 0;
	fl_failpoint("before-status-write");
	if (fl_kube_update(r->w->kube, &ref, r->obj, &out, &st)) {
		char labels[64];

		snprintf(labels, sizeof(labels), "code=\"%ld\"", st.code);
		fl_metrics_add(r->w->op->metrics, "faultline_api_errors_total",
			       labels, 1);
		if (st.code == 409)
			r->conflict = 1;
		else
			FL_LOG(FL_LOG_WARN, &r->log,
			       "cannot write status of chaosexperiment "
			       "'%s/%s': %ld %s: %s",
			       r->ns, r->name, st.code, st.reason, st.message);
		fl_kube_status_release(&st);
		return -1;
	}
	json_object_put(r->obj);
	r->obj = out;
	r->status = fl_json_get(out, "status");
	count_written(r);
	fl_run_flush_events(r);
	return 0;
}

void fl_run_event(struct fl_run *r, const char *type, const char *reason,
		  const char *action, const char *fmt, ...)
{
	struct fl_run_pending_event *e;
	va_list ap;

	if (r->nevents == FL_RUN_EVENTS)
		return;
	e = &r->events[r->nevents++];
	snprintf(e->type, sizeof(e->type), "%s", type);
	snprintf(e->reason, sizeof(e->reason), "%s", reason);
	snprintf(e->action, sizeof(e->action), "%s", action);
	va_start(ap, fmt);
	vsnprintf(e->note, sizeof(e->note), fmt, ap);
	va_end(ap);
}

void fl_run_flush_events(struct fl_run *r)
{
	struct json_object *meta = fl_json_get(r->obj, "metadata");
	struct fl_kube_objref ref = {FL_API_VERSION, FL_KIND, r->ns, r->name,
				     fl_json_str(meta, "uid")};

	for (size_t i = 0; i < r->nevents; i++) {
		struct fl_run_pending_event *e = &r->events[i];
		struct fl_kube_status st = {0};

		if (fl_kube_event_record(&r->w->rec, &ref, e->type, e->reason,
					 e->action, e->note, NULL, &st)) {
			FL_LOG(FL_LOG_WARN, &r->log,
			       "cannot record event %s: %ld %s", e->reason,
			       st.code, st.message);
			fl_kube_status_release(&st);
		}
	}
	r->nevents = 0;
}

void fl_run_wake_at(struct fl_run *r, int64_t at_ms)
{
	if (!r->wake_ms || at_ms < r->wake_ms)
		r->wake_ms = at_ms;
}
