/*
 * RDS: fail a database over (reboot with failover, or a cluster
 * failover) and read instances and clusters to see where they stand.
 */
#include <stdio.h>
#include <string.h>

#include "aws_impl.h"

#define MAX_PAGES 200

/* Sends action with p and returns the element at path under the root. */
static xmlNode *ask(fl_aws *a, const char *action, const struct fl_buf *p,
		    const char *path, xmlDoc **d, struct fl_aws_error *err)
{
	xmlNode *n;

	if (fl_aws_query(a, FL_AWS_RDS, action, p, 0, d, err) < 0)
		return NULL;
	n = fl_xml_path(xmlDocGetRootElement(*d), path);
	if (!n) {
		fl_aws_err_set(err, "rds", action, 200, "InvalidResponse",
			       "the answer has no %s", path);
		xmlFreeDoc(*d);
		*d = NULL;
	}
	return n;
}

static int need(const char *v, const char *action, const char *what,
		struct fl_aws_error *err)
{
	memset(err, 0, sizeof(*err));
	if (v && *v)
		return 0;
	fl_aws_err_set(err, "rds", action, 0, "InvalidParameter", "no %s",
		       what);
	return -1;
}

/* RebootDBInstance (see aws.h). */
int fl_aws_rds_reboot_instance(fl_aws *a, const char *id, int force_failover,
			       struct json_object **out,
			       struct fl_aws_error *err)
{
	static const char action[] = "RebootDBInstance";
	struct fl_buf p;
	xmlDoc *d = NULL;
	xmlNode *n;
	int rc = -1;

	if (out)
		*out = NULL;
	if (need(id, action, "db instance identifier", err) < 0)
		return -1;
	fl_buf_init(&p, 0);
	fl_aws_form_add(&p, "DBInstanceIdentifier", id);
	if (force_failover)
		fl_aws_form_add(&p, "ForceFailover", "true");
	n = ask(a, action, &p, "RebootDBInstanceResult/DBInstance", &d, err);
	if (!n)
		goto out;
	if (out) {
		*out = json_object_new_object();
		fl_xml_put_str(*out, "dbInstanceIdentifier", n,
			       "DBInstanceIdentifier");
		fl_xml_put_str(*out, "dbInstanceStatus", n, "DBInstanceStatus");
	}
	rc = 0;
out:
	xmlFreeDoc(d);
	fl_buf_release(&p);
	return rc;
}

/* FailoverDBCluster (see aws.h). */
int fl_aws_rds_failover_cluster(fl_aws *a, const char *cluster,
				const char *target, struct json_object **out,
				struct fl_aws_error *err)
{
	static const char action[] = "FailoverDBCluster";
	struct fl_buf p;
	xmlDoc *d = NULL;
	xmlNode *n;
	int rc = -1;

	if (out)
		*out = NULL;
	if (need(cluster, action, "db cluster identifier", err) < 0)
		return -1;
	fl_buf_init(&p, 0);
	fl_aws_form_add(&p, "DBClusterIdentifier", cluster);
	if (target && *target)
		fl_aws_form_add(&p, "TargetDBInstanceIdentifier", target);
	n = ask(a, action, &p, "FailoverDBClusterResult/DBCluster", &d, err);
	if (!n)
		goto out;
	if (out) {
		*out = json_object_new_object();
		fl_xml_put_str(*out, "dbClusterIdentifier", n,
			       "DBClusterIdentifier");
		fl_xml_put_str(*out, "status", n, "Status");
	}
	rc = 0;
out:
	xmlFreeDoc(d);
	fl_buf_release(&p);
	return rc;
}

static struct json_object *instance_of(const xmlNode *n)
{
	struct json_object *o = json_object_new_object();

