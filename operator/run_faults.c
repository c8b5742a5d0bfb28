/*
 * Injecting, Observing, Recovering and Validating: the part of a run that
 * touches targets.
 *
 * The rule that keeps restarts honest: a target is marked Injecting in
 * status before its fault is applied, and Injected only once the fault is
 * confirmed.  After a restart, a target found Injecting is checked (does
 * it hold the fault?) instead of injected again, so nothing is injected
 * twice; reverts are idempotent, so a revert cut short is simply done
 * again.
 *
 * Times count from the start of Injecting: a fault is active from its
 * startAfter for its own duration (the experiment's when not given), and
 * the run observes until the experiment's duration has passed.
 */
#include <stdio.h>
#include <string.h>

#include "aws_ops.h"
#include "fault.h"
#include "on_failure.h"
#include "json.h"
#include "kube_watch.h"
#include "log.h"
#include "metrics.h"
#include "run.h"
#include "run_probes.h"
#include "units.h"

static const char *entry_state(struct json_object *e)
{
	const char *s = fl_json_str(e, "state");

	return s ? s : "";
}

static void entry_set(struct json_object *e, const char *state,
		      const char *reason, const char *time_key)
{
	char now[40];

	json_object_object_add(e, "state", json_object_new_string(state));
	if (reason)
		json_object_object_add(e, "reason",
				       json_object_new_string(reason));
	if (time_key)
		json_object_object_add(e, time_key,
				       json_object_new_string(fl_time_format(
					       fl_now_ms(), now, sizeof(now))));
}

/* The spec's fault an entry belongs to.  A fault renamed, removed or
 * given another kind by a spec change is met with a stand-in of the
 * entry's kind, enough to revert it: the entry's fault is reverted by the
 * ops of the kind that injected it, never by those of the new spec. */
static const struct fl_fault *
entry_fault(struct fl_run *r, struct json_object *e, struct fl_fault *standin)
{
	const char *name = fl_json_str(e, "fault");
	const char *kind = fl_json_str(e, "kind");

	for (size_t i = 0; name && i < r->x.nfaults; i++)
		if (!strcmp(r->x.faults[i].name, name) &&
		    (!kind ||
		     !strcmp(fl_fault_kind_names[r->x.faults[i].kind], kind)))
			return &r->x.faults[i];
	memset(standin, 0, sizeof(*standin));
	standin->name = name ? name : "";
	standin->kind = FL_FAULT_KIND_COUNT;
	for (int k = 0; kind && k < FL_FAULT_KIND_COUNT; k++)
		if (!strcmp(fl_fault_kind_names[k], kind))
			standin->kind = (enum fl_fault_kind)k;
	return standin->kind == FL_FAULT_KIND_COUNT ? NULL : standin;
}

static void observe_seconds(struct fl_run *r, const char *metric,
			    const struct fl_fault *f, int64_t t0)
{
	char labels[80];

	snprintf(labels, sizeof(labels), "kind=\"%s\"",
		 fl_fault_kind_names[f->kind]);
	fl_metrics_observe(r->w->op->metrics, metric, labels,
			   (double)(fl_kube_monotonic_ms() - t0) / 1000.0);
}

/* Calls one op of f on entry e; c (may be NULL) gets the whole call, for
 * what an op reports besides its reason. */
static enum fl_fault_result
call_op(struct fl_run *r, struct json_object *e, const struct fl_fault *f,
	enum fl_fault_result (*fn)(struct fl_fault_call *),
	struct fl_fault_call *out)
{
	struct fl_fault_call c = {0};
	enum fl_fault_result res;

	c.run = r;
	c.kube = r->w->kube;
	c.fault = f;
	c.target = e;
	res = fn(&c);
	if (out)
		*out = c;
	return res;
}

static enum fl_fault_result
call(struct fl_run *r, struct json_object *e, const struct fl_fault *f,
     enum fl_fault_result (*fn)(struct fl_fault_call *), char *why, size_t n)
{
	struct fl_fault_call c;
	enum fl_fault_result res = call_op(r, e, f, fn, &c);

