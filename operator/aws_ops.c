/*
 * The operator's AWS side: one client per worker and region, the
 * populations of ecsTasks and rdsInstances targets, the CloudWatch
 * alarms that abort a run, and the helpers the AWS fault kinds share to
 * sort an AWS failure into what the run does with it.
 *
 * Every AWS error that reaches status carries the client's own text
 * ("ec2 TerminateInstances: AuthFailure: ..."), so that an SRE reading
 * `kubectl describe` sees the service's own words.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "aws_ops.h"
#include "fault.h"
#include "json.h"
#include "log.h"
#include "run.h"

/* How often the alarms are read while a run may be aborted by them. */
#define ALARM_PERIOD_MS 3000

/* How long Preparing retries a population that AWS keeps failing to
 * give for a transient reason (throttling, 5xx, no answer). */
#define PREPARE_GIVE_UP_MS 120000

/* ECS tasks read per target at most; far beyond any service. */
#define MAX_TASKS 5000

/* The worker's client for a region, made once (see aws_ops.h). */
fl_aws *fl_worker_aws(struct fl_worker *w, const char *region,
		      struct fl_aws_error *err)
{
	const char *key = region ? region : "";
	struct fl_aws_opts o = {0};
	fl_aws *a;

	memset(err, 0, sizeof(*err));
	for (size_t i = 0; i < w->naws; i++)
		if (!strcmp(w->aws[i].region, key))
			return w->aws[i].aws;
	if (strlen(key) >= sizeof(w->aws[0].region) ||
	    w->naws == FL_WORKER_AWS_MAX) {
		snprintf(err->code, sizeof(err->code), "InvalidParameter");
		snprintf(err->text, sizeof(err->text),
			 "aws client for region '%s': %s", key,
			 w->naws == FL_WORKER_AWS_MAX
				 ? "too many regions in use at once"
				 : "region name too long");
		return NULL;
	}
	o.region = key[0] ? key : NULL;
	a = fl_aws_new(&o, err);
	if (!a)
		return NULL;
	snprintf(w->aws[w->naws].region, sizeof(w->aws[0].region), "%s", key);
	w->aws[w->naws++].aws = a;
	return a;
}

/* Frees the worker's clients (see aws_ops.h). */
void fl_worker_aws_release(struct fl_worker *w)
{
	for (size_t i = 0; i < w->naws; i++)
		fl_aws_free(w->aws[i].aws);
	w->naws = 0;
}

/* -- populations ------------------------------------------------------- */

/* Whether a task's tags hold every tag the target asks for. */
static int tags_match(const struct fl_target *t, struct json_object *tags)
{
	for (size_t i = 0; i < t->ntags; i++) {
		const char *v = fl_json_str(tags, t->tags[i].key);

		if (!v || strcmp(v, t->tags[i].value ? t->tags[i].value : ""))
			return 0;
	}
	return 1;
}

/* Whether a task belongs to the target's service (when it names one):
 * ECS puts a service's tasks in group "service:<name>".  ListTasks
 * already filters by service; this also holds against an endpoint that
 * does not (moto ignores serviceName). */
static int in_service(const struct fl_target *t, const char *group)
{
	const char *name = t->service;

	if (!name)
		return 1;
	if (strrchr(name, '/')) /* an ARN: ".../service/<cluster>/<name>" */
		name = strrchr(name, '/') + 1;
	return group && !strncmp(group, "service:", 8) &&
	       !strcmp(group + 8, name);
}

/* The task id: the last part of its ARN. */
static const char *task_id(const char *arn)
{
	const char *slash = strrchr(arn, '/');

	return slash ? slash + 1 : arn;
}

static void add_item(struct json_object *items, const char *name,
		     const char *uid)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "name", json_object_new_string(name));
	json_object_object_add(o, "uid", json_object_new_string(uid));
	json_object_array_add(items, o);
}

/* 1 for a failure retrying cannot fix, -1 for a transient one. */
static int aws_failed(const struct fl_target *t, const struct fl_aws_error *e,
		      char *why, size_t n)
{
	snprintf(why, n, "target '%s': %s", t->name, e->text);
	return fl_aws_retryable(e) || !strcmp(e->code, "CredentialsError") ? -1
									   : 1;
}

/*
 * The tasks ECS means to keep running (desiredStatus RUNNING) of the
 * target's service or family in its cluster, with every tag the target
 * lists.  lastStatus is not looked at: a task still starting is as much
 * a member of the service as one that started.
 */