	fl_xml_put_str(o, "dbInstanceIdentifier", n, "DBInstanceIdentifier");
	fl_xml_put_str(o, "dbInstanceStatus", n, "DBInstanceStatus");
	fl_xml_put_str(o, "engine", n, "Engine");
	fl_xml_put_bool(o, "multiAZ", n, "MultiAZ");
	fl_xml_put_str(o, "availabilityZone", n, "AvailabilityZone");
	fl_xml_put_str(o, "dbClusterIdentifier", n, "DBClusterIdentifier");
	return o;
}

static struct json_object *cluster_of(const xmlNode *n)
{
	struct json_object *o = json_object_new_object();
	struct json_object *members = json_object_new_array();
	xmlNode *m;

	fl_xml_put_str(o, "dbClusterIdentifier", n, "DBClusterIdentifier");
	fl_xml_put_str(o, "status", n, "Status");
	fl_xml_put_str(o, "engine", n, "Engine");
	fl_xml_put_bool(o, "multiAZ", n, "MultiAZ");
	for (m = fl_xml_path(n, "DBClusterMembers/DBClusterMember"); m;
	     m = fl_xml_next(m)) {
		struct json_object *mo = json_object_new_object();

		fl_xml_put_str(mo, "dbInstanceIdentifier", m,
			       "DBInstanceIdentifier");
		fl_xml_put_bool(mo, "isClusterWriter", m, "IsClusterWriter");
		json_object_array_add(members, mo);
	}
	json_object_object_add(o, "members", members);
	return o;
}

/* One Describe* call's pages: the items at result/list/item. */
struct describe {
	const char *action;
	const char *id_param;
	const char *result; /* "DescribeDBInstancesResult" */
	const char *list;   /* "DBInstances/DBInstance" */
	struct json_object *(*conv)(const xmlNode *n);
};

static int describe(fl_aws *a, const struct describe *w, const char *id,
		    struct json_object **out, struct fl_aws_error *err)
{
	struct json_object *arr = json_object_new_array();
	char marker[1024] = "";
	struct fl_buf p;
	int page, rc = -1;

	*out = NULL;
	fl_buf_init(&p, 0);
	for (page = 0; page < MAX_PAGES; page++) {
		xmlDoc *d = NULL;
		xmlNode *r, *it;

		fl_buf_reset(&p);
		if (id && *id)
			fl_aws_form_add(&p, w->id_param, id);
		if (marker[0])
			fl_aws_form_add(&p, "Marker", marker);
		r = ask(a, w->action, &p, w->result, &d, err);
		if (!r)
			goto out;
		for (it = fl_xml_path(r, w->list); it; it = fl_xml_next(it))
			json_object_array_add(arr, w->conv(it));
		fl_xml_text(r, "Marker", marker, sizeof(marker));
		xmlFreeDoc(d);
		if (!marker[0])
			break;
	}
	if (marker[0]) {
		fl_aws_err_set(err, "rds", w->action, 200, "InvalidResponse",
			       "more than %d pages", MAX_PAGES);
		goto out;
	}
	*out = arr;
	arr = NULL;
	rc = 0;
out:
	json_object_put(arr);
	fl_buf_release(&p);
	return rc;
}

/* DescribeDBInstances (see aws.h). */
int fl_aws_rds_describe_instances(fl_aws *a, const char *id,
				  struct json_object **out,
				  struct fl_aws_error *err)
{
	static const struct describe w = {
		"DescribeDBInstances", "DBInstanceIdentifier",
		"DescribeDBInstancesResult", "DBInstances/DBInstance",
		instance_of};

	memset(err, 0, sizeof(*err));
	return describe(a, &w, id, out, err);
}

/* DescribeDBClusters (see aws.h). */
int fl_aws_rds_describe_clusters(fl_aws *a, const char *id,
				 struct json_object **out,
				 struct fl_aws_error *err)
{
	static const struct describe w = {
		"DescribeDBClusters", "DBClusterIdentifier",
		"DescribeDBClustersResult", "DBClusters/DBCluster", cluster_of};

	memset(err, 0, sizeof(*err));
	return describe(a, &w, id, out, err);
}
