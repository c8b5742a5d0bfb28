/*
 * rdsFailover: fail a database over to its standby.  A DB instance is
 * rebooted with ForceFailover (Multi-AZ; RDS refuses it for a
 * single-AZ instance, and that refusal is the target's reason); an
 * Aurora cluster is failed over with FailoverDBCluster, to
 * rdsFailover.targetInstance when given.
 *
 * Entries of an rdsInstances target carry a uid that says which kind
 * they are ("rds:db:<id>" or "rds:cluster:<id>", see aws_ops.c).  A
 * database is touched only when it is "available".  There is nothing to
 * revert: RDS finishes the failover by itself; recovery waits until the
 * database is "available" again.
 */
#include <stdio.h>
#include <string.h>

#include "aws_ops.h"
#include "fault.h"
#include "json.h"
#include "run.h"

struct db {
	const char *id;
	int cluster;
	const struct fl_target *t;
};

/* Fills d from the entry; REFUSED with why when it cannot. */
static int db_of(struct fl_fault_call *c, struct db *d)
{
	const char *uid = fl_json_str(c->target, "uid");

	d->t = fl_aws_entry_target(c);
	d->id = fl_json_str(c->target, "name");
	d->cluster = uid && !strncmp(uid, "rds:cluster:", 12);
	if (!d->t || d->t->kind != FL_TARGET_RDS || !d->id) {
		snprintf(c->why, sizeof(c->why),
			 "target '%s' is no longer an rdsInstances target of "
			 "the spec",
			 fl_json_str(c->target, "target"));
		return -1;
	}
	return 0;
}

/* The status RDS reports for d, into status ("" when RDS lists nothing
 * by that id).  Returns 0, or -1 with err filled. */
static int db_status(fl_aws *a, const struct db *d, char *status, size_t n,
		     struct fl_aws_error *err)
{
	struct json_object *out = NULL, *it;
	int rc;

	rc = d->cluster ? fl_aws_rds_describe_clusters(a, d->id, &out, err)
			: fl_aws_rds_describe_instances(a, d->id, &out, err);
	if (rc)
		return -1;
	it = json_object_array_get_idx(out, 0);
	snprintf(status, n, "%s",
		 fl_json_str(it, d->cluster ? "status" : "dbInstanceStatus")
			 ? fl_json_str(it, d->cluster ? "status"
						      : "dbInstanceStatus")
			 : "");
	json_object_put(out);
	return 0;
}

static enum fl_fault_result rds_inject(struct fl_fault_call *c)
{
	enum fl_fault_result res = FL_FAULT_REFUSED;
	struct fl_aws_error err;
	char what[320], status[64];
	const char *to;
	struct db d;
	fl_aws *a;
	int rc;

	if (db_of(c, &d))
		return FL_FAULT_REFUSED;
	a = fl_aws_fault_client(c, d.t->region, &res);
	if (!a)
		return res;
	snprintf(what, sizeof(what),
		 "%s '%.250s': ", d.cluster ? "db cluster" : "db instance",
		 d.id);
	if (db_status(a, &d, status, sizeof(status), &err))
		return fl_aws_fault_failed(c, what, &err, 1);
	if (strcmp(status, "available")) {
		snprintf(c->why, sizeof(c->why),
			 "%sit is %s, not available; not touched", what,
			 status[0] ? status : "gone");
		return FL_FAULT_ABSENT;
	}
	to = fl_json_str(c->fault->params, "targetInstance");
	rc = d.cluster ? fl_aws_rds_failover_cluster(a, d.id, to, NULL, &err)
		       : fl_aws_rds_reboot_instance(a, d.id, 1, NULL, &err);
	if (rc)
		return fl_aws_fault_failed(c, what, &err, 0);
	fl_aws_fault_done(c);
	return FL_FAULT_OK;
}

/* A failover leaves nothing we can read afterwards to tell that it
 * happened: once it may have been asked for, it counts as done, so that
 * a database is never failed over twice by one entry. */
static enum fl_fault_result rds_check(struct fl_fault_call *c)
{
	return fl_aws_fault_unapplied(c) ? FL_FAULT_ABSENT : FL_FAULT_OK;
}

static enum fl_fault_result rds_revert(struct fl_fault_call *c)
{
	snprintf(c->why, sizeof(c->why),
		 "nothing to revert: RDS completes the failover by itself");
	return FL_FAULT_OK;
}

static enum fl_fault_result rds_recovered(struct fl_fault_call *c)
{
	enum fl_fault_result res = FL_FAULT_REFUSED;
	struct fl_aws_error err;
	char what[320], status[64];
	struct db d;
	fl_aws *a;

	if (db_of(c, &d))
		return FL_FAULT_REFUSED;
	a = fl_aws_fault_client(c, d.t->region, &res);
	if (!a)
		return res;
	snprintf(what, sizeof(what),
		 "%s '%.250s': ", d.cluster ? "db cluster" : "db instance",
		 d.id);
	if (db_status(a, &d, status, sizeof(status), &err))
		return fl_aws_call_failed(c, what, &err);
	if (!strcmp(status, "available"))
		return FL_FAULT_OK;
	snprintf(c->why, sizeof(c->why), "%sit is %s, not yet available", what,
		 status[0] ? status : "gone");
	return FL_FAULT_RETRY;
}

const struct fl_fault_ops fl_fault_rds_failover = {
	.kind = FL_FAULT_RDS_FAILOVER,
	.target = FL_TARGET_RDS,
	.engine = "rds",
	.inject = rds_inject,
	.check = rds_check,
	.revert = rds_revert,
	.recovered = rds_recovered,
};
