/*
 * The http probe: one request, then the status, the body and the latency
 * against what the probe expects.
 *
 * Without expectStatus any status from 200 to 399 passes, as a Kubernetes
 * httpGet probe judges.  Redirects are not followed: a 302 is the answer.
 * bodyMatch is a plain substring (no pattern syntax), looked for in the
 * whole body, which must then fit in the context's max_body.  maxLatency
 * judges the time of the whole exchange; the probe's timeout ends it.
 */
#include <stdio.h>
#include <string.h>

#include "json.h"
#include "probe_kinds.h"
#include "units.h"

static const char *const methods[] = {"GET",	"HEAD",	 "POST",   "PUT",
				      "DELETE", "PATCH", "OPTIONS"};

static int method_ok(const char *m)
{
	size_t i;

	for (i = 0; i < sizeof(methods) / sizeof(methods[0]); i++) {
		if (strcmp(m, methods[i]) == 0)
			return 1;
	}
	return 0;
}

/* Header names are HTTP tokens; values hold no line breaks. */
static int headers_check(struct json_object *h, char *err, size_t n)
{
	if (!h)
		return 0;
	if (!json_object_is_type(h, json_type_object)) {
		snprintf(err, n, "http.headers: must be an object of strings");
		return -1;
	}
	json_object_object_foreach(h, key, val)
	{
		const char *p;

		if (!*key || key[strspn(key, "abcdefghijklmnopqrstuvwxyz"
					     "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
					     "0123456789!#$%&'*+-.^_`|~")]) {
			snprintf(err, n,
				 "http.headers: '%.64s' is not a valid header "
				 "name",
				 key);
			return -1;
		}
		if (!json_object_is_type(val, json_type_string)) {
			snprintf(err, n, "http.headers.%.64s: must be a string",
				 key);
			return -1;
		}
		for (p = json_object_get_string(val); *p; p++) {
			if (*p == '\r' || *p == '\n') {
				snprintf(err, n,
					 "http.headers.%.64s: holds a line "
					 "break",
					 key);
				return -1;
			}
		}
	}
	return 0;
}

static int status_list_check(struct json_object *arr, char *err, size_t n)
{
	size_t i;

	if (!arr)
		return 0;
	if (!json_object_is_type(arr, json_type_array) ||
	    fl_json_len(arr) == 0) {
		snprintf(err, n,
			 "http.expectStatus: must be a list of status "
			 "codes");
		return -1;
	}
	for (i = 0; i < fl_json_len(arr); i++) {
		struct json_object *v = json_object_array_get_idx(arr, i);
		int64_t code = json_object_get_int64(v);

		if (!json_object_is_type(v, json_type_int) || code < 100 ||
		    code > 599) {
			snprintf(err, n,
				 "http.expectStatus[%zu]: must be a status "
				 "code from 100 to 599",
				 i);
			return -1;
		}
	}
	return 0;
}

/* A string field that may be absent; -1 when present but not a string. */
static int opt_string(struct json_object *o, const char *key, const char **out,
		      char *err, size_t n)
{
	struct json_object *v = fl_json_get(o, key);

	*out = NULL;
	if (!v)
		return 0;
	if (!json_object_is_type(v, json_type_string)) {
		snprintf(err, n, "http.%s: must be a string", key);
		return -1;
	}
	*out = json_object_get_string(v);
	return 0;
}

/* Checks an http probe's fields; see probe_kinds.h. */
int fl_probe_http_validate(struct json_object *params, char *err, size_t n)
{
	const char *url, *method, *body, *match, *lat;
	int64_t ms;

	if (opt_string(params, "url", &url, err, n) < 0 ||
	    opt_string(params, "method", &method, err, n) < 0 ||
	    opt_string(params, "body", &body, err, n) < 0 ||
	    opt_string(params, "bodyMatch", &match, err, n) < 0 ||
	    opt_string(params, "maxLatency", &lat, err, n) < 0)
		return -1;
	if (!url || !fl_probe_url_ok(url)) {
		snprintf(err, n, "http.url: %s",
			 url ? "must be an http or "
			       "https url"
			     : "is missing");
		return -1;
	}
	if (method && !method_ok(method)) {
		snprintf(err, n,
			 "http.method: '%.16s' is not one of GET, HEAD, POST, "
			 "PUT, DELETE, PATCH, OPTIONS",
			 method);
		return -1;
	}
	if (body && method && strcmp(method, "HEAD") == 0) {
		snprintf(err, n, "http.body: a HEAD request sends no body");
		return -1;
	}
	if (match && method && strcmp(method, "HEAD") == 0) {
		snprintf(err, n,
			 "http.bodyMatch: a HEAD request has no body "
			 "to match");
		return -1;
	}
	if (lat && (fl_duration_parse(lat, &ms) < 0 || ms <= 0)) {
		snprintf(err, n,
			 "http.maxLatency: '%.32s' is not a duration such as "
			 "500ms or 2s",
			 lat);
		return -1;
	}
	if (headers_check(fl_json_get(params, "headers"), err, n) < 0)
		return -1;
	return status_list_check(fl_json_get(params, "expectStatus"), err, n);
}

