/*
 * A command-line front to lib/aws.h for the integration tests.
 *
 *   aws_driver [GLOBAL] COMMAND [OPTIONS] [ARGS]
 *
 * GLOBAL: --region R, --profile P, --attempts N, --backoff-ms N (base),
 * --max-body BYTES, --repeat N (run the command N times on one client).
 *
 * COMMAND:
 *   creds                      the credentials the chain finds
 *   sts-whoami                 GetCallerIdentity
 *   sts-web-identity ROLE SESSION TOKENFILE
 *   ec2-describe [--id ID]... [--filter NAME=V1,V2]...
 *   ec2-terminate|ec2-stop|ec2-reboot|ec2-start ID...
 *   ecs-list-tasks --cluster C [--service S] [--family F]
 *                  [--desired-status S]
 *   ecs-describe-tasks --cluster C ARN...
 *   ecs-stop-task --cluster C [--reason R] ARN
 *   ecs-describe-services --cluster C NAME...
 *   rds-reboot ID [--failover]
 *   rds-failover-cluster ID [--target INSTANCE]
 *   rds-describe-instances [ID]
 *   rds-describe-clusters [ID]
 *   cw-get-metric --namespace N --metric M [--dim K=V]... --stat S
 *                 --period P --start EPOCH --end EPOCH
 *   cw-describe-alarms NAME...
 *
 * Each run prints one JSON line to stdout: {"result": ..., "attempts": N,
 * "fetches": N} (fetches: walks of the credential chain so far).  A
 * failure prints one JSON line to stderr, {"status", "code", "message",
 * "requestId", "attempts", "text"}, and exits 1.  Bad usage exits 2.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "aws.h"

#define MAX_ARGS 64

struct args {
	const char *opt_name[MAX_ARGS], *opt_val[MAX_ARGS];
	int nopt;
	const char *pos[MAX_ARGS];
	int npos;
	int failover;
};

/* Copies made while parsing, freed at the end. */
static char *owned[2 * MAX_ARGS];
static int nowned;

static char *own(const char *s)
{
	if (nowned >= 2 * MAX_ARGS) {
		fprintf(stderr, "aws_driver: too many options\n");
		exit(2);
	}
	return owned[nowned++] = fl_strdup(s);
}

static void usage(const char *msg)
{
	fprintf(stderr, "aws_driver: %s\n", msg);
	exit(2);
}

static long num(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end)
		usage(what);
	return v;
}

static const char *opt(const struct args *a, const char *name)
{
	int i;

	for (i = 0; i < a->nopt; i++)
		if (strcmp(a->opt_name[i], name) == 0)
			return a->opt_val[i];
	return NULL;
}

static const char *need(const struct args *a, const char *name)
{
	const char *v = opt(a, name);

	if (!v)
		usage(name);
	return v;
}

static void parse(struct args *a, int argc, char **argv, int i)
{
	for (; i < argc; i++) {
		if (strcmp(argv[i], "--failover") == 0) {
			a->failover = 1;
		} else if (strncmp(argv[i], "--", 2) == 0) {
			if (i + 1 >= argc || a->nopt >= MAX_ARGS)
				usage(argv[i]);
			a->opt_name[a->nopt] = argv[i];
			a->opt_val[a->nopt++] = argv[++i];
		} else {
			if (a->npos >= MAX_ARGS)
				usage("too many arguments");
			a->pos[a->npos++] = argv[i];
		}
	}
}

