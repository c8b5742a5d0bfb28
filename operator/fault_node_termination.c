/*
 * nodeTermination: terminate, stop or reboot the EC2 instance behind a
 * Node.  The instance comes from the Node's spec.providerID
 * ("aws:///us-east-1a/i-0123..."), its region from the zone in it.
 *
 * The guard: with requireTag, an instance that does not carry that tag
 * (and value, when one is given) is refused before anything is sent
 * that could change it.  A Node that is not an EC2 instance is refused
 * the same way.
 *
 * Reverts: a terminated instance does not come back (its Auto Scaling
 * group replaces it) and a rebooted one comes back by itself, so
 * neither has anything to undo; a stopped instance is started again
 * when the fault ends, which is what "stop this node for the fault's
 * duration" means.  Recovery waits until the target has as many Ready
 * nodes as it had when the fault was injected.
 *
 * What the fault needs after a restart is kept in its status entry:
 * instanceId, region, action and population.
 *
 * TODO: nodeTermination.notice (cordon, drain honouring
 * PodDisruptionBudgets during the notice, then terminate) is refused,
 * because the drain is not written yet.
 */
#include <stdio.h>
#include <string.h>

#include "aws_ops.h"
#include "fault.h"
#include "json.h"
#include "run.h"
#include "targets.h"

struct instance_ref {
	char id[32];
	char region[32]; /* "" when the providerID names no zone */
};

static const char *action_of(struct fl_fault_call *c)
{
	const char *a = fl_json_str(c->target, "action");

	if (!a)
		a = fl_json_str(c->fault->params, "action");
	return a ? a : "terminate";
}

static void entry_str(struct fl_fault_call *c, const char *key, const char *v)
{
	json_object_object_add(c->target, key, json_object_new_string(v));
}

static int node_ready(struct json_object *node)
{
	struct json_object *conds =
		fl_json_get(fl_json_get(node, "status"), "conditions");

	if (fl_json_get(fl_json_get(node, "metadata"), "deletionTimestamp"))
		return 0;
	for (size_t i = 0; i < fl_json_len(conds); i++) {
		struct json_object *cd = json_object_array_get_idx(conds, i);
		const char *type = fl_json_str(cd, "type");
		const char *st = fl_json_str(cd, "status");

		if (type && !strcmp(type, "Ready"))
			return st && !strcmp(st, "True");
	}
	return 0;
}

/* Whether uid is a node this run terminated in target t (a Node object
 * that outlives its instance must not count as capacity). */
static int terminated_by_run(struct fl_fault_call *c, const char *target,
			     const char *uid)
{
	struct json_object *targets = fl_st_targets(c->run);

	for (size_t i = 0; uid && i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);
		const char *t = fl_json_str(e, "target");
		const char *u = fl_json_str(e, "uid");
		const char *a = fl_json_str(e, "action");

		if (t && !strcmp(t, target) && u && !strcmp(u, uid) && a &&
		    !strcmp(a, "terminate") && fl_json_get(e, "injectedAt"))
			return 1;
	}
	return 0;
}

/* Nodes this run terminated in target t, counted whether or not their
 * Node objects are still there. */
static int64_t terminated_count(struct fl_fault_call *c, const char *target)
{
	struct json_object *targets = fl_st_targets(c->run);
	int64_t n = 0;

	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);
		const char *t = fl_json_str(e, "target");
		const char *a = fl_json_str(e, "action");

		if (t && !strcmp(t, target) && a && !strcmp(a, "terminate") &&
		    fl_json_get(e, "injectedAt"))
			n++;
	}
	return n;
}

/*
 * Counts the Ready nodes of the entry's target that this run did not
 * terminate.  Returns 0, or -1 with c->why filled.
 */
static int count_ready(struct fl_fault_call *c, const struct fl_target *t,
		       int64_t *ready)
{
	struct fl_kube_ref ref = {"", "v1", "nodes", NULL, NULL, NULL};
	struct fl_kube_list_opts o = {0};
	struct fl_kube_status st = {0};
	struct json_object *out = NULL, *items;
	char sel[4096];

	*ready = 0;
	if (fl_selector_string(&t->selector, sel, sizeof(sel))) {
		snprintf(c->why, sizeof(c->why),
			 "target '%s': the selector cannot be written as a "
			 "label selector",
			 t->name);
		return -1;
	}
	o.label_selector = sel[0] ? sel : NULL;
	if (fl_kube_list(c->kube, &ref, &o, &out, &st)) {
		snprintf(c->why, sizeof(c->why),
			 "cannot list the nodes of target '%s': %ld %.300s",
			 t->name, st.code, st.message);
		fl_kube_status_release(&st);
		return -1;
	}
	items = fl_json_get(out, "items");
	for (size_t i = 0; i < fl_json_len(items); i++) {
		struct json_object *node = json_object_array_get_idx(items, i);
		const char *uid =
			fl_json_str(fl_json_get(node, "metadata"), "uid");

		if (fl_selector_matches(&t->selector, node) &&
		    node_ready(node) && !terminated_by_run(c, t->name, uid))
			(*ready)++;
	}
	json_object_put(out);
	return 0;
}

