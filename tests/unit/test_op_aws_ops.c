/*
 * The operator's AWS helpers: the instance behind a Node's providerID,
 * how a failed AWS call of a fault is sorted (the bound on transient
 * failures, the "unapplied" note a check relies on), and the per-worker
 * client cache.  Nothing here sends a request.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "aws_ops.h"
#include "json.h"
#include "operator.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_node_instance(void **state)
{
	static const struct {
		const char *pid, *id, *region; /* id NULL: refused */
	} cases[] = {
		{"aws:///us-east-1a/i-0123456789abcdef0", "i-0123456789abcdef0",
		 "us-east-1"},
		{"aws:///eu-central-1c/i-0abc", "i-0abc", "eu-central-1"},
		{"aws:///us-gov-west-1b/i-0abc", "i-0abc", "us-gov-west-1"},
		{"aws:///us-west-2-lax-1a/i-0abc", "i-0abc", "us-west-2"},
		{"aws:////i-0abc", "i-0abc", ""},
		{"aws:///us-east-1a/i-", NULL, NULL},
		{"aws:///us-east-1a/i-0abz", NULL, NULL},
		{"aws:///us-east-1a/fargate-ip-10-0-0-1", NULL, NULL},
		{"aws:///us-east-1a/i-0abc/extra", NULL, NULL},
		{"aws:///us-east-1a", NULL, NULL},
		{"aws://us-east-1a/i-0abc", NULL, NULL},
		{"kind://docker/kind/kind-worker", NULL, NULL},
		{"gce://project/us-central1-a/node-1", NULL, NULL},
		{"", NULL, NULL},
		{NULL, NULL, NULL},
	};
	char id[32], region[32];

	(void)state;
	for (size_t i = 0; i < N(cases); i++) {
		int rc = fl_aws_node_instance(cases[i].pid, id, sizeof(id),
					      region, sizeof(region));

		if (!cases[i].id) {
			assert_int_equal(rc, -1);
			assert_string_equal(id, "");
			continue;
		}
		assert_int_equal(rc, 0);
		assert_string_equal(id, cases[i].id);
		assert_string_equal(region, cases[i].region);
	}
	/* An id longer than the caller's buffer is refused, not cut. */
	assert_int_equal(fl_aws_node_instance("aws:///us-east-1a/"
					      "i-0123456789abcdef0123456789",
					      id, 16, region, sizeof(region)),
			 -1);
}

static void set_err(struct fl_aws_error *e, long status, const char *code,
		    const char *text)
{
	memset(e, 0, sizeof(*e));
	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	snprintf(e->text, sizeof(e->text), "%s", text);
}

static void test_transient_failures_are_bounded(void **state)
{
	struct fl_fault_call c = {0};
	struct fl_aws_error err;
	int i;

	(void)state;
	c.target = json_object_new_object();
	set_err(&err, 503, "RequestLimitExceeded",
		"ec2 DescribeInstances: RequestLimitExceeded: slow down");
	for (i = 1; i < FL_AWS_FAULT_ATTEMPTS; i++) {
		char want[64];

		assert_int_equal(
			fl_aws_fault_failed(&c, "instance i-1: ", &err, 0),
			FL_FAULT_RETRY);
		snprintf(want, sizeof(want), "(attempt %d of %d; retrying)", i,
			 FL_AWS_FAULT_ATTEMPTS);
		assert_non_null(strstr(c.why, want));
		assert_string_equal(fl_json_str(c.target, "reason"), c.why);
		assert_int_equal(
			json_object_get_int(fl_json_get(c.target, "attempts")),
			i);
		/* Throttled: surely not applied; the check may skip its
		 * call once, and only once. */
		assert_int_equal(fl_aws_fault_unapplied(&c), 1);
		assert_int_equal(fl_aws_fault_unapplied(&c), 0);
	}
	assert_int_equal(fl_aws_fault_failed(&c, "instance i-1: ", &err, 0),
			 FL_FAULT_REFUSED);
	assert_string_equal(c.why, "gave up after 4 attempts: instance i-1: "
				   "ec2 DescribeInstances: "
				   "RequestLimitExceeded: slow down");
	assert_null(fl_json_get(c.target, "unapplied"));
	json_object_put(c.target);
}

