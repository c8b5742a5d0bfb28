/*
 * The prometheus probe: an instant query (GET <url>/api/v1/query), whose
 * answer must be one number, compared with expect.
 *
 * One number means a vector with exactly one series, or a scalar.  An
 * empty vector (nothing matched, or no data yet) and several series (a
 * query that is not aggregated) are failed samples whose message says
 * so: judging one series of many would hide the others.  NaN (0/0, as an
 * error ratio without traffic gives) passes no comparison.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"
#include "json.h"
#include "probe_kinds.h"

/* The query's length at most, as the CRD allows. */
#define QUERY_MAX 8192

/* Checks a prometheus probe's fields; see probe_kinds.h. */
int fl_probe_prom_validate(struct json_object *params, char *err, size_t n)
{
	const char *url = fl_json_str(params, "url");
	const char *query = fl_json_str(params, "query");
	const char *expect = fl_json_str(params, "expect");
	struct fl_cmp c;
	char why[300];

	if (!url || !fl_probe_url_ok(url)) {
		snprintf(err, n, "prometheus.url: %s",
			 url ? "must be an http or https url"
			     : "is missing or not a string");
		return -1;
	}
	if (!query || !*query || strlen(query) > QUERY_MAX) {
		snprintf(err, n, "prometheus.query: %s",
			 query && *query ? "is longer than 8192 characters"
					 : "is missing or empty");
		return -1;
	}
	if (!expect) {
		snprintf(err, n,
			 "prometheus.expect: is missing or not a "
			 "string");
		return -1;
	}
	if (fl_cmp_parse(expect, &c, why, sizeof(why)) < 0) {
		snprintf(err, n, "prometheus.expect: %s", why);
		return -1;
	}
	return 0;
}

/* Reads a sample's [time, "value"] pair. */
static int sample_value(struct json_object *pair, double *value, char *err,
			size_t n)
{
	struct json_object *v = json_object_array_get_idx(pair, 1);
	const char *s;
	char *end;

	if (!json_object_is_type(pair, json_type_array) ||
	    fl_json_len(pair) != 2 ||
	    !json_object_is_type(v, json_type_string)) {
		snprintf(err, n, "the sample is not a [time, \"value\"] pair");
		return -1;
	}
	s = json_object_get_string(v);
	*value = strtod(s, &end);
	if (!*s || *end) {
		snprintf(err, n, "the sample's value '%.32s' is not a number",
			 s);
		return -1;
	}
	return 0;
}

/* The single series of a vector result. */
static int vector_value(struct json_object *result, double *value, char *err,
			size_t n)
{
	size_t len = fl_json_len(result);
	struct json_object *series;

	if (!json_object_is_type(result, json_type_array)) {
		snprintf(err, n, "the vector's result is not a list");
		return -1;
	}
	if (len == 0) {
		snprintf(err, n,
			 "the query returned no series (an empty "
			 "vector)");
		return -1;
	}
	if (len > 1) {
		snprintf(err, n,
			 "the query returned %zu series, expected one "
			 "(aggregate it, for instance with sum())",
			 len);
		return -1;
	}
	series = json_object_array_get_idx(result, 0);
	if (!fl_json_get(series, "value") && fl_json_get(series, "histogram")) {
		snprintf(err, n, "the series holds a histogram, not a number");
		return -1;
	}
	return sample_value(fl_json_get(series, "value"), value, err, n);
}

static int only_blanks(const char *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (!strchr(" \t\r\n", s[i]) || !s[i])
			return 0;
	}
	return 1;
}

