#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "buf.h"
#include "probe.h"
#include "probe_kinds.h"

/* -- helpers ------------------------------------------------------------ */

/* Reads tests/data/probe/NAME into b (the caller releases it). */
static void fixture(const char *name, struct fl_buf *b)
{
	const char *dir = getenv("FL_TESTDATA");
	char *path = fl_asprintf("%s/probe/%s", dir ? dir : "tests/data", name);
	FILE *f = fopen(path, "rb");
	char chunk[4096];
	size_t n;

	if (!f)
		fail_msg("cannot open %s", path);
	fl_buf_init(b, 1 << 20);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		assert_int_equal(fl_buf_add(b, chunk, n), 0);
	fclose(f);
	free(path);
}

/* A probe of kind k whose params are the JSON text given. */
static struct fl_probe make_probe(enum fl_probe_kind k, const char *params)
{
	struct fl_probe p = {.name = "p",
			     .kind = k,
			     .interval_ms = 1000,
			     .timeout_ms = 2000,
			     .success_threshold = 1,
			     .failure_threshold = 1};

	p.params = json_tokener_parse(params);
	if (!p.params)
		fail_msg("bad test json: %s", params);
	return p;
}

/* -- verdict over samples ----------------------------------------------- */

static void test_state_thresholds(void **state)
{
	struct fl_probe p = {.success_threshold = 2, .failure_threshold = 3};
	struct fl_probe_state s;

	(void)state;
	fl_probe_state_init(&s, &p);
	assert_int_equal(s.verdict, FL_PROBE_UNKNOWN);
	/* One pass is not yet two in a row. */
	assert_int_equal(fl_probe_state_add(&s, 1, NULL), FL_PROBE_UNKNOWN);
	assert_int_equal(fl_probe_state_add(&s, 1, NULL), FL_PROBE_HOLDS);
	/* Two failures are not three: it still holds. */
	assert_int_equal(fl_probe_state_add(&s, 0, "a"), FL_PROBE_HOLDS);
	assert_int_equal(fl_probe_state_add(&s, 0, "b"), FL_PROBE_HOLDS);
	assert_string_equal(s.last_error, "b");
	/* A pass in between starts the failures over. */
	assert_int_equal(fl_probe_state_add(&s, 1, "ok"), FL_PROBE_HOLDS);
	assert_string_equal(s.last_error, "b");
	assert_int_equal(fl_probe_state_add(&s, 0, "c"), FL_PROBE_HOLDS);
	assert_int_equal(fl_probe_state_add(&s, 0, "d"), FL_PROBE_HOLDS);
	assert_int_equal(fl_probe_state_add(&s, 0, "e"), FL_PROBE_FAILS);
	assert_int_equal(s.fail_run, 3);
	/* Back only after two passes in a row. */
	assert_int_equal(fl_probe_state_add(&s, 1, NULL), FL_PROBE_FAILS);
	assert_int_equal(fl_probe_state_add(&s, 0, "f"), FL_PROBE_FAILS);
	assert_int_equal(fl_probe_state_add(&s, 1, NULL), FL_PROBE_FAILS);
	assert_int_equal(fl_probe_state_add(&s, 1, NULL), FL_PROBE_HOLDS);
	assert_int_equal(s.samples, 12);
	assert_int_equal(s.passed, 6);
	assert_int_equal(s.pass_run, 2);
	assert_int_equal(s.fail_run, 0);
	assert_string_equal(s.timeline, "++--+---+-++");
	assert_int_equal(s.timeline_len, 12);
	assert_int_equal(s.dropped, 0);
	assert_string_equal(s.last_error, "f");
	assert_string_equal(fl_probe_verdict_name(s.verdict), "Passed");
}

static void test_state_starts_failing(void **state)
{
	struct fl_probe_state s;

	(void)state;
	fl_probe_state_init(&s, NULL); /* thresholds of 1 */
	assert_int_equal(fl_probe_state_add(&s, 0, "down"), FL_PROBE_FAILS);
	assert_string_equal(fl_probe_verdict_name(s.verdict), "Failed");
	assert_int_equal(fl_probe_state_add(&s, 1, NULL), FL_PROBE_HOLDS);
	assert_string_equal(fl_probe_verdict_name(FL_PROBE_UNKNOWN), "Unknown");
}

