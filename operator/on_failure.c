/*
 * spec.onFailure: rollbacks and the webhook notification.
 *
 * A rollback works as `kubectl rollout undo` does: the Deployment's
 * revision annotation names its current revision, the ReplicaSets it owns
 * carry theirs, and the one with the highest revision below the current
 * gives the template (without its pod-template-hash label) that becomes
 * the Deployment's again.
 *
 * Every step is recorded in status.onFailure before it is taken.  A
 * rollback is Pending until the ReplicaSet to go back to is chosen and
 * written down (RollingBack), and RolledBack or Failed once it is over.
 * A restart that finds RollingBack compares the Deployment's template
 * with the recorded ReplicaSet's and patches only when they differ, so a
 * Deployment is rolled back once, to the revision chosen first.  The
 * patch tests the resourceVersion it was computed from: a change made in
 * between is never overwritten, only re-read.
 *
 * The notification is posted at least once: each attempt is counted in
 * status before it is made, at most ATTEMPTS_MAX of them.  An operator
 * killed between the POST and the record posts again; the payload's runId
 * lets the receiver tell.
 */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "alloc.h"
#include "json.h"
#include "log.h"
#include "on_failure.h"
#include "run.h"
#include "targets.h"

#define ATTEMPTS_MAX 3
#define WEBHOOK_TIMEOUT_MS 10000
#define WEBHOOK_CONNECT_MS 5000
#define SELECTOR_MAX 8192
#define RETRY_SPACING_MS 1000
#define NO_ANSWER "no answer from the webhook: "

#define REV_ANN "deployment.kubernetes.io/revision"
#define HASH_LABEL "pod-template-hash"

/* Rollback states, as status.onFailure.rollbacks[].state spells them. */
#define RB_PENDING "Pending"
#define RB_ROLLING "RollingBack"
#define RB_DONE "RolledBack"
#define RB_FAILED "Failed"

/* Notification states, as status.onFailure.notification.state has them. */
#define NT_SENDING "Sending"
#define NT_RETRYING "Retrying"
#define NT_SENT "Sent"
#define NT_FAILED "Failed"

static const struct fl_kube_ref deploy_ref = {"apps", "v1", "deployments",
					      NULL,   NULL, NULL};
static const struct fl_kube_ref rs_ref = {"apps", "v1", "replicasets",
					  NULL,	  NULL, NULL};

/* -- the record in status ------------------------------------------- */

/* status.onFailure of this run, created (replacing an earlier run's)
 * when missing.  Borrowed: a status write replaces it. */
static struct json_object *record(struct fl_run *r)
{
	struct json_object *of = fl_json_get(r->status, "onFailure");
	const char *id = fl_json_str(of, "runId");

	if (json_object_is_type(of, json_type_object) && id &&
	    !strcmp(id, r->run_id))
		return of;
	of = json_object_new_object();
	json_object_object_add(of, "runId", json_object_new_string(r->run_id));
	fl_st_set(r, "onFailure", of);
	return of;
}

static void set_str(struct json_object *o, const char *key, const char *v)
{
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
	else
		json_object_object_del(o, key);
}

static void set_int(struct json_object *o, const char *key, int64_t v)
{
	json_object_object_add(o, key, json_object_new_int64(v));
}

static int64_t get_int(struct json_object *o, const char *key)
{
	struct json_object *v = fl_json_get(o, key);

	return json_object_is_type(v, json_type_int) ? json_object_get_int64(v)
						     : 0;
}

/* Sets state, reason (NULL removes it) and the time of the change. */
static void set_state(struct json_object *e, const char *state,
		      const char *reason)
{
	char now[40];

	set_str(e, "state", state);
	set_str(e, "reason", reason);
	set_str(e, "at", fl_time_format(fl_now_ms(), now, sizeof(now)));
}

/* status.onFailure.rollbacks, one Pending entry per spec entry when the
 * run has none yet.  Borrowed. */
static struct json_object *rollback_list(struct fl_run *r,
					 struct json_object *spec)
{
	struct json_object *of = record(r);
	struct json_object *list = fl_json_get(of, "rollbacks");

