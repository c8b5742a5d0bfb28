/*
 * The AWS client: region and endpoint resolution, the credential chain
 * of the AWS SDKs, SigV4-signed requests in the query protocol (EC2, RDS,
 * STS, CloudWatch; XML answers) and in JSON 1.1 (ECS), decoded errors,
 * and retries with exponential backoff and jitter.
 *
 * The client is an opaque handle (fl_aws).  It may be used from one
 * thread at a time: it keeps one libcurl handle and a credentials cache
 * without locks.  Give each thread its own client, or serialise.
 *
 * Every call returns 0 on success and -1 with *err filled on failure; a
 * failure is never reported as success.  Results are json-c objects whose
 * one reference goes to the caller (json_object_put() when done); their
 * keys are listed above each call.  Response bodies are bounded
 * (fl_aws_opts.max_body).
 *
 * Environment read by fl_aws_new() and the credential chain:
 *   region     AWS_REGION, AWS_DEFAULT_REGION, then the profile's region
 *   endpoints  AWS_ENDPOINT_URL_<SERVICE> (EC2, ECS, RDS, STS, CLOUDWATCH),
 *              then AWS_ENDPOINT_URL, else https://<svc>.<region>.amazonaws.com
 *   profiles   AWS_PROFILE, AWS_CONFIG_FILE, AWS_SHARED_CREDENTIALS_FILE
 *   chain      AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY/AWS_SESSION_TOKEN;
 *              AWS_WEB_IDENTITY_TOKEN_FILE + AWS_ROLE_ARN
 *              [+ AWS_ROLE_SESSION_NAME]; the profile; the container
 *              (AWS_CONTAINER_CREDENTIALS_RELATIVE_URI or _FULL_URI with
 *              AWS_CONTAINER_AUTHORIZATION_TOKEN[_FILE]); IMDSv2
 *              (AWS_EC2_METADATA_SERVICE_ENDPOINT, AWS_EC2_METADATA_DISABLED)
 */
#ifndef FL_AWS_H
#define FL_AWS_H

#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <json-c/json.h>

typedef struct fl_aws fl_aws;

enum fl_aws_service {
	FL_AWS_EC2,
	FL_AWS_ECS,
	FL_AWS_RDS,
	FL_AWS_STS,
	FL_AWS_CLOUDWATCH,
	FL_AWS_NSERVICES
};

/*
 * What went wrong.  code is the AWS error code ("AuthFailure",
 * "SignatureDoesNotMatch", "ThrottlingException", ...) when a service
 * answered, else one of ours: "Transport" (no answer), "ResponseTooLarge",
 * "InvalidResponse" (an answer we cannot read), "NoCredentials",
 * "CredentialsError", "NoRegion", "InvalidParameter".
 */
struct fl_aws_error {
	long status;	      /* HTTP status; 0 when no answer came */
	char code[128];	      /* see above */
	char message[1024];   /* the service's message, or ours */
	char request_id[128]; /* the service's request id, or "" */
	int attempts;	      /* requests sent for this call */
	/* "ec2 TerminateInstances: AuthFailure: AWS was not able to ..." */
	char text[1536];
};

struct fl_aws_opts {
	const char *region;  /* NULL: from the environment, then profile */
	const char *profile; /* NULL: AWS_PROFILE, else "default" */
	int max_attempts;    /* per call, the first included; default 5 */
	int backoff_base_ms; /* first backoff cap, doubled; default 100 */
	int backoff_max_ms;  /* largest backoff; default 20000 */
	int timeout_ms;	     /* per request; default 30000 */
	size_t max_body;     /* response bytes; default 8 MiB */
};

/*
 * A new client.  Resolves the region and every endpoint now (nothing is
 * sent); credentials are resolved on the first signed call.  Returns NULL
 * with *err filled when there is no region, an endpoint variable is not
 * an http(s) URL, or a config file cannot be read.  Free with
 * fl_aws_free().
 */
fl_aws *fl_aws_new(const struct fl_aws_opts *opts, struct fl_aws_error *err);
void fl_aws_free(fl_aws *a);

/* The region in use; owned by the client. */
const char *fl_aws_region(const fl_aws *a);

/* The endpoint URL a service's calls go to; owned by the client. */
const char *fl_aws_endpoint(const fl_aws *a, enum fl_aws_service svc);

/* -- credentials -------------------------------------------------------- */

struct fl_aws_creds {
	char *access_key_id;
	char *secret_key;
	char *session_token; /* NULL for long-term keys */
	time_t expiration;   /* 0 when they do not expire */
	const char *source;  /* static: "environment", "web-identity",
				"profile", "container", "imds" */
};