static int resolve_ecs(fl_aws *a, const struct fl_target *t,
		       struct json_object *items, char *why, size_t n)
{
	struct fl_aws_ecs_task_query q = {0};
	struct fl_aws_error err;
	struct json_object *arns = NULL, *desc = NULL, *tasks;
	const char **ids = NULL;
	size_t nids;
	int rc = -1;

	q.cluster = t->cluster;
	q.service_name = t->service;
	q.family = t->service ? NULL : t->family;
	q.desired_status = "RUNNING";
	if (fl_aws_ecs_list_tasks(a, &q, &arns, &err))
		return aws_failed(t, &err, why, n);
	nids = fl_json_len(arns);
	if (nids > MAX_TASKS) {
		snprintf(why, n, "target '%s': more than %d tasks", t->name,
			 MAX_TASKS);
		rc = 1;
		goto out;
	}
	if (!nids) {
		rc = 0;
		goto out;
	}
	ids = fl_calloc(nids, sizeof(*ids));
	for (size_t i = 0; i < nids; i++)
		ids[i] = json_object_get_string(
			json_object_array_get_idx(arns, i));
	if (fl_aws_ecs_describe_tasks(a, t->cluster, ids, nids, &desc, &err)) {
		rc = aws_failed(t, &err, why, n);
		goto out;
	}
	tasks = fl_json_get(desc, "tasks");
	for (size_t i = 0; i < fl_json_len(tasks); i++) {
		struct json_object *task = json_object_array_get_idx(tasks, i);
		const char *arn = fl_json_str(task, "taskArn");
		const char *desired = fl_json_str(task, "desiredStatus");

		if (!arn || !desired || strcmp(desired, "RUNNING") ||
		    !in_service(t, fl_json_str(task, "group")) ||
		    !tags_match(t, fl_json_get(task, "tags")))
			continue;
		add_item(items, task_id(arn), arn);
	}
	rc = 0;
out:
	free(ids);
	json_object_put(arns);
	json_object_put(desc);
	return rc;
}

/*
 * RDS: each listed instance and cluster that exists.  An identifier RDS
 * does not know fails the target (a typo must not pass as "nothing to
 * do").  The uid says which kind an entry is ("rds:db:<id>",
 * "rds:cluster:<id>"), so that the fault needs no second lookup.
 */
static int resolve_rds(fl_aws *a, const struct fl_target *t,
		       struct json_object *items, char *why, size_t n)
{
	struct fl_aws_error err;
	char uid[300];

	for (size_t i = 0; i < t->nidentifiers; i++) {
		struct json_object *out = NULL;

		if (fl_aws_rds_describe_instances(a, t->identifiers[i], &out,
						  &err))
			return aws_failed(t, &err, why, n);
		json_object_put(out);
		snprintf(uid, sizeof(uid), "rds:db:%s", t->identifiers[i]);
		add_item(items, t->identifiers[i], uid);
	}
	for (size_t i = 0; i < t->nclusters; i++) {
		struct json_object *out = NULL;

		if (fl_aws_rds_describe_clusters(a, t->clusters[i], &out, &err))
			return aws_failed(t, &err, why, n);
		json_object_put(out);
		snprintf(uid, sizeof(uid), "rds:cluster:%s", t->clusters[i]);
		add_item(items, t->clusters[i], uid);
	}
	return 0;
}

/*
 * A transient failure while resolving a population: retried (with the
 * queue's backoff, and a warning in the log each time) until Preparing
 * has lasted PREPARE_GIVE_UP_MS, then the run fails with the last error,
 * so that a target behind endless throttling never leaves a run in
 * Preparing for ever.
 */
static int prepare_retry(struct fl_run *r, char *why, size_t n)
{
	int64_t t0 = fl_st_phase_time(r, FL_PH_PREPARING);
	char was[512];

	if (t0 < 0 || fl_now_ms() - t0 < PREPARE_GIVE_UP_MS) {
		FL_LOG(FL_LOG_WARN, &r->log, "%s (retrying)", why);
		return -1;
	}
	snprintf(was, sizeof(was), "%s", why);
	snprintf(why, n, "gave up after %d s of transient failures: %s",
		 PREPARE_GIVE_UP_MS / 1000, was);
	return 1;
}

/* The population of an AWS target (see aws_ops.h). */
int fl_aws_resolve_target(struct fl_run *r, const struct fl_target *t,
			  struct json_object **items, char *why, size_t n)
{
	struct fl_aws_error err;
	fl_aws *a = fl_worker_aws(r->w, t->region, &err);
	int rc;

