/*
 * podDelete: evict the pod through the Eviction API, so that
 * PodDisruptionBudgets are honoured; with ignorePodDisruptionBudgets,
 * delete it instead.  The pod's uid is a precondition, so a pod that was
 * replaced under the same name is never the one deleted.
 *
 * There is nothing to revert: the pod's controller replaces it.  A check
 * after a restart asks whether the pod we chose still exists, alive.
 */
#include <stdio.h>
#include <string.h>

#include "fault.h"
#include "json.h"
#include "run.h"
#include "units.h"

/* gracePeriod in seconds, or -1 for the pod's own. */
static long grace_seconds(const struct fl_fault *f)
{
	const char *g = fl_json_str(f->params, "gracePeriod");
	int64_t ms;

	if (!g || fl_duration_parse(g, &ms))
		return -1;
	return (long)((ms + 999) / 1000);
}

static struct json_object *eviction_body(struct fl_fault_call *c, long grace)
{
	struct json_object *body = json_object_new_object();
	struct json_object *meta = json_object_new_object();
	struct json_object *opts = json_object_new_object();
	const char *uid = fl_json_str(c->target, "uid");

	json_object_object_add(body, "apiVersion",
			       json_object_new_string("policy/v1"));
	json_object_object_add(body, "kind",
			       json_object_new_string("Eviction"));
	json_object_object_add(
		meta, "name",
		json_object_new_string(fl_json_str(c->target, "name")));
	json_object_object_add(
		meta, "namespace",
		json_object_new_string(fl_json_str(c->target, "namespace")));
	json_object_object_add(body, "metadata", meta);
	if (uid) {
		struct json_object *pre = json_object_new_object();

		json_object_object_add(pre, "uid", json_object_new_string(uid));
		json_object_object_add(opts, "preconditions", pre);
	}
	if (grace >= 0)
		json_object_object_add(opts, "gracePeriodSeconds",
				       json_object_new_int64(grace));
	json_object_object_add(body, "deleteOptions", opts);
	return body;
}

/* Sorts an API failure into what the run does with it. */
static enum fl_fault_result classify(struct fl_fault_call *c,
				     const struct fl_kube_status *st,
				     const char *verb)
{
	const char *ns = fl_json_str(c->target, "namespace");
	const char *name = fl_json_str(c->target, "name");

	if (st->code == 404 ||
	    (st->code == 409 && fl_json_str(c->target, "uid"))) {
		snprintf(c->why, sizeof(c->why),
			 "pod '%s/%s' was gone or replaced before its %s", ns,
			 name, verb);
		return FL_FAULT_ABSENT;
	}
	if (st->code == 429) {
		snprintf(c->why, sizeof(c->why),
			 "%s of pod '%s/%s' refused by a "
			 "PodDisruptionBudget: %.300s",
			 verb, ns, name, st->message);
		return FL_FAULT_REFUSED;
	}
	snprintf(c->why, sizeof(c->why),
		 "%s of pod '%s/%s' failed: %ld %s%s%.300s", verb, ns, name,
		 st->code, st->reason, st->message[0] ? ": " : "", st->message);
	if (st->code == 0 || st->code >= 500)
		return FL_FAULT_RETRY;
	return FL_FAULT_REFUSED;
}

static enum fl_fault_result pod_delete_inject(struct fl_fault_call *c)
{
	const char *ns = fl_json_str(c->target, "namespace");
	const char *name = fl_json_str(c->target, "name");
	long grace = grace_seconds(c->fault);
	struct fl_kube_status st = {0};
	enum fl_fault_result res = FL_FAULT_OK;
	int rc;

	if (c->fault->params &&
	    json_object_get_boolean(fl_json_get(
		    c->fault->params, "ignorePodDisruptionBudgets"))) {
		struct fl_kube_ref ref = {"", "v1", "pods", ns, name, NULL};
		struct fl_kube_delete_opts o = {0};

		o.precondition_uid = fl_json_str(c->target, "uid");
		o.grace_period_s = grace;
		rc = fl_kube_delete(c->kube, &ref, &o, NULL, &st);
		if (rc)
			res = classify(c, &st, "deletion");
	} else {
		struct fl_kube_ref ref = {"", "v1", "pods",
					  ns, name, "eviction"};
		struct json_object *body = eviction_body(c, grace);

		rc = fl_kube_create(c->kube, &ref, body, NULL, &st);
		json_object_put(body);
		if (rc)
			res = classify(c, &st, "eviction");
	}
	fl_kube_status_release(&st);
	return res;
}

static enum fl_fault_result pod_delete_check(struct fl_fault_call *c)
{
	const char *ns = fl_json_str(c->target, "namespace");
	const char *name = fl_json_str(c->target, "name");
	const char *uid = fl_json_str(c->target, "uid");
	struct fl_kube_ref ref = {"", "v1", "pods", ns, name, NULL};
	struct fl_kube_status st = {0};
	struct json_object *pod = NULL, *meta;
	enum fl_fault_result res;
	const char *cur;

	if (fl_kube_get(c->kube, &ref, &pod, &st)) {
		res = st.code == 404 ? FL_FAULT_OK : classify(c, &st, "check");
		fl_kube_status_release(&st);
		return res;
	}
	meta = fl_json_get(pod, "metadata");
	cur = fl_json_str(meta, "uid");
	if ((uid && cur && strcmp(uid, cur)) ||
	    fl_json_get(meta, "deletionTimestamp"))
		res = FL_FAULT_OK; /* evicted: gone, going, or replaced */
	else
		res = FL_FAULT_ABSENT;
	json_object_put(pod);
	return res;
}

static enum fl_fault_result pod_delete_revert(struct fl_fault_call *c)
{
	snprintf(c->why, sizeof(c->why),
		 "nothing to revert: an evicted pod is replaced by its "
		 "controller");
	return FL_FAULT_OK;
}

const struct fl_fault_ops fl_fault_pod_delete = {
	.kind = FL_FAULT_POD_DELETE,
	.target = FL_TARGET_PODS,
	.engine = "eviction",
	.inject = pod_delete_inject,
	.check = pod_delete_check,
	.revert = pod_delete_revert,
};