static void test_failure_kinds(void **state)
{
	struct fl_fault_call c = {0};
	struct fl_aws_error err;

	(void)state;
	c.target = json_object_new_object();

	/* A 5xx on a call that may have taken effect: retried, but the
	 * check must look for itself. */
	set_err(&err, 500, "InternalError", "ec2 TerminateInstances: boom");
	assert_int_equal(fl_aws_fault_failed(&c, "", &err, 0), FL_FAULT_RETRY);
	assert_int_equal(fl_aws_fault_unapplied(&c), 0);
	/* The same on a read before anything was sent: unapplied. */
	assert_int_equal(fl_aws_fault_failed(&c, "", &err, 1), FL_FAULT_RETRY);
	assert_int_equal(fl_aws_fault_unapplied(&c), 1);
	/* Credentials that could not be fetched: transient. */
	set_err(&err, 0, "CredentialsError",
		"ec2 DescribeInstances: web "
		"identity: sts: no answer");
	assert_int_equal(fl_aws_fault_failed(&c, "", &err, 1), FL_FAULT_RETRY);

	/* Refused by AWS: permanent, at once, in AWS's words. */
	set_err(&err, 401, "AuthFailure",
		"ec2 DescribeInstances: AuthFailure: AWS was not able to "
		"validate the provided access credentials");
	assert_int_equal(
		fl_aws_fault_failed(&c, "instance i-1 (node 'n'): ", &err, 1),
		FL_FAULT_REFUSED);
	assert_string_equal(c.why, "instance i-1 (node 'n'): ec2 "
				   "DescribeInstances: AuthFailure: AWS was "
				   "not able to validate the provided access "
				   "credentials");
	assert_int_equal(fl_aws_fault_unapplied(&c), 0);

	/* A successful inject forgets the notes of earlier attempts. */
	assert_int_equal(fl_aws_fault_failed(&c, "", &err, 1),
			 FL_FAULT_REFUSED);
	json_object_object_add(c.target, "reason",
			       json_object_new_string("old"));
	fl_aws_fault_done(&c);
	assert_null(fl_json_get(c.target, "reason"));

	set_err(&err, 400, "ThrottlingException", "ecs DescribeServices: x");
	assert_int_equal(fl_aws_call_failed(&c, "service 'api': ", &err),
			 FL_FAULT_RETRY);
	assert_string_equal(c.why, "service 'api': ecs DescribeServices: x");
	set_err(&err, 400, "AccessDeniedException", "ecs DescribeServices: y");
	assert_int_equal(fl_aws_call_failed(&c, "", &err), FL_FAULT_REFUSED);
	json_object_put(c.target);
}

static void test_worker_clients(void **state)
{
	struct fl_worker w;
	struct fl_aws_error err;
	fl_aws *def, *again, *west;
	char region[32];

	(void)state;
	memset(&w, 0, sizeof(w));
	setenv("AWS_REGION", "us-east-1", 1);
	setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:9", 1);
	setenv("AWS_CONFIG_FILE", "/nonexistent/config", 1);
	setenv("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials", 1);

	def = fl_worker_aws(&w, NULL, &err);
	assert_non_null(def);
	assert_string_equal(fl_aws_region(def), "us-east-1");
	again = fl_worker_aws(&w, NULL, &err);
	assert_ptr_equal(def, again);
	west = fl_worker_aws(&w, "us-west-2", &err);
	assert_non_null(west);
	assert_ptr_not_equal(west, def);
	assert_string_equal(fl_aws_region(west), "us-west-2");
	assert_ptr_equal(fl_worker_aws(&w, "us-west-2", &err), west);

	/* A bounded cache: a region past the last slot is an error. */
	for (int i = 0; w.naws < FL_WORKER_AWS_MAX; i++) {
		snprintf(region, sizeof(region), "eu-west-%d", i + 1);
		assert_non_null(fl_worker_aws(&w, region, &err));
	}
	assert_null(fl_worker_aws(&w, "ap-south-1", &err));
	assert_non_null(strstr(err.text, "ap-south-1"));
	assert_non_null(strstr(err.text, "too many regions"));
	fl_worker_aws_release(&w);
	assert_int_equal(w.naws, 0);

	/* No region anywhere: no client, and the reason says so. */
	unsetenv("AWS_REGION");
	unsetenv("AWS_DEFAULT_REGION");
	assert_null(fl_worker_aws(&w, NULL, &err));
	assert_string_equal(err.code, "NoRegion");
	assert_int_equal(w.naws, 0);
	unsetenv("AWS_ENDPOINT_URL");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_node_instance),
		cmocka_unit_test(test_transient_failures_are_bounded),
		cmocka_unit_test(test_failure_kinds),
		cmocka_unit_test(test_worker_clients),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