/*
 * The instance of the entry: from the entry once recorded, else from
 * the Node.  Returns 0; 1 when the Node is gone or replaced (why says
 * so); -1 with *res and why set when it cannot be had.
 */
static int instance_of(struct fl_fault_call *c, struct instance_ref *ref,
		       enum fl_fault_result *res)
{
	const char *name = fl_json_str(c->target, "name");
	const char *uid = fl_json_str(c->target, "uid");
	struct fl_kube_ref kref = {"", "v1", "nodes", NULL, name, NULL};
	struct fl_kube_status st = {0};
	struct json_object *node = NULL;
	const char *id = fl_json_str(c->target, "instanceId");
	const char *pid, *cur;
	int rc = -1;

	if (id) {
		snprintf(ref->id, sizeof(ref->id), "%s", id);
		snprintf(ref->region, sizeof(ref->region), "%s",
			 fl_json_str(c->target, "region")
				 ? fl_json_str(c->target, "region")
				 : "");
		return 0;
	}
	if (fl_kube_get(c->kube, &kref, &node, &st)) {
		snprintf(c->why, sizeof(c->why),
			 "cannot read node '%s': %ld %.300s", name, st.code,
			 st.message);
		*res = st.code == 404 ? FL_FAULT_ABSENT : FL_FAULT_RETRY;
		rc = st.code == 404 ? 1 : -1;
		fl_kube_status_release(&st);
		return rc;
	}
	cur = fl_json_str(fl_json_get(node, "metadata"), "uid");
	if (uid && cur && strcmp(uid, cur)) {
		snprintf(c->why, sizeof(c->why),
			 "node '%s' was replaced before its turn", name);
		*res = FL_FAULT_ABSENT;
		rc = 1;
		goto out;
	}
	pid = fl_json_str(fl_json_get(node, "spec"), "providerID");
	if (fl_aws_node_instance(pid, ref->id, sizeof(ref->id), ref->region,
				 sizeof(ref->region))) {
		snprintf(c->why, sizeof(c->why),
			 "node '%s' is not an EC2 instance: its providerID is "
			 "'%.200s', not 'aws:///<zone>/i-...'; not touched",
			 name, pid ? pid : "");
		*res = FL_FAULT_REFUSED;
		goto out;
	}
	entry_str(c, "instanceId", ref->id);
	if (ref->region[0])
		entry_str(c, "region", ref->region);
	rc = 0;
out:
	json_object_put(node);
	return rc;
}

/* What the guard asks for; NULL when there is no guard. */
static const char *guard_refuses(struct fl_fault_call *c,
				 struct json_object *inst)
{
	struct json_object *req = fl_json_get(c->fault->params, "requireTag");
	const char *key = fl_json_str(req, "key");
	const char *want = fl_json_str(req, "value");
	const char *have;

	if (!key)
		return NULL;
	have = fl_json_str(fl_json_get(inst, "tags"), key);
	if (have && (!want || !strcmp(have, want)))
		return NULL;
	snprintf(c->why, sizeof(c->why),
		 "instance %s (node '%s') does not carry the tag '%s%s%s' "
		 "that requireTag asks for%s%s%s; not touched",
		 fl_json_str(inst, "instanceId"),
		 fl_json_str(c->target, "name"), key, want ? "=" : "",
		 want ? want : "", have ? " (it has '" : "", have ? have : "",
		 have ? "')" : "");
	return c->why;
}

static enum fl_aws_ec2_action ec2_action(const char *action)
{
	if (!strcmp(action, "stop"))
		return FL_AWS_EC2_STOP;
	if (!strcmp(action, "reboot"))
		return FL_AWS_EC2_REBOOT;
	return FL_AWS_EC2_TERMINATE;
}

/* DescribeInstances of one instance; *inst is NULL when EC2 does not
 * know it.  Returns 0, or -1 with err filled. */
static int describe(fl_aws *a, const char *id, struct json_object **out,
		    struct json_object **inst, struct fl_aws_error *err)
{
	const char *ids[1] = {id};

