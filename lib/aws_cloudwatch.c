/*
 * CloudWatch: one metric's datapoints (the cloudwatch probe) and alarm
 * states (the abortWhen alarms).  Query protocol lists are numbered
 * "member.N" from 1.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "aws_impl.h"

#define MAX_PAGES 100
#define MQ "MetricDataQueries.member.1."

static int metric_params(struct fl_buf *p, const struct fl_aws_metric_query *q)
{
	char name[160], v[64];
	size_t i;
	int rc = 0;

	rc |= fl_aws_form_add(p, MQ "Id", "m1");
	rc |= fl_aws_form_add(p, MQ "MetricStat.Metric.Namespace",
			      q->namespace);
	rc |= fl_aws_form_add(p, MQ "MetricStat.Metric.MetricName", q->metric);
	for (i = 0; i < q->ndims; i++) {
		snprintf(name, sizeof(name),
			 MQ "MetricStat.Metric.Dimensions.member.%zu.Name",
			 i + 1);
		rc |= fl_aws_form_add(p, name, q->dims[i].name);
		snprintf(name, sizeof(name),
			 MQ "MetricStat.Metric.Dimensions.member.%zu.Value",
			 i + 1);
		rc |= fl_aws_form_add(p, name, q->dims[i].value);
	}
	snprintf(v, sizeof(v), "%d", q->period_s);
	rc |= fl_aws_form_add(p, MQ "MetricStat.Period", v);
	rc |= fl_aws_form_add(p, MQ "MetricStat.Stat", q->stat);
	rc |= fl_aws_form_add(p, MQ "ReturnData", "true");
	fl_aws_format_time(q->start, v, sizeof(v));
	rc |= fl_aws_form_add(p, "StartTime", v);
	fl_aws_format_time(q->end, v, sizeof(v));
	rc |= fl_aws_form_add(p, "EndTime", v);
	rc |= fl_aws_form_add(p, "ScanBy", "TimestampDescending");
	return rc;
}

static int check_query(const struct fl_aws_metric_query *q,
		       struct fl_aws_error *err)
{
	const char *bad = NULL;

	if (!q->namespace || !*q->namespace)
		bad = "no namespace";
	else if (!q->metric || !*q->metric)
		bad = "no metric name";
	else if (!q->stat || !*q->stat)
		bad = "no statistic";
	else if (q->period_s <= 0)
		bad = "the period is not positive";
	else if (q->end <= q->start)
		bad = "the end is not after the start";
	if (!bad)
		return 0;
	fl_aws_err_set(err, "cloudwatch", "GetMetricData", 0,
		       "InvalidParameter", "%s", bad);
	return -1;
}

/* Adds the points of one result member to points. */
static int add_points(struct json_object *points, const xmlNode *m)
{
	xmlNode *t = fl_xml_path(m, "Timestamps/member");
	xmlNode *v = fl_xml_path(m, "Values/member");
	char ts[64], val[64], *end;

	for (; t && v; t = fl_xml_next(t), v = fl_xml_next(v)) {
		struct json_object *o;
		time_t when;
		double d;

		fl_xml_text(t, "", ts, sizeof(ts));
		fl_xml_text(v, "", val, sizeof(val));
		d = strtod(val, &end);
		if (fl_aws_parse_time(ts, &when) < 0 || end == val || *end)
			return -1;
		o = json_object_new_object();
		json_object_object_add(o, "timestamp",
				       json_object_new_int64((int64_t)when));
		json_object_object_add(o, "value", json_object_new_double(d));
		json_object_array_add(points, o);
	}
	return t || v ? -1 : 0;
}

/* GetMetricData for one metric (see aws.h). */
int fl_aws_cw_get_metric(fl_aws *a, const struct fl_aws_metric_query *q,
			 struct json_object **out, struct fl_aws_error *err)
{
	static const char action[] = "GetMetricData";
	struct json_object *res = json_object_new_object();
	struct json_object *points = json_object_new_array();
	char next[2048] = "";
	struct fl_buf p;
	int page, rc = -1;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	fl_buf_init(&p, 0);
	json_object_object_add(res, "points", points);
	if (check_query(q, err) < 0)
		goto out;
	for (page = 0; page < MAX_PAGES; page++) {
		xmlDoc *d;
		xmlNode *r, *m;

		fl_buf_reset(&p);
		metric_params(&p, q);
		if (next[0])
			fl_aws_form_add(&p, "NextToken", next);
		if (fl_aws_query(a, FL_AWS_CLOUDWATCH, action, &p, 0, &d, err) <
		    0)
			goto out;
		r = fl_xml_path(xmlDocGetRootElement(d), "GetMetricDataResult");
		m = fl_xml_path(r, "MetricDataResults/member");
		if (m && page == 0) {
			fl_xml_put_str(res, "label", m, "Label");
			fl_xml_put_str(res, "statusCode", m, "StatusCode");
		}
		if (!r || (m && add_points(points, m) < 0)) {
			xmlFreeDoc(d);
			fl_aws_err_set(err, "cloudwatch", action, 200,
				       "InvalidResponse",
				       "the answer's datapoints cannot be "
				       "read");
			goto out;
		}
		fl_xml_text(r, "NextToken", next, sizeof(next));
		xmlFreeDoc(d);
		if (!next[0])
			break;
	}
	*out = res;
	res = NULL;
	rc = 0;
out:
	json_object_put(res);
	fl_buf_release(&p);
	return rc;
}

/* DescribeAlarms by names (see aws.h). */
int fl_aws_cw_describe_alarms(fl_aws *a, const char *const *names,
			      size_t nnames, struct json_object **out,
			      struct fl_aws_error *err)
{
	static const char action[] = "DescribeAlarms";
	struct json_object *arr = json_object_new_array();
	char next[2048] = "", name[64];
	struct fl_buf p;
	size_t i;
	int page, rc = -1;

	*out = NULL;
	memset(err, 0, sizeof(*err));
	fl_buf_init(&p, 0);
	for (page = 0; page < MAX_PAGES; page++) {
		xmlDoc *d;
		xmlNode *m;

		fl_buf_reset(&p);
		for (i = 0; i < nnames; i++) {
			snprintf(name, sizeof(name), "AlarmNames.member.%zu",
				 i + 1);
			fl_aws_form_add(&p, name, names[i]);
		}
		if (next[0])
			fl_aws_form_add(&p, "NextToken", next);
		if (fl_aws_query(a, FL_AWS_CLOUDWATCH, action, &p, 0, &d, err) <
		    0)
			goto out;
		m = fl_xml_path(xmlDocGetRootElement(d),
				"DescribeAlarmsResult/MetricAlarms/member");
		for (; m; m = fl_xml_next(m)) {
			struct json_object *o = json_object_new_object();

			fl_xml_put_str(o, "alarmName", m, "AlarmName");
			fl_xml_put_str(o, "stateValue", m, "StateValue");
			fl_xml_put_str(o, "stateReason", m, "StateReason");
			json_object_array_add(arr, o);
		}
		fl_xml_text(xmlDocGetRootElement(d),
			    "DescribeAlarmsResult/NextToken", next,
			    sizeof(next));
		xmlFreeDoc(d);
		if (!next[0])
			break;
	}
	*out = arr;
	arr = NULL;
	rc = 0;
out:
	json_object_put(arr);
	fl_buf_release(&p);
	return rc;
}
