/*
 * Target selection: label selectors and their list-call strings, the
 * eligibility of pods, nodes and namespaces, the count rule on tables of
 * cases and as a property over random populations, and the random choice.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "alloc.h"
#include "targets.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct json_object *parse(const char *text)
{
	struct json_object *o = json_tokener_parse(text);

	if (!o) {
		print_error("bad fixture: %s\n", text);
		fail();
	}
	return o;
}

/* --- selectors --- */

static const char *const objects[] = {
	"{\"metadata\": {\"name\": \"a\", \"labels\": "
	"{\"app\": \"web\", \"tier\": \"front\"}}}",
	"{\"metadata\": {\"name\": \"b\", \"labels\": {\"app\": \"web\"}}}",
	"{\"metadata\": {\"name\": \"c\", \"labels\": "
	"{\"app\": \"db\", \"canary\": \"\"}}}",
	"{\"metadata\": {\"name\": \"d\"}}",
	"{\"metadata\": {\"name\": \"e\", \"labels\": {\"app\": 7}}}",
};

static const char *web_vals[] = {"web"};
static const char *front_back[] = {"front", "back"};
static const char *front_only[] = {"front"};
static const char *empty_only[] = {""};

struct sel_case {
	const char *what;
	struct fl_selector sel;
	const char *match; /* one letter per matching object, in order */
};

static void test_selector_matches(void **state)
{
	static struct fl_kv app_web[] = {{"app", "web"}};
	static struct fl_kv canary_empty[] = {{"canary", ""}};
	static struct fl_kv web_db[] = {{"app", "web"}, {"app", "db"}};
	static struct fl_label_expr tier_in[] = {{"tier", "In", front_back, 2}};
	static struct fl_label_expr tier_notin[] = {
		{"tier", "NotIn", front_only, 1}};
	static struct fl_label_expr canary_exists[] = {
		{"canary", "Exists", NULL, 0}};
	static struct fl_label_expr canary_absent[] = {
		{"canary", "DoesNotExist", NULL, 0}};
	static struct fl_label_expr app_in_web[] = {{"app", "In", web_vals, 1}};
	static struct fl_label_expr app_notin_web[] = {
		{"app", "NotIn", web_vals, 1}};
	static struct fl_label_expr canary_in_empty[] = {
		{"canary", "In", empty_only, 1}};
	static struct fl_label_expr two[] = {{"app", "In", web_vals, 1},
					     {"tier", "NotIn", front_only, 1}};
	static struct fl_label_expr unknown_op[] = {
		{"app", "Equals", web_vals, 1}};
	static struct fl_label_expr in_nothing[] = {{"app", "In", NULL, 0}};
	static const struct sel_case cases[] = {
		{"empty", {NULL, 0, NULL, 0}, "abcde"},
		{"app=web", {app_web, 1, NULL, 0}, "ab"},
		{"canary=\"\"", {canary_empty, 1, NULL, 0}, "c"},
		{"app=web and app=db", {web_db, 2, NULL, 0}, ""},
		{"tier in", {NULL, 0, tier_in, 1}, "a"},
		{"tier notin (missing matches)",
		 {NULL, 0, tier_notin, 1},
		 "bcde"},
		{"canary exists", {NULL, 0, canary_exists, 1}, "c"},
		{"canary absent", {NULL, 0, canary_absent, 1}, "abde"},
		{"app in (web)", {NULL, 0, app_in_web, 1}, "ab"},
		{"app notin (web), non-string value",
		 {NULL, 0, app_notin_web, 1},
		 "cde"},
		{"canary in (\"\")", {NULL, 0, canary_in_empty, 1}, "c"},
		{"labels and expressions", {app_web, 1, tier_notin, 1}, "b"},
		{"two expressions", {NULL, 0, two, 2}, "b"},
		{"unknown operator", {NULL, 0, unknown_op, 1}, ""},
		{"in without values", {NULL, 0, in_nothing, 1}, ""},
	};
	struct json_object *objs[N(objects)];
	size_t i, j;

	(void)state;
	for (j = 0; j < N(objects); j++)
		objs[j] = parse(objects[j]);
	for (i = 0; i < N(cases); i++) {
		char got[8] = "";
		size_t n = 0;

		for (j = 0; j < N(objects); j++) {
			if (fl_selector_matches(&cases[i].sel, objs[j]))
				got[n++] = (char)('a' + j);
		}
		if (strcmp(got, cases[i].match)) {
			print_error("%s: matched '%s', want '%s'\n",
				    cases[i].what, got, cases[i].match);
			fail();
		}
	}
	assert_true(fl_selector_matches(NULL, objs[0]));
	assert_false(fl_selector_matches(&cases[1].sel, NULL));
	for (j = 0; j < N(objects); j++)
		json_object_put(objs[j]);
}

