/*
 * The level-triggered reconcile: given only a key, re-read the experiment
 * and decide what its run needs next.  Nothing is remembered between
 * calls; everything comes from the object, so a restarted operator, or
 * another one that took over the lease, decides the same way.
 *
 * Order of concerns: deletion (revert, then let the object go), a spec
 * the operator cannot run (Stalled), the kill switch and abort requests,
 * starting a new run (a new generation, a re-run request, a schedule),
 * and then the phases of the run in progress.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "cron.h"
#include "errors.h"
#include "fault.h"
#include "json.h"
#include "kube.h"
#include "kube_store.h"
#include "log.h"
#include "run.h"

/* At most this many steps in one reconcile; a run that keeps moving is
 * queued again rather than holding a worker. */
#define MAX_STEPS 16

static int phase_is(const char *phase, const char *p)
{
	return phase && !strcmp(phase, p);
}

/* A run is active from Pending until it ends. */
static int run_active(const char *phase)
{
	return phase_is(phase, FL_PH_PENDING) ||
	       phase_is(phase, FL_PH_PREPARING) ||
	       phase_is(phase, FL_PH_INJECTING) ||
	       phase_is(phase, FL_PH_OBSERVING) ||
	       phase_is(phase, FL_PH_RECOVERING) ||
	       phase_is(phase, FL_PH_VALIDATING);
}

static const char *annotation(struct fl_run *r, const char *key)
{
	struct json_object *meta = fl_json_get(r->obj, "metadata");

	return fl_json_str(fl_json_get(meta, "annotations"), key);
}

/* Status keeps an annotation's value (lastRerun, lastAbort) in at most
 * 256 characters; a request is compared in the form status keeps, so a
 * longer value is acted on once, not again on every look.  Returns v, or
 * v cut at a character boundary into buf (of 257 bytes). */
static const char *request_value(const char *v, char *buf, size_t n)
{
	size_t len = v ? strlen(v) : 0;

	if (len < n)
		return v;
	len = n - 1;
	while (len > 0 && ((unsigned char)v[len] & 0xc0) == 0x80)
		len--;
	memcpy(buf, v, len);
	buf[len] = '\0';
	return buf;
}

static int has_finalizer(struct fl_run *r)
{
	struct json_object *meta = fl_json_get(r->obj, "metadata");
	struct json_object *fin = fl_json_get(meta, "finalizers");

	for (size_t i = 0; i < fl_json_len(fin); i++) {
		const char *f = json_object_get_string(
			json_object_array_get_idx(fin, i));

		if (f && !strcmp(f, FL_FINALIZER))
			return 1;
	}
	return 0;
}

/*
 * Adds or removes our finalizer with a merge patch that carries the
 * resourceVersion read, so that it cannot undo a change made meanwhile.
 * Only metadata.finalizers changes: never spec.
 */
static int set_finalizer(struct fl_run *r, int on)
{
	struct fl_kube_ref ref = {FL_GROUP, FL_VERSION, FL_RESOURCE,
				  r->ns,    r->name,	NULL};
	struct json_object *meta = fl_json_get(r->obj, "metadata");
	struct json_object *fin = fl_json_get(meta, "finalizers");
	struct json_object *patch = json_object_new_object();
	struct json_object *pm = json_object_new_object();
	struct json_object *list = json_object_new_array();
	struct json_object *out = NULL;
	struct fl_kube_status st = {0};
	int rc = -1;

	for (size_t i = 0; i < fl_json_len(fin); i++) {
		struct json_object *f = json_object_array_get_idx(fin, i);
		const char *s = json_object_get_string(f);

		if (s && strcmp(s, FL_FINALIZER))
			json_object_array_add(list, json_object_get(f));
	}
	if (on)
		json_object_array_add(list,
				      json_object_new_string(FL_FINALIZER));
	json_object_object_add(pm, "resourceVersion",
			       json_object_new_string(fl_kube_obj_rv(r->obj)));
	json_object_object_add(pm, "finalizers", list);
	json_object_object_add(patch, "metadata", pm);

	if (fl_kube_patch(r->w->kube, &ref, FL_KUBE_PATCH_MERGE,
			  json_object_to_json_string(patch), FL_FIELD_MANAGER,
			  0, &out, &st)) {
		if (st.code == 409)
			r->conflict = 1;
		else if (st.code != 404)
			FL_LOG(FL_LOG_WARN, &r->log,
			       "cannot %s the finalizer of chaosexperiment "
			       "'%s/%s': %ld %s",
			       on ? "add" : "remove", r->ns, r->name, st.code,
			       st.message);
		fl_kube_status_release(&st);
		goto out;
	}
	/* Only metadata changed on the server: keep the status changes not
	 * yet written. */
	if (r->status)
		json_object_object_add(out, "status",
				       json_object_get(r->status));
	json_object_put(r->obj);
	r->obj = out;
	r->status = fl_json_get(out, "status");
	rc = 0;
out:
	json_object_put(patch);
	return rc;
}