static void report(const struct fl_aws_error *e)
{
	struct json_object *o = json_object_new_object();

	json_object_object_add(o, "status", json_object_new_int64(e->status));
	json_object_object_add(o, "code", json_object_new_string(e->code));
	json_object_object_add(o, "message",
			       json_object_new_string(e->message));
	json_object_object_add(o, "requestId",
			       json_object_new_string(e->request_id));
	json_object_object_add(o, "attempts", json_object_new_int(e->attempts));
	json_object_object_add(o, "text", json_object_new_string(e->text));
	fprintf(stderr, "%s\n",
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	json_object_put(o);
}

static int creds(fl_aws *aws, struct json_object **out,
		 struct fl_aws_error *err)
{
	struct fl_aws_creds c;

	if (fl_aws_creds_get(aws, &c, err) < 0)
		return -1;
	*out = json_object_new_object();
	json_object_object_add(*out, "source",
			       json_object_new_string(c.source));
	json_object_object_add(*out, "accessKeyId",
			       json_object_new_string(c.access_key_id));
	json_object_object_add(
		*out, "hasSessionToken",
		json_object_new_boolean(c.session_token != NULL));
	json_object_object_add(*out, "expiration",
			       json_object_new_int64((int64_t)c.expiration));
	fl_aws_creds_release(&c);
	return 0;
}

static int web_identity(fl_aws *aws, const struct args *a,
			struct json_object **out, struct fl_aws_error *err)
{
	struct fl_aws_creds c;
	char tok[8192];
	size_t n;
	FILE *f;

	if (a->npos != 3)
		usage("sts-web-identity ROLE SESSION TOKENFILE");
	f = fopen(a->pos[2], "r");
	if (!f)
		usage("cannot read the token file");
	n = fread(tok, 1, sizeof(tok) - 1, f);
	fclose(f);
	tok[n] = '\0';
	tok[strcspn(tok, "\r\n")] = '\0';
	if (fl_aws_sts_assume_role_with_web_identity(aws, a->pos[0], a->pos[1],
						     tok, &c, err) < 0)
		return -1;
	*out = json_object_new_object();
	json_object_object_add(*out, "accessKeyId",
			       json_object_new_string(c.access_key_id));
	json_object_object_add(
		*out, "hasSessionToken",
		json_object_new_boolean(c.session_token != NULL));
	json_object_object_add(*out, "expiration",
			       json_object_new_int64((int64_t)c.expiration));
	fl_aws_creds_release(&c);
	return 0;
}

/* --filter NAME=V1,V2 options as filters; the strings stay in argv. */
static size_t filters(const struct args *a, struct fl_aws_filter *f,
		      const char **vals, size_t maxvals)
{
	size_t nf = 0, nv = 0;
	int i;

	for (i = 0; i < a->nopt; i++) {
		char *s, *eq, *tok;

		if (strcmp(a->opt_name[i], "--filter") != 0)
			continue;
		s = own(a->opt_val[i]);
		eq = strchr(s, '=');
		if (!eq)
			usage("--filter NAME=V1,V2");
		*eq = '\0';
		f[nf].name = s;
		f[nf].values = vals + nv;
		f[nf].nvalues = 0;
		for (tok = eq + 1; tok && nv < maxvals;) {
			char *comma = strchr(tok, ',');

			if (comma)
				*comma++ = '\0';
			vals[nv++] = tok;
			f[nf].nvalues++;
			tok = comma;
		}
		nf++;
	}
	return nf;
}

static int ec2(fl_aws *aws, const char *cmd, const struct args *a,
	       struct json_object **out, struct fl_aws_error *err)
{
	if (strcmp(cmd, "ec2-describe") == 0) {
		struct fl_aws_filter f[MAX_ARGS];
		const char *vals[256], *ids[MAX_ARGS];
		size_t nf = filters(a, f, vals, 256), nids = 0;
		int i;

		for (i = 0; i < a->nopt; i++)
			if (strcmp(a->opt_name[i], "--id") == 0)
				ids[nids++] = a->opt_val[i];
		return fl_aws_ec2_describe_instances(aws, ids, nids, f, nf, out,
						     err);
	}
	return fl_aws_ec2_instances_action(
		aws,
		strcmp(cmd, "ec2-terminate") == 0 ? FL_AWS_EC2_TERMINATE
		: strcmp(cmd, "ec2-stop") == 0	  ? FL_AWS_EC2_STOP
		: strcmp(cmd, "ec2-start") == 0	  ? FL_AWS_EC2_START
						  : FL_AWS_EC2_REBOOT,
		a->pos, (size_t)a->npos, out, err);
}

static int ecs(fl_aws *aws, const char *cmd, const struct args *a,
	       struct json_object **out, struct fl_aws_error *err)
{
	const char *cluster = opt(a, "--cluster");

	if (strcmp(cmd, "ecs-list-tasks") == 0) {
		struct fl_aws_ecs_task_query q = {
			.cluster = cluster,
			.service_name = opt(a, "--service"),
			.family = opt(a, "--family"),
			.desired_status = opt(a, "--desired-status")};

		return fl_aws_ecs_list_tasks(aws, &q, out, err);
	}
	if (strcmp(cmd, "ecs-describe-tasks") == 0)
		return fl_aws_ecs_describe_tasks(aws, cluster, a->pos,
						 (size_t)a->npos, out, err);
	if (strcmp(cmd, "ecs-stop-task") == 0) {
		if (a->npos != 1)
			usage("ecs-stop-task ARN");
		return fl_aws_ecs_stop_task(aws, cluster, a->pos[0],
					    opt(a, "--reason"), out, err);
	}
	return fl_aws_ecs_describe_services(aws, cluster, a->pos,
					    (size_t)a->npos, out, err);
}

static int rds(fl_aws *aws, const char *cmd, const struct args *a,
	       struct json_object **out, struct fl_aws_error *err)
{
	const char *id = a->npos ? a->pos[0] : NULL;

	if (strcmp(cmd, "rds-reboot") == 0)
		return fl_aws_rds_reboot_instance(aws, id, a->failover, out,
						  err);
	if (strcmp(cmd, "rds-failover-cluster") == 0)
		return fl_aws_rds_failover_cluster(aws, id, opt(a, "--target"),
						   out, err);
	if (strcmp(cmd, "rds-describe-instances") == 0)
		return fl_aws_rds_describe_instances(aws, id, out, err);
	return fl_aws_rds_describe_clusters(aws, id, out, err);
}

static int cloudwatch(fl_aws *aws, const char *cmd, const struct args *a,
		      struct json_object **out, struct fl_aws_error *err)
{
	struct fl_aws_dimension dims[MAX_ARGS];
	struct fl_aws_metric_query q = {0};
	int i;

	if (strcmp(cmd, "cw-describe-alarms") == 0)
		return fl_aws_cw_describe_alarms(aws, a->pos, (size_t)a->npos,
						 out, err);
	for (i = 0; i < a->nopt; i++) {
		char *s, *eq;

		if (strcmp(a->opt_name[i], "--dim") != 0)
			continue;
		s = own(a->opt_val[i]);
		eq = strchr(s, '=');
		if (!eq)
			usage("--dim NAME=VALUE");
		*eq = '\0';
		dims[q.ndims].name = s;
		dims[q.ndims++].value = eq + 1;
	}
	q.dims = dims;
	q.namespace = need(a, "--namespace");
	q.metric = need(a, "--metric");
	q.stat = need(a, "--stat");
	q.period_s = (int)num(need(a, "--period"), "--period");
	q.start = (time_t)num(need(a, "--start"), "--start");
	q.end = (time_t)num(need(a, "--end"), "--end");
	return fl_aws_cw_get_metric(aws, &q, out, err);
}

static int run(fl_aws *aws, const char *cmd, const struct args *a,
	       struct json_object **out, struct fl_aws_error *err)
{
	if (strcmp(cmd, "creds") == 0)
		return creds(aws, out, err);
	if (strcmp(cmd, "sts-whoami") == 0)
		return fl_aws_sts_get_caller_identity(aws, out, err);
	if (strcmp(cmd, "sts-web-identity") == 0)
		return web_identity(aws, a, out, err);
	if (strncmp(cmd, "ec2-", 4) == 0)
		return ec2(aws, cmd, a, out, err);
	if (strncmp(cmd, "ecs-", 4) == 0)
		return ecs(aws, cmd, a, out, err);
	if (strncmp(cmd, "rds-", 4) == 0)
		return rds(aws, cmd, a, out, err);
	if (strncmp(cmd, "cw-", 3) == 0)
		return cloudwatch(aws, cmd, a, out, err);
	usage("unknown command");
	return -1;
}

int main(int argc, char **argv)
{
	struct fl_aws_opts o = {0};
	struct fl_aws_error err;
	struct args a = {0};
	const char *cmd;
	long repeat = 1, i;
	fl_aws *aws;
	int k = 1, rc = 0;

	for (; k + 1 < argc && strncmp(argv[k], "--", 2) == 0; k += 2) {
		if (strcmp(argv[k], "--region") == 0)
			o.region = argv[k + 1];
		else if (strcmp(argv[k], "--profile") == 0)
			o.profile = argv[k + 1];
		else if (strcmp(argv[k], "--attempts") == 0)
			o.max_attempts = (int)num(argv[k + 1], "--attempts");
		else if (strcmp(argv[k], "--backoff-ms") == 0)
			o.backoff_base_ms =
				(int)num(argv[k + 1], "--backoff-ms");
		else if (strcmp(argv[k], "--max-body") == 0)
			o.max_body = (size_t)num(argv[k + 1], "--max-body");
		else if (strcmp(argv[k], "--repeat") == 0)
			repeat = num(argv[k + 1], "--repeat");
		else
			usage(argv[k]);
	}
	if (k >= argc)
		usage("no command");
	cmd = argv[k];
	parse(&a, argc, argv, k + 1);
	aws = fl_aws_new(&o, &err);
	if (!aws) {
		report(&err);
		return 1;
	}
	for (i = 0; i < repeat && rc == 0; i++) {
		struct json_object *out = NULL, *line;

		if (run(aws, cmd, &a, &out, &err) < 0) {
			report(&err);
			rc = 1;
			break;
		}
		line = json_object_new_object();
		json_object_object_add(line, "result", out);
		json_object_object_add(line, "attempts",
				       json_object_new_int(err.attempts));
		json_object_object_add(
			line, "fetches",
			json_object_new_int64(
				(int64_t)fl_aws_creds_fetches(aws)));
		printf("%s\n", json_object_to_json_string_ext(
				       line, JSON_C_TO_STRING_PLAIN));
		fflush(stdout);
		json_object_put(line);
	}
	fl_aws_free(aws);
	while (nowned > 0)
		free(owned[--nowned]);
	return rc;
}