	snprintf(why, n, "%s", c.why);
	return res;
}

/* Fails entry e for why: its state and reason, a warning in the log, and
 * an Event. */
static void fail_entry(struct fl_run *r, struct json_object *e,
		       const struct fl_fault *f, const char *why,
		       const char *event, const char *action)
{
	entry_set(e, FL_TS_FAILED, why, NULL);
	FL_LOG(FL_LOG_WARN, &r->log, "fault '%s' on %s: %s", f->name,
	       fl_json_str(e, "name"), why);
	fl_run_event(r, "Warning", event, action, "fault '%s' on %s: %s",
		     f->name, fl_json_str(e, "name"), why);
}

/* When the fault of f becomes due and when it ends, from t0. */
static int64_t fault_start(const struct fl_fault *f, int64_t t0)
{
	return t0 + f->start_after_ms;
}

static int64_t fault_end(struct fl_run *r, const struct fl_fault *f, int64_t t0)
{
	int64_t end = fault_start(f, t0) + f->duration_ms;
	int64_t run_end = t0 + r->x.duration_ms;

	return end < run_end ? end : run_end;
}

int64_t fl_run_fault_end(struct fl_run *r, const struct fl_fault *f)
{
	return fault_end(r, f, fl_st_phase_time(r, FL_PH_INJECTING));
}

static int revert_entry(struct fl_run *r, struct json_object *e);

/*
 * Resolves entries left Injecting by a run cut short: a target that holds
 * the fault becomes Injected, one that does not goes back to Selected,
 * and one that cannot be checked is reverted (it may hold the fault) and
 * fails.  Returns 0, or -1 when a check or that revert could not be made.
 */
static int settle_injecting(struct fl_run *r, int *changed)
{
	struct json_object *targets = fl_st_targets(r);

	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);
		struct fl_fault standin;
		const struct fl_fault *f;
		const struct fl_fault_ops *ops;
		char why[512], reason[600];

		if (strcmp(entry_state(e), FL_TS_INJECTING))
			continue;
		f = entry_fault(r, e, &standin);
		ops = f ? fl_fault_ops_for(f->kind) : NULL;
		if (!ops)
			return -1;
		switch (call(r, e, f, ops->check, why, sizeof(why))) {
		case FL_FAULT_OK:
			entry_set(e, FL_TS_INJECTED, NULL, "injectedAt");
			FL_LOG(FL_LOG_INFO, &r->log,
			       "fault '%s' found in place on %s after a "
			       "restart",
			       f->name, fl_json_str(e, "name"));
			break;
		case FL_FAULT_ABSENT:
			entry_set(e, FL_TS_SELECTED, NULL, NULL);
			break;
		case FL_FAULT_REFUSED:
			if (revert_entry(r, e))
				return -1;
			snprintf(reason, sizeof(reason),
				 "cannot tell whether the fault was applied "
				 "(%s); reverted to be safe",
				 why);
			entry_set(e, FL_TS_FAILED, reason, NULL);
			break;
		case FL_FAULT_RETRY:
			return -1;
		}
		*changed = 1;
	}
	return 0;
}

/*
 * Injects every Selected target whose fault is due at now: marks them
 * Injecting and writes that first, then applies each and records the
 * outcome.  Returns 0, 1 when the kill switch stopped it (what was not
 * applied is Selected again; look again at once), or -1 to retry later.
 */
