/*
 * Preparing: resolve each target's population, apply the blast-radius cap
 * and minHealthy, choose, and write the plan into status before anything
 * is injected.  A dry run ends here.
 *
 * Faults that share a target share one draw: the target gets as many
 * objects as its hungriest fault needs, and each fault takes the first
 * ones of that shuffled draw, so that all the faults together never touch
 * more of a population than the cap allows.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "aws_ops.h"
#include "buf.h"
#include "fault.h"
#include "json.h"
#include "log.h"
#include "run.h"
#include "run_probes.h"
#include "targets.h"

#define MAX_POPULATION 100000

struct candidate {
	const char *ns, *name, *uid; /* borrowed from the lists held */
};

struct population {
	struct json_object *lists[FL_OP_MAX_NS]; /* owned list answers */
	size_t nlists;
	struct candidate *c;
	size_t n, cap;
	size_t matched;	     /* objects the selector matched */
	char first_why[256]; /* why the first matching object was refused */
};

static void population_release(struct population *p)
{
	for (size_t i = 0; i < p->nlists; i++)
		json_object_put(p->lists[i]);
	free(p->c);
}

static int population_add(struct population *p, struct json_object *obj)
{
	struct json_object *meta = fl_json_get(obj, "metadata");

	if (!meta) /* an AWS object: {"name", "uid"} */
		meta = obj;
	if (p->n == MAX_POPULATION)
		return -1;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 64;
		p->c = fl_realloc(p->c, p->cap * sizeof(*p->c));
	}
	p->c[p->n].ns = fl_json_str(meta, "namespace");
	p->c[p->n].name = fl_json_str(meta, "name");
	p->c[p->n].uid = fl_json_str(meta, "uid");
	p->n++;
	return 0;
}

/* Lists ns (NULL for cluster-scoped) of resource with the target's
 * selectors, keeping the answer alive in p. */
static int list(struct fl_run *r, struct population *p, const char *resource,
		const char *ns, const struct fl_target *t,
		struct json_object **items)
{
	struct fl_kube_ref ref = {"", "v1", resource, ns, NULL, NULL};
	struct fl_kube_list_opts o = {0};
	struct fl_kube_status st = {0};
	struct json_object *out = NULL;
	char sel[4096];

	if (fl_selector_string(&t->selector, sel, sizeof(sel))) {
		FL_LOG(FL_LOG_WARN, &r->log,
		       "target '%s': the selector cannot be written as a "
		       "label selector (too long, or a key or value that is "
		       "not valid label syntax)",
		       t->name);
		return -1;
	}
	o.label_selector = sel[0] ? sel : NULL;
	o.field_selector = t->field_selector;
	if (fl_kube_list(r->w->kube, &ref, &o, &out, &st)) {
		FL_LOG(FL_LOG_WARN, &r->log,
		       "target '%s': cannot list %s%s%s: %ld %s", t->name,
		       resource, ns ? " in namespace " : "", ns ? ns : "",
		       st.code, st.message);
		fl_kube_status_release(&st);
		return -1;
	}
	p->lists[p->nlists++] = out;
	*items = fl_json_get(out, "items");
	return 0;
}

static void refuse(struct population *p, const char *why)
{
	if (!p->first_why[0])
		snprintf(p->first_why, sizeof(p->first_why), "%.255s", why);
}

/* Reads a namespace object for the opt-in check; NULL when it cannot. */
static struct json_object *get_namespace(struct fl_run *r, const char *ns)
{
	struct fl_kube_ref ref = {"", "v1", "namespaces", NULL, ns, NULL};
	struct fl_kube_status st = {0};
	struct json_object *out = NULL;

	if (fl_kube_get(r->w->kube, &ref, &out, &st))
		fl_kube_status_release(&st);
	return out;
}

static int resolve_pods(struct fl_run *r, const struct fl_target *t,
			struct population *p, char *why, size_t n)
{
	const struct fl_scope *scope = &r->w->op->scope;
	const char *own[1] = {r->ns};
	const char **nss = t->nnamespaces ? t->namespaces : own;
	size_t nns = t->nnamespaces ? t->nnamespaces : 1;