/* Nonzero when status is one of the expected; fills want with the list
 * as text for a message. */
static int status_ok(struct json_object *expect, long status, char *want,
		     size_t n)
{
	size_t i, len = fl_json_len(expect), used = 0;
	int ok = 0;

	if (len == 0) {
		snprintf(want, n, "200-399");
		return status >= 200 && status < 400;
	}
	want[0] = '\0';
	for (i = 0; i < len; i++) {
		long code = (long)json_object_get_int64(
			json_object_array_get_idx(expect, i));

		ok |= code == status;
		if (used < n)
			used += (size_t)snprintf(want + used, n - used, "%s%ld",
						 i ? ", " : "", code);
	}
	return ok;
}

/* Appends one failure to a message being built. */
static void add_failure(char *msg, size_t n, size_t *used, const char *what)
{
	if (*used < n)
		*used += (size_t)snprintf(msg + *used, n - *used, "%s%s",
					  *used ? "; " : "", what);
}

/* Judges a response against the probe; fills r. */
static void judge(struct json_object *params, const struct fl_probe_fetch *f,
		  const char *prefix, size_t max_body,
		  struct fl_probe_result *r)
{
	const char *match = fl_json_str(params, "bodyMatch");
	const char *lat = fl_json_str(params, "maxLatency");
	char fails[400] = "", what[300], want[160];
	size_t used = 0;
	int64_t max_ms = 0;

	if (!status_ok(fl_json_get(params, "expectStatus"), f->status, want,
		       sizeof(want))) {
		snprintf(what, sizeof(what), "status %ld, expected %s",
			 f->status, want);
		add_failure(fails, sizeof(fails), &used, what);
	}
	if (match && f->too_large) {
		snprintf(what, sizeof(what),
			 "body is larger than %zu bytes, too large to match",
			 max_body);
		add_failure(fails, sizeof(fails), &used, what);
	} else if (match && !memmem(f->resp.data ? f->resp.data : "",
				    f->resp.len, match, strlen(match))) {
		snprintf(what, sizeof(what), "body does not contain '%.64s'",
			 match);
		add_failure(fails, sizeof(fails), &used, what);
	}
	if (lat && fl_duration_parse(lat, &max_ms) == 0 &&
	    f->latency_ms > max_ms) {
		snprintf(what, sizeof(what), "latency %lld ms, over %s",
			 (long long)f->latency_ms, lat);
		add_failure(fails, sizeof(fails), &used, what);
	}
	r->passed = used == 0;
	if (r->passed)
		fl_probe_msg(r, "%s: status %ld in %lld ms", prefix, f->status,
			     (long long)f->latency_ms);
	else
		fl_probe_msg(r, "%s: %s", prefix, fails);
}

/* Takes one sample of an http probe; see probe_kinds.h. */
int fl_probe_http_sample(const struct fl_probe *p, struct fl_probe_ctx *ctx,
			 struct fl_probe_result *r)
{
	struct json_object *params = p->params;
	struct fl_probe_fetch f = {0};
	char url[240], prefix[300], err[160];

	f.method = fl_json_str(params, "method");
	if (!f.method)
		f.method = "GET";
	f.url = fl_json_str(params, "url");
	f.headers = fl_json_get(params, "headers");
	f.body = fl_json_str(params, "body");
	f.timeout_ms = p->timeout_ms;
	f.keep_body = fl_json_str(params, "bodyMatch") != NULL;
	snprintf(prefix, sizeof(prefix), "http %s %s", f.method,
		 fl_probe_url_text(f.url, url, sizeof(url)));

	if (fl_probe_fetch(ctx, &f, err, sizeof(err)) < 0) {
		r->passed = 0;
		fl_probe_msg(r, "%s: %s", prefix, err);
	} else {
		judge(params, &f, prefix, ctx->max_body, r);
		r->has_value = 1;
		r->value = (double)f.status;
	}
	r->latency_ms = f.latency_ms;
	fl_buf_release(&f.resp);
	return 0;
}