/* Frees the strings of c and zeroes it. */
void fl_aws_creds_release(struct fl_aws_creds *c);

/*
 * The credentials the next call would sign with, as a copy the caller
 * releases: cached ones while they are more than five minutes from their
 * expiration, else the chain is walked again.  -1 with *err
 * ("NoCredentials" when no source has any, "CredentialsError" when a
 * configured source failed).
 */
int fl_aws_creds_get(fl_aws *a, struct fl_aws_creds *out,
		     struct fl_aws_error *err);

/* How many times the chain was walked (a fetch from a source), for tests
 * and logs. */
unsigned long fl_aws_creds_fetches(const fl_aws *a);

/* A profile from the shared files: config ("[profile x]", or "[default]")
 * merged with credentials ("[x]"), the credentials file winning.  Strings
 * are owned by the struct: fl_aws_profile_release(). */
struct fl_aws_profile {
	int found; /* a section of that name exists in either file */
	char *region;
	char *access_key_id;
	char *secret_key;
	char *session_token;
	char *role_arn;
	char *web_identity_token_file;
	char *role_session_name;
	char *source_profile;
	char *credential_process;
};

/*
 * Loads profile name from config_file and creds_file (either may be NULL
 * or absent: a file that does not exist is no error).  Returns 0, or -1
 * with a message in err naming the file and line when a file cannot be
 * read or a line is malformed.
 */
int fl_aws_profile_load(struct fl_aws_profile *p, const char *name,
			const char *config_file, const char *creds_file,
			char *err, size_t errlen);
void fl_aws_profile_release(struct fl_aws_profile *p);

/* -- errors and retries (exposed for tests) ----------------------------- */

/*
 * Decodes an error answer into e: XML (<Response><Errors><Error> as EC2
 * sends, or <ErrorResponse><Error>) or JSON (__type, message or Message).
 * request_id is the request id header, or NULL.  Leaves e->text alone.
 */
void fl_aws_error_decode(struct fl_aws_error *e, long status, const char *body,
			 size_t len, const char *request_id);

/* Whether an AWS error code means throttling. */
int fl_aws_is_throttle(const char *code);

/* Whether a failed attempt may be sent again: throttling, a 5xx, a 429,
 * or no answer at all. */
int fl_aws_retryable(const struct fl_aws_error *e);

/* The pause before retry n (0 for the first), in ms: uniformly random in
 * [0, min(max_ms, base_ms * 2^n)] ("full jitter").  *rng is the state of
 * a xorshift generator, never 0. */
long fl_aws_backoff_ms(int n, int base_ms, int max_ms, uint64_t *rng);

/* -- EC2 ---------------------------------------------------------------- */

struct fl_aws_filter {
	const char *name;	   /* "tag:team", "instance-state-name" */
	const char *const *values; /* nvalues strings */
	size_t nvalues;
};

/*
 * DescribeInstances by ids and/or filters (all pages).  *out: an array of
 * {"instanceId", "state", "privateIpAddress", "tags": {key: value}}.
 */
int fl_aws_ec2_describe_instances(fl_aws *a, const char *const *ids,
				  size_t nids,
				  const struct fl_aws_filter *filters,
				  size_t nfilters, struct json_object **out,
				  struct fl_aws_error *err);

enum fl_aws_ec2_action {
	FL_AWS_EC2_TERMINATE,
	FL_AWS_EC2_STOP,
	FL_AWS_EC2_REBOOT,
	FL_AWS_EC2_START
};

/*
 * TerminateInstances, StopInstances, RebootInstances or StartInstances
 * (to undo a stop).  *out (out may be NULL): an array of {"instanceId",
 * "previousState", "currentState"}; an empty array for a reboot, which
 * reports no states.
 */
int fl_aws_ec2_instances_action(fl_aws *a, enum fl_aws_ec2_action action,
				const char *const *ids, size_t nids,
				struct json_object **out,
				struct fl_aws_error *err);

/* -- ECS ---------------------------------------------------------------- */

struct fl_aws_ecs_task_query {
	const char *cluster;	    /* name or ARN; NULL for "default" */
	const char *service_name;   /* or NULL */
	const char *family;	    /* or NULL */
	const char *desired_status; /* "RUNNING", "STOPPED" or NULL */
};

/* ListTasks, all pages.  *out: an array of task ARNs. */
int fl_aws_ecs_list_tasks(fl_aws *a, const struct fl_aws_ecs_task_query *q,
			  struct json_object **out, struct fl_aws_error *err);