	*items = NULL;
	if (!a) {
		snprintf(why, n, "target '%s': %s", t->name, err.text);
		return 1;
	}
	*items = json_object_new_array();
	if (t->kind == FL_TARGET_ECS_TASKS) {
		rc = resolve_ecs(a, t, *items, why, n);
	} else if (t->kind == FL_TARGET_RDS) {
		rc = resolve_rds(a, t, *items, why, n);
	} else {
		snprintf(why, n, "target '%s': %s targets do not come from AWS",
			 t->name, fl_target_kind_names[t->kind]);
		rc = 1;
	}
	if (rc) {
		json_object_put(*items);
		*items = NULL;
	}
	if (rc < 0)
		rc = prepare_retry(r, why, n);
	return rc;
}

/* -- alarms ------------------------------------------------------------ */

static int alarm_listed(struct json_object *alarms, const char *name)
{
	for (size_t i = 0; i < fl_json_len(alarms); i++) {
		const char *have = fl_json_str(
			json_object_array_get_idx(alarms, i), "alarmName");

		if (have && !strcmp(have, name))
			return 1;
	}
	return 0;
}

/* Reads the run's abort alarms (see aws_ops.h). */
int fl_aws_alarms_firing(struct fl_run *r, char *why, size_t n)
{
	struct json_object *safety =
		fl_json_get(fl_json_get(r->x.doc, "spec"), "safety");
	struct json_object *abort_when = fl_json_get(safety, "abortWhen");
	struct json_object *names = fl_json_get(abort_when, "cloudwatchAlarms");
	const char *list[16];
	size_t count = fl_json_len(names);
	struct json_object *out = NULL;
	struct fl_aws_error err;
	fl_aws *a;
	int rc = -1;

	if (!count)
		return 0;
	if (count > sizeof(list) / sizeof(list[0]))
		count = sizeof(list) / sizeof(list[0]);
	fl_run_wake_at(r, fl_now_ms() + ALARM_PERIOD_MS);
	for (size_t i = 0; i < count; i++)
		list[i] = json_object_get_string(
			json_object_array_get_idx(names, i));

	a = fl_worker_aws(r->w, fl_json_str(abort_when, "region"), &err);
	if (!a || fl_aws_cw_describe_alarms(a, list, count, &out, &err)) {
		snprintf(why, n, "safety.abortWhen.cloudwatchAlarms: %s",
			 err.text);
		return -1;
	}
	for (size_t i = 0; i < fl_json_len(out); i++) {
		struct json_object *al = json_object_array_get_idx(out, i);
		const char *state = fl_json_str(al, "stateValue");
		const char *name = fl_json_str(al, "alarmName");

		if (name && state && !strcmp(state, "ALARM")) {
			snprintf(why, n,
				 "cloudwatch alarm '%s' is in ALARM: %s", name,
				 fl_json_str(al, "stateReason")
					 ? fl_json_str(al, "stateReason")
					 : "no reason given");
			rc = 1;
			goto out;
		}
	}
	rc = 0;
	for (size_t i = 0; i < count; i++) {
		if (alarm_listed(out, list[i]))
			continue;
		/* An alarm that does not exist can never fire: say so rather
		 * than guard the run with nothing. */
		snprintf(why, n,
			 "safety.abortWhen.cloudwatchAlarms: cloudwatch alarm "
			 "'%s' does not exist in region %s",
			 list[i], fl_aws_region(a));
		rc = -1;
		break;
	}
out:
	json_object_put(out);
	return rc;
}

/* -- nodes ------------------------------------------------------------- */

/* The region of an availability zone: "us-east-1a" and the local zone
 * "us-west-2-lax-1a" give "us-east-1" and "us-west-2"; "" when zone
 * holds no region. */
static void region_of_zone(const char *zone, char *out, size_t n)
{
	const char *p = zone;

	out[0] = '\0';
	while ((p = strchr(p, '-'))) {
		size_t len;

		p++;
		if (!isdigit((unsigned char)*p))
			continue;
		while (isdigit((unsigned char)*p))
			p++;
		len = (size_t)(p - zone);
		if (len < n)
			snprintf(out, n, "%.*s", (int)len, zone);
		return;
	}
}