/* The object is being deleted: revert whatever the run injected, end
 * it, then let the object go. */
static int reconcile_deletion(struct fl_run *r)
{
	if (!has_finalizer(r))
		return 0;
	if (run_active(fl_st_str(r, "phase"))) {
		if (fl_run_abort(r, "Deleted",
				 "the experiment was deleted; every fault "
				 "was reverted first"))
			return -1;
	} else if (fl_run_revert_all(r)) {
		return -1;
	}
	fl_failpoint("before-finalizer-removed");
	if (set_finalizer(r, 0))
		return r->conflict ? 0 : -1;
	FL_LOG(FL_LOG_INFO, &r->log, "reverted; finalizer removed");
	return 0;
}

/* A run id that sorts by start time and says when it started. */
static void new_run_id(char *out, size_t n)
{
	time_t now = time(NULL);
	struct tm tm;

	gmtime_r(&now, &tm);
	snprintf(out, n, "%04d%02d%02d-%02d%02d%02d-%04x", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
		 (unsigned)(random() & 0xffff));
}

/* Clears the previous run's fields and gives status a new run id (not
 * yet written). */
static void begin_run(struct fl_run *r)
{
	static const char *const clear[] = {
		"verdict",	  "message",
		"targets",	  "probes",
		"phaseTimes",	  "recoveryTime",
		"availability",	  "recoveryExceeded",
		"completionTime", "targetCount",
		"plan",		  "startTime",
		"ending",	  "onFailure"};

	for (size_t i = 0; i < sizeof(clear) / sizeof(clear[0]); i++)
		fl_st_set(r, clear[i], NULL);
	new_run_id(r->run_id, sizeof(r->run_id));
	r->log.run = r->run_id;
	fl_st_set_str(r, "runId", r->run_id);
}

/*
 * The spec cannot be run (it slipped past the CRD, or an older CRD let
 * it in).  Reverts what an earlier run of it may hold, then says so once
 * per generation: Stalled, with every error in the message.
 */
static int stall(struct fl_run *r, const struct fl_errors *errs)
{
	struct json_object *meta = fl_json_get(r->obj, "metadata");
	int64_t gen = json_object_get_int64(fl_json_get(meta, "generation"));
	char msg[2048] = "invalid spec: ";
	size_t len = strlen(msg);
	struct json_object *conds = fl_json_get(r->status, "conditions");

	for (size_t i = 0; i < fl_json_len(conds); i++) {
		struct json_object *c = json_object_array_get_idx(conds, i);
		const char *t = fl_json_str(c, "type");
		const char *s = fl_json_str(c, "status");
		struct json_object *g = fl_json_get(c, "observedGeneration");

		if (t && !strcmp(t, "Stalled") && s && !strcmp(s, "True") &&
		    g && json_object_get_int64(g) == gen &&
		    !run_active(fl_st_str(r, "phase")))
			return 0; /* already said */
	}
	if (run_active(fl_st_str(r, "phase"))) {
		if (fl_run_revert_all(r))
			return -1;
	} else {
		/* No run is cut short: the stall is an entry of its own in
		 * history, not a rewrite of the run before it. */
		begin_run(r);
	}

	for (size_t i = 0; i < errs->n && len < sizeof(msg) - 1; i++) {
		char line[600];

		fl_errors_format(errs, i, NULL, line, sizeof(line));
		len += (size_t)snprintf(msg + len, sizeof(msg) - len, "%s%s",
					i ? "; " : "", line);
	}
	r->x.generation = gen;
	fl_st_set(r, "observedGeneration", json_object_new_int64(gen));
	fl_st_finish(r, FL_PH_FAILED, "Error", msg);
	fl_st_condition(r, "Stalled", "True", "InvalidSpec", msg);
	FL_LOG(FL_LOG_ERROR, &r->log, "chaosexperiment '%s/%s': %s", r->ns,
	       r->name, msg);
	return fl_st_write(r);
}

/* Clears the previous run's fields and writes a new run as Pending. */
static int start_run(struct fl_run *r, const char *why)
{
	char now[40];

	if (!r->x.dry_run && !has_finalizer(r) && set_finalizer(r, 1))
		return r->conflict ? 0 : -1;
	begin_run(r);
	fl_st_set(r, "observedGeneration",
		  json_object_new_int64(r->x.generation));
	fl_st_set_str(r, "startTime",
		      fl_time_format(fl_now_ms(), now, sizeof(now)));
	fl_st_phase(r, FL_PH_PENDING, why);
	return fl_st_write(r);
}