	if (json_object_is_type(list, json_type_array) &&
	    fl_json_len(list) == fl_json_len(spec))
		return list;
	list = json_object_new_array();
	for (size_t i = 0; i < fl_json_len(spec); i++) {
		struct json_object *s = json_object_array_get_idx(spec, i);
		struct json_object *e = json_object_new_object();
		const char *ns = fl_json_str(s, "namespace");

		set_str(e, "kind", fl_json_str(s, "kind"));
		set_str(e, "name", fl_json_str(s, "name"));
		set_str(e, "namespace", ns && *ns ? ns : r->ns);
		set_str(e, "state", RB_PENDING);
		set_int(e, "attempts", 0);
		json_object_array_add(list, e);
	}
	json_object_object_add(of, "rollbacks", list);
	return list;
}

/* Rollback entry i of the current record; borrowed. */
static struct json_object *rb_entry(struct fl_run *r, size_t i)
{
	return json_object_array_get_idx(fl_json_get(record(r), "rollbacks"),
					 i);
}

/* -- rollback --------------------------------------------------------- */

/* One rollback in progress: what it is about, copied out of status
 * (which each write replaces). */
struct rb {
	struct fl_run *r;
	size_t i;
	char ns[64];
	char name[254];
	char what[330]; /* "deployment 'ns/name'", for messages */
};

/* Ends the rollback for good with state and reason, and writes it.
 * Returns 0, or -1 when the write failed (it is then done again). */
static int rb_end(struct rb *b, const char *state, const char *reason)
{
	struct json_object *e = rb_entry(b->r, b->i);
	int ok = !strcmp(state, RB_DONE);

	set_state(e, state, reason);
	if (ok) {
		FL_LOG(FL_LOG_INFO, &b->r->log,
		       "%s rolled back from revision %lld to %lld%s%s", b->what,
		       (long long)get_int(e, "fromRevision"),
		       (long long)get_int(e, "toRevision"), reason ? ": " : "",
		       reason ? reason : "");
		fl_run_event(b->r, "Normal", "RolledBack", "Rollback",
			     "%s rolled back from revision %lld to %lld",
			     b->what, (long long)get_int(e, "fromRevision"),
			     (long long)get_int(e, "toRevision"));
	} else {
		/* Every reason names the Deployment. */
		FL_LOG(FL_LOG_WARN, &b->r->log, "rollback failed: %s", reason);
		fl_run_event(b->r, "Warning", "RollbackFailed", "Rollback",
			     "rollback failed: %s", reason);
	}
	return fl_st_write(b->r);
}

/* A try that may succeed later: counts it, and gives up after
 * ATTEMPTS_MAX.  Returns -1 to retry, 0 when it gave up (and wrote). */
static int rb_retry(struct rb *b, const char *why)
{
	struct json_object *e = rb_entry(b->r, b->i);
	int64_t n = get_int(e, "attempts") + 1;
	char reason[1200];

	set_int(e, "attempts", n);
	if (n >= ATTEMPTS_MAX) {
		snprintf(reason, sizeof(reason),
			 "gave up after %lld attempts: %.1100s", (long long)n,
			 why);
		return rb_end(b, RB_FAILED, reason) ? -1 : 0;
	}
	set_str(e, "reason", why);
	FL_LOG(FL_LOG_WARN, &b->r->log, "cannot roll back %s yet: %s", b->what,
	       why);
	fl_st_write(b->r);
	return -1;
}

/* The outcome of a failed API call about object (a description): retried
 * when it may pass later, the end of the rollback otherwise. */
static int rb_api_error(struct rb *b, const char *doing, const char *object,
			struct fl_kube_status *st)
{
	char why[1200];
	long code = st->code;

	if (code == 404)
		snprintf(why, sizeof(why), "%s not found", object);
	else if (code == 0)
		snprintf(why, sizeof(why), "cannot %s %s: %s", doing, object,
			 st->message);
	else
		snprintf(why, sizeof(why), "cannot %s %s: %ld %s: %s", doing,
			 object, code, st->reason, st->message);
	fl_kube_status_release(st);
	if (code == 0 || code == 409 || code == 422 || code == 429 ||
	    code >= 500)
		return rb_retry(b, why);
	return rb_end(b, RB_FAILED, why) ? -1 : 0;
}

/* A revision annotation as a number; -1 when missing or not one. */
static int64_t revision_of(struct json_object *o)
{
	struct json_object *ann =
		fl_json_get(fl_json_get(o, "metadata"), "annotations");
	const char *s = fl_json_str(ann, REV_ANN);
	char *end;
	long long v;

	if (!s || !*s)
		return -1;
	v = strtoll(s, &end, 10);
	return *end || v < 0 ? -1 : (int64_t)v;
}

