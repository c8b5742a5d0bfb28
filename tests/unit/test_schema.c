#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rules.h"
#include "schema.h"
#include "yamljson.h"

/* A small CRD that uses every keyword the validator implements. */
static const char crd[] =
	"spec:\n"
	"  versions:\n"
	"    - name: v1\n"
	"      schema:\n"
	"        openAPIV3Schema:\n"
	"          type: object\n"
	"          required: [name]\n"
	"          properties:\n"
	"            name: {type: string, maxLength: 5, pattern: '^[a-z]+$',\n"
	"                   description: a lowercase word}\n"
	"            code: {type: string, pattern: '^[0-9]+$'}\n"
	"            color: {type: string, enum: [red, blue], default: red}\n"
	"            size: {type: integer, minimum: 1, maximum: 10}\n"
	"            share: {type: number, minimum: 0, exclusiveMinimum: true}\n"
	"            net: {type: string, format: cidr}\n"
	"            labels:\n"
	"              type: object\n"
	"              maxProperties: 2\n"
	"              additionalProperties: {type: string}\n"
	"            tags:\n"
	"              type: array\n"
	"              minItems: 1\n"
	"              maxItems: 3\n"
	"              x-kubernetes-list-type: set\n"
	"              items: {type: string}\n"
	"            items:\n"
	"              type: array\n"
	"              x-kubernetes-list-type: map\n"
	"              x-kubernetes-list-map-keys: [id]\n"
	"              items:\n"
	"                type: object\n"
	"                properties: {id: {type: string}}\n"
	"            free: {type: object}\n";

static struct fl_schema schema;

static int setup(void **state)
{
	struct fl_errors errs = {0};

	(void)state;
	return fl_schema_init(&schema, crd, strlen(crd), "v1", &errs);
}

static int teardown(void **state)
{
	(void)state;
	fl_schema_release(&schema);
	return 0;
}

/* Validates one document; returns "path: msg" of the first error, or ""
 * when valid. */
static const char *check(const char *yaml, struct json_object **keep)
{
	static char out[800];
	struct fl_errors errs = {0};
	struct json_object *docs, *doc;

	assert_int_equal(fl_yaml_parse(yaml, strlen(yaml), NULL, &docs, &errs),
			 0);
	doc = json_object_array_get_idx(docs, 0);
	out[0] = '\0';
	if (fl_schema_validate(&schema, doc, &errs) < 0)
		snprintf(out, sizeof(out), "%s: %s", errs.e[0].path,
			 errs.e[0].msg);
	else
		assert_int_equal(errs.n, 0);
	if (keep)
		*keep = json_object_get(doc);
	json_object_put(docs);
	return out;
}