static int inject_due(struct fl_run *r, int64_t t0, int64_t now)
{
	struct json_object *targets = fl_st_targets(r);
	int marked = 0, stopped = 0;

	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);
		struct fl_fault standin;
		const struct fl_fault *f = entry_fault(r, e, &standin);

		/* A stand-in is a fault the spec no longer has: revert it if
		 * need be, never inject it. */
		if (!strcmp(entry_state(e), FL_TS_SELECTED) && f &&
		    f != &standin && fl_fault_ops_for(f->kind) &&
		    fault_start(f, t0) <= now) {
			entry_set(e, FL_TS_INJECTING, NULL, NULL);
			marked++;
		}
	}
	if (!marked)
		return 0;
	if (fl_st_write(r))
		return -1;
	fl_failpoint("after-marked-injecting");

	targets = fl_st_targets(r);
	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);
		struct fl_fault standin;
		const struct fl_fault *f = entry_fault(r, e, &standin);
		const struct fl_fault_ops *ops;
		int64_t t = fl_kube_monotonic_ms();
		char why[512];

		if (strcmp(entry_state(e), FL_TS_INJECTING) || !f)
			continue;
		ops = fl_fault_ops_for(f->kind);
		if (!ops)
			continue; /* never marked: see above */
		if (r->w->op->kill_switch) {
			/* Engaged meanwhile: inject nothing more. */
			entry_set(e, FL_TS_SELECTED, NULL, NULL);
			stopped = 1;
			continue;
		}
		switch (call(r, e, f, ops->inject, why, sizeof(why))) {
		case FL_FAULT_OK:
			observe_seconds(r, "faultline_injection_seconds", f, t);
			entry_set(e, FL_TS_INJECTED, NULL, "injectedAt");
			FL_LOG(FL_LOG_INFO, &r->log,
			       "fault '%s' injected: %s%s%s", f->name,
			       fl_json_str(e, "namespace")
				       ? fl_json_str(e, "namespace")
				       : "",
			       fl_json_str(e, "namespace") ? "/" : "",
			       fl_json_str(e, "name"));
			fl_failpoint("after-inject");
			break;
		case FL_FAULT_ABSENT:
			entry_set(e, FL_TS_SKIPPED, why, NULL);
			break;
		case FL_FAULT_REFUSED:
			fail_entry(r, e, f, why, "InjectionFailed", "Inject");
			break;
		case FL_FAULT_RETRY:
			/* Stays Injecting: the next attempt checks first. */
			FL_LOG(FL_LOG_WARN, &r->log, "fault '%s' on %s: %s",
			       f->name, fl_json_str(e, "name"), why);
			fl_st_write(r);
			return -1;
		}
		if (fl_st_write(r))
			return -1;
		targets = fl_st_targets(r);
	}
	if (!stopped)
		return 0;
	if (fl_st_write(r))
		return -1;
	fl_run_wake_at(r, fl_now_ms());
	return 1;
}

/* Reverts one entry that may hold a fault; records the outcome in e
 * (not yet written).  Returns 0, or -1 to retry. */
static int revert_entry(struct fl_run *r, struct json_object *e)
{
	struct fl_fault standin;
	const struct fl_fault *f = entry_fault(r, e, &standin);
	const struct fl_fault_ops *ops = f ? fl_fault_ops_for(f->kind) : NULL;
	int64_t t = fl_kube_monotonic_ms();
	char why[512];

	if (!ops) {
		FL_LOG(FL_LOG_ERROR, &r->log,
		       "cannot revert %s on %s: unknown fault kind",
		       fl_json_str(e, "kind"), fl_json_str(e, "name"));
		return -1;
	}
	fl_failpoint("before-revert");
	switch (call(r, e, f, ops->revert, why, sizeof(why))) {
	case FL_FAULT_OK:
	case FL_FAULT_ABSENT:
		observe_seconds(r, "faultline_revert_seconds", f, t);
		entry_set(e, FL_TS_REVERTED, why[0] ? why : NULL, "revertedAt");
		FL_LOG(FL_LOG_INFO, &r->log, "fault '%s' reverted on %s",
		       f->name, fl_json_str(e, "name"));
		return 0;
	case FL_FAULT_REFUSED:
	case FL_FAULT_RETRY:
		break;
	}
	FL_LOG(FL_LOG_ERROR, &r->log, "cannot revert fault '%s' on %s: %s",
	       f->name, fl_json_str(e, "name"), why);
	fl_run_event(r, "Warning", "RevertFailed", "Revert",
		     "fault '%s' on %s: %s (retrying)", f->name,
		     fl_json_str(e, "name"), why);
	return -1;
}