static void test_timeline_bounds(void **state)
{
	struct fl_probe_state s;
	int64_t i, total = 3 * FL_PROBE_TIMELINE_MAX + 17;
	size_t j;

	(void)state;
	fl_probe_state_init(&s, NULL);
	/* Exactly full: every sample shown, no mark. */
	for (i = 0; i < FL_PROBE_TIMELINE_MAX; i++)
		fl_probe_state_add(&s, i % 3 != 0, NULL);
	assert_int_equal(s.timeline_len, FL_PROBE_TIMELINE_MAX);
	assert_int_equal(strlen(s.timeline), FL_PROBE_TIMELINE_MAX);
	assert_int_equal(s.timeline[0], '-');
	assert_int_equal(s.dropped, 0);

	/* One more: the mark and the newest MAX - 1 samples. */
	fl_probe_state_add(&s, 0, NULL);
	assert_int_equal(s.timeline_len, FL_PROBE_TIMELINE_MAX);
	assert_int_equal(s.timeline[0], FL_PROBE_TIMELINE_CUT);
	assert_int_equal(s.dropped, 2);
	assert_int_equal(s.timeline[FL_PROBE_TIMELINE_MAX - 1], '-');
	/* Sample 2 (i % 3 == 2, a pass) is now the oldest shown. */
	assert_int_equal(s.timeline[1], '+');

	for (i = FL_PROBE_TIMELINE_MAX + 1; i < total; i++)
		fl_probe_state_add(&s, i % 3 != 0, NULL);
	assert_int_equal(s.samples, total);
	assert_int_equal(s.timeline_len, FL_PROBE_TIMELINE_MAX);
	assert_int_equal(strlen(s.timeline), FL_PROBE_TIMELINE_MAX);
	assert_int_equal(s.dropped, total - (FL_PROBE_TIMELINE_MAX - 1));
	/* Each shown character is the sample it stands for. */
	for (j = 1; j < FL_PROBE_TIMELINE_MAX; j++) {
		int64_t sample = s.dropped + (int64_t)j - 1;

		if (s.timeline[j] != (sample % 3 != 0 ? '+' : '-'))
			fail_msg("timeline[%zu] is '%c' for sample %lld", j,
				 s.timeline[j], (long long)sample);
	}
}

static void test_state_restore(void **state)
{
	struct fl_probe p = {.success_threshold = 1, .failure_threshold = 2};
	struct fl_probe_state a, b;
	char *cut;
	int i;

	(void)state;
	fl_probe_state_init(&a, &p);
	for (i = 0; i < 5000; i++)
		fl_probe_state_add(&a, i < 4990, "x");
	fl_probe_state_init(&b, &p);
	assert_int_equal(
		fl_probe_state_restore(&b, a.samples, a.passed, a.timeline), 0);
	assert_int_equal(b.verdict, a.verdict);
	assert_int_equal(b.verdict, FL_PROBE_FAILS);
	assert_int_equal(b.fail_run, 10);
	assert_int_equal(b.dropped, a.dropped);
	assert_string_equal(b.timeline, a.timeline);
	/* It goes on as the original would. */
	assert_int_equal(fl_probe_state_add(&b, 1, NULL),
			 fl_probe_state_add(&a, 1, NULL));
	assert_string_equal(b.timeline, a.timeline);

	fl_probe_state_init(&b, &p);
	assert_int_equal(fl_probe_state_restore(&b, 3, 2, "+-+"), 0);
	assert_int_equal(b.verdict, FL_PROBE_HOLDS);
	assert_int_equal(fl_probe_state_restore(&b, 0, 0, ""), 0);
	assert_int_equal(b.verdict, FL_PROBE_UNKNOWN);

	/* What status cannot have held is refused, and changes nothing. */
	fl_probe_state_init(&b, &p);
	assert_int_equal(fl_probe_state_restore(&b, 3, 2, "+x+"), -1);
	assert_int_equal(fl_probe_state_restore(&b, 4, 2, "+-+"), -1);
	assert_int_equal(fl_probe_state_restore(&b, 3, 3, "+-+"), -1);
	assert_int_equal(fl_probe_state_restore(&b, 3, 1, "+-+"), -1);
	assert_int_equal(fl_probe_state_restore(&b, 2, 1, "~+"), 0);
	assert_int_equal(fl_probe_state_restore(&b, 1, 1, "~+"), -1);
	assert_int_equal(b.samples, 2);
	cut = fl_calloc(1, FL_PROBE_TIMELINE_MAX + 2);
	memset(cut, '+', FL_PROBE_TIMELINE_MAX + 1);
	assert_int_equal(fl_probe_state_restore(&b, FL_PROBE_TIMELINE_MAX + 1,
						FL_PROBE_TIMELINE_MAX + 1, cut),
			 -1);
	free(cut);
}