	for (size_t i = 0; i < nns && i < FL_OP_MAX_NS; i++) {
		struct json_object *nsobj = NULL, *items = NULL;
		int allowed;

		if (scope->opt_in)
			nsobj = get_namespace(r, nss[i]);
		allowed = fl_scope_namespace_allowed(scope, nss[i], nsobj, why,
						     n);
		json_object_put(nsobj);
		if (!allowed) {
			refuse(p, why);
			continue;
		}
		if (list(r, p, "pods", nss[i], t, &items))
			return -1;
		for (size_t k = 0; k < fl_json_len(items); k++) {
			struct json_object *pod =
				json_object_array_get_idx(items, k);
			char w[256];

			if (!fl_selector_matches(&t->selector, pod))
				continue;
			p->matched++;
			if (!fl_pod_eligible(scope, pod, w, sizeof(w)))
				refuse(p, w);
			else if (population_add(p, pod))
				return -1;
		}
	}
	return 0;
}

static int resolve_nodes(struct fl_run *r, const struct fl_target *t,
			 struct population *p)
{
	struct json_object *items = NULL;

	if (list(r, p, "nodes", NULL, t, &items))
		return -1;
	for (size_t k = 0; k < fl_json_len(items); k++) {
		struct json_object *node = json_object_array_get_idx(items, k);
		char w[256];

		if (!fl_selector_matches(&t->selector, node))
			continue;
		p->matched++;
		if (!fl_node_eligible(&r->w->op->scope, node, w, sizeof(w)))
			refuse(p, w);
		else if (population_add(p, node))
			return -1;
	}
	return 0;
}

/* ecsTasks and rdsInstances: the population comes from the AWS APIs.
 * Returns 0, 1 with msg when it cannot be had, -1 to retry. */
static int resolve_aws(struct fl_run *r, const struct fl_target *t,
		       struct population *p, char *msg, size_t n)
{
	struct json_object *items = NULL;
	int rc = fl_aws_resolve_target(r, t, &items, msg, n);

	if (rc)
		return rc;
	p->lists[p->nlists++] = items;
	for (size_t k = 0; k < fl_json_len(items); k++) {
		struct json_object *it = json_object_array_get_idx(items, k);

		p->matched++;
		if (population_add(p, it))
			return -1;
	}
	return 0;
}

static int cmp_candidate(const void *a, const void *b)
{
	const struct candidate *x = a, *y = b;
	int c = strcmp(x->ns ? x->ns : "", y->ns ? y->ns : "");

	return c ? c : strcmp(x->name ? x->name : "", y->name ? y->name : "");
}