/* Releases what selector_from() allocated. */
static void selector_release(struct fl_selector *s)
{
	for (size_t i = 0; i < s->nexprs; i++)
		free(s->exprs[i].values);
	free(s->exprs);
	free(s->labels);
}

/* A Deployment's spec.selector as a struct fl_selector whose strings
 * point into sel.  Returns 0, or -1 when a part is missing or not a
 * string (s is released either way by selector_release()). */
static int selector_from(struct json_object *sel, struct fl_selector *s)
{
	struct json_object *labels = fl_json_get(sel, "matchLabels");
	struct json_object *exprs = fl_json_get(sel, "matchExpressions");
	size_t nl = json_object_is_type(labels, json_type_object)
			    ? (size_t)json_object_object_length(labels)
			    : 0;

	s->labels = fl_calloc(nl + 1, sizeof(*s->labels));
	s->exprs = fl_calloc(fl_json_len(exprs) + 1, sizeof(*s->exprs));
	if (nl) {
		json_object_object_foreach(labels, k, v)
		{
			if (!json_object_is_type(v, json_type_string))
				return -1;
			s->labels[s->nlabels].key = k;
			s->labels[s->nlabels++].value =
				json_object_get_string(v);
		}
	}
	for (size_t i = 0; i < fl_json_len(exprs); i++) {
		struct json_object *x = json_object_array_get_idx(exprs, i);
		struct json_object *vals = fl_json_get(x, "values");
		struct fl_label_expr *e = &s->exprs[s->nexprs++];

		e->key = fl_json_str(x, "key");
		e->op = fl_json_str(x, "operator");
		e->values = fl_calloc(fl_json_len(vals) + 1, sizeof(char *));
		if (!e->key || !e->op)
			return -1;
		for (size_t k = 0; k < fl_json_len(vals); k++) {
			e->values[k] = json_object_get_string(
				json_object_array_get_idx(vals, k));
			if (!e->values[k])
				return -1;
		}
		e->nvalues = fl_json_len(vals);
	}
	return 0;
}

/* Whether the ReplicaSet rs is owned by the object with uid. */
static int owned_by(struct json_object *rs, const char *uid)
{
	struct json_object *refs =
		fl_json_get(fl_json_get(rs, "metadata"), "ownerReferences");

	for (size_t i = 0; uid && i < fl_json_len(refs); i++) {
		const char *u =
			fl_json_str(json_object_array_get_idx(refs, i), "uid");

		if (u && !strcmp(u, uid))
			return 1;
	}
	return 0;
}

/* The owned ReplicaSet in list with the highest revision below current;
 * borrowed from list, or NULL. */
static struct json_object *previous_rs(struct json_object *list,
				       const char *uid, int64_t current)
{
	struct json_object *items = fl_json_get(list, "items");
	struct json_object *best = NULL;
	int64_t best_rev = -1;

	for (size_t i = 0; i < fl_json_len(items); i++) {
		struct json_object *rs = json_object_array_get_idx(items, i);
		int64_t rev = revision_of(rs);

		if (owned_by(rs, uid) && rev > best_rev && rev < current) {
			best = rs;
			best_rev = rev;
		}
	}
	return best;
}

/* Lists the ReplicaSets in the Deployment d's namespace that its
 * selector matches.  Returns 0 with *out (the caller's), or -1 with st
 * filled (code 400 for a selector we cannot express). */
static int list_rs(struct rb *b, struct json_object *d,
		   struct json_object **out, struct fl_kube_status *st)
{
	struct fl_kube_ref ref = rs_ref;
	struct fl_kube_list_opts o = {0};
	struct fl_selector s = {0};
	char sel[SELECTOR_MAX];
	int rc = -1;

	if (selector_from(fl_json_get(fl_json_get(d, "spec"), "selector"),
			  &s) ||
	    fl_selector_string(&s, sel, sizeof(sel))) {
		st->code = 400;
		snprintf(st->reason, sizeof(st->reason), "BadRequest");
		snprintf(st->message, sizeof(st->message),
			 "its spec.selector cannot be written as a label "
			 "selector");
		goto out;
	}
	ref.namespace = b->ns;
	o.label_selector = sel[0] ? sel : NULL;
	rc = fl_kube_list(b->r->w->kube, &ref, &o, out, st);
out:
	selector_release(&s);
	return rc;
}

/* Chooses what the Deployment d goes back to and records it as
 * RollingBack.  Returns 0 when recorded or ended, -1 to retry. */
