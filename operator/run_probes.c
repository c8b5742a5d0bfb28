/*
 * The steady-state hypothesis during a run: probes sampled at their
 * interval in three stages (baseline in Preparing, during in Observing,
 * after in Recovering), each sample written into status.probes[] so that
 * a restarted operator rebuilds every probe's history from status.
 *
 * A probe's entry keeps its counts and its timeline for the whole run,
 * the verdict of each stage, when it was last sampled, and since when it
 * has been passing (the start of its current streak of passes), from
 * which the recovery time is measured.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "log.h"
#include "probe.h"
#include "run.h"
#include "run_probes.h"

/* status.probes[] entry of probe name, created when missing. */
static struct json_object *entry_of(struct fl_run *r, const char *name)
{
	struct json_object *list = fl_json_get(r->status, "probes");
	struct json_object *e;

	if (!list || !json_object_is_type(list, json_type_array)) {
		list = json_object_new_array();
		fl_st_set(r, "probes", list);
	}
	for (size_t i = 0; i < fl_json_len(list); i++) {
		const char *n;

		e = json_object_array_get_idx(list, i);
		n = fl_json_str(e, "name");
		if (n && !strcmp(n, name))
			return e;
	}
	e = json_object_new_object();
	json_object_object_add(e, "name", json_object_new_string(name));
	json_object_array_add(list, e);
	return e;
}

static int64_t entry_int(struct json_object *e, const char *key)
{
	struct json_object *v = fl_json_get(e, key);

	return v ? json_object_get_int64(v) : 0;
}

/* The probe's history as status holds it. */
static void restore(const struct fl_probe *p, struct json_object *e,
		    struct fl_probe_state *s)
{
	const char *tl = fl_json_str(e, "timeline");

	fl_probe_state_init(s, p);
	if (tl && fl_probe_state_restore(s, entry_int(e, "samples"),
					 entry_int(e, "passed"), tl))
		fl_probe_state_init(s, p); /* unreadable: start again */
}

static void set_time(struct json_object *e, const char *key, int64_t ms)
{
	char t[40];

	json_object_object_add(
		e, key,
		json_object_new_string(fl_time_format(ms, t, sizeof(t))));
}

/* Writes s and the stage's verdict into e.  "during" keeps the worst
 * verdict seen: a hypothesis that broke once during the faults broke. */
static void store(struct json_object *e, const struct fl_probe_state *s,
		  const char *stage)
{
	const char *v = fl_probe_verdict_name(s->verdict);
	const char *old = fl_json_str(e, stage);

	json_object_object_add(e, "samples", json_object_new_int64(s->samples));
	json_object_object_add(e, "passed", json_object_new_int64(s->passed));
	json_object_object_add(
		e, "passRate",
		json_object_new_double(s->samples ? 100.0 * (double)s->passed /
							    (double)s->samples
						  : 0.0));
	json_object_object_add(e, "timeline",
			       json_object_new_string(s->timeline));
	if (s->last_error[0])
		json_object_object_add(e, "lastError",
				       json_object_new_string(s->last_error));
	if (!strcmp(stage, "during") && old && !strcmp(old, "Failed"))
		return;
	json_object_object_add(e, stage, json_object_new_string(v));
}

/* Takes one sample of p and records it in e at now. */
static int sample_one(struct fl_run *r, const struct fl_probe *p,
		      struct json_object *e, const char *stage, int64_t now,
		      char *msg, size_t n)
{
	struct fl_probe_ctx *ctx = &r->w->probes;
	struct fl_probe_result res;
	struct fl_probe_state s;

	restore(p, e, &s);
	ctx->namespace = r->ns;
	if (fl_probe_sample(p, ctx, &res) < 0) {
		snprintf(msg, n, "probe '%s': %s", p->name, res.message);
		return -1;
	}
	fl_probe_state_add(&s, res.passed, res.message);
	store(e, &s, stage);
	set_time(e, "lastSampleTime", now);
	if (!fl_json_get(e, "firstSampleTime"))
		set_time(e, "firstSampleTime", now);
	if (!res.passed)
		json_object_object_del(e, "holdingSince");
	else if (!fl_json_get(e, "holdingSince"))
		set_time(e, "holdingSince", now);
	FL_LOG(res.passed ? FL_LOG_DEBUG : FL_LOG_INFO, &r->log,
	       "probe %s (%s): %s: %s", p->name, stage,
	       res.passed ? "passed" : "failed", res.message);
	return 0;
}