static void test_selector_string(void **state)
{
	static struct fl_kv labels[] = {{"app", "web"},
					{"example.com/team", "a-b_c.d"}};
	static struct fl_kv empty_value[] = {{"app", ""}};
	static struct fl_label_expr exprs[] = {
		{"tier", "In", front_back, 2},
		{"tier", "NotIn", front_only, 1},
		{"canary", "Exists", NULL, 0},
		{"legacy", "DoesNotExist", NULL, 0},
	};
	struct fl_selector all = {labels, 2, exprs, 4};
	struct fl_selector only_exprs = {NULL, 0, exprs, 4};
	struct fl_selector ev = {empty_value, 1, NULL, 0};
	struct fl_selector none = {NULL, 0, NULL, 0};
	const char *want = "app=web,example.com/team=a-b_c.d,tier in "
			   "(front,back),tier notin (front),canary,!legacy";
	char out[256];
	size_t n;

	(void)state;
	assert_int_equal(fl_selector_string(&all, out, sizeof(out)), 0);
	assert_string_equal(out, want);
	assert_int_equal(fl_selector_string(&only_exprs, out, sizeof(out)), 0);
	assert_string_equal(out, "tier in (front,back),tier notin (front),"
				 "canary,!legacy");
	assert_int_equal(fl_selector_string(&ev, out, sizeof(out)), 0);
	assert_string_equal(out, "app=");
	memset(out, 'x', sizeof(out));
	assert_int_equal(fl_selector_string(&none, out, sizeof(out)), 0);
	assert_string_equal(out, "");
	assert_int_equal(fl_selector_string(NULL, out, sizeof(out)), 0);
	assert_string_equal(out, "");

	/* Exactly enough room, and one byte less: never a cut selector. */
	n = strlen(want) + 1;
	assert_int_equal(fl_selector_string(&all, out, n), 0);
	assert_string_equal(out, want);
	for (n = 0; n < strlen(want) + 1; n++) {
		memset(out, 'x', sizeof(out));
		if (fl_selector_string(&all, out, n) != -1) {
			print_error("fitted into %zu bytes\n", n);
			fail();
		}
		if (n && out[0]) {
			print_error("left '%.*s' in %zu bytes\n", (int)n, out,
				    n);
			fail();
		}
	}
}

/* What a selector string cannot say faithfully is refused. */
static void test_selector_string_refused(void **state)
{
	static const char *bad_vals[] = {"a,b"};
	static const char *paren[] = {"x)"};
	static struct fl_kv space[] = {{"app", "web server"}};
	static struct fl_kv comma_key[] = {{"app,x", "web"}};
	static struct fl_kv empty_key[] = {{"", "web"}};
	static struct fl_kv bang[] = {{"app", "!web"}};
	static struct fl_label_expr comma_val[] = {{"tier", "In", bad_vals, 1}};
	static struct fl_label_expr paren_val[] = {{"tier", "NotIn", paren, 1}};
	static struct fl_label_expr no_vals[] = {{"tier", "In", NULL, 0}};
	static struct fl_label_expr no_vals_not[] = {
		{"tier", "NotIn", NULL, 0}};
	static struct fl_label_expr unknown[] = {{"tier", "Gt", front_only, 1}};
	static struct fl_label_expr spaced_key[] = {
		{"ti er", "Exists", NULL, 0}};
	const struct fl_selector cases[] = {
		{space, 1, NULL, 0},	 {comma_key, 1, NULL, 0},
		{empty_key, 1, NULL, 0}, {bang, 1, NULL, 0},
		{NULL, 0, comma_val, 1}, {NULL, 0, paren_val, 1},
		{NULL, 0, no_vals, 1},	 {NULL, 0, no_vals_not, 1},
		{NULL, 0, unknown, 1},	 {NULL, 0, spaced_key, 1},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		char out[128];

		if (fl_selector_string(&cases[i], out, sizeof(out)) != -1 ||
		    out[0]) {
			print_error("case %zu accepted: '%s'\n", i, out);
			fail();
		}
	}
}