/*
 * DescribeTasks with TAGS.  *out: {"tasks": [{"taskArn", "lastStatus",
 * "desiredStatus", "group", "tags": {key: value}, "containers": [{"name",
 * "lastStatus", "runtimeId"}]}], "failures": [{"arn", "reason"}]}.
 */
int fl_aws_ecs_describe_tasks(fl_aws *a, const char *cluster,
			      const char *const *tasks, size_t ntasks,
			      struct json_object **out,
			      struct fl_aws_error *err);

/* StopTask.  *out (out may be NULL): {"taskArn", "lastStatus",
 * "desiredStatus", "stoppedReason"}. */
int fl_aws_ecs_stop_task(fl_aws *a, const char *cluster, const char *task,
			 const char *reason, struct json_object **out,
			 struct fl_aws_error *err);

/* DescribeServices.  *out: {"services": [{"serviceName", "serviceArn",
 * "status", "runningCount", "desiredCount", "pendingCount"}],
 * "failures": [{"arn", "reason"}]}. */
int fl_aws_ecs_describe_services(fl_aws *a, const char *cluster,
				 const char *const *services, size_t nservices,
				 struct json_object **out,
				 struct fl_aws_error *err);

/* -- RDS ---------------------------------------------------------------- */

/* RebootDBInstance, with ForceFailover when force_failover.  *out (may be
 * NULL): {"dbInstanceIdentifier", "dbInstanceStatus"}. */
int fl_aws_rds_reboot_instance(fl_aws *a, const char *id, int force_failover,
			       struct json_object **out,
			       struct fl_aws_error *err);

/* FailoverDBCluster, to target (an instance id) or NULL to let RDS pick.
 * *out (may be NULL): {"dbClusterIdentifier", "status"}. */
int fl_aws_rds_failover_cluster(fl_aws *a, const char *cluster,
				const char *target, struct json_object **out,
				struct fl_aws_error *err);

/* DescribeDBInstances of one id, or all (id NULL), all pages.  *out: an
 * array of {"dbInstanceIdentifier", "dbInstanceStatus", "engine",
 * "multiAZ" (bool), "availabilityZone", "dbClusterIdentifier"}. */
int fl_aws_rds_describe_instances(fl_aws *a, const char *id,
				  struct json_object **out,
				  struct fl_aws_error *err);

/* DescribeDBClusters of one id, or all, all pages.  *out: an array of
 * {"dbClusterIdentifier", "status", "engine", "multiAZ", "members":
 * [{"dbInstanceIdentifier", "isClusterWriter" (bool)}]}. */
int fl_aws_rds_describe_clusters(fl_aws *a, const char *id,
				 struct json_object **out,
				 struct fl_aws_error *err);

/* -- CloudWatch --------------------------------------------------------- */

struct fl_aws_dimension {
	const char *name;
	const char *value;
};

struct fl_aws_metric_query {
	const char *namespace; /* "AWS/ApplicationELB" */
	const char *metric;    /* "TargetResponseTime" */
	const struct fl_aws_dimension *dims;
	size_t ndims;
	const char *stat; /* "Average", "Sum", "p99", "p99.9", ... */
	int period_s;	  /* a multiple of 60, or 1, 5, 10, 30 */
	time_t start, end;
};

/* GetMetricData for one metric, all pages.  *out: {"label", "statusCode",
 * "points": [{"timestamp" (epoch s), "value" (double)}]}, newest first as
 * CloudWatch returns them. */
int fl_aws_cw_get_metric(fl_aws *a, const struct fl_aws_metric_query *q,
			 struct json_object **out, struct fl_aws_error *err);

/* DescribeAlarms by names (metric alarms).  *out: an array of
 * {"alarmName", "stateValue", "stateReason"}. */
int fl_aws_cw_describe_alarms(fl_aws *a, const char *const *names,
			      size_t nnames, struct json_object **out,
			      struct fl_aws_error *err);

/* -- STS ---------------------------------------------------------------- */

/* GetCallerIdentity.  *out: {"account", "arn", "userId"}. */
int fl_aws_sts_get_caller_identity(fl_aws *a, struct json_object **out,
				   struct fl_aws_error *err);

/*
 * AssumeRoleWithWebIdentity, unsigned (the token is the proof).  Fills
 * *out (release with fl_aws_creds_release()) with source "web-identity".
 */
int fl_aws_sts_assume_role_with_web_identity(fl_aws *a, const char *role_arn,
					     const char *session_name,
					     const char *token,
					     struct fl_aws_creds *out,
					     struct fl_aws_error *err);

#endif
