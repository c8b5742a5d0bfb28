/*
 * The cloudwatch probe: one statistic of one metric over a period,
 * through GetMetricData, compared with expect.  The newest datapoint of
 * the last few periods is the sample: CloudWatch publishes with a delay,
 * so the current period is often still empty.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "aws.h"
#include "compare.h"
#include "json.h"
#include "probe_kinds.h"
#include "units.h"

#define MAX_DIMENSIONS 16
#define LOOKBACK_PERIODS 5

int fl_probe_cw_validate(struct json_object *params, char *err, size_t n)
{
	static const char *const required[] = {"namespace", "metric",
					       "statistic", "expect"};
	const char *period = fl_json_str(params, "period");
	struct fl_cmp c;
	char why[300];
	int64_t ms;

	for (size_t i = 0; i < sizeof(required) / sizeof(required[0]); i++)
		if (!fl_json_str(params, required[i])) {
			snprintf(err, n, "cloudwatch.%s is missing",
				 required[i]);
			return -1;
		}
	if (fl_cmp_parse(fl_json_str(params, "expect"), &c, why, sizeof(why))) {
		snprintf(err, n, "cloudwatch.expect: %s", why);
		return -1;
	}
	if (period && (fl_duration_parse(period, &ms) || ms < 1000 ||
		       ms > 86400000 || (ms >= 60000 && ms % 60000))) {
		snprintf(err, n,
			 "cloudwatch.period: '%s' is not 1s, 5s, 10s, 30s or "
			 "a whole number of minutes up to 1d",
			 period);
		return -1;
	}
	if (fl_json_get(params, "dimensions") &&
	    json_object_object_length(fl_json_get(params, "dimensions")) >
		    MAX_DIMENSIONS) {
		snprintf(err, n, "cloudwatch.dimensions: more than %d",
			 MAX_DIMENSIONS);
		return -1;
	}
	return 0;
}

/* The query of p, with dims (room for MAX_DIMENSIONS) filled in. */
static void query_of(const struct fl_probe *p, struct fl_aws_metric_query *q,
		     struct fl_aws_dimension *dims)
{
	const char *period = fl_json_str(p->params, "period");
	struct json_object *d = fl_json_get(p->params, "dimensions");
	int64_t ms = 60000;
	time_t now = time(NULL);

	if (period)
		fl_duration_parse(period, &ms);
	memset(q, 0, sizeof(*q));
	q->namespace = fl_json_str(p->params, "namespace");
	q->metric = fl_json_str(p->params, "metric");
	q->stat = fl_json_str(p->params, "statistic");
	q->period_s = (int)(ms / 1000);
	/* The end reaches one period ahead so that a datapoint stamped in
	 * the current second is not cut off. */
	q->end = now + q->period_s;
	q->start = now - (time_t)q->period_s * LOOKBACK_PERIODS;
	q->dims = dims;
	if (d && json_object_is_type(d, json_type_object)) {
		json_object_object_foreach(d, key, val)
		{
			if (q->ndims == MAX_DIMENSIONS)
				break;
			dims[q->ndims].name = key;
			dims[q->ndims].value = json_object_get_string(val);
			q->ndims++;
		}
	}
}

int fl_probe_cw_sample(const struct fl_probe *p, struct fl_probe_ctx *ctx,
		       struct fl_probe_result *r)
{
	struct fl_aws_dimension dims[MAX_DIMENSIONS];
	struct fl_aws_metric_query q;
	struct fl_aws_error aerr = {0};
	struct json_object *out = NULL, *points, *newest;
	char err[400], want[FL_CMP_TEXT_MAX + 8];
	struct timespec t0, t1;
	struct fl_cmp c;
	fl_aws *aws;

	if (!ctx->aws_for) {
		fl_probe_msg(r, "probe '%s': cloudwatch: no AWS client here",
			     p->name);
		r->invalid = 1;
		return -1;
	}
	aws = ctx->aws_for(ctx->aws_arg, fl_json_str(p->params, "region"), err,
			   sizeof(err));
	if (!aws) {
		fl_probe_msg(r, "cloudwatch: %s", err);
		return 0;
	}
	fl_cmp_parse(fl_json_str(p->params, "expect"), &c, err, sizeof(err));
	fl_cmp_format(&c, want, sizeof(want));
	query_of(p, &q, dims);

	clock_gettime(CLOCK_MONOTONIC, &t0);
	if (fl_aws_cw_get_metric(aws, &q, &out, &aerr)) {
		fl_probe_msg(r, "cloudwatch %s/%s: %s", q.namespace, q.metric,
			     aerr.text);
		goto out;
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	r->latency_ms = (t1.tv_sec - t0.tv_sec) * 1000 +
			(t1.tv_nsec - t0.tv_nsec) / 1000000;
	points = fl_json_get(out, "points");
	newest = json_object_array_get_idx(points, 0);
	if (!newest) {
		fl_probe_msg(r,
			     "cloudwatch %s/%s %s: no datapoints in the last "
			     "%d periods of %ds",
			     q.namespace, q.metric, q.stat, LOOKBACK_PERIODS,
			     q.period_s);
		goto out;
	}
	r->has_value = 1;
	r->value = json_object_get_double(fl_json_get(newest, "value"));
	r->passed = fl_cmp_number(&c, r->value);
	fl_probe_msg(r, "cloudwatch %s/%s %s: value %g %s%s", q.namespace,
		     q.metric, q.stat, r->value, r->passed ? "" : "is not ",
		     want);
out:
	json_object_put(out);
	return 0;
}