/* --- eligibility --- */

static const char *protected_ns[] = {"kube-system", "kube-public"};

static const struct fl_scope scope = {
	protected_ns, 2, 0, "faultline", "faultline-operator-abc", "node-1",
};

#define READY(s) "{\"type\": \"Ready\", \"status\": \"" s "\"}"
#define POD(ns, name, extra, phase, conds)                             \
	"{\"metadata\": {\"namespace\": \"" ns "\", \"name\": \"" name \
	"\"" extra "}, \"status\": {\"phase\": \"" phase               \
	"\", \"conditions\": [" conds "]}}"
#define SCHED "{\"type\": \"PodScheduled\", \"status\": \"True\"}"

struct elig_case {
	const char *obj;
	int want;
	const char *why;
};

static void check_elig(int (*fn)(const struct fl_scope *, struct json_object *,
				 char *, size_t),
		       const struct elig_case *cases, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		struct json_object *o = parse(cases[i].obj);
		char why[128];
		int got;

		memset(why, 'x', sizeof(why));
		got = fn(&scope, o, why, sizeof(why));
		if (got != cases[i].want || strcmp(why, cases[i].why)) {
			print_error("%s: got %d '%s', want %d '%s'\n",
				    cases[i].obj, got, why, cases[i].want,
				    cases[i].why);
			fail();
		}
		/* No reason buffer: same answer, nothing written. */
		assert_int_equal(fn(&scope, o, NULL, 0), cases[i].want);
		json_object_put(o);
	}
}

static void test_pod_eligible(void **state)
{
	static const struct elig_case cases[] = {
		{POD("shop", "web-1", "", "Running", SCHED "," READY("True")),
		 1, ""},
		{POD("shop", "web-1", "", "Running", READY("False")), 0,
		 "pod 'shop/web-1' is not ready"},
		{POD("shop", "web-1", "", "Running", SCHED), 0,
		 "pod 'shop/web-1' is not ready"},
		{POD("shop", "web-1", "", "Running", READY("Unknown")), 0,
		 "pod 'shop/web-1' is not ready"},
		{POD("shop", "web-1", "", "Pending", READY("False")), 0,
		 "pod 'shop/web-1' is not running (phase Pending)"},
		{POD("shop", "web-1", "", "Succeeded", READY("True")), 0,
		 "pod 'shop/web-1' is not running (phase Succeeded)"},
		{"{\"metadata\": {\"namespace\": \"shop\", \"name\": "
		 "\"web-1\"}}",
		 0, "pod 'shop/web-1' is not running (phase unknown)"},
		{POD("shop", "web-1",
		     ", \"deletionTimestamp\": \"2026-12-03T10:00:00Z\"",
		     "Running", READY("True")),
		 0, "pod 'shop/web-1' is terminating"},
		{POD("faultline", "faultline-operator-abc", "", "Running",
		     READY("True")),
		 0,
		 "pod 'faultline/faultline-operator-abc' is the operator "
		 "itself"},
		/* The same name elsewhere is someone else's pod. */
		{POD("shop", "faultline-operator-abc", "", "Running",
		     READY("True")),
		 1, ""},
		{"{\"metadata\": {\"name\": \"x\"}, \"status\": {\"phase\": "
		 "\"Running\"}}",
		 0, "pod has no name or namespace"},
		{"{\"metadata\": {\"namespace\": \"shop\", \"name\": \"w\"}, "
		 "\"status\": {\"phase\": \"Running\", \"conditions\": "
		 "{\"Ready\": \"True\"}}}",
		 0, "pod 'shop/w' is not ready"},
		{"[]", 0, "pod has no name or namespace"},
	};

	(void)state;
	check_elig(fl_pod_eligible, cases, N(cases));
}

#define NODE(name, spec, conds)                                     \
	"{\"metadata\": {\"name\": \"" name "\"}, \"spec\": {" spec \
	"}, \"status\": {\"conditions\": [" conds "]}}"
#define PRESSURE "{\"type\": \"MemoryPressure\", \"status\": \"False\"}"