static void test_keywords(void **state)
{
	static const struct {
		const char *yaml;
		const char *error; /* a substring; "" for valid */
	} cases[] = {
		{"name: abc", ""},
		{"name: abc\nfree: {anything: [1, 2]}", ""},
		{"{}", "name: required field is missing"},
		{"name: abc\nextra: 1", "extra: unknown field"},
		{"name: 12", "name: must be of type string, not integer"},
		{"name: abcdef", "name: too long: must have at most 5"},
		{"name: ABC", "name: \"ABC\" is not a lowercase word"},
		{"name: a\ncode: x1", "code: \"x1\" should match '^[0-9]+$'"},
		{"name: a\ncolor: green",
		 "color: unsupported value \"green\": "
		 "supported values: \"red\", \"blue\""},
		{"name: a\nsize: 0",
		 "size: 0 must be greater than or equal to 1"},
		{"name: a\nsize: 11",
		 "size: 11 must be less than or equal to 10"},
		{"name: a\nsize: 2.5",
		 "size: must be of type integer, not number"},
		{"name: a\nsize: 2.0", ""},
		{"name: a\nshare: 0", "share: 0 must be greater than 0"},
		{"name: a\nshare: 0.5", ""},
		{"name: a\nnet: 10.0.0.0/8", ""},
		{"name: a\nnet: fd00::/64", ""},
		{"name: a\nnet: 10.0.0.0/33",
		 "net: \"10.0.0.0/33\" is not a CIDR"},
		{"name: a\nnet: 010.0.0.0/8", "is not a CIDR"},
		{"name: a\nlabels: {a: x, b: y, c: z}",
		 "labels: must have at most 2 properties"},
		{"name: a\nlabels: {a: 1}", "labels.a: must be of type string"},
		{"name: a\ntags: []", "tags: must have at least 1 item"},
		{"name: a\ntags: [a, b, c, d]",
		 "tags: must have at most 3 items"},
		{"name: a\ntags: [a, b, a]", "tags[2]: duplicate value \"a\""},
		{"name: a\nitems: [{id: x}, {id: p}, {id: x}]",
		 "items[2]: duplicate entry with id \"x\""},
		{"name: a\nitems: [{id: x}, {bad: 1}]",
		 "items[1].bad: unknown"},
		/* A null means "not set", as on the API server. */
		{"name: a\nsize: ~", ""},
		{"name: ~", "name: required field is missing"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		const char *got = check(cases[i].yaml, NULL);

		if (!cases[i].error[0]) {
			if (got[0])
				fail_msg("%s: unexpected error %s",
					 cases[i].yaml, got);
			continue;
		}
		if (!strstr(got, cases[i].error))
			fail_msg("%s: want \"%s\", got \"%s\"", cases[i].yaml,
				 cases[i].error, got);
	}
}

static void test_defaults_are_filled(void **state)
{
	struct json_object *doc, *color = NULL;

	(void)state;
	assert_string_equal(check("name: a", &doc), "");
	assert_true(json_object_object_get_ex(doc, "color", &color));
	assert_string_equal(json_object_get_string(color), "red");
	json_object_put(doc);
}

static void test_error_carries_line(void **state)
{
	const char *yaml = "name: a\n\n\nsize: 99\n";
	struct fl_errors errs = {0};
	struct json_object *docs;

	(void)state;
	assert_int_equal(fl_yaml_parse(yaml, strlen(yaml), NULL, &docs, &errs),
			 0);
	assert_int_equal(fl_schema_validate(&schema,
					    json_object_array_get_idx(docs, 0),
					    &errs),
			 -1);
	assert_int_equal(errs.e[0].line, 4);
	json_object_put(docs);
}

static void test_missing_version(void **state)
{
	struct fl_schema s;
	struct fl_errors errs = {0};

	(void)state;
	assert_int_equal(fl_schema_init(&s, crd, strlen(crd), "v2", &errs), -1);
	assert_non_null(strstr(errs.e[0].msg, "no schema for version 'v2'"));
}

static void test_rule_without_twin_is_refused(void **state)
{
	static const char bad[] =
		"spec: {versions: [{name: v1, schema: {openAPIV3Schema: "
		"{type: object, x-kubernetes-validations: "
		"[{rule: 'true', message: 'nobody wrote this in C'}]}}}]}";
	struct fl_schema s;
	struct fl_errors errs = {0};

	(void)state;
	assert_int_equal(fl_schema_init(&s, bad, strlen(bad), "v1", &errs), -1);
	assert_non_null(strstr(errs.e[0].msg, "no C twin"));
}

struct seen {
	int used[64];
	int rules;
};

static void mark(const char *message, void *arg)
{
	struct seen *seen = arg;
	size_t i;

	seen->rules++;
	for (i = 0; fl_rule_at(i); i++)
		if (strcmp(fl_rule_at(i)->message, message) == 0)
			seen->used[i] = 1;
}

/* Every CEL rule of the real CRD has a twin (fl_schema_experiment() would
 * fail otherwise), and every twin still has its rule. */
static void test_every_twin_has_its_rule(void **state)
{
	struct fl_errors errs = {0};
	struct fl_schema *s = fl_schema_experiment(&errs);
	struct seen seen = {0};
	size_t i;

	(void)state;
	assert_non_null(s);
	fl_schema_each_rule(s, mark, &seen);
	assert_true(seen.rules >= 14);
	for (i = 0; fl_rule_at(i); i++)
		if (!seen.used[i])
			fail_msg("twin \"%s\" has no rule in the crd",
				 fl_rule_at(i)->message);
}

/* Fault parameters against the embedded CRD: "" for valid, else a
 * substring of "path: msg" of the first error. */
static void test_fault_params(void **state)
{
	static const struct {
		const char *kind, *json, *error;
	} cases[] = {
		{"cpuStress", "{\"load\": 50, \"workers\": 2}", ""},
		{"cpuStress", "{\"load\": 150}",
		 "f.load: 150 must be less than or equal to 100"},
		{"cpuStress", "{}", "f.load: required field"},
		{"cpuStress", "{\"load\": 5, \"x\": 1}", "f.x: unknown field"},
		{"networkLoss", "{\"percent\": 150}",
		 "f.percent: 150 must be less than or equal"},
		{"memoryStress", "{\"size\": \"64Mi\", \"percent\": 5}",
		 "memoryStress must set exactly one of size, percent"},
		{"memoryStress", "{\"size\": \"-1\"}",
		 "f.size: \"-1\" is not a size"},
		{"noSuchFault", "{}", "f: unknown fault kind 'noSuchFault'"},
		{"hypothesis", "{}", "unknown fault kind"},
	};
	struct fl_errors none = {0};
	const struct fl_schema *s = fl_schema_experiment(&none);
	size_t i;

	(void)state;
	assert_non_null(s);
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *p = json_tokener_parse(cases[i].json);
		struct fl_errors errs = {0};
		char got[800] = "";
		int rc;

		assert_non_null(p);
		rc = fl_schema_validate_fault_params(s, cases[i].kind, p, "f",
						     &errs);
		if (rc < 0)
			snprintf(got, sizeof(got), "%s: %s", errs.e[0].path,
				 errs.e[0].msg);
		json_object_put(p);
		if (!cases[i].error[0] && rc != 0)
			fail_msg("%s %s: unexpected error %s", cases[i].kind,
				 cases[i].json, got);
		if (cases[i].error[0] && !strstr(got, cases[i].error))
			fail_msg("%s %s: want \"%s\", got \"%s\"",
				 cases[i].kind, cases[i].json, cases[i].error,
				 got);
	}
}

static void test_fault_params_fill_defaults(void **state)
{
	struct json_object *p = json_tokener_parse("{\"process\": \"app\"}");
	struct fl_errors errs = {0};

	(void)state;
	assert_int_equal(
		fl_schema_validate_fault_params(fl_schema_experiment(&errs),
						"processKill", p, "", &errs),
		0);
	assert_string_equal(
		json_object_get_string(json_object_object_get(p, "signal")),
		"SIGKILL");
	json_object_put(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keywords),
		cmocka_unit_test(test_fault_params),
		cmocka_unit_test(test_fault_params_fill_defaults),
		cmocka_unit_test(test_defaults_are_filled),
		cmocka_unit_test(test_error_carries_line),
		cmocka_unit_test(test_missing_version),
		cmocka_unit_test(test_rule_without_twin_is_refused),
		cmocka_unit_test(test_every_twin_has_its_rule),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