static int rb_choose(struct rb *b, struct json_object *d)
{
	struct fl_kube_status st = {0};
	struct json_object *list = NULL, *prev, *e;
	int64_t current = revision_of(d);
	char why[600];
	int rc = -1;

	if (current < 0) {
		snprintf(why, sizeof(why),
			 "%s has no " REV_ANN " annotation: it was never "
			 "rolled out, so there is no revision to go back to",
			 b->what);
		return rb_end(b, RB_FAILED, why) ? -1 : 0;
	}
	if (list_rs(b, d, &list, &st))
		return rb_api_error(b, "list the replicasets of", b->what, &st);
	prev = previous_rs(list, fl_json_str(fl_json_get(d, "metadata"), "uid"),
			   current);
	if (!prev) {
		snprintf(why, sizeof(why),
			 "%s has no revision before %lld to roll back to",
			 b->what, (long long)current);
		rc = rb_end(b, RB_FAILED, why) ? -1 : 0;
		goto out;
	}
	e = rb_entry(b->r, b->i);
	set_int(e, "fromRevision", current);
	set_int(e, "toRevision", revision_of(prev));
	set_str(e, "replicaSet",
		fl_json_str(fl_json_get(prev, "metadata"), "name"));
	set_state(e, RB_ROLLING, NULL);
	if (fl_st_write(b->r))
		goto out;
	fl_failpoint("on-failure-recorded");
	rc = 0;
out:
	json_object_put(list);
	return rc;
}

/* Ends the rollback as Failed, the reason formatted like printf.
 * Returns 0, or -1 when the write failed. */