/* -- validation ---------------------------------------------------------- */

static void test_validate_errors(void **state)
{
	static const struct {
		enum fl_probe_kind kind;
		const char *params;
		const char *says;
	} cases[] = {
		{FL_PROBE_HTTP, "{}", "probe 'p': http.url: is missing"},
		{FL_PROBE_HTTP, "{\"url\": \"ftp://x/\"}",
		 "http.url: must be an http or https url"},
		{FL_PROBE_HTTP, "{\"url\": \"http://a b/\"}", "http.url"},
		{FL_PROBE_HTTP, "{\"url\": \"http://\"}", "http.url"},
		{FL_PROBE_HTTP, "{\"url\": 7}", "http.url: must be a string"},
		{FL_PROBE_HTTP, "{\"url\": \"http://x/\", \"method\": \"GOT\"}",
		 "http.method: 'GOT' is not one of"},
		{FL_PROBE_HTTP,
		 "{\"url\": \"http://x/\", \"maxLatency\": \"fast\"}",
		 "http.maxLatency: 'fast' is not a duration"},
		{FL_PROBE_HTTP,
		 "{\"url\": \"http://x/\", \"expectStatus\": [200, 700]}",
		 "http.expectStatus[1]: must be a status code"},
		{FL_PROBE_HTTP,
		 "{\"url\": \"http://x/\", \"expectStatus\": []}",
		 "http.expectStatus: must be a list"},
		{FL_PROBE_HTTP,
		 "{\"url\": \"http://x/\", \"headers\": {\"X-A\": \"a\\r\\nB: "
		 "c\"}}",
		 "http.headers.X-A: holds a line break"},
		{FL_PROBE_HTTP,
		 "{\"url\": \"http://x/\", \"headers\": {\"X A\": \"a\"}}",
		 "http.headers: 'X A' is not a valid header name"},
		{FL_PROBE_HTTP,
		 "{\"url\": \"http://x/\", \"method\": \"HEAD\", "
		 "\"bodyMatch\": \"ok\"}",
		 "http.bodyMatch: a HEAD request has no body"},
		{FL_PROBE_HTTP,
		 "{\"url\": \"http://x/\", \"method\": \"HEAD\", "
		 "\"body\": \"x\"}",
		 "http.body: a HEAD request sends no body"},
		{FL_PROBE_PROMETHEUS,
		 "{\"url\": \"http://p:9090\", \"query\": \"up\", \"expect\": "
		 "\"<< 0.5\"}",
		 "probe 'p': prometheus.expect: cannot parse '<< 0.5'"},
		{FL_PROBE_PROMETHEUS,
		 "{\"url\": \"http://p:9090\", \"query\": \"up\"}",
		 "prometheus.expect: is missing"},
		{FL_PROBE_PROMETHEUS,
		 "{\"url\": \"http://p:9090\", \"query\": \"\", \"expect\": "
		 "\"< 1\"}",
		 "prometheus.query: is missing or empty"},
		{FL_PROBE_PROMETHEUS,
		 "{\"query\": \"up\", \"expect\": \"< 1\"}",
		 "prometheus.url: is missing"},
		{FL_PROBE_KUBERNETES,
		 "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", "
		 "\"name\": \"web\", \"expect\": \"status.replicas >= 2\"}",
		 "kubernetes.expect: cannot parse 'status.replicas >= 2': "
		 "expected a field path"},
		{FL_PROBE_KUBERNETES,
		 "{\"apiVersion\": \"apps/v1/x\", \"kind\": \"Deployment\", "
		 "\"name\": \"web\", \"expect\": \".a == 1\"}",
		 "kubernetes.apiVersion: 'apps/v1/x' is not"},
		{FL_PROBE_KUBERNETES,
		 "{\"apiVersion\": \"/v1\", \"kind\": \"Deployment\", "
		 "\"name\": \"web\", \"expect\": \".a == 1\"}",
		 "kubernetes.apiVersion"},
		{FL_PROBE_KUBERNETES,
		 "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", "
		 "\"expect\": \".a == 1\"}",
		 "kubernetes.name: is missing"},
		{FL_PROBE_KUBERNETES,
		 "{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", "
		 "\"name\": \"web\", \"namespace\": \"\", \"expect\": \".a == "
		 "1\"}",
		 "kubernetes.namespace: must be a non-empty string"},
		{FL_PROBE_CLOUDWATCH,
		 "{\"namespace\": \"AWS/ELB\", \"metric\": \"m\", "
		 "\"statistic\": \"p99\", \"expect\": \"about 1\"}",
		 "probe 'p': cloudwatch.expect: cannot parse 'about 1'"},
		{FL_PROBE_CLOUDWATCH,
		 "{\"namespace\": \"AWS/ELB\", \"metric\": \"m\", "
		 "\"statistic\": \"p99\", \"expect\": \"< 1\", "
		 "\"period\": \"90s\"}",
		 "probe 'p': cloudwatch.period: '90s' is not"},
	};
	struct fl_probe_ctx ctx;
	struct fl_probe_result r;
	char err[512];
	size_t i;

	(void)state;
	fl_probe_ctx_init(&ctx, NULL, NULL);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_probe p = make_probe(cases[i].kind, cases[i].params);

		err[0] = '\0';
		assert_int_equal(fl_probe_validate(&p, err, sizeof(err)), -1);
		if (!strstr(err, cases[i].says))
			fail_msg("case %zu: got '%s', wanted '%s'", i, err,
				 cases[i].says);
		/* A sample refuses it the same way, and sends nothing. */
		assert_int_equal(fl_probe_sample(&p, &ctx, &r), -1);
		assert_int_equal(r.invalid, 1);
		assert_int_equal(r.passed, 0);
		assert_int_equal(r.latency_ms, 0);
		assert_string_equal(r.message, err);
		json_object_put(p.params);
	}
	assert_null(ctx.curl);
	fl_probe_ctx_release(&ctx);
}

