/*
 * ecsTaskStop: stop one ECS task with StopTask, with a reason that names
 * the experiment and the run ("faultline: experiment shop/api run
 * 20260101-..."), so that whoever reads the stopped task in the console
 * knows who stopped it and why.
 *
 * The population (tasks ECS keeps running for the target's service or
 * family, with its tags) comes from aws_ops.c; each entry's uid is the
 * task ARN.  There is nothing to revert: the service scheduler starts a
 * replacement.  When the target names a service, recovery waits until
 * its running count is back to its desired count.
 */
#include <stdio.h>
#include <string.h>

#include "aws_ops.h"
#include "fault.h"
#include "json.h"
#include "run.h"

/* The ECS API's limit on a stop reason. */
#define REASON_MAX 255

static const struct fl_target *target_of(struct fl_fault_call *c)
{
	const struct fl_target *t = fl_aws_entry_target(c);

	if (!t || t->kind != FL_TARGET_ECS_TASKS) {
		snprintf(c->why, sizeof(c->why),
			 "target '%s' is no longer an ecsTasks target of "
			 "the spec",
			 fl_json_str(c->target, "target"));
		return NULL;
	}
	return t;
}

/* The task as DescribeTasks reports it, or NULL when ECS no longer
 * knows it.  Returns 0, or -1 with err filled. */
static int describe(fl_aws *a, const char *cluster, const char *arn,
		    struct json_object **out, struct json_object **task,
		    struct fl_aws_error *err)
{
	const char *arns[1] = {arn};
	struct json_object *tasks;

	*task = NULL;
	if (fl_aws_ecs_describe_tasks(a, cluster, arns, 1, out, err))
		return -1;
	tasks = fl_json_get(*out, "tasks");
	for (size_t i = 0; i < fl_json_len(tasks); i++) {
		struct json_object *t = json_object_array_get_idx(tasks, i);
		const char *got = fl_json_str(t, "taskArn");

		if (got && !strcmp(got, arn))
			*task = t;
	}
	return 0;
}

static int stopped(struct json_object *task)
{
	const char *d = fl_json_str(task, "desiredStatus");

	return !task || (d && !strcmp(d, "STOPPED"));
}

/* The stop reason, cut to what ECS takes: the experiment and run come
 * first, so that a cut loses only the user's own words. */
static void stop_reason(struct fl_fault_call *c, char *out, size_t n)
{
	const char *extra = fl_json_str(c->fault->params, "reason");
	char full[1024];
	size_t len;

	snprintf(full, sizeof(full), "faultline: experiment %s/%s run %s%s%s",
		 c->run->ns, c->run->name, c->run->run_id, extra ? ": " : "",
		 extra ? extra : "");
	len = strlen(full) < n ? strlen(full) : n - 1;
	memcpy(out, full, len);
	out[len] = '\0';
}

static enum fl_fault_result task_inject(struct fl_fault_call *c)
{
	const struct fl_target *t = target_of(c);
	const char *arn = fl_json_str(c->target, "uid");
	enum fl_fault_result res = FL_FAULT_REFUSED;
	struct json_object *out = NULL, *task;
	struct fl_aws_error err;
	char what[400], reason[REASON_MAX + 1];
	fl_aws *a;

	if (!t)
		return FL_FAULT_REFUSED;
	a = fl_aws_fault_client(c, t->region, &res);
	if (!a)
		return res;
	snprintf(what, sizeof(what), "task %.300s: ", arn ? arn : "?");
	if (describe(a, t->cluster, arn, &out, &task, &err)) {
		res = fl_aws_fault_failed(c, what, &err, 1);
		goto out;
	}
	if (stopped(task)) {
		snprintf(c->why, sizeof(c->why),
			 "%sstopped or gone before its turn", what);
		res = FL_FAULT_ABSENT;
		goto out;
	}
	stop_reason(c, reason, sizeof(reason));
	if (fl_aws_ecs_stop_task(a, t->cluster, arn, reason, NULL, &err)) {
		res = fl_aws_fault_failed(c, what, &err, 0);
		goto out;
	}
	fl_aws_fault_done(c);
	res = FL_FAULT_OK;
out:
	json_object_put(out);
	return res;
}

static enum fl_fault_result task_check(struct fl_fault_call *c)
{
	const struct fl_target *t = target_of(c);
	const char *arn = fl_json_str(c->target, "uid");
	enum fl_fault_result res = FL_FAULT_REFUSED;
	struct json_object *out = NULL, *task;
	struct fl_aws_error err;
	fl_aws *a;

	if (fl_aws_fault_unapplied(c))
		return FL_FAULT_ABSENT;
	if (!t)
		return FL_FAULT_REFUSED;
	a = fl_aws_fault_client(c, t->region, &res);
	if (!a)
		return res;
	if (describe(a, t->cluster, arn, &out, &task, &err))
		res = fl_aws_call_failed(c,
					 "cannot tell whether the task "
					 "was stopped: ",
					 &err);
	else
		res = stopped(task) ? FL_FAULT_OK : FL_FAULT_ABSENT;
	json_object_put(out);
	return res;
}

static enum fl_fault_result task_revert(struct fl_fault_call *c)
{
	const struct fl_target *t = fl_aws_entry_target(c);

	snprintf(c->why, sizeof(c->why), "%s",
		 t && t->service ? "nothing to revert: the service starts a "
				   "replacement task"
				 : "nothing to revert: a stopped task is not "
				   "restarted");
	return FL_FAULT_OK;
}

static enum fl_fault_result task_recovered(struct fl_fault_call *c)
{
	const struct fl_target *t = target_of(c);
	enum fl_fault_result res = FL_FAULT_REFUSED;
	struct json_object *out = NULL, *svc;
	struct fl_aws_error err;
	int64_t running, desired;
	char what[280];
	fl_aws *a;

	if (!t)
		return FL_FAULT_REFUSED;
	if (!t->service)
		return FL_FAULT_OK; /* no service: nothing replaces a task */
	a = fl_aws_fault_client(c, t->region, &res);
	if (!a)
		return res;
	snprintf(what, sizeof(what), "service '%.250s': ", t->service);
	if (fl_aws_ecs_describe_services(a, t->cluster, &t->service, 1, &out,
					 &err)) {
		res = fl_aws_call_failed(c, what, &err);
		goto out;
	}
	svc = json_object_array_get_idx(fl_json_get(out, "services"), 0);
	if (!svc) {
		snprintf(c->why, sizeof(c->why),
			 "%snot found in cluster '%.150s'", what, t->cluster);
		res = FL_FAULT_REFUSED;
		goto out;
	}
	running = json_object_get_int64(fl_json_get(svc, "runningCount"));
	desired = json_object_get_int64(fl_json_get(svc, "desiredCount"));
	if (running >= desired) {
		res = FL_FAULT_OK;
		goto out;
	}
	snprintf(c->why, sizeof(c->why), "%sruns %lld of its %lld tasks", what,
		 (long long)running, (long long)desired);
	res = FL_FAULT_RETRY;
out:
	json_object_put(out);
	return res;
}

const struct fl_fault_ops fl_fault_ecs_task_stop = {
	.kind = FL_FAULT_ECS_TASK_STOP,
	.target = FL_TARGET_ECS_TASKS,
	.engine = "ecs",
	.inject = task_inject,
	.check = task_check,
	.revert = task_revert,
	.recovered = task_recovered,
};