static void test_node_eligible(void **state)
{
	static const struct elig_case cases[] = {
		{NODE("node-2", "", PRESSURE "," READY("True")), 1, ""},
		{NODE("node-2", "\"unschedulable\": false", READY("True")), 1,
		 ""},
		{NODE("node-2", "", READY("False")), 0,
		 "node 'node-2' is not ready"},
		{NODE("node-2", "", READY("Unknown")), 0,
		 "node 'node-2' is not ready"},
		{NODE("node-2", "", PRESSURE), 0, "node 'node-2' is not ready"},
		{NODE("node-2", "\"unschedulable\": true", READY("True")), 0,
		 "node 'node-2' is cordoned"},
		{NODE("node-1", "", READY("True")), 0,
		 "node 'node-1' runs the operator"},
		{"{\"metadata\": {\"name\": \"node-3\", \"deletionTimestamp\": "
		 "\"2026-12-03T10:00:00Z\"}, \"status\": {\"conditions\": "
		 "[" READY("True") "]}}",
		 0, "node 'node-3' is being deleted"},
		{"{\"status\": {}}", 0, "node has no name"},
	};

	(void)state;
	check_elig(fl_node_eligible, cases, N(cases));
}

struct ns_case {
	int opt_in;
	const char *ns;
	const char *obj; /* NULL: no Namespace object */
	int want;
	const char *why;
};

#define NSOBJ(name, ann) \
	"{\"metadata\": {\"name\": \"" name "\", \"annotations\": {" ann "}}}"
#define ALLOWED "\"faultline.dev/chaos\": \"allowed\""