static int rb_refuse(struct rb *b, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int rb_refuse(struct rb *b, const char *fmt, ...)
{
	char why[1000];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return rb_end(b, RB_FAILED, why) ? -1 : 0;
}

/* The JSON patch that replaces d's template with tmpl, on the condition
 * that d has not changed since it was read.  The caller frees it. */
static char *template_patch(struct json_object *d, struct json_object *tmpl)
{
	struct json_object *ops = json_object_new_array();
	struct json_object *test = json_object_new_object();
	struct json_object *repl = json_object_new_object();
	const char *rv =
		fl_json_str(fl_json_get(d, "metadata"), "resourceVersion");
	char *out;

	set_str(test, "op", "test");
	set_str(test, "path", "/metadata/resourceVersion");
	set_str(test, "value", rv ? rv : "");
	set_str(repl, "op", "replace");
	set_str(repl, "path", "/spec/template");
	json_object_object_add(repl, "value", json_object_get(tmpl));
	json_object_array_add(ops, test);
	json_object_array_add(ops, repl);
	out = fl_strdup(
		json_object_to_json_string_ext(ops, JSON_C_TO_STRING_PLAIN));
	json_object_put(ops);
	return out;
}

/* rs's pod template without the pod-template-hash label; the caller's. */
static struct json_object *target_template(struct json_object *rs)
{
	struct json_object *t =
		fl_json_get(fl_json_get(rs, "spec"), "template");
	struct json_object *copy = NULL, *labels;

	if (!json_object_is_type(t, json_type_object) ||
	    json_object_deep_copy(t, &copy, NULL))
		return NULL;
	labels = fl_json_get(fl_json_get(copy, "metadata"), "labels");
	if (json_object_is_type(labels, json_type_object))
		json_object_object_del(labels, HASH_LABEL);
	return copy;
}

/* Puts the recorded ReplicaSet's template back into the Deployment d,
 * unless it holds it already.  Returns 0 when ended, -1 to retry. */
static int rb_apply(struct rb *b, struct json_object *d)
{
	struct json_object *e = rb_entry(b->r, b->i);
	struct fl_kube_ref ref = rs_ref;
	struct fl_kube_status st = {0};
	struct json_object *rs = NULL, *tmpl = NULL;
	char what[400], *patch = NULL;
	int rc = -1;

	ref.namespace = b->ns;
	ref.name = fl_json_str(e, "replicaSet");
	snprintf(what, sizeof(what), "replicaset '%s/%s' (revision %lld)",
		 b->ns, ref.name ? ref.name : "",
		 (long long)get_int(e, "toRevision"));
	if (!ref.name) {
		char why[400];

		snprintf(why, sizeof(why),
			 "no replicaset was recorded for the rollback of %s",
			 b->what);
		rc = rb_end(b, RB_FAILED, why) ? -1 : 0;
		goto out;
	}
	if (fl_kube_get(b->r->w->kube, &ref, &rs, &st)) {
		rc = rb_api_error(b, "read", what, &st);
		goto out;
	}
	tmpl = target_template(rs);
	if (!owned_by(rs, fl_json_str(fl_json_get(d, "metadata"), "uid")) ||
	    !tmpl) {
		rc = rb_refuse(b,
			       "%s no longer belongs to %s, or has no pod "
			       "template",
			       what, b->what);
		goto out;
	}
	if (json_object_equal(fl_json_get(fl_json_get(d, "spec"), "template"),
			      tmpl)) {
		rc = rb_end(b, RB_DONE, NULL) ? -1 : 0;
		goto out;
	}
	/* Someone rolled out a new revision after ours was chosen: theirs
	 * is not overwritten. */
	if (revision_of(d) != get_int(e, "fromRevision")) {
		rc = rb_refuse(b,
			       "%s moved on to revision %lld after revision "
			       "%lld was chosen to go back to; it was left as "
			       "it is",
			       b->what, (long long)revision_of(d),
			       (long long)get_int(e, "toRevision"));
		goto out;
	}
	ref = deploy_ref;
	ref.namespace = b->ns;
	ref.name = b->name;
	patch = template_patch(d, tmpl);
	if (fl_kube_patch(b->r->w->kube, &ref, FL_KUBE_PATCH_JSON, patch,
			  FL_FIELD_MANAGER, 0, NULL, &st)) {
		rc = rb_api_error(b, "patch", b->what, &st);
		goto out;
	}
	fl_failpoint("on-failure-patched");
	rc = rb_end(b, RB_DONE, NULL) ? -1 : 0;
out:
	free(patch);
	json_object_put(tmpl);
	json_object_put(rs);
	return rc;
}

/* Whether the operator may act in the rollback's namespace (the rules
 * that guard targets: protected namespaces, opt-in).  Fills why when
 * not. */
static int rb_allowed(struct rb *b, char *why, size_t n)
{
	const struct fl_scope *scope = &b->r->w->op->scope;
	struct fl_kube_ref ref = {"", "v1", "namespaces", NULL, b->ns, NULL};
	struct fl_kube_status st = {0};
	struct json_object *nsobj = NULL;
	int allowed;

	if (scope->opt_in && fl_kube_get(b->r->w->kube, &ref, &nsobj, &st))
		fl_kube_status_release(&st);
	allowed = fl_scope_namespace_allowed(scope, b->ns, nsobj, why, n);
	json_object_put(nsobj);
	return allowed;
}

/* Fills b from rollback entry e, checking what the CRD should have.
 * Returns 0, or -1 with why naming the field. */
static int rb_from_entry(struct rb *b, struct json_object *e, char *why,
			 size_t n)
{
	const char *kind = fl_json_str(e, "kind");
	const char *ns = fl_json_str(e, "namespace");
	const char *name = fl_json_str(e, "name");

	if (!kind || strcmp(kind, "Deployment")) {
		snprintf(why, n,
			 "spec.onFailure.rollback[%zu].kind: only a "
			 "Deployment can be rolled back",
			 b->i);
		return -1;
	}
	if (!name || !*name || strlen(name) >= sizeof(b->name) || !ns || !*ns ||
	    strlen(ns) >= sizeof(b->ns)) {
		snprintf(why, n,
			 "spec.onFailure.rollback[%zu]: the name (at most "
			 "253 characters) and the namespace (at most 63) are "
			 "required",
			 b->i);
		return -1;
	}
	snprintf(b->ns, sizeof(b->ns), "%s", ns);
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(b->what, sizeof(b->what), "deployment '%s/%s'", ns, name);
	return 0;
}

/* Carries rollback i forward to its end.  Returns 0 when it has ended
 * (rolled back or failed, recorded), -1 to retry. */
static int rollback_one(struct fl_run *r, size_t i)
{
	struct json_object *e = rb_entry(r, i);
	struct fl_kube_ref ref = deploy_ref;
	struct fl_kube_status st = {0};
	struct json_object *d = NULL;
	struct rb b = {r, i, "", "", ""};
	const char *state = fl_json_str(e, "state");
	int pending = !state || strcmp(state, RB_ROLLING);
	char why[400], reason[800];
	int rc = -1;

	if (state && (!strcmp(state, RB_DONE) || !strcmp(state, RB_FAILED)))
		return 0;
	if (rb_from_entry(&b, e, why, sizeof(why)))
		return rb_end(&b, RB_FAILED, why) ? -1 : 0;
	if (pending && !rb_allowed(&b, why, sizeof(why))) {
		snprintf(reason, sizeof(reason), "refused to touch %s: %s",
			 b.what, why);
		return rb_end(&b, RB_FAILED, reason) ? -1 : 0;
	}
	ref.namespace = b.ns;
	ref.name = b.name;
	if (fl_kube_get(r->w->kube, &ref, &d, &st))
		return rb_api_error(&b, "read", b.what, &st);
	if (pending) {
		if (rb_choose(&b, d))
			goto out;
		/* Chosen, or ended: nothing to go back to. */
		state = fl_json_str(rb_entry(r, i), "state");
		if (!state || strcmp(state, RB_ROLLING)) {
			rc = 0;
			goto out;
		}
	}
	rc = rb_apply(&b, d);
out:
	json_object_put(d);
	return rc;
}

/* -- notification ------------------------------------------------------ */

#define NKEYS(a) (sizeof(a) / sizeof((a)[0]))

/* A new array with, for each object of list, the keys named (those it
 * lacks as null when nulls is set, else left out); values are shared. */
static struct json_object *
pick(struct json_object *list, const char *const *keys, size_t nkeys, int nulls)
{
	struct json_object *out = json_object_new_array();

	for (size_t i = 0; i < fl_json_len(list); i++) {
		struct json_object *e = json_object_array_get_idx(list, i);
		struct json_object *o = json_object_new_object();

		for (size_t k = 0; k < nkeys; k++) {
			struct json_object *v = fl_json_get(e, keys[k]);

			if (v || nulls)
				json_object_object_add(o, keys[k],
						       json_object_get(v));
		}
		json_object_array_add(out, o);
	}
	return out;
}

/* Adds status[key] to o (null when missing); shared. */
static void add_status(struct fl_run *r, struct json_object *o, const char *key)
{
	json_object_object_add(o, key,
			       json_object_get(fl_json_get(r->status, key)));
}

/* The body of the notification, as text; the caller frees it. */
static char *payload(struct fl_run *r, const char *verdict, const char *message)
{
	static const char *const target_keys[] = {"target",    "fault", "kind",
						  "namespace", "name",	"state",
						  "reason"};
	static const char *const probe_keys[] = {"name", "baseline", "during",
						 "after", "passRate"};
	static const char *const rollback_keys[] = {
		"kind",	      "name",  "namespace", "fromRevision",
		"toRevision", "state", "reason"};
	struct json_object *meta = fl_json_get(r->obj, "metadata");
	struct json_object *o = json_object_new_object();
	struct json_object *x = json_object_new_object();
	struct json_object *of = json_object_new_object();
	char *out;

	set_str(x, "namespace", r->ns);
	set_str(x, "name", r->name);
	set_str(x, "uid", fl_json_str(meta, "uid"));
	json_object_object_add(o, "experiment", x);
	set_str(o, "runId", r->run_id);
	set_str(o, "verdict", verdict);
	set_str(o, "message", message);
	add_status(r, o, "phaseTimes");
	json_object_object_add(o, "targets",
			       pick(fl_json_get(r->status, "targets"),
				    target_keys, NKEYS(target_keys), 0));
	json_object_object_add(o, "probes",
			       pick(fl_json_get(r->status, "probes"),
				    probe_keys, NKEYS(probe_keys), 1));
	add_status(r, o, "availability");
	add_status(r, o, "recoveryTime");
	json_object_object_add(of, "rollbacks",
			       pick(fl_json_get(record(r), "rollbacks"),
				    rollback_keys, NKEYS(rollback_keys), 0));
	json_object_object_add(o, "onFailure", of);
	out = fl_strdup(
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
	return out;
}

/* Checks the webhook's URL (http or https) and headers (tokens for
 * names, no line breaks in values), and puts the URL's host in host.
 * Fills why, naming the field (never a header's value), and returns -1
 * when something is wrong. */
static int webhook_check(struct json_object *hook, char *host, size_t hn,
			 char *why, size_t n)
{
	struct json_object *headers = fl_json_get(hook, "headers");
	const char *url = fl_json_str(hook, "url");
	CURLU *u = curl_url();
	char *scheme = NULL, *h = NULL;
	int rc = -1;

	if (!u || !url || curl_url_set(u, CURLUPART_URL, url, 0) ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) ||
	    curl_url_get(u, CURLUPART_HOST, &h, 0) ||
	    (strcmp(scheme, "http") && strcmp(scheme, "https"))) {
		snprintf(why, n,
			 "spec.onFailure.notify.webhook.url: not an "
			 "http or https URL");
		goto out;
	}
	snprintf(host, hn, "%s", h);
	if (headers && !json_object_is_type(headers, json_type_object)) {
		snprintf(why, n,
			 "spec.onFailure.notify.webhook.headers: "
			 "must be an object of strings");
		goto out;
	}
	if (headers) {
		json_object_object_foreach(headers, key, val)
		{
			const char *v = json_object_get_string(val);

			if (!*key ||
			    key[strspn(key, "abcdefghijklmnopqrstuvwxyz"
					    "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					    "0123456789!#$%&'*+-.^_`|~")] ||
			    !json_object_is_type(val, json_type_string) ||
			    strpbrk(v, "\r\n")) {
				snprintf(why, n,
					 "spec.onFailure.notify.webhook."
					 "headers.%.64s: not a valid header",
					 key);
				goto out;
			}
		}
	}
	rc = 0;
out:
	curl_free(scheme);
	curl_free(h);
	curl_url_cleanup(u);
	return rc;
}

static size_t discard_body(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

/* The request's headers: ours, then the configured ones (a configured
 * Content-Type does not replace ours).  The caller frees the list. */
static struct curl_slist *webhook_headers(struct json_object *headers)
{
	struct curl_slist *list = NULL, *next;

	list = curl_slist_append(list, "Content-Type: application/json");
	/* No 100-continue round trip for a large body. */
	next = list ? curl_slist_append(list, "Expect:") : NULL;
	if (!next)
		abort();
	list = next;
	if (!json_object_is_type(headers, json_type_object))
		return list;
	json_object_object_foreach(headers, key, val)
	{
		char *line;

		if (!strcasecmp(key, "content-type"))
			continue;
		line = fl_asprintf("%s: %s", key, json_object_get_string(val));
		next = curl_slist_append(list, line);
		free(line);
		if (!next)
			abort();
		list = next;
	}
	return list;
}

/* POSTs body to the webhook.  Returns the HTTP status, or 0 with why
 * filled when no answer came. */
static long webhook_post(struct json_object *hook, const char *body, char *why,
			 size_t n)
{
	struct curl_slist *headers =
		webhook_headers(fl_json_get(hook, "headers"));
	char err[CURL_ERROR_SIZE] = "";
	CURL *c = curl_easy_init();
	long code = 0;
	CURLcode rc;

	if (!c) {
		snprintf(why, n, "cannot start an http client");
		goto out;
	}
	curl_easy_setopt(c, CURLOPT_URL, fl_json_str(hook, "url"));
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)WEBHOOK_TIMEOUT_MS);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS,
			 (long)WEBHOOK_CONNECT_MS);
	curl_easy_setopt(c, CURLOPT_USERAGENT, "faultline-operator");
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)strlen(body));
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard_body);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, err);
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		snprintf(why, n, "%s%s", NO_ANSWER,
			 err[0] ? err : curl_easy_strerror(rc));
		/* curl's text starts with a capital; ours is lowercase. */
		if (strlen(why) > strlen(NO_ANSWER))
			why[strlen(NO_ANSWER)] = (char)tolower(
				(unsigned char)why[strlen(NO_ANSWER)]);
		goto out;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (!code)
		snprintf(why, n, "no http status in the webhook's answer");