/*
 * Asks the fault's ops whether an Injected target still holds its fault.
 * A target that lost it is reverted (whatever part of it may remain) and
 * fails with the reason.  Returns 0, or -1 to retry.
 */
static int follow_entry(struct fl_run *r, struct json_object *e,
			const struct fl_fault *f, int *changed)
{
	const struct fl_fault_ops *ops = fl_fault_ops_for(f->kind);
	struct fl_fault_call c;
	char reason[600];

	if (!ops || !ops->follow)
		return 0;
	switch (call_op(r, e, f, ops->follow, &c)) {
	case FL_FAULT_OK:
	case FL_FAULT_ABSENT:
		break;
	case FL_FAULT_RETRY:
		FL_LOG(FL_LOG_WARN, &r->log,
		       "cannot follow fault '%s' on %s: %s", f->name,
		       fl_json_str(e, "name"), c.why);
		break;
	case FL_FAULT_REFUSED:
		snprintf(reason, sizeof(reason), "%s", c.why);
		if (revert_entry(r, e))
			return -1;
		fail_entry(r, e, f, reason, "FaultLost", "Observe");
		*changed = 1;
		return 0;
	}
	if (c.changed)
		*changed = 1;
	if (c.wake_ms)
		fl_run_wake_at(r, c.wake_ms);
	return 0;
}

static int may_hold_fault(struct json_object *e)
{
	const char *s = entry_state(e);

	return !strcmp(s, FL_TS_INJECTING) || !strcmp(s, FL_TS_INJECTED) ||
	       !strcmp(s, FL_TS_REVERTING);
}

int fl_run_revert_all(struct fl_run *r)
{
	struct json_object *targets = fl_json_get(r->status, "targets");
	int rc = 0;

	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);

		if (may_hold_fault(e))
			rc |= revert_entry(r, e);
		else if (!strcmp(entry_state(e), FL_TS_SELECTED))
			entry_set(e, FL_TS_SKIPPED,
				  "the run ended before this fault was due",
				  NULL);
	}
	return rc ? -1 : 0;
}

void fl_run_ending(struct fl_run *r, const char *reason, const char *message)
{
	struct json_object *ending = json_object_new_object();

	json_object_object_add(ending, "reason",
			       json_object_new_string(reason));
	json_object_object_add(ending, "message",
			       json_object_new_string(message));
	fl_st_set(r, "ending", ending);
}

int fl_run_abort(struct fl_run *r, const char *reason, const char *message)
{
	char msg[600];

	/* The decision is kept in status until the run has ended: if a
	 * revert or an onFailure action must be retried, the next look
	 * finishes this abort instead of deciding anew (a probe that passes
	 * again must not carry on a run that is half reverted). */
	fl_run_ending(r, reason, message);
	if (fl_run_revert_all(r)) {
		fl_st_write(r);
		return -1;
	}
	snprintf(msg, sizeof(msg), "%s: %s", reason, message);
	/* The hypothesis itself failed: onFailure applies. */
	if (!strcmp(reason, "ProbeFailed") || !strcmp(reason, "AlarmFired")) {
		int rc = fl_run_on_failure(r, "Aborted", msg);

		if (rc) {
			fl_st_write(r);
			return -1;
		}
	}
	fl_st_finish(r, FL_PH_ABORTED, "Aborted", msg);
	return fl_st_write(r);
}

/*
 * Aborts the run when a CloudWatch alarm it watches fires.  Returns 1
 * when it aborted (or tried to: -1 asks for a retry), 0 to go on.
 */