	*inst = NULL;
	if (fl_aws_ec2_describe_instances(a, ids, 1, NULL, 0, out, err))
		return -1;
	for (size_t i = 0; i < fl_json_len(*out); i++) {
		struct json_object *it = json_object_array_get_idx(*out, i);
		const char *got = fl_json_str(it, "instanceId");

		if (got && !strcmp(got, id))
			*inst = it;
	}
	return 0;
}

static int is_not_found(const struct fl_aws_error *err)
{
	return !strncmp(err->code, "InvalidInstanceID", 17);
}

/* Records the target's Ready nodes (with the ones this run already
 * terminated) as the population recovery waits for. */
static int record_population(struct fl_fault_call *c)
{
	const struct fl_target *t = fl_aws_entry_target(c);
	int64_t ready;

	if (!t)
		return 0;
	if (count_ready(c, t, &ready))
		return -1;
	json_object_object_add(
		c->target, "population",
		json_object_new_int64(ready + terminated_count(c, t->name)));
	return 0;
}

/* A RETRY before anything was sent to EC2: noted, so that the check
 * after it does not take a reboot for done. */
static enum fl_fault_result unless_retry(struct fl_fault_call *c,
					 enum fl_fault_result res)
{
	if (res == FL_FAULT_RETRY)
		json_object_object_add(c->target, "unapplied",
				       json_object_new_boolean(1));
	return res;
}

static enum fl_fault_result node_inject(struct fl_fault_call *c)
{
	const char *action = fl_json_str(c->fault->params, "action");
	enum fl_fault_result res = FL_FAULT_REFUSED;
	struct json_object *out = NULL, *inst;
	struct instance_ref ref;
	struct fl_aws_error err;
	const char *state;
	char what[128];
	fl_aws *a;

	if (fl_json_get(c->fault->params, "notice")) {
		snprintf(c->why, sizeof(c->why),
			 "nodeTermination.notice is not supported yet (no "
			 "cordon and drain before the termination); node "
			 "'%s' was not touched",
			 fl_json_str(c->target, "name"));
		return FL_FAULT_REFUSED;
	}
	action = action ? action : "terminate";
	entry_str(c, "action", action);
	if (instance_of(c, &ref, &res))
		return unless_retry(c, res);
	a = fl_aws_fault_client(c, ref.region[0] ? ref.region : NULL, &res);
	if (!a)
		return res;
	snprintf(what, sizeof(what), "instance %s (node '%s'): ", ref.id,
		 fl_json_str(c->target, "name"));

	if (describe(a, ref.id, &out, &inst, &err)) {
		res = is_not_found(&err)
			      ? FL_FAULT_ABSENT
			      : fl_aws_fault_failed(c, what, &err, 1);
		if (res == FL_FAULT_ABSENT)
			snprintf(c->why, sizeof(c->why), "%s%.360s", what,
				 err.text);
		goto out;
	}
	state = fl_json_str(inst, "state");
	if (!inst || !state || strcmp(state, "running")) {
		snprintf(c->why, sizeof(c->why),
			 "%sthe instance is %s, not running; not touched", what,
			 inst ? (state ? state : "in no state") : "unknown");
		res = FL_FAULT_ABSENT;
		goto out;
	}
	if (guard_refuses(c, inst)) {
		res = FL_FAULT_REFUSED;
		goto out;
	}
	if (record_population(c)) {
		res = unless_retry(c, FL_FAULT_RETRY);
		goto out;
	}
	if (fl_aws_ec2_instances_action(a, ec2_action(action),
					(const char *[]){ref.id}, 1, NULL,
					&err)) {
		res = fl_aws_fault_failed(c, what, &err, 0);
		goto out;
	}
	fl_aws_fault_done(c);
	res = FL_FAULT_OK;
out:
	json_object_put(out);
	return res;
}

static enum fl_fault_result node_check(struct fl_fault_call *c)
{
	const char *action = action_of(c);
	enum fl_fault_result res = FL_FAULT_REFUSED;
	struct json_object *out = NULL, *inst;
	struct instance_ref ref;
	struct fl_aws_error err;
	const char *state;
	char what[128];
	fl_aws *a;
	int rc;