out:
	if (c)
		curl_easy_cleanup(c);
	curl_slist_free_all(headers);
	return code;
}

/* status.onFailure.notification, created when missing; borrowed. */
static struct json_object *nt_entry(struct fl_run *r)
{
	struct json_object *of = record(r);
	struct json_object *n = fl_json_get(of, "notification");

	if (!json_object_is_type(n, json_type_object)) {
		n = json_object_new_object();
		set_int(n, "attempts", 0);
		json_object_object_add(of, "notification", n);
	}
	return n;
}

/* Ends the notification with state and reason, and writes it. */
static int nt_end(struct fl_run *r, const char *state, const char *reason,
		  const char *host)
{
	set_state(nt_entry(r), state, reason);
	if (!strcmp(state, NT_SENT)) {
		FL_LOG(FL_LOG_INFO, &r->log, "webhook at %s notified", host);
	} else {
		FL_LOG(FL_LOG_WARN, &r->log,
		       "cannot notify the webhook%s%s: %s",
		       host[0] ? " at " : "", host, reason);
		fl_run_event(r, "Warning", "NotifyFailed", "Notify",
			     "cannot notify the webhook%s%s: %s",
			     host[0] ? " at " : "", host, reason);
	}
	return fl_st_write(r) ? -1 : 0;
}