/* Decodes an instant-query answer; see probe_kinds.h. */
int fl_probe_prom_decode(long status, const char *body, size_t len,
			 double *value, char *err, size_t n)
{
	struct json_tokener *tok = json_tokener_new();
	struct json_object *doc, *data;
	const char *st, *type;
	int rc = -1;

	if (!tok)
		abort();
	doc = json_tokener_parse_ex(tok, body, (int)len);
	if (!doc || !only_blanks(body + json_tokener_get_parse_end(tok),
				 len - json_tokener_get_parse_end(tok))) {
		if (status != 200)
			snprintf(err, n, "status %ld from the query api",
				 status);
		else
			snprintf(err, n, "the answer is not json");
		goto out;
	}
	st = fl_json_str(doc, "status");
	if (st && strcmp(st, "error") == 0) {
		const char *etype = fl_json_str(doc, "errorType");
		const char *emsg = fl_json_str(doc, "error");

		snprintf(err, n, "query failed: %.32s: %.200s",
			 etype ? etype : "error", emsg ? emsg : "(no message)");
		goto out;
	}
	if (!st || strcmp(st, "success") != 0 || status != 200) {
		snprintf(err, n, "unexpected answer (status %ld, '%.32s')",
			 status, st ? st : "no status field");
		goto out;
	}
	data = fl_json_get(doc, "data");
	type = fl_json_str(data, "resultType");
	if (type && strcmp(type, "vector") == 0)
		rc = vector_value(fl_json_get(data, "result"), value, err, n);
	else if (type && strcmp(type, "scalar") == 0)
		rc = sample_value(fl_json_get(data, "result"), value, err, n);
	else
		snprintf(err, n,
			 "the query returned a %.16s, expected a vector with "
			 "one series or a scalar",
			 type ? type : "result of no known type");
out:
	json_object_put(doc);
	json_tokener_free(tok);
	return rc;
}

/* Appends s percent-encoded (all but unreserved characters). */
static int add_encoded(struct fl_buf *b, const char *s)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		int rc;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || strchr("-._~", c))
			rc = fl_buf_addc(b, (char)c);
		else
			rc = fl_buf_addf(b, "%%%c%c", hex[c >> 4], hex[c & 15]);
		if (rc < 0)
			return -1;
	}
	return 0;
}

/* Compares the value and writes the message. */
static void judge(const struct fl_cmp *c, double v, struct fl_probe_result *r)
{
	char want[64];

	fl_cmp_format(c, want, sizeof(want));
	r->has_value = 1;
	r->value = v;
	r->passed = fl_cmp_number(c, v);
	if (isnan(v))
		fl_probe_msg(r, "prometheus: value NaN, which passes no "
				"comparison (no data to divide?)");
	else if (r->passed)
		fl_probe_msg(r, "prometheus: value %.6g %s", v, want);
	else
		fl_probe_msg(r, "prometheus: value %.6g is not %s", v, want);
}

/* Takes one sample of a prometheus probe; see probe_kinds.h. */
int fl_probe_prom_sample(const struct fl_probe *p, struct fl_probe_ctx *ctx,
			 struct fl_probe_result *r)
{
	const char *base = fl_json_str(p->params, "url");
	size_t blen = strlen(base);
	struct fl_probe_fetch f = {0};
	struct fl_buf url;
	char err[400], shown[240];
	struct fl_cmp c;
	double v;

	fl_cmp_parse(fl_json_str(p->params, "expect"), &c, err, sizeof(err));
	while (blen > 0 && base[blen - 1] == '/')
		blen--;
	fl_buf_init(&url, 0);
	fl_buf_addf(&url, "%.*s/api/v1/query?query=", (int)blen, base);
	add_encoded(&url, fl_json_str(p->params, "query"));
	/* The server gives up on the query when the probe does. */
	fl_buf_addf(&url, "&timeout=%lldms", (long long)p->timeout_ms);
	f.url = url.data;
	f.timeout_ms = p->timeout_ms;
	f.keep_body = 1;
	fl_probe_url_text(base, shown, sizeof(shown));

	if (fl_probe_fetch(ctx, &f, err, sizeof(err)) < 0)
		fl_probe_msg(r, "prometheus %s: %s", shown, err);
	else if (f.too_large)
		fl_probe_msg(r,
			     "prometheus %s: the answer is larger than %zu "
			     "bytes",
			     shown, ctx->max_body);
	else if (fl_probe_prom_decode(f.status, f.resp.data ? f.resp.data : "",
				      f.resp.len, &v, err, sizeof(err)) < 0)
		fl_probe_msg(r, "prometheus: %s", err);
	else
		judge(&c, v, r);
	r->latency_ms = f.latency_ms;
	fl_buf_release(&f.resp);
	fl_buf_release(&url);
	return 0;
}