	if (fl_aws_fault_unapplied(c))
		return FL_FAULT_ABSENT;
	/* A reboot leaves no trace to look for: once it may have been
	 * asked for, it counts as done, so that it is never asked twice. */
	if (!strcmp(action, "reboot"))
		return FL_FAULT_OK;
	rc = instance_of(c, &ref, &res);
	if (rc)
		return rc > 0 ? FL_FAULT_OK : res; /* a Node gone is done */
	a = fl_aws_fault_client(c, ref.region[0] ? ref.region : NULL, &res);
	if (!a)
		return res;
	snprintf(what, sizeof(what), "instance %s: ", ref.id);
	if (describe(a, ref.id, &out, &inst, &err)) {
		res = is_not_found(&err) ? FL_FAULT_OK
					 : fl_aws_call_failed(c, what, &err);
		goto out;
	}
	state = fl_json_str(inst, "state");
	if (!inst || !state) {
		res = FL_FAULT_OK;
	} else if (!strcmp(action, "stop")) {
		res = !strcmp(state, "stopping") || !strcmp(state, "stopped")
			      ? FL_FAULT_OK
			      : FL_FAULT_ABSENT;
	} else {
		res = !strcmp(state, "shutting-down") ||
				      !strcmp(state, "terminated")
			      ? FL_FAULT_OK
			      : FL_FAULT_ABSENT;
	}
out:
	json_object_put(out);
	return res;
}

/* Starts a stopped instance again.  One still stopping cannot be
 * started yet: RETRY until it has stopped. */
static enum fl_fault_result start_again(struct fl_fault_call *c)
{
	enum fl_fault_result res = FL_FAULT_REFUSED;
	struct json_object *out = NULL, *inst;
	struct instance_ref ref;
	struct fl_aws_error err;
	const char *state;
	char what[128];
	fl_aws *a;

	if (!fl_json_str(c->target, "instanceId")) {
		snprintf(c->why, sizeof(c->why), "nothing was stopped");
		return FL_FAULT_OK;
	}
	if (instance_of(c, &ref, &res))
		return res;
	a = fl_aws_fault_client(c, ref.region[0] ? ref.region : NULL, &res);
	if (!a)
		return res;
	snprintf(what, sizeof(what), "instance %s: ", ref.id);
	if (describe(a, ref.id, &out, &inst, &err)) {
		res = fl_aws_call_failed(c, what, &err);
		goto out;
	}
	state = inst ? fl_json_str(inst, "state") : NULL;
	if (!state || strcmp(state, "stopped")) {
		if (state && !strcmp(state, "stopping")) {
			snprintf(c->why, sizeof(c->why),
				 "%sstill stopping; started once stopped",
				 what);
			res = FL_FAULT_RETRY;
			goto out;
		}
		snprintf(c->why, sizeof(c->why), "%s%s; nothing to start", what,
			 state ? state : "gone");
		res = FL_FAULT_OK;
		goto out;
	}
	if (fl_aws_ec2_instances_action(a, FL_AWS_EC2_START,
					(const char *[]){ref.id}, 1, NULL,
					&err)) {
		res = fl_aws_call_failed(c, what, &err);
		goto out;
	}
	snprintf(c->why, sizeof(c->why), "%sstarted again", what);
	res = FL_FAULT_OK;
out:
	json_object_put(out);
	return res;
}

static enum fl_fault_result node_revert(struct fl_fault_call *c)
{
	const char *action = action_of(c);

	if (!strcmp(action, "stop"))
		return start_again(c);
	snprintf(c->why, sizeof(c->why), "%s",
		 !strcmp(action, "reboot")
			 ? "nothing to revert: a rebooted instance comes back "
			   "by itself"
			 : "nothing to revert: a terminated instance does not "
			   "come back; its Auto Scaling group replaces it");
	return FL_FAULT_OK;
}

static enum fl_fault_result node_recovered(struct fl_fault_call *c)
{
	const struct fl_target *t = fl_aws_entry_target(c);
	struct json_object *pop = fl_json_get(c->target, "population");
	int64_t ready;

	if (!pop)
		return FL_FAULT_OK; /* never injected: nothing to wait for */
	if (!t) {
		snprintf(c->why, sizeof(c->why),
			 "target '%s' is no longer in the spec",
			 fl_json_str(c->target, "target"));
		return FL_FAULT_REFUSED;
	}
	if (count_ready(c, t, &ready))
		return FL_FAULT_RETRY;
	if (ready >= json_object_get_int64(pop))
		return FL_FAULT_OK;
	snprintf(c->why, sizeof(c->why),
		 "target '%s' has %lld Ready nodes of the %lld it had", t->name,
		 (long long)ready, (long long)json_object_get_int64(pop));
	return FL_FAULT_RETRY;
}

const struct fl_fault_ops fl_fault_node_termination = {
	.kind = FL_FAULT_NODE_TERMINATION,
	.target = FL_TARGET_NODES,
	.engine = "ec2",
	.inject = node_inject,
	.check = node_check,
	.revert = node_revert,
	.recovered = node_recovered,
};