int fl_probes_step(struct fl_run *r, const char *stage, int *sampled, char *msg,
		   size_t n)
{
	int64_t now = fl_now_ms();

	*sampled = 0;
	for (size_t i = 0; i < r->x.nprobes; i++) {
		const struct fl_probe *p = &r->x.probes[i];
		struct json_object *e = entry_of(r, p->name);
		int64_t last = fl_time_parse(fl_json_str(e, "lastSampleTime"));
		int64_t due = last < 0 ? now : last + p->interval_ms;

		if (due > now) {
			fl_run_wake_at(r, due);
			continue;
		}
		if (sample_one(r, p, e, stage, fl_now_ms(), msg, n))
			return -1;
		(*sampled)++;
		fl_run_wake_at(r, fl_now_ms() + p->interval_ms);
	}
	return 0;
}

enum fl_probe_verdict fl_probes_verdict(struct fl_run *r, const char **which,
					const char **why)
{
	enum fl_probe_verdict all = FL_PROBE_HOLDS;

	*which = *why = NULL;
	for (size_t i = 0; i < r->x.nprobes; i++) {
		const struct fl_probe *p = &r->x.probes[i];
		struct json_object *e = entry_of(r, p->name);
		struct fl_probe_state s;

		restore(p, e, &s);
		if (s.verdict == FL_PROBE_FAILS) {
			*which = p->name;
			*why = fl_json_str(e, "lastError");
			return FL_PROBE_FAILS;
		}
		if (s.verdict == FL_PROBE_UNKNOWN)
			all = FL_PROBE_UNKNOWN;
	}
	return all;
}

/* Whether name is listed in abortWhen.probes, or the list is empty. */
static int watched(struct json_object *names, const char *name)
{
	if (!fl_json_len(names))
		return 1;
	for (size_t i = 0; i < fl_json_len(names); i++) {
		const char *n = json_object_get_string(
			json_object_array_get_idx(names, i));

		if (n && !strcmp(n, name))
			return 1;
	}
	return 0;
}

int fl_probes_abort_due(struct fl_run *r, char *why, size_t n)
{
	struct json_object *spec = fl_json_get(r->obj, "spec");
	struct json_object *aw =
		fl_json_get(fl_json_get(spec, "safety"), "abortWhen");
	struct json_object *limit = fl_json_get(aw, "probeFailures");
	struct json_object *names = fl_json_get(aw, "probes");

	if (!limit)
		return 0;
	for (size_t i = 0; i < r->x.nprobes; i++) {
		const struct fl_probe *p = &r->x.probes[i];
		struct json_object *e = entry_of(r, p->name);
		struct fl_probe_state s;

		if (!watched(names, p->name))
			continue;
		restore(p, e, &s);
		if (s.fail_run >= json_object_get_int(limit)) {
			snprintf(why, n,
				 "probe '%s' failed %d times in a row "
				 "(abortWhen.probeFailures %d): %s",
				 p->name, s.fail_run,
				 json_object_get_int(limit),
				 s.last_error[0] ? s.last_error : "");
			return 1;
		}
	}
	return 0;
}

double fl_probes_availability(struct fl_run *r, int64_t *samples)
{
	int64_t all = 0, passed = 0;

	for (size_t i = 0; i < r->x.nprobes; i++) {
		struct json_object *e = entry_of(r, r->x.probes[i].name);

		all += entry_int(e, "samples");
		passed += entry_int(e, "passed");
	}
	*samples = all;
	return all ? 100.0 * (double)passed / (double)all : 100.0;
}

int64_t fl_probes_holding_since(struct fl_run *r)
{
	int64_t latest = -1;

	for (size_t i = 0; i < r->x.nprobes; i++) {
		struct json_object *e = entry_of(r, r->x.probes[i].name);
		int64_t t = fl_time_parse(fl_json_str(e, "holdingSince"));

		if (t < 0)
			return -1;
		if (t > latest)
			latest = t;
	}
	return latest;
}

int fl_probes_stage_failed(struct fl_run *r, const char *stage,
			   const char **which)
{
	for (size_t i = 0; i < r->x.nprobes; i++) {
		struct json_object *e = entry_of(r, r->x.probes[i].name);
		const char *v = fl_json_str(e, stage);

		if (v && !strcmp(v, "Failed")) {
			*which = r->x.probes[i].name;
			return 1;
		}
	}
	return 0;
}