static void test_validate_common(void **state)
{
	struct fl_probe p =
		make_probe(FL_PROBE_HTTP, "{\"url\": \"http://x\"}");
	char err[512];

	(void)state;
	assert_int_equal(fl_probe_validate(&p, err, sizeof(err)), 0);
	p.timeout_ms = 0;
	assert_int_equal(fl_probe_validate(&p, err, sizeof(err)), -1);
	assert_string_equal(err, "probe 'p': timeout must be above 0 and at "
				 "most 24h");
	p.timeout_ms = 1000;
	p.failure_threshold = 0;
	assert_int_equal(fl_probe_validate(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "failureThreshold"));
	p.failure_threshold = 1;
	p.name = NULL;
	assert_int_equal(fl_probe_validate(&p, err, sizeof(err)), -1);
	assert_string_equal(err, "probe: name is missing");
	p.name = "p";
	p.kind = FL_PROBE_KIND_COUNT;
	assert_int_equal(fl_probe_validate(&p, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "set exactly one of http"));
	json_object_put(p.params);
	p = make_probe(FL_PROBE_HTTP, "[]");
	assert_int_equal(fl_probe_validate(&p, err, sizeof(err)), -1);
	assert_string_equal(err, "probe 'p': http must be an object");
	json_object_put(p.params);
}

