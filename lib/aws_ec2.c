/*
 * EC2: find instances, and terminate, stop or reboot them (the node
 * faults), or start a stopped one again.  The EC2 query protocol lists items as <item> elements and
 * numbers list parameters from 1 ("InstanceId.1").
 */
#include <stdio.h>
#include <string.h>

#include "aws_impl.h"

/* Pages of DescribeInstances read at most; a bound against a paginator
 * that never ends, far beyond any cluster we would act on. */
#define MAX_PAGES 200

static int add_ids(struct fl_buf *p, const char *const *ids, size_t n)
{
	char name[64];
	size_t i;
	int rc = 0;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "InstanceId.%zu", i + 1);
		rc |= fl_aws_form_add(p, name, ids[i]);
	}
	return rc;
}

static int add_filters(struct fl_buf *p, const struct fl_aws_filter *f,
		       size_t n)
{
	char name[64];
	size_t i, j;
	int rc = 0;

	for (i = 0; i < n; i++) {
		snprintf(name, sizeof(name), "Filter.%zu.Name", i + 1);
		rc |= fl_aws_form_add(p, name, f[i].name);
		for (j = 0; j < f[i].nvalues; j++) {
			snprintf(name, sizeof(name), "Filter.%zu.Value.%zu",
				 i + 1, j + 1);
			rc |= fl_aws_form_add(p, name, f[i].values[j]);
		}
	}
	return rc;
}

/* {"key": "value", ...} from a tagSet. */
static struct json_object *tags_of(const xmlNode *n)
{
	struct json_object *t = json_object_new_object();
	xmlNode *it;
	char key[256];

	for (it = fl_xml_path(n, "tagSet/item"); it; it = fl_xml_next(it))
		if (fl_xml_text(it, "key", key, sizeof(key)))
			fl_xml_put_str(t, key, it, "value");
	return t;
}

static void add_instances(struct json_object *arr, const xmlNode *root)
{
	xmlNode *res, *in;

	for (res = fl_xml_path(root, "reservationSet/item"); res;
	     res = fl_xml_next(res)) {
		for (in = fl_xml_path(res, "instancesSet/item"); in;
		     in = fl_xml_next(in)) {
			struct json_object *o = json_object_new_object();

			fl_xml_put_str(o, "instanceId", in, "instanceId");
			fl_xml_put_str(o, "state", in, "instanceState/name");
			fl_xml_put_str(o, "privateIpAddress", in,
				       "privateIpAddress");
			json_object_object_add(o, "tags", tags_of(in));
			json_object_array_add(arr, o);
		}
	}
}

/* DescribeInstances, every page (see aws.h). */
int fl_aws_ec2_describe_instances(fl_aws *a, const char *const *ids,
				  size_t nids,
				  const struct fl_aws_filter *filters,
				  size_t nfilters, struct json_object **out,
				  struct fl_aws_error *err)
{
	struct json_object *arr = json_object_new_array();
	char next[2048] = "";
	struct fl_buf p;
	int page, rc = -1;

	*out = NULL;
	fl_buf_init(&p, 0);
	for (page = 0; page < MAX_PAGES; page++) {
		xmlDoc *d;
		xmlNode *root;

		fl_buf_reset(&p);
		add_ids(&p, ids, nids);
		add_filters(&p, filters, nfilters);
		if (next[0])
			fl_aws_form_add(&p, "NextToken", next);
		if (fl_aws_query(a, FL_AWS_EC2, "DescribeInstances", &p, 0, &d,
				 err) < 0)
			goto out;
		root = xmlDocGetRootElement(d);
		add_instances(arr, root);
		fl_xml_text(root, "nextToken", next, sizeof(next));
		xmlFreeDoc(d);
		if (!next[0])
			break;
	}
	if (next[0]) {
		fl_aws_err_set(err, "ec2", "DescribeInstances", 200,
			       "InvalidResponse",
			       "more than %d pages of instances", MAX_PAGES);
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

/* Terminate, stop or reboot instances (see aws.h). */
int fl_aws_ec2_instances_action(fl_aws *a, enum fl_aws_ec2_action action,
				const char *const *ids, size_t nids,
				struct json_object **out,
				struct fl_aws_error *err)
{
	static const char *const names[] = {
		[FL_AWS_EC2_TERMINATE] = "TerminateInstances",
		[FL_AWS_EC2_STOP] = "StopInstances",
		[FL_AWS_EC2_REBOOT] = "RebootInstances",
		[FL_AWS_EC2_START] = "StartInstances",
	};
	struct json_object *arr;
	struct fl_buf p;
	xmlDoc *d = NULL;
	xmlNode *it;
	int rc = -1;

	if (out)
		*out = NULL;
	memset(err, 0, sizeof(*err));
	fl_buf_init(&p, 0);
	if ((unsigned)action > FL_AWS_EC2_START || nids == 0) {
		fl_aws_err_set(err, "ec2", "instances", 0, "InvalidParameter",
			       "no instance ids, or an unknown action");
		goto out;
	}
	add_ids(&p, ids, nids);
	if (fl_aws_query(a, FL_AWS_EC2, names[action], &p, 0, &d, err) < 0)
		goto out;
	arr = json_object_new_array();
	for (it = fl_xml_path(xmlDocGetRootElement(d), "instancesSet/item"); it;
	     it = fl_xml_next(it)) {
		struct json_object *o = json_object_new_object();

		fl_xml_put_str(o, "instanceId", it, "instanceId");
		fl_xml_put_str(o, "previousState", it, "previousState/name");
		fl_xml_put_str(o, "currentState", it, "currentState/name");
		json_object_array_add(arr, o);
	}
	if (out)
		*out = arr;
	else
		json_object_put(arr);
	rc = 0;
out:
	xmlFreeDoc(d);
	fl_buf_release(&p);
	return rc;
}