/* Records the answer to one attempt: Sent on 2xx; Failed on an answer
 * that a retry would not change, or after ATTEMPTS_MAX; else Retrying.
 * Returns 0 when the notification has ended, -1 to retry. */
static int nt_answer(struct fl_run *r, long code, const char *why,
		     const char *host)
{
	struct json_object *n = nt_entry(r);
	int64_t attempts = get_int(n, "attempts");
	char reason[800];

	if (code)
		set_int(n, "code", code);
	if (code >= 200 && code < 300)
		return nt_end(r, NT_SENT, NULL, host);
	if (code)
		snprintf(reason, sizeof(reason), "the webhook answered %ld",
			 code);
	else
		snprintf(reason, sizeof(reason), "%s", why);
	if ((code >= 300 && code < 500 && code != 408 && code != 429) ||
	    attempts >= ATTEMPTS_MAX) {
		if (attempts >= ATTEMPTS_MAX)
			snprintf(reason + strlen(reason),
				 sizeof(reason) - strlen(reason),
				 " (gave up after %lld attempts)",
				 (long long)attempts);
		return nt_end(r, NT_FAILED, reason, host);
	}
	set_state(n, NT_RETRYING, reason);
	FL_LOG(FL_LOG_WARN, &r->log, "webhook at %s: %s (will retry)", host,
	       reason);
	fl_st_write(r);
	return -1;
}