static void test_validate_accepts(void **state)
{
	static const struct {
		enum fl_probe_kind kind;
		const char *params;
	} cases[] = {
		{FL_PROBE_HTTP,
		 "{\"url\": \"https://user:pw@x:8443/healthz?a=b\", \"method\": "
		 "\"POST\", \"headers\": {\"Content-Type\": "
		 "\"application/json\"}, \"body\": \"{}\", \"expectStatus\": "
		 "[200, 204], \"bodyMatch\": \"ok\", \"maxLatency\": "
		 "\"1s500ms\"}"},
		{FL_PROBE_PROMETHEUS,
		 "{\"url\": \"http://prometheus:9090/\", \"query\": "
		 "\"sum(rate(x[1m]))\", \"expect\": \" != -1.5 \"}"},
		{FL_PROBE_KUBERNETES,
		 "{\"apiVersion\": \"v1\", \"kind\": \"Pod\", \"name\": \"a\", "
		 "\"expect\": \".status.phase == Running\"}"},
	};
	char err[512];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_probe p = make_probe(cases[i].kind, cases[i].params);

		if (fl_probe_validate(&p, err, sizeof(err)) < 0)
			fail_msg("case %zu: %s", i, err);
		json_object_put(p.params);
	}
}

static void test_kubernetes_needs_client(void **state)
{
	struct fl_probe p = make_probe(
		FL_PROBE_KUBERNETES,
		"{\"apiVersion\": \"apps/v1\", \"kind\": \"Deployment\", "
		"\"name\": \"web\", \"expect\": \".status.replicas >= 1\"}");
	struct fl_probe_ctx ctx;
	struct fl_probe_result r;

	(void)state;
	fl_probe_ctx_init(&ctx, NULL, "shop");
	assert_int_equal(fl_probe_sample(&p, &ctx, &r), -1);
	assert_int_equal(r.invalid, 1);
	assert_string_equal(r.message,
			    "probe 'p': kubernetes probes need a kubernetes "
			    "client, and none is configured");
	fl_probe_ctx_release(&ctx);
	json_object_put(p.params);
}

/* -- prometheus answers -------------------------------------------------- */