static int alarms(struct fl_run *r, int *rc)
{
	char why[1024];
	int firing = fl_aws_alarms_firing(r, why, sizeof(why));

	if (firing < 0) {
		FL_LOG(FL_LOG_WARN, &r->log, "cannot read alarms: %s", why);
		fl_run_event(r, "Warning", "AlarmsUnreadable", "Observe", "%s",
			     why);
		return 0;
	}
	if (!firing)
		return 0;
	*rc = fl_run_abort(r, "AlarmFired", why) ? -1 : 0;
	return 1;
}

int fl_run_inject(struct fl_run *r)
{
	int64_t t0 = fl_st_phase_time(r, FL_PH_INJECTING);
	int changed = 0, rc;

	if (alarms(r, &rc))
		return rc;
	if (settle_injecting(r, &changed))
		return -1;
	if (changed && fl_st_write(r))
		return -1;
	rc = inject_due(r, t0, fl_now_ms());
	if (rc)
		return rc;
	fl_st_phase(r, FL_PH_OBSERVING, NULL);
	if (fl_st_write(r))
		return -1;
	fl_failpoint("after-observing");
	return 0;
}

int fl_run_observe(struct fl_run *r)
{
	int64_t t0 = fl_st_phase_time(r, FL_PH_INJECTING);
	int64_t now = fl_now_ms(), end = t0 + r->x.duration_ms;
	struct json_object *targets;
	int changed = 0, rc;

	if (alarms(r, &rc))
		return rc;
	if (settle_injecting(r, &changed))
		return -1;
	if (changed && fl_st_write(r))
		return -1;
	rc = now < end ? inject_due(r, t0, now) : 0;
	if (rc)
		return rc;

	/* Faults shorter than the run end on their own time. */
	targets = fl_st_targets(r);
	changed = 0;
	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);
		struct fl_fault standin;
		const struct fl_fault *f = entry_fault(r, e, &standin);

		if (!f)
			continue;
		if (!strcmp(entry_state(e), FL_TS_SELECTED) && f != &standin)
			fl_run_wake_at(r, fault_start(f, t0));
		if (strcmp(entry_state(e), FL_TS_INJECTED))
			continue;
		if (fault_end(r, f, t0) > now) {
			int rc2 = follow_entry(r, e, f, &changed);

			if (rc2)
				return rc2;
			fl_run_wake_at(r, fault_end(r, f, t0));
			continue;
		}
		if (fault_end(r, f, t0) < end) {
			if (revert_entry(r, e))
				return -1;
			changed = 1;
		}
	}
	if (r->x.nprobes && now < end) {
		char msg[1200];
		int sampled;

		if (fl_probes_step(r, "during", &sampled, msg, sizeof(msg)))
			return fl_run_abort(r, "ProbeInvalid", msg) ? -1 : 0;
		if (fl_probes_abort_due(r, msg, sizeof(msg)))
			return fl_run_abort(r, "ProbeFailed", msg) ? -1 : 0;
		changed |= sampled > 0;
	}
	if (changed && fl_st_write(r))
		return -1;
	if (now < end) {
		fl_run_wake_at(r, end);
		return 1;
	}
	fl_st_phase(r, FL_PH_RECOVERING, NULL);
	if (fl_st_write(r))
		return -1;
	fl_failpoint("after-recovering");
	return 0;
}

/*
 * Waits, after the reverts, until every target whose fault kind can tell
 * says its population is whole again, for at most maxRecoveryTime from
 * the start of Recovering; a target still not whole then fails.  Returns
 * 0 when nothing is left to wait for, 1 to wait, -1 to retry.
 */