/* When the attempt after a failed one is due: RETRY_SPACING_MS after the
 * first, twice that after the second.  The run is retried sooner (the
 * work queue's backoff starts small); those passes only wait. */
static int64_t retry_due(struct json_object *n, int64_t attempts)
{
	int64_t at = fl_time_parse(fl_json_str(n, "at"));

	if (at < 0 || attempts < 1)
		return 0;
	return at + RETRY_SPACING_MS * ((int64_t)1 << (attempts - 1));
}

/* Posts the notification unless it has ended.  Returns 0 when it has,
 * -1 to retry. */
static int notify(struct fl_run *r, struct json_object *hook,
		  const char *verdict, const char *message)
{
	struct json_object *n = nt_entry(r);
	const char *state = fl_json_str(n, "state");
	int64_t attempts = get_int(n, "attempts");
	char host[256] = "", why[600];
	char *body = NULL;
	long code;
	int rc = -1;

	if (state && (!strcmp(state, NT_SENT) || !strcmp(state, NT_FAILED)))
		return 0;
	if (webhook_check(hook, host, sizeof(host), why, sizeof(why)))
		return nt_end(r, NT_FAILED, why, host);
	if (attempts >= ATTEMPTS_MAX) {
		snprintf(why, sizeof(why),
			 "gave up after %lld attempts; the last: %s",
			 (long long)attempts,
			 fl_json_str(n, "reason") ? fl_json_str(n, "reason")
						  : "cut short");
		return nt_end(r, NT_FAILED, why, host);
	}
	if (state && !strcmp(state, NT_RETRYING) &&
	    fl_now_ms() < retry_due(n, attempts))
		return -1;
	body = payload(r, verdict, message);
	set_int(n, "attempts", attempts + 1);
	set_state(n, NT_SENDING, fl_json_str(n, "reason"));
	if (fl_st_write(r))
		goto out;
	fl_failpoint("on-failure-before-post");
	why[0] = '\0';
	code = webhook_post(hook, body, why, sizeof(why));
	rc = nt_answer(r, code, why, host);
out:
	free(body);
	return rc;
}

int fl_run_on_failure(struct fl_run *r, const char *verdict,
		      const char *message)
{
	struct json_object *spec = NULL, *list, *hook;
	int rc = 0;

	/* A copy: every status write replaces r->obj. */
	if (json_object_deep_copy(
		    fl_json_get(fl_json_get(r->obj, "spec"), "onFailure"),
		    &spec, NULL))
		return 0;
	list = fl_json_get(spec, "rollback");
	hook = fl_json_get(fl_json_get(spec, "notify"), "webhook");
	if (fl_json_len(list)) {
		rollback_list(r, list);
		for (size_t i = 0; i < fl_json_len(list); i++)
			rc |= rollback_one(r, i);
	}
	/* The notification reports how the rollbacks ended: it waits until
	 * every one of them has. */
	if (!rc && hook && notify(r, hook, verdict, message))
		rc = -1;
	json_object_put(spec);
	return rc ? -1 : 0;
}