static void test_prom_decode(void **state)
{
	static const struct {
		const char *file;
		long status;
		int rc;
		double value; /* when rc is 0 */
		const char *says;
	} cases[] = {
		{"prom-vector-one.json", 200, 0, 0.73, NULL},
		{"prom-scalar.json", 200, 0, 2, NULL},
		{"prom-vector-warnings.json", 200, 0, 1e-5, NULL},
		{"prom-vector-inf.json", 200, 0, INFINITY, NULL},
		{"prom-vector-empty.json", 200, -1, 0,
		 "the query returned no series (an empty vector)"},
		{"prom-vector-two.json", 200, -1, 0,
		 "the query returned 2 series, expected one"},
		{"prom-matrix.json", 200, -1, 0,
		 "the query returned a matrix, expected a vector with one "
		 "series or a scalar"},
		{"prom-string.json", 200, -1, 0, "returned a string"},
		{"prom-error-bad-data.json", 400, -1, 0,
		 "query failed: bad_data: invalid parameter \"query\": 1:5: "
		 "parse error: unclosed left parenthesis"},
		{"prom-vector-bad-value.json", 200, -1, 0,
		 "the sample's value 'abc' is not a number"},
		{"prom-vector-histogram.json", 200, -1, 0,
		 "the series holds a histogram, not a number"},
		{"prom-not-json.html", 502, -1, 0,
		 "status 502 from the query api"},
		{"prom-not-json.html", 200, -1, 0, "the answer is not json"},
		{"prom-truncated.json", 200, -1, 0, "the answer is not json"},
		/* A success body with a status other than 200 is odd. */
		{"prom-vector-one.json", 503, -1, 0,
		 "unexpected answer (status 503, 'success')"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct fl_buf b;
		double v = -42;
		char err[512] = "";
		int rc;

		fixture(cases[i].file, &b);
		rc = fl_probe_prom_decode(cases[i].status, b.data, b.len, &v,
					  err, sizeof(err));
		if (rc != cases[i].rc)
			fail_msg("%s: rc %d (%s)", cases[i].file, rc, err);
		if (rc == 0 && v != cases[i].value)
			fail_msg("%s: value %g", cases[i].file, v);
		if (rc < 0 && !strstr(err, cases[i].says))
			fail_msg("%s: got '%s', wanted '%s'", cases[i].file,
				 err, cases[i].says);
		fl_buf_release(&b);
	}
}

static void test_prom_decode_nan(void **state)
{
	struct fl_buf b;
	double v = 0;
	char err[256];

	(void)state;
	fixture("prom-vector-nan.json", &b);
	assert_int_equal(
		fl_probe_prom_decode(200, b.data, b.len, &v, err, sizeof(err)),
		0);
	assert_true(isnan(v));
	/* Every prefix of a good answer is refused, none read past. */
	for (size_t n = 0; n + 1 < b.len; n++)
		assert_int_equal(fl_probe_prom_decode(200, b.data, n, &v, err,
						      sizeof(err)),
				 -1);
	fl_buf_release(&b);
}

/* -- discovery and small helpers ---------------------------------------- */

static void test_kinds_find(void **state)
{
	struct fl_buf b;
	struct json_object *list;
	char plural[64];
	int ns = -1;

	(void)state;
	fixture("discovery-apps-v1.json", &b);
	list = json_tokener_parse(b.data);
	assert_non_null(list);
	/* The resource, never its subresources listed before it. */
	assert_int_equal(fl_probe_kinds_find(list, "Deployment", plural,
					     sizeof(plural), &ns),
			 1);
	assert_string_equal(plural, "deployments");
	assert_int_equal(ns, 1);
	assert_int_equal(fl_probe_kinds_find(list, "StatefulSet", plural,
					     sizeof(plural), &ns),
			 1);
	assert_string_equal(plural, "statefulsets");
	/* Kinds match exactly, case included. */
	assert_int_equal(fl_probe_kinds_find(list, "deployment", plural,
					     sizeof(plural), &ns),
			 0);
	assert_int_equal(
		fl_probe_kinds_find(list, "Scale", plural, sizeof(plural), &ns),
		0);
	/* A plural that does not fit is not cut short. */
	assert_int_equal(
		fl_probe_kinds_find(list, "ControllerRevision", plural, 8, &ns),
		0);
	json_object_put(list);
	fl_buf_release(&b);

	fixture("discovery-v1-excerpt.json", &b);
	list = json_tokener_parse(b.data);
	assert_int_equal(fl_probe_kinds_find(list, "Namespace", plural,
					     sizeof(plural), &ns),
			 1);
	assert_string_equal(plural, "namespaces");
	assert_int_equal(ns, 0);
	json_object_put(list);
	fl_buf_release(&b);
	/* Not a list at all. */
	assert_int_equal(
		fl_probe_kinds_find(NULL, "Pod", plural, sizeof(plural), &ns),
		0);
}

static void test_url_text(void **state)
{
	char out[256];

	(void)state;
	assert_string_equal(
		fl_probe_url_text("http://u:p@h:1/x?a=b@c", out, sizeof(out)),
		"http://h:1/x?a=b@c");
	assert_string_equal(
		fl_probe_url_text("https://h/x@y", out, sizeof(out)),
		"https://h/x@y");
	assert_string_equal(fl_probe_url_text("weird", out, sizeof(out)),
			    "weird");
	assert_int_equal(fl_probe_url_ok("http://h"), 1);
	assert_int_equal(fl_probe_url_ok("https://h:1/"), 1);
	assert_int_equal(fl_probe_url_ok("http:///x"), 0);
	assert_int_equal(fl_probe_url_ok("http://h/\x01"), 0);
	assert_int_equal(fl_probe_url_ok("file:///etc/passwd"), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_state_thresholds),
		cmocka_unit_test(test_state_starts_failing),
		cmocka_unit_test(test_timeline_bounds),
		cmocka_unit_test(test_state_restore),
		cmocka_unit_test(test_validate_errors),
		cmocka_unit_test(test_validate_common),
		cmocka_unit_test(test_validate_accepts),
		cmocka_unit_test(test_kubernetes_needs_client),
		cmocka_unit_test(test_prom_decode),
		cmocka_unit_test(test_prom_decode_nan),
		cmocka_unit_test(test_kinds_find),
		cmocka_unit_test(test_url_text),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
