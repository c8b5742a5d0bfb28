/*
 * ECS (JSON 1.1): find a service's tasks, read them with their tags,
 * stop one (the task fault), and read a service's counts.  Answers are
 * cut down to the keys aws.h lists, so callers never depend on the rest.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "aws_impl.h"
#include "json.h"

#define MAX_PAGES 200
#define DESCRIBE_TASKS_MAX 100	 /* the API's limit per call */
#define DESCRIBE_SERVICES_MAX 10 /* the API's limit per call */

static void put_str(struct json_object *body, const char *key, const char *v)
{
	if (v)
		json_object_object_add(body, key, json_object_new_string(v));
}

/* Copies key from src to dst when present. */
static void keep(struct json_object *dst, struct json_object *src,
		 const char *key)
{
	struct json_object *v = fl_json_get(src, key);

	if (v)
		json_object_object_add(dst, key, json_object_get(v));
}

static struct json_object *strings(const char *const *v, size_t n)
{
	struct json_object *arr = json_object_new_array();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_array_add(arr, json_object_new_string(v[i]));
	return arr;
}

/* ListTasks, every page (see aws.h). */
int fl_aws_ecs_list_tasks(fl_aws *a, const struct fl_aws_ecs_task_query *q,
			  struct json_object **out, struct fl_aws_error *err)
{
	struct json_object *arns = json_object_new_array();
	char *next = NULL;
	int page, rc = -1;
	size_t i;

	*out = NULL;
	if (!q) {
		json_object_put(arns);
		fl_aws_err_set(err, "ecs", "ListTasks", 0, "InvalidParameter",
			       "no task query");
		return -1;
	}
	for (page = 0; page < MAX_PAGES; page++) {
		struct json_object *body = json_object_new_object(), *res;
		struct json_object *got;

		put_str(body, "cluster", q->cluster);
		put_str(body, "serviceName", q->service_name);
		put_str(body, "family", q->family);
		put_str(body, "desiredStatus", q->desired_status);
		put_str(body, "nextToken", next);
		free(next);
		next = NULL;
		rc = fl_aws_json(a, FL_AWS_ECS, "ListTasks", body, &res, err);
		json_object_put(body);
		if (rc < 0)
			goto out;
		got = fl_json_get(res, "taskArns");
		for (i = 0; i < fl_json_len(got); i++)
			json_object_array_add(
				arns, json_object_get(json_object_array_get_idx(
					      got, i)));
		if (fl_json_str(res, "nextToken"))
			next = fl_strdup(fl_json_str(res, "nextToken"));
		json_object_put(res);
		if (!next)
			break;
	}
	rc = -1;
	if (next) {
		fl_aws_err_set(err, "ecs", "ListTasks", 200, "InvalidResponse",
			       "more than %d pages of tasks", MAX_PAGES);
		goto out;
	}
	*out = arns;
	arns = NULL;
	rc = 0;
out:
	free(next);
	json_object_put(arns);
	return rc;
}

/* [{key, value}] as {key: value}. */
static struct json_object *tag_map(struct json_object *tags)
{
	struct json_object *m = json_object_new_object();
	size_t i;

	for (i = 0; i < fl_json_len(tags); i++) {
		struct json_object *t = json_object_array_get_idx(tags, i);
		const char *k = fl_json_str(t, "key");

		if (k)
			put_str(m, k,
				fl_json_str(t, "value")
					? fl_json_str(t, "value")
					: "");
	}
	return m;
}

static struct json_object *task_of(struct json_object *t)
{
	struct json_object *o = json_object_new_object();
	struct json_object *cs = fl_json_get(t, "containers");
	struct json_object *arr = json_object_new_array();
	size_t i;

	keep(o, t, "taskArn");
	keep(o, t, "lastStatus");
	keep(o, t, "desiredStatus");
	keep(o, t, "group");
	json_object_object_add(o, "tags", tag_map(fl_json_get(t, "tags")));
	for (i = 0; i < fl_json_len(cs); i++) {
		struct json_object *c = json_object_array_get_idx(cs, i);
		struct json_object *co = json_object_new_object();

		keep(co, c, "name");
		keep(co, c, "lastStatus");
		keep(co, c, "runtimeId");
		json_object_array_add(arr, co);
	}
	json_object_object_add(o, "containers", arr);
	return o;
}

static void add_failures(struct json_object *dst, struct json_object *res)
{
	struct json_object *f = fl_json_get(res, "failures");
	size_t i;

	for (i = 0; i < fl_json_len(f); i++) {
		struct json_object *in = json_object_array_get_idx(f, i);
		struct json_object *o = json_object_new_object();

		keep(o, in, "arn");
		keep(o, in, "reason");
		json_object_array_add(dst, o);
	}
}