/* The instance of a providerID "aws:///<zone>/i-..." (see aws_ops.h). */
int fl_aws_node_instance(const char *provider_id, char *id, size_t idn,
			 char *region, size_t rn)
{
	static const char prefix[] = "aws:///";
	const char *zone, *iid, *p;
	char z[64];

	id[0] = region[0] = '\0';
	if (!provider_id || strncmp(provider_id, prefix, sizeof(prefix) - 1))
		return -1;
	zone = provider_id + sizeof(prefix) - 1;
	iid = strchr(zone, '/');
	if (!iid || (size_t)(iid - zone) >= sizeof(z))
		return -1;
	snprintf(z, sizeof(z), "%.*s", (int)(iid - zone), zone);
	iid++;
	if (strncmp(iid, "i-", 2) || strlen(iid) < 3 || strlen(iid) >= idn)
		return -1;
	for (p = iid + 2; *p; p++)
		if (!isxdigit((unsigned char)*p))
			return -1;
	snprintf(id, idn, "%s", iid);
	region_of_zone(z, region, rn);
	return 0;
}

/* -- the fault kinds' helpers ------------------------------------------ */

/* A client for a fault call (see aws_ops.h). */
fl_aws *fl_aws_fault_client(struct fl_fault_call *c, const char *region,
			    enum fl_fault_result *res)
{
	struct fl_aws_error err;
	fl_aws *a = fl_worker_aws(c->run->w, region, &err);

	if (!a) {
		snprintf(c->why, sizeof(c->why), "%.500s", err.text);
		*res = FL_FAULT_REFUSED;
	}
	return a;
}

static int transient(const struct fl_aws_error *err)
{
	return fl_aws_retryable(err) || !strcmp(err->code, "CredentialsError");
}

/* Sorts an inject's AWS failure, counting attempts (see aws_ops.h). */
enum fl_fault_result fl_aws_fault_failed(struct fl_fault_call *c,
					 const char *what,
					 const struct fl_aws_error *err,
					 int unapplied)
{
	struct json_object *e = c->target;
	int64_t attempts =
		json_object_get_int64(fl_json_get(e, "attempts")) + 1;

	if (!transient(err)) {
		snprintf(c->why, sizeof(c->why), "%s%.480s", what, err->text);
		json_object_object_del(e, "unapplied");
		return FL_FAULT_REFUSED;
	}
	json_object_object_add(e, "attempts", json_object_new_int64(attempts));
	if (attempts >= FL_AWS_FAULT_ATTEMPTS) {
		snprintf(c->why, sizeof(c->why),
			 "gave up after %lld attempts: %s%.440s",
			 (long long)attempts, what, err->text);
		json_object_object_del(e, "unapplied");
		return FL_FAULT_REFUSED;
	}
	snprintf(c->why, sizeof(c->why),
		 "%s%.420s (attempt %lld of %d; retrying)", what, err->text,
		 (long long)attempts, FL_AWS_FAULT_ATTEMPTS);
	/* The entry is written as it stands on RETRY: the reason shows
	 * in status while the fault waits for its next attempt. */
	json_object_object_add(e, "reason", json_object_new_string(c->why));
	if (unapplied || fl_aws_is_throttle(err->code))
		json_object_object_add(e, "unapplied",
				       json_object_new_boolean(1));
	else
		json_object_object_del(e, "unapplied");
	return FL_FAULT_RETRY;
}

/* Whether the last attempt surely did nothing (see aws_ops.h). */
int fl_aws_fault_unapplied(struct fl_fault_call *c)
{
	struct json_object *u = fl_json_get(c->target, "unapplied");

	if (!u || !json_object_get_boolean(u))
		return 0;
	json_object_object_del(c->target, "unapplied");
	return 1;
}

/* Clears an entry's retry notes (see aws_ops.h). */
void fl_aws_fault_done(struct fl_fault_call *c)
{
	json_object_object_del(c->target, "unapplied");
	json_object_object_del(c->target, "reason");
}

/* Sorts a check's, revert's or recovered's AWS failure. */
enum fl_fault_result fl_aws_call_failed(struct fl_fault_call *c,
					const char *what,
					const struct fl_aws_error *err)
{
	snprintf(c->why, sizeof(c->why), "%s%.480s", what, err->text);
	return transient(err) ? FL_FAULT_RETRY : FL_FAULT_REFUSED;
}

/* The spec's target of an entry, or NULL (see aws_ops.h). */
const struct fl_target *fl_aws_entry_target(struct fl_fault_call *c)
{
	const char *name = fl_json_str(c->target, "target");
	struct fl_run *r = c->run;

	for (size_t i = 0; name && i < r->x.ntargets; i++)
		if (!strcmp(r->x.targets[i].name, name))
			return &r->x.targets[i];
	return NULL;
}