/*
 * Whether a new run is due, and why; records what it acted on (the
 * generation, a re-run request, the schedule) in status.  Returns 1 with
 * why filled when a run should start, 0 when not (r->wake_ms may ask to
 * look again), -1 when the schedule cannot be read (stalls).
 */
static int run_due(struct fl_run *r, char *why, size_t n)
{
	int64_t seen = fl_st_int(r, "observedGeneration", -1);
	char err[256], tbuf[40], req[257];
	const char *rerun =
		request_value(annotation(r, FL_ANN_RERUN), req, sizeof(req));
	const char *last_rerun = fl_st_str(r, "lastRerun");
	struct fl_cron cron;

	if (rerun && *rerun && (!last_rerun || strcmp(rerun, last_rerun))) {
		fl_st_set_str(r, "lastRerun", rerun);
		snprintf(why, n, "re-run requested (%s=%s)", FL_ANN_RERUN,
			 rerun);
		return 1;
	}
	if (!r->x.schedule) {
		if (seen == r->x.generation)
			return 0;
		snprintf(why, n, "generation %lld", (long long)r->x.generation);
		return 1;
	}

	if (fl_cron_parse(&cron, r->x.schedule, err, sizeof(err)))
		return -1;

	int64_t now = fl_now_ms();
	int64_t next = fl_time_parse(fl_st_str(r, "nextScheduleTime"));

	if (seen != r->x.generation || next < 0) {
		/* A new or changed schedule counts from now. */
		time_t t = fl_cron_next(&cron, (time_t)(now / 1000));

		fl_st_set(r, "observedGeneration",
			  json_object_new_int64(r->x.generation));
		fl_st_set_str(r, "nextScheduleTime",
			      t < 0 ? NULL
				    : fl_time_format((int64_t)t * 1000, tbuf,
						     sizeof(tbuf)));
		if (fl_st_write(r))
			return r->conflict ? 0 : -1;
		if (t >= 0)
			fl_run_wake_at(r, (int64_t)t * 1000);
		return 0;
	}
	if (now < next) {
		fl_run_wake_at(r, next);
		return 0;
	}

	time_t t = fl_cron_next(&cron, (time_t)(now / 1000));

	fl_st_set_str(r, "lastScheduleTime", fl_st_str(r, "nextScheduleTime"));
	fl_st_set_str(
		r, "nextScheduleTime",
		t < 0 ? NULL
		      : fl_time_format((int64_t)t * 1000, tbuf, sizeof(tbuf)));
	if (t >= 0)
		fl_run_wake_at(r, (int64_t)t * 1000);
	snprintf(why, n, "scheduled (%s)", r->x.schedule);
	return 1;
}

/* Carries the active run forward until it must wait. */
static int step_run(struct fl_run *r)
{
	for (int i = 0; i < MAX_STEPS; i++) {
		const char *phase = fl_st_str(r, "phase");
		int rc;

		if (phase_is(phase, FL_PH_PENDING)) {
			fl_st_phase(r, FL_PH_PREPARING, NULL);
			rc = fl_st_write(r);
			fl_failpoint("after-preparing");
		} else if (phase_is(phase, FL_PH_PREPARING)) {
			rc = fl_run_prepare(r);
		} else if (phase_is(phase, FL_PH_INJECTING)) {
			rc = fl_run_inject(r);
		} else if (phase_is(phase, FL_PH_OBSERVING)) {
			rc = fl_run_observe(r);
		} else if (phase_is(phase, FL_PH_RECOVERING)) {
			rc = fl_run_recover(r);
		} else if (phase_is(phase, FL_PH_VALIDATING)) {
			rc = fl_run_validate(r);
		} else {
			return 0;
		}
		if (rc)
			return rc < 0 && !r->conflict ? -1 : 0;
	}
	fl_run_wake_at(r, fl_now_ms());
	return 0;
}

#define ABORT_MESSAGE \
	"aborted on request (" FL_ANN_ABORT "); every fault was reverted"