/* DescribeTasks with tags, in chunks of the API's limit (see aws.h). */
int fl_aws_ecs_describe_tasks(fl_aws *a, const char *cluster,
			      const char *const *tasks, size_t ntasks,
			      struct json_object **out,
			      struct fl_aws_error *err)
{
	struct json_object *res_tasks = json_object_new_array();
	struct json_object *fails = json_object_new_array();
	size_t at, i;
	int rc = -1;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	for (at = 0; at < ntasks; at += DESCRIBE_TASKS_MAX) {
		size_t n = ntasks - at < DESCRIBE_TASKS_MAX
				   ? ntasks - at
				   : DESCRIBE_TASKS_MAX;
		struct json_object *body = json_object_new_object(), *res, *ts;
		const char *inc = "TAGS";

		put_str(body, "cluster", cluster);
		json_object_object_add(body, "tasks", strings(tasks + at, n));
		json_object_object_add(body, "include", strings(&inc, 1));
		rc = fl_aws_json(a, FL_AWS_ECS, "DescribeTasks", body, &res,
				 err);
		json_object_put(body);
		if (rc < 0)
			goto out;
		ts = fl_json_get(res, "tasks");
		for (i = 0; i < fl_json_len(ts); i++)
			json_object_array_add(
				res_tasks,
				task_of(json_object_array_get_idx(ts, i)));
		add_failures(fails, res);
		json_object_put(res);
	}
	*out = json_object_new_object();
	json_object_object_add(*out, "tasks", res_tasks);
	json_object_object_add(*out, "failures", fails);
	return 0;
out:
	json_object_put(res_tasks);
	json_object_put(fails);
	return rc;
}

/* StopTask (see aws.h). */
int fl_aws_ecs_stop_task(fl_aws *a, const char *cluster, const char *task,
			 const char *reason, struct json_object **out,
			 struct fl_aws_error *err)
{
	struct json_object *body, *res, *t, *o;

	if (out)
		*out = NULL;
	memset(err, 0, sizeof(*err));
	if (!task || !*task) {
		fl_aws_err_set(err, "ecs", "StopTask", 0, "InvalidParameter",
			       "no task to stop");
		return -1;
	}
	body = json_object_new_object();
	put_str(body, "cluster", cluster);
	put_str(body, "task", task);
	put_str(body, "reason", reason);
	if (fl_aws_json(a, FL_AWS_ECS, "StopTask", body, &res, err) < 0) {
		json_object_put(body);
		return -1;
	}
	json_object_put(body);
	t = fl_json_get(res, "task");
	o = json_object_new_object();
	keep(o, t, "taskArn");
	keep(o, t, "lastStatus");
	keep(o, t, "desiredStatus");
	keep(o, t, "stoppedReason");
	json_object_put(res);
	if (out)
		*out = o;
	else
		json_object_put(o);
	return 0;
}

static struct json_object *service_of(struct json_object *s)
{
	static const char *const keys[] = {"serviceName",  "serviceArn",
					   "status",	   "runningCount",
					   "desiredCount", "pendingCount"};
	struct json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
		keep(o, s, keys[i]);
	return o;
}

/* DescribeServices, in chunks of the API's limit (see aws.h). */
int fl_aws_ecs_describe_services(fl_aws *a, const char *cluster,
				 const char *const *services, size_t nservices,
				 struct json_object **out,
				 struct fl_aws_error *err)
{
	struct json_object *svcs = json_object_new_array();
	struct json_object *fails = json_object_new_array();
	size_t at, i;
	int rc = -1;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	for (at = 0; at < nservices; at += DESCRIBE_SERVICES_MAX) {
		size_t n = nservices - at < DESCRIBE_SERVICES_MAX
				   ? nservices - at
				   : DESCRIBE_SERVICES_MAX;
		struct json_object *body = json_object_new_object(), *res, *ss;

		put_str(body, "cluster", cluster);
		json_object_object_add(body, "services",
				       strings(services + at, n));
		rc = fl_aws_json(a, FL_AWS_ECS, "DescribeServices", body, &res,
				 err);
		json_object_put(body);
		if (rc < 0)
			goto out;
		ss = fl_json_get(res, "services");
		for (i = 0; i < fl_json_len(ss); i++)
			json_object_array_add(
				svcs,
				service_of(json_object_array_get_idx(ss, i)));
		add_failures(fails, res);
		json_object_put(res);
	}
	*out = json_object_new_object();
	json_object_object_add(*out, "services", svcs);
	json_object_object_add(*out, "failures", fails);
	return 0;
out:
	json_object_put(svcs);
	json_object_put(fails);
	return rc;
}