static void test_namespace_allowed(void **state)
{
	static const struct ns_case cases[] = {
		{0, "shop", NULL, 1, ""},
		{0, "kube-system", NULL, 0,
		 "namespace 'kube-system' is protected"},
		{0, "kube-public", NULL, 0,
		 "namespace 'kube-public' is protected"},
		{0, "faultline", NULL, 0,
		 "namespace 'faultline' is the operator's own"},
		{0, "", NULL, 0, "object has no namespace"},
		{1, "shop", NSOBJ("shop", ALLOWED), 1, ""},
		{1, "shop", NSOBJ("shop", ""), 0,
		 "namespace 'shop' is not annotated faultline.dev/chaos: "
		 "allowed"},
		{1, "shop", NSOBJ("shop", "\"faultline.dev/chaos\": \"yes\""),
		 0,
		 "namespace 'shop' is not annotated faultline.dev/chaos: "
		 "allowed"},
		{1, "shop", "{\"metadata\": {\"name\": \"shop\"}}", 0,
		 "namespace 'shop' is not annotated faultline.dev/chaos: "
		 "allowed"},
		{1, "shop", NULL, 0,
		 "namespace 'shop' is not opted in: no namespace object"},
		/* An annotation never lifts the protection. */
		{1, "kube-system", NSOBJ("kube-system", ALLOWED), 0,
		 "namespace 'kube-system' is protected"},
		{1, "faultline", NSOBJ("faultline", ALLOWED), 0,
		 "namespace 'faultline' is the operator's own"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		struct fl_scope sc = scope;
		struct json_object *o = NULL;
		char why[128];
		int got;

		sc.opt_in = cases[i].opt_in;
		if (cases[i].obj)
			o = parse(cases[i].obj);
		got = fl_scope_namespace_allowed(&sc, cases[i].ns, o, why,
						 sizeof(why));
		if (got != cases[i].want || strcmp(why, cases[i].why)) {
			print_error("case %zu (%s): got %d '%s', want %d "
				    "'%s'\n",
				    i, cases[i].ns, got, why, cases[i].want,
				    cases[i].why);
			fail();
		}
		json_object_put(o);
	}
}

/* --- the count rule --- */

struct count_case {
	int64_t population;
	struct fl_mode mode;
	int pct;
	int64_t min_healthy;
	int64_t wanted, cap, room, count;
	const char *why;
};

static void test_plan_count(void **state)
{
	static const struct count_case cases[] = {
		{20,
		 {FL_MODE_PERCENT, 50},
		 10,
		 0,
		 10,
		 2,
		 20,
		 2,
		 "mode asks for 10; capped at 2 by maxBlastRadius 10% of 20"},
		{20,
		 {FL_MODE_ALL, 0},
		 100,
		 17,
		 20,
		 20,
		 3,
		 3,
		 "mode asks for 20; capped at 3: minHealthy 17 of 20 must stay "
		 "untouched"},
		{20,
		 {FL_MODE_ONE, 0},
		 10,
		 20,
		 1,
		 2,
		 0,
		 0,
		 "mode asks for 1; none allowed: minHealthy 20 of 20 must stay "
		 "untouched"},
		{20,
		 {FL_MODE_ONE, 0},
		 10,
		 25,
		 1,
		 2,
		 0,
		 0,
		 "mode asks for 1; none allowed: minHealthy 25 of 20 must stay "
		 "untouched"},
		{3,
		 {FL_MODE_COUNT, 5},
		 100,
		 0,
		 5,
		 3,
		 3,
		 3,
		 "mode asks for 5; only 3 eligible"},
		{200, {FL_MODE_PERCENT, 10}, 10, 0, 20, 20, 200, 20, ""},
		{20, {FL_MODE_ONE, 0}, 10, 2, 1, 2, 18, 1, ""},
		/* Percent rounds up, the cap down but never below 1. */
		{3, {FL_MODE_PERCENT, 50}, 100, 0, 2, 3, 3, 2, ""},
		{1, {FL_MODE_PERCENT, 1}, 100, 0, 1, 1, 1, 1, ""},
		{19,
		 {FL_MODE_ALL, 0},
		 10,
		 0,
		 19,
		 1,
		 19,
		 1,
		 "mode asks for 19; capped at 1 by maxBlastRadius 10% of 19"},
		{5, {FL_MODE_ONE, 0}, 1, 0, 1, 1, 5, 1, ""},
		{101,
		 {FL_MODE_PERCENT, 1},
		 1,
		 0,
		 2,
		 1,
		 101,
		 1,
		 "mode asks for 2; capped at 1 by maxBlastRadius 1% of 101"},
		{0, {FL_MODE_ALL, 0}, 10, 0, 0, 0, 0, 0, ""},
		{0,
		 {FL_MODE_ONE, 0},
		 10,
		 0,
		 1,
		 0,
		 0,
		 0,
		 "mode asks for 1 but no target is eligible"},
		{0,
		 {FL_MODE_COUNT, 3},
		 100,
		 2,
		 3,
		 0,
		 0,
		 0,
		 "mode asks for 3 but no target is eligible"},
		{-4, {FL_MODE_ALL, 0}, 10, 0, 0, 0, 0, 0, ""},
		{10, {FL_MODE_COUNT, -3}, 100, 0, 0, 10, 10, 0, ""},
		{10, {FL_MODE_PERCENT, 250}, 100, -1, 10, 10, 10, 10, ""},
		{10,
		 {FL_MODE_ALL, 0},
		 0,
		 0,
		 10,
		 1,
		 10,
		 1,
		 "mode asks for 10; capped at 1 by maxBlastRadius 1% of 10"},
		{10, {FL_MODE_ALL, 0}, 300, 0, 10, 10, 10, 10, ""},
		/* No overflow at the limits of the types. */
		{1000000,
		 {FL_MODE_PERCENT, 100},
		 100,
		 0,
		 1000000,
		 1000000,
		 1000000,
		 1000000,
		 ""},
		{1000000,
		 {FL_MODE_COUNT, 10000},
		 1,
		 999999,
		 10000,
		 10000,
		 1,
		 1,
		 "mode asks for 10000; capped at 1: minHealthy 999999 of "
		 "1000000 must stay untouched"},
		{INT64_MAX,
		 {FL_MODE_PERCENT, 100},
		 100,
		 0,
		 INT64_MAX,
		 INT64_MAX,
		 INT64_MAX,
		 INT64_MAX,
		 ""},
		{INT64_MAX,
		 {FL_MODE_PERCENT, 1},
		 99,
		 0,
		 92233720368547759,
		 9131138316486228048,
		 INT64_MAX,
		 92233720368547759,
		 ""},
		{INT64_MAX,
		 {FL_MODE_COUNT, INT64_MAX},
		 50,
		 INT64_MAX,
		 INT64_MAX,
		 4611686018427387903,
		 0,
		 0,
		 "mode asks for 9223372036854775807; none allowed: minHealthy "
		 "9223372036854775807 of 9223372036854775807 must stay "
		 "untouched"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < N(cases); i++) {
		const struct count_case *c = &cases[i];
		struct fl_plan_count p;

		memset(&p, 0x55, sizeof(p));
		fl_plan_count(c->population, &c->mode, c->pct, c->min_healthy,
			      &p);
		if (p.wanted != c->wanted || p.cap != c->cap ||
		    p.room != c->room || p.count != c->count ||
		    strcmp(p.why, c->why)) {
			print_error("case %zu: wanted %" PRId64 " cap %" PRId64
				    " room %" PRId64 " count %" PRId64
				    " why '%s'\n",
				    i, p.wanted, p.cap, p.room, p.count, p.why);
			fail();
		}
	}
}

/* --- the random choice --- */

static void check_choice(size_t n, size_t k, uint64_t seed, const size_t *out,
			 const char *ctx)
{
	size_t i;

	for (i = 0; i < k; i++) {
		if (out[i] >= n || (i && out[i] <= out[i - 1])) {
			print_error("%s: choose %zu of %zu (seed %" PRIu64
				    "): index %zu is %zu\n",
				    ctx, k, n, seed, i, out[i]);
			fail();
		}
	}
}

static void test_choose_edges(void **state)
{
	size_t out[70], again[70], i;
	int differ = 0;

	(void)state;
	/* k == 0 writes nothing, n == 0 too. */
	out[0] = 12345;
	fl_choose(10, 0, 1, out);
	fl_choose(0, 0, 1, out);
	assert_int_equal(out[0], 12345);

	/* k == n is everything, across a bitmap word boundary. */
	fl_choose(70, 70, 9, out);
	for (i = 0; i < 70; i++)
		assert_int_equal(out[i], i);
	fl_choose(1, 1, 9, out);
	assert_int_equal(out[0], 0);

	/* The same seed, the same choice; other seeds, other choices. */
	fl_choose(70, 5, 42, out);
	check_choice(70, 5, 42, out, "edges");
	for (i = 0; i < 20; i++) {
		fl_choose(70, 5, 42, again);
		assert_memory_equal(out, again, 5 * sizeof(out[0]));
		fl_choose(70, 5, 43 + i, again);
		differ += memcmp(out, again, 5 * sizeof(out[0])) != 0;
	}
	assert_true(differ >= 19);
}

/*
 * Each index should be chosen k/n of the time.  With seeds 0..TRIALS-1
 * the outcome is fixed, so this cannot flake; the bounds are about five
 * standard deviations wide, while an order-biased choice (say, always the
 * first k) is off by a factor.
 */
#define TRIALS 60000

static void test_choose_uniform(void **state)
{
	const size_t n = 10, k = 3;
	unsigned hits[10] = {0}, pairs01 = 0;
	size_t out[3], i;
	uint64_t s;

	(void)state;
	for (s = 0; s < TRIALS; s++) {
		fl_choose(n, k, s, out);
		check_choice(n, k, s, out, "uniform");
		for (i = 0; i < k; i++)
			hits[out[i]]++;
		pairs01 += out[0] == 0 && out[1] == 1;
	}
	/* Expected 18000 per index, sd about 112. */
	for (i = 0; i < n; i++) {
		if (hits[i] < 17400 || hits[i] > 18600) {
			print_error("index %zu chosen %u times of %d\n", i,
				    hits[i], TRIALS);
			fail();
		}
	}
	/* The pair {0, 1} is in 8 of the 120 subsets: expect 4000. */
	assert_in_range(pairs01, 3700, 4300);
}

/* --- the property --- */

#define PROPERTY_CASES 100000
#define MAX_POP 2000

static uint64_t prop_state;

static uint64_t prop_next(void)
{
	/* xorshift64*: another generator than the one under test. */
	prop_state ^= prop_state >> 12;
	prop_state ^= prop_state << 25;
	prop_state ^= prop_state >> 27;
	return prop_state * 0x2545f4914f6cdd1dULL;
}

static int64_t prop_in(int64_t lo, int64_t hi)
{
	return lo + (int64_t)(prop_next() % (uint64_t)(hi - lo + 1));
}

static void random_mode(int64_t population, struct fl_mode *m)
{
	m->kind = (enum fl_mode_kind)prop_in(0, 3);
	m->value = 0;
	if (m->kind == FL_MODE_COUNT)
		m->value = prop_in(1, population + 10);
	else if (m->kind == FL_MODE_PERCENT)
		m->value = prop_in(1, 100);
}

#define PROP_FAIL(...)                                                     \
	do {                                                               \
		print_error("property case %d: pop %" PRId64               \
			    " mode %d/%" PRId64                            \
			    " maxBlastRadius %d minHealthy %" PRId64 ": ", \
			    i, pop, (int)mode.kind, mode.value, pct, mh);  \
		print_error(__VA_ARGS__);                                  \
		fail();                                                    \
	} while (0)

static void test_plan_property(void **state)
{
	uint64_t seed = 0xfa017112026ULL;
	const char *env = getenv("FL_TEST_SEED");
	size_t *out = fl_calloc(MAX_POP, sizeof(*out));
	size_t *again = fl_calloc(MAX_POP, sizeof(*again));
	int i;

	(void)state;
	if (env)
		seed = strtoull(env, NULL, 0);
	printf("target count property: %d cases, seed 0x%" PRIx64
	       " (FL_TEST_SEED=0x%" PRIx64 " replays it)\n",
	       PROPERTY_CASES, seed, seed);
	prop_state = seed ? seed : 1;
	for (i = 0; i < PROPERTY_CASES; i++) {
		int64_t pop = prop_in(0, MAX_POP), mh;
		int pct = (int)prop_in(1, 100);
		struct fl_mode mode;
		struct fl_plan_count p;
		uint64_t cseed = prop_next();
		int64_t want_mode;

		random_mode(pop, &mode);
		mh = prop_in(0, pop + 5);
		fl_plan_count(pop, &mode, pct, mh, &p);

		switch (mode.kind) {
		case FL_MODE_ALL:
			want_mode = pop;
			break;
		case FL_MODE_ONE:
			want_mode = 1;
			break;
		case FL_MODE_COUNT:
			want_mode = mode.value;
			break;
		default:
			want_mode = (pop * mode.value + 99) / 100;
			break;
		}
		if (p.wanted != want_mode)
			PROP_FAIL("wanted %" PRId64 "\n", p.wanted);
		if (p.cap !=
		    (pop && pop * pct / 100 == 0 ? 1 : pop * pct / 100))
			PROP_FAIL("cap %" PRId64 "\n", p.cap);
		if (pop > 0 && p.cap < 1)
			PROP_FAIL("cap %" PRId64 " below 1\n", p.cap);
		if (p.count < 0 || p.count > p.cap || p.count > p.wanted)
			PROP_FAIL("count %" PRId64 " over cap %" PRId64
				  " or wanted %" PRId64 "\n",
				  p.count, p.cap, p.wanted);
		if (p.count > 0 && pop - p.count < mh)
			PROP_FAIL("count %" PRId64 " leaves fewer than "
				  "minHealthy\n",
				  p.count);
		if (p.room == 0 && p.count != 0)
			PROP_FAIL("count %" PRId64 " with no room\n", p.count);
		if (p.wanted > 0 && p.cap > 0 && p.room > 0 && p.count == 0)
			PROP_FAIL("count 0 although allowed\n");
		if (p.count !=
		    (p.wanted < p.cap ? (p.wanted < p.room ? p.wanted : p.room)
				      : (p.cap < p.room ? p.cap : p.room)))
			PROP_FAIL("count %" PRId64 " is not the minimum\n",
				  p.count);
		if ((p.count < p.wanted) != (p.why[0] != '\0'))
			PROP_FAIL("why '%s' with count %" PRId64 " of %" PRId64
				  "\n",
				  p.why, p.count, p.wanted);

		fl_choose((size_t)pop, (size_t)p.count, cseed, out);
		check_choice((size_t)pop, (size_t)p.count, cseed, out,
			     "property");
		fl_choose((size_t)pop, (size_t)p.count, cseed, again);
		if (memcmp(out, again, (size_t)p.count * sizeof(*out)))
			PROP_FAIL("choice differs for the same seed\n");
	}
	free(out);
	free(again);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_selector_matches),
		cmocka_unit_test(test_selector_string),
		cmocka_unit_test(test_selector_string_refused),
		cmocka_unit_test(test_pod_eligible),
		cmocka_unit_test(test_node_eligible),
		cmocka_unit_test(test_namespace_allowed),
		cmocka_unit_test(test_plan_count),
		cmocka_unit_test(test_choose_edges),
		cmocka_unit_test(test_choose_uniform),
		cmocka_unit_test(test_plan_property),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