static int wait_recovered(struct fl_run *r)
{
	struct json_object *targets = fl_st_targets(r);
	int64_t now = fl_now_ms();
	int64_t deadline =
		fl_st_phase_time(r, FL_PH_RECOVERING) + r->x.max_recovery_ms;
	int pending = 0, changed = 0;

	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);
		struct fl_fault standin;
		const struct fl_fault *f = entry_fault(r, e, &standin);
		const struct fl_fault_ops *ops =
			f ? fl_fault_ops_for(f->kind) : NULL;
		char why[512], reason[700];

		if (!ops || !ops->recovered ||
		    strcmp(entry_state(e), FL_TS_REVERTED) ||
		    fl_json_get(e, "recoveredAt"))
			continue;
		switch (call(r, e, f, ops->recovered, why, sizeof(why))) {
		case FL_FAULT_OK:
			entry_set(e, FL_TS_REVERTED, NULL, "recoveredAt");
			changed = 1;
			continue;
		case FL_FAULT_REFUSED:
			entry_set(e, FL_TS_FAILED, why, NULL);
			changed = 1;
			continue;
		case FL_FAULT_ABSENT:
		case FL_FAULT_RETRY:
			break;
		}
		if (now < deadline) {
			pending++;
			continue;
		}
		snprintf(reason, sizeof(reason),
			 "did not recover within maxRecoveryTime: %s", why);
		entry_set(e, FL_TS_FAILED, reason, NULL);
		changed = 1;
	}
	if (changed && fl_st_write(r))
		return -1;
	if (!pending)
		return 0;
	fl_run_wake_at(r, now + 2000 < deadline ? now + 2000 : deadline);
	return 1;
}

/*
 * After the reverts, samples the probes until all of them hold again, at
 * most maxRecoveryTime from the start of Recovering.  The recovery time
 * runs from the revert to the first sample of the streak of passes that
 * made every probe hold (0 when none failed).  Returns 0 when done, 1 to
 * wait, -1 to retry.
 */
static int wait_probes_hold(struct fl_run *r)
{
	int64_t reverted = fl_st_phase_time(r, FL_PH_RECOVERING);
	int64_t deadline = reverted + r->x.max_recovery_ms;
	const char *which, *why;
	char msg[1200], dur[32];
	int sampled;

	if (!r->x.nprobes || fl_st_str(r, "recoveryTime") ||
	    fl_json_get(r->status, "recoveryExceeded"))
		return 0;
	if (fl_probes_step(r, "after", &sampled, msg, sizeof(msg)))
		return fl_run_abort(r, "ProbeInvalid", msg) ? -1 : 0;
	if (fl_probes_verdict(r, &which, &why) == FL_PROBE_HOLDS) {
		int64_t since = fl_probes_holding_since(r);
		int64_t took = since > reverted ? since - reverted : 0;

		fl_st_set_str(r, "recoveryTime",
			      fl_duration_format(took, dur, sizeof(dur)));
		FL_LOG(FL_LOG_INFO, &r->log,
		       "hypothesis holds again %s after "
		       "the revert",
		       dur);
		return fl_st_write(r) ? -1 : 0;
	}
	if (fl_now_ms() >= deadline) {
		fl_st_set(r, "recoveryExceeded", json_object_new_boolean(1));
		FL_LOG(FL_LOG_WARN, &r->log,
		       "hypothesis does not hold %s after the revert%s%s%s",
		       fl_duration_format(r->x.max_recovery_ms, dur,
					  sizeof(dur)),
		       which ? ": probe " : "", which ? which : "",
		       why ? why : "");
		return fl_st_write(r) ? -1 : 0;
	}
	if (sampled && fl_st_write(r))
		return -1;
	return 1;
}

/* Whether fl_run_revert_all() has anything to change. */
static int revert_pending(struct fl_run *r)
{
	struct json_object *targets = fl_json_get(r->status, "targets");

	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);

		if (may_hold_fault(e) ||
		    !strcmp(entry_state(e), FL_TS_SELECTED))
			return 1;
	}
	return 0;
}

int fl_run_recover(struct fl_run *r)
{
	int changed = 0, rc;

	if (settle_injecting(r, &changed))
		return -1;
	changed |= revert_pending(r);
	if (fl_run_revert_all(r)) {
		fl_st_write(r);
		return -1;
	}
	/* Written at once: what waits below may not write for a while, and
	 * a revert done must not be done (and timed) again. */
	if (changed && fl_st_write(r))
		return -1;
	fl_failpoint("after-reverted");
	rc = wait_recovered(r);
	if (rc)
		return rc;
	rc = wait_probes_hold(r);
	if (rc)
		return rc;
	fl_st_phase(r, FL_PH_VALIDATING, NULL);
	if (fl_st_write(r))
		return -1;
	fl_failpoint("after-validating");
	return 0;
}