/* A seed for the draw: the same run and target always draw the same. */
static uint64_t seed_of(const char *run_id, const char *target)
{
	uint64_t h = 1469598103934665603ULL;

	for (const char *s = run_id; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	for (const char *s = target; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static uint64_t splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void add_entry(struct json_object *targets, const struct fl_fault *f,
		      const struct fl_target *t, const struct candidate *c)
{
	struct json_object *e = json_object_new_object();
	const struct fl_fault_ops *ops = fl_fault_ops_for(f->kind);

	json_object_object_add(e, "target", json_object_new_string(t->name));
	json_object_object_add(e, "fault", json_object_new_string(f->name));
	json_object_object_add(
		e, "kind",
		json_object_new_string(fl_fault_kind_names[f->kind]));
	if (c->ns)
		json_object_object_add(e, "namespace",
				       json_object_new_string(c->ns));
	json_object_object_add(e, "name", json_object_new_string(c->name));
	if (c->uid)
		json_object_object_add(e, "uid",
				       json_object_new_string(c->uid));
	json_object_object_add(e, "state",
			       json_object_new_string(FL_TS_SELECTED));
	if (ops)
		json_object_object_add(e, "engine",
				       json_object_new_string(ops->engine));
	json_object_array_add(targets, e);
}

/* Checks that this build can carry out every fault, before anything is
 * chosen or touched. */
static int supported(struct fl_run *r, char *msg, size_t n)
{
	for (size_t i = 0; i < r->x.nfaults; i++) {
		const struct fl_fault *f = &r->x.faults[i];
		const struct fl_fault_ops *ops = fl_fault_ops_for(f->kind);
		const char *why;

		if (f->target_index < 0 ||
		    (size_t)f->target_index >= r->x.ntargets) {
			snprintf(msg, n, "fault '%s': no target named '%s'",
				 f->name, f->target ? f->target : "");
			return 0;
		}
		if (!ops) {
			snprintf(msg, n,
				 "fault '%s': this operator cannot carry out "
				 "%s yet",
				 f->name, fl_fault_kind_names[f->kind]);
			return 0;
		}
		if (r->x.targets[f->target_index].kind != ops->target) {
			snprintf(msg, n,
				 "fault '%s': %s acts on %s, but target '%s' "
				 "is %s",
				 f->name, fl_fault_kind_names[f->kind],
				 fl_target_kind_names[ops->target], f->target,
				 fl_target_kind_names
					 [r->x.targets[f->target_index].kind]);
			return 0;
		}
		if (ops->unusable && (why = ops->unusable(r->w->op))) {
			snprintf(msg, n, "fault '%s' (%s): %s", f->name,
				 fl_fault_kind_names[f->kind], why);
			return 0;
		}
	}
	return 1;
}

/*
 * Plans one target: resolves its population once, then gives each of
 * its faults its share of one shuffled draw.  Appends the plan to
 * targets and a note per capped fault to notes.  Returns 0, 1 when a
 * fault gets nothing (msg says why), -1 on an API failure.
 */
static int plan_target(struct fl_run *r, size_t ti, struct json_object *targets,
		       struct fl_buf *notes, char *msg, size_t n)
{
	const struct fl_target *t = &r->x.targets[ti];
	struct population p = {0};
	int64_t most = 0;
	size_t *pick = NULL;
	int rc = -1;

	switch (t->kind) {
	case FL_TARGET_PODS:
		rc = resolve_pods(r, t, &p, msg, n);
		break;
	case FL_TARGET_NODES:
		rc = resolve_nodes(r, t, &p);
		break;
	default:
		rc = resolve_aws(r, t, &p, msg, n);
		break;
	}
	if (rc)
		goto out;
	rc = -1;
	if (p.n) /* p.c is NULL when nothing matched */
		qsort(p.c, p.n, sizeof(*p.c), cmp_candidate);

	for (size_t i = 0; i < r->x.nfaults; i++) {
		const struct fl_fault *f = &r->x.faults[i];
		struct fl_plan_count pc;

		if ((size_t)f->target_index != ti)
			continue;
		fl_plan_count((int64_t)p.n, &f->mode, r->x.max_blast_radius,
			      r->x.min_healthy, &pc);
		if (pc.count == 0) {
			if (p.n)
				snprintf(msg, n,
					 "fault '%s': no target may be "
					 "hit: %s",
					 f->name, pc.why);
			else
				snprintf(msg, n,
					 "fault '%s': target '%s' has no "
					 "eligible %s (%zu matched the "
					 "selector%s%s)",
					 f->name, t->name,
					 fl_target_kind_names[t->kind],
					 p.matched, p.first_why[0] ? "; " : "",
					 p.first_why);
			rc = 1;
			goto out;
		}
		if (pc.why[0])
			fl_buf_addf(notes, "%sfault '%s': %s",
				    notes->len ? "; " : "", f->name, pc.why);
		if (pc.count > most)
			most = pc.count;
	}

	pick = fl_calloc((size_t)most + 1, sizeof(*pick));
	fl_choose(p.n, (size_t)most, seed_of(r->run_id, t->name), pick);
	/* Shuffle the draw so that a fault taking a prefix is random too. */
	uint64_t state = seed_of(r->run_id, t->name);

	for (size_t i = (size_t)most; i > 1; i--) {
		size_t j = (size_t)(splitmix64(&state) % i), tmp = pick[i - 1];

		pick[i - 1] = pick[j];
		pick[j] = tmp;
	}
	for (size_t i = 0; i < r->x.nfaults; i++) {
		const struct fl_fault *f = &r->x.faults[i];
		struct fl_plan_count pc;

		if ((size_t)f->target_index != ti)
			continue;
		fl_plan_count((int64_t)p.n, &f->mode, r->x.max_blast_radius,
			      r->x.min_healthy, &pc);
		for (int64_t k = 0; k < pc.count; k++)
			add_entry(targets, f, t, &p.c[pick[k]]);
	}
	rc = 0;
out:
	free(pick);
	population_release(&p);
	return rc;
}

/* Ends the run before anything was injected: the experiment could not
 * be carried out as written.  stall_reason, when not NULL, also sets
 * Stalled: the operator cannot go on with this spec. */
static int fail_early(struct fl_run *r, const char *msg,
		      const char *stall_reason)
{
	fl_st_finish(r, FL_PH_FAILED, "Error", msg);
	if (stall_reason)
		fl_st_condition(r, "Stalled", "True", stall_reason, msg);
	return fl_st_write(r) ? -1 : 1;
}

/*
 * The baseline: every probe sampled until it holds or fails, before
 * anything is injected.  A hypothesis already false stops the run.
 * Returns 0 when every probe holds, 1 to wait for the next samples (or
 * when the run ended), -1 to retry.
 */
static int baseline(struct fl_run *r)
{
	const char *which, *why;
	enum fl_probe_verdict v;
	char msg[1200];
	int sampled;

	if (!r->x.nprobes)
		return 0;
	v = fl_probes_verdict(r, &which, &why);
	if (v == FL_PROBE_UNKNOWN) {
		if (fl_probes_step(r, "baseline", &sampled, msg, sizeof(msg)))
			return fail_early(r, msg, "InvalidProbe");
		if (sampled && fl_st_write(r))
			return -1;
		v = fl_probes_verdict(r, &which, &why);
	}
	if (v == FL_PROBE_FAILS) {
		snprintf(msg, sizeof(msg),
			 "the hypothesis is already false before injection: "
			 "probe '%s' fails at baseline: %s; nothing was "
			 "injected",
			 which, why ? why : "");
		return fail_early(r, msg, NULL);
	}
	return v == FL_PROBE_UNKNOWN ? 1 : 0;
}

int fl_run_prepare(struct fl_run *r)
{
	struct json_object *targets;
	struct fl_buf notes;
	char msg[1024], plan[1400];
	int rc = -1;

	if (fl_json_len(fl_json_get(r->status, "targets")) > 0)
		goto planned; /* chosen before a restart: never choose twice */

	if (!supported(r, msg, sizeof(msg)))
		return fail_early(r, msg, "UnsupportedFault");

	fl_buf_init(&notes, 1024);
	targets = json_object_new_array();
	for (size_t i = 0; i < r->x.ntargets; i++) {
		int used = 0;

		for (size_t k = 0; k < r->x.nfaults; k++)
			used |= (size_t)r->x.faults[k].target_index == i;
		if (!used)
			continue;
		rc = plan_target(r, i, targets, &notes, msg, sizeof(msg));
		if (rc)
			break;
	}
	if (!rc && fl_json_len(targets) > FL_TARGETS_MAX) {
		/* status.targets holds no more: a write of this plan would
		 * be refused, again and again. */
		snprintf(msg, sizeof(msg),
			 "the plan holds %zu targets, more than the %d that "
			 "status can list: lower the faults' mode or "
			 "safety.maxBlastRadius, or split the experiment",
			 fl_json_len(targets), FL_TARGETS_MAX);
		rc = 1;
	}
	if (rc) {
		json_object_put(targets);
		fl_buf_release(&notes);
		return rc < 0 ? -1 : fail_early(r, msg, NULL);
	}
	fl_st_set(r, "targets", targets);
	fl_st_set(r, "targetCount",
		  json_object_new_int64((int64_t)fl_json_len(targets)));
	snprintf(plan, sizeof(plan), "%zu target%s planned%s%s",
		 fl_json_len(targets), fl_json_len(targets) == 1 ? "" : "s",
		 notes.len ? ": " : "", notes.len ? notes.data : "");
	fl_buf_release(&notes);
	fl_st_set_str(r, "message", plan);
	fl_st_set_str(r, "plan", plan);
	if (r->x.dry_run) {
		char dry[1500];

		snprintf(dry, sizeof(dry), "dry run: %s; nothing was injected",
			 plan);
		fl_st_finish(r, FL_PH_COMPLETED, NULL, dry);
		return fl_st_write(r) ? -1 : 1;
	}
	if (fl_st_write(r))
		return -1;
	fl_failpoint("after-targets-written");

planned:
	rc = baseline(r);
	if (rc)
		return rc;
	fl_st_phase(r, FL_PH_INJECTING, NULL);
	if (fl_st_write(r))
		return -1;
	fl_failpoint("after-injecting");
	return 0;
}