static int reconcile_run(struct fl_run *r)
{
	const char *phase = fl_st_str(r, "phase");
	char why[256], req[257];
	const char *abort_req =
		request_value(annotation(r, FL_ANN_ABORT), req, sizeof(req));
	const char *last_abort = fl_st_str(r, "lastAbort");
	int due;

	if (abort_req && *abort_req &&
	    (!last_abort || strcmp(abort_req, last_abort))) {
		if (!run_active(phase)) {
			fl_st_set_str(r, "lastAbort", abort_req);
			return fl_st_write(r);
		}
		/* The request counts as done only with the run's end: while
		 * a revert keeps failing, the next reconcile aborts again
		 * instead of carrying the run on. */
		fl_run_ending(r, "AbortRequested", ABORT_MESSAGE);
		if (fl_run_revert_all(r)) {
			fl_st_write(r);
			return -1;
		}
		fl_st_set_str(r, "lastAbort", abort_req);
		return fl_run_abort(r, "AbortRequested", ABORT_MESSAGE);
	}
	if (run_active(phase) && fl_json_get(r->status, "ending")) {
		/* An abort decided earlier, not finished yet. */
		struct json_object *e = fl_json_get(r->status, "ending");
		char reason[64], message[512];

		snprintf(reason, sizeof(reason), "%s",
			 fl_json_str(e, "reason") ? fl_json_str(e, "reason")
						  : "Aborted");
		snprintf(message, sizeof(message), "%s",
			 fl_json_str(e, "message") ? fl_json_str(e, "message")
						   : "");
		return fl_run_abort(r, reason, message);
	}
	if (run_active(phase) &&
	    fl_st_int(r, "observedGeneration", -1) != r->x.generation)
		return fl_run_abort(r, "SpecChanged",
				    "the spec changed during the run; every "
				    "fault was reverted and a new run starts");
	if (r->w->op->kill_switch) {
		if (run_active(phase))
			return fl_run_abort(r, "KillSwitch",
					    "the kill switch is engaged; every "
					    "fault was reverted");
		return 0; /* nothing starts until it is released */
	}
	if (!run_active(phase)) {
		due = run_due(r, why, sizeof(why));
		if (due <= 0)
			return due;
		if (start_run(r, why))
			return r->conflict ? 0 : -1;
	}
	return step_run(r);
}

/* Parses the spec from a copy, so that the defaults the parser fills in
 * never reach what we write back. */
static int parse_spec(struct fl_run *r, struct fl_errors *errs)
{
	struct json_object *copy = NULL;
	int rc;

	if (json_object_deep_copy(r->obj, &copy, NULL))
		return -1;
	rc = fl_experiment_from_json(copy, &r->x, errs);
	json_object_put(copy);
	if (!rc)
		r->parsed = 1;
	return rc;
}

static int reconcile_obj(struct fl_run *r)
{
	struct json_object *meta = fl_json_get(r->obj, "metadata");
	struct fl_errors errs = {0};
	const char *id = fl_st_str(r, "runId");
	struct fl_cron cron;
	char err[256];
	int rc;

	if (id)
		snprintf(r->run_id, sizeof(r->run_id), "%s", id);
	r->log.run = r->run_id[0] ? r->run_id : NULL;

	int bad = parse_spec(r, &errs);

	if (fl_json_get(meta, "deletionTimestamp"))
		return reconcile_deletion(r);
	if (!bad && r->x.schedule &&
	    fl_cron_parse(&cron, r->x.schedule, err, sizeof(err))) {
		fl_errors_add(&errs, 0, "spec.schedule", "%s", err);
		bad = 1;
	}
	rc = bad ? stall(r, &errs) : reconcile_run(r);
	if (rc || r->conflict)
		return rc;

	/* The finalizer guards a run that may hold faults; once the run has
	 * ended there is nothing to revert, and an experiment left behind
	 * by an uninstalled operator must still be deletable. */
	if (!run_active(fl_st_str(r, "phase")) && has_finalizer(r) &&
	    set_finalizer(r, 0))
		return r->conflict ? 0 : -1;
	return 0;
}

int64_t fl_reconcile(struct fl_worker *w, const char *ns, const char *name)
{
	struct fl_kube_ref ref = {FL_GROUP, FL_VERSION, FL_RESOURCE,
				  ns,	    name,	NULL};
	struct fl_kube_status st = {0};
	struct fl_run r = {0};
	int64_t ret = 0;
	int rc;

	r.w = w;
	snprintf(r.ns, sizeof(r.ns), "%s", ns);
	snprintf(r.name, sizeof(r.name), "%s", name);
	r.log.ns = r.ns;
	r.log.name = r.name;

	if (fl_kube_get(w->kube, &ref, &r.obj, &st)) {
		if (st.code == 404) {
			fl_kube_status_release(&st);
			fl_injector_sweep(w->op, ns, name, NULL);
			return 0;
		}
		FL_LOG(FL_LOG_WARN, &r.log,
		       "cannot read chaosexperiment '%s/%s': %ld %s", ns, name,
		       st.code, st.message);
		fl_kube_status_release(&st);
		return -1;
	}
	r.status = fl_json_get(r.obj, "status");

	rc = reconcile_obj(&r);
	fl_run_flush_events(&r);
	fl_injector_sweep(w->op, ns, name, &r);
	if (rc < 0 && !r.conflict) {
		ret = -1;
	} else if (r.conflict) {
		ret = 1; /* someone wrote meanwhile: look again at once */
	} else if (r.wake_ms) {
		ret = r.wake_ms - fl_now_ms();
		if (ret < 1)
			ret = 1;
	}
	if (r.parsed)
		fl_experiment_release(&r.x);
	json_object_put(r.obj);
	return ret;
}