/*
 * The verdict against the success criteria: recovery within
 * maxRecoveryTime, availability at least minAvailability; without
 * minAvailability the hypothesis must hold throughout (no probe failing
 * during the faults).  Fills msg; returns 1 when it passed.
 */
static int judge_probes(struct fl_run *r, char *msg, size_t n)
{
	int64_t samples;
	double avail = fl_probes_availability(r, &samples);
	const char *which = NULL;
	char dur[32];

	fl_st_set(r, "availability", json_object_new_double(avail));
	fl_duration_format(r->x.max_recovery_ms, dur, sizeof(dur));
	if (fl_json_get(r->status, "recoveryExceeded")) {
		snprintf(msg, n,
			 "the hypothesis did not hold again within "
			 "maxRecoveryTime %s after the revert "
			 "(availability %.1f%% over %lld samples)",
			 dur, avail, (long long)samples);
		return 0;
	}
	if (r->x.min_availability >= 0 && avail < r->x.min_availability) {
		snprintf(msg, n,
			 "availability %.1f%% over %lld samples is below "
			 "minAvailability %.1f%%; recovered in %s",
			 avail, (long long)samples, r->x.min_availability,
			 fl_st_str(r, "recoveryTime"));
		return 0;
	}
	if (r->x.min_availability < 0 &&
	    fl_probes_stage_failed(r, "during", &which)) {
		snprintf(msg, n,
			 "probe '%s' failed while the faults were active "
			 "(availability %.1f%% over %lld samples; no "
			 "minAvailability, so the hypothesis must hold "
			 "throughout)",
			 which, avail, (long long)samples);
		return 0;
	}
	snprintf(msg, n,
		 "the hypothesis held: availability %.1f%% over %lld samples, "
		 "recovered in %s (maxRecoveryTime %s)",
		 avail, (long long)samples, fl_st_str(r, "recoveryTime"), dur);
	return 1;
}

int fl_run_validate(struct fl_run *r)
{
	struct json_object *targets = fl_st_targets(r);
	size_t failed = 0, done = 0, skipped = 0;
	const char *first = NULL;
	char msg[1024], hyp[700] = "";
	int held = 1;

	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);
		const char *s = entry_state(e);

		if (!strcmp(s, FL_TS_REVERTED)) {
			done++;
		} else if (!strcmp(s, FL_TS_SKIPPED)) {
			skipped++;
		} else {
			failed++;
			if (!first)
				first = fl_json_str(e, "reason");
		}
	}
	if (r->x.nprobes)
		held = judge_probes(r, hyp, sizeof(hyp));
	else
		snprintf(hyp, sizeof(hyp),
			 "no probes, so the verdict comes from injection and "
			 "revert only");

	if (!failed && !done) {
		snprintf(msg, sizeof(msg),
			 "no fault was injected: every target was gone "
			 "before its turn");
		held = 0;
	} else if (failed) {
		snprintf(msg, sizeof(msg),
			 "%zu of %zu targets did not get their fault as "
			 "planned (first: %s); %s",
			 failed, fl_json_len(targets), first ? first : "?",
			 hyp);
		held = 0;
	} else {
		snprintf(msg, sizeof(msg),
			 "%zu target%s injected and reverted as planned%s; %s",
			 done, done == 1 ? "" : "s",
			 skipped ? " (some skipped: gone before their turn)"
				 : "",
			 hyp);
	}
	if (!held) {
		int rc = fl_run_on_failure(r, "Failed", msg);

		if (rc)
			return rc;
	}
	fl_st_finish(r, FL_PH_COMPLETED, held ? "Passed" : "Failed", msg);
	return fl_st_write(r) ? -1 : 1;
}
