#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "compare.h"

static void test_value_cmp_valid(void **state)
{
	static const struct {
		const char *text;
		enum fl_cmp_op op;
		double number;
	} cases[] = {
		{"< 0.5", FL_CMP_LT, 0.5},	{"<=1", FL_CMP_LE, 1},
		{"  >  2  ", FL_CMP_GT, 2},	{">= -3.25", FL_CMP_GE, -3.25},
		{"== 0", FL_CMP_EQ, 0},		{"!=\t10", FL_CMP_NE, 10},
		{"<0.000001", FL_CMP_LT, 1e-6},
	};
	struct fl_cmp c;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		assert_int_equal(
			fl_cmp_parse(cases[i].text, &c, err, sizeof(err)), 0);
		assert_int_equal(c.op, cases[i].op);
		assert_int_equal(c.kind, FL_CMP_NUMBER);
		assert_true(c.number == cases[i].number);
	}
}

static void test_value_cmp_invalid(void **state)
{
	static const struct {
		const char *text;
		const char *says;
	} cases[] = {
		{"", "empty comparison"},
		{"   ", "empty comparison"},
		{"0.5", "expected an operator"},
		{"=< 0.5", "expected an operator"},
		{"= 1", "expected an operator"},
		{"! 1", "expected an operator"},
		{"<< 0.5", "expected a number after '<'"},
		{"< abc", "expected a number after '<'"},
		{"< .5", "expected a number"},
		{"< 5.", "expected a number"},
		{"< 1e3", "unexpected text after the number"},
		{"< 0.5 and more", "unexpected text after the number"},
		{"< 1 2", "unexpected text"},
		{"< 12345678901234567890123456789012345678901234567890",
		 "the number is too long"},
	};
	struct fl_cmp c;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(
			fl_cmp_parse(cases[i].text, &c, err, sizeof(err)), -1);
		if (!strstr(err, cases[i].says))
			fail_msg("'%s': got '%s', wanted '%s'", cases[i].text,
				 err, cases[i].says);
	}
}

static void test_cmp_number(void **state)
{
	struct fl_cmp c;
	char err[256];

	(void)state;
	assert_int_equal(fl_cmp_parse("< 0.5", &c, err, sizeof(err)), 0);
	assert_true(fl_cmp_number(&c, 0.49));
	assert_false(fl_cmp_number(&c, 0.5));
	assert_false(fl_cmp_number(&c, INFINITY));
	assert_true(fl_cmp_number(&c, -INFINITY));
	assert_false(fl_cmp_number(&c, NAN));
	assert_int_equal(fl_cmp_parse(">= 2", &c, err, sizeof(err)), 0);
	assert_true(fl_cmp_number(&c, 2));
	assert_false(fl_cmp_number(&c, 1.999));
	assert_int_equal(fl_cmp_parse("!= 0", &c, err, sizeof(err)), 0);
	assert_true(fl_cmp_number(&c, 1));
	assert_false(fl_cmp_number(&c, 0));
	/* NaN has no value to judge, so even != does not hold. */
	assert_false(fl_cmp_number(&c, NAN));
	assert_int_equal(fl_cmp_parse("== 3", &c, err, sizeof(err)), 0);
	assert_true(fl_cmp_number(&c, 3));
	assert_false(fl_cmp_number(&c, 3.0001));
}

static void test_field_cmp_valid(void **state)
{
	static const struct {
		const char *text;
		const char *path;
		enum fl_cmp_op op;
		enum fl_cmp_kind kind;
		const char *operand; /* text, or number/bool as printed */
	} cases[] = {
		{".status.availableReplicas >= 2", ".status.availableReplicas",
		 FL_CMP_GE, FL_CMP_NUMBER, "2"},
		{"  .status.readyReplicas>=3  ", ".status.readyReplicas",
		 FL_CMP_GE, FL_CMP_NUMBER, "3"},
		{".status.phase == Running", ".status.phase", FL_CMP_EQ,
		 FL_CMP_STRING, "Running"},
		{".status.conditions[0].status == \"True\"",
		 ".status.conditions[0].status", FL_CMP_EQ, FL_CMP_STRING,
		 "True"},
		{".spec.paused != true", ".spec.paused", FL_CMP_NE, FL_CMP_BOOL,
		 "true"},
		{".metadata.labels[\"app.kubernetes.io/name\"] == 'shop cart'",
		 ".metadata.labels[\"app.kubernetes.io/name\"]", FL_CMP_EQ,
		 FL_CMP_STRING, "shop cart"},
		{".a_b.c-d[12] < -1.5", ".a_b.c-d[12]", FL_CMP_LT,
		 FL_CMP_NUMBER, "-1.5"},
		{".status.message == two words here", ".status.message",
		 FL_CMP_EQ, FL_CMP_STRING, "two words here"},
		{".x == \"2\"", ".x", FL_CMP_EQ, FL_CMP_STRING, "2"},
	};
	struct fl_field_cmp fc;
	char err[256], text[300];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (fl_field_cmp_parse(cases[i].text, &fc, err, sizeof(err)))
			fail_msg("'%s': %s", cases[i].text, err);
		assert_string_equal(fc.path, cases[i].path);
		assert_int_equal(fc.cmp.op, cases[i].op);
		assert_int_equal(fc.cmp.kind, cases[i].kind);
		if (fc.cmp.kind == FL_CMP_STRING) {
			assert_string_equal(fc.cmp.text, cases[i].operand);
		} else {
			fl_cmp_format(&fc.cmp, text, sizeof(text));
			assert_string_equal(strchr(text, ' ') + 1,
					    cases[i].operand);
		}
	}
}

static void test_field_cmp_invalid(void **state)
{
	static const struct {
		const char *text;
		const char *says;
	} cases[] = {
		{"status.replicas >= 2", "expected a field path"},
		{">= 2", "expected a field path"},
		{".status..replicas >= 2", "empty field name at offset 7"},
		{".status.replicas. >= 2", "empty field name"},
		{".status.conditions[x] == a", "bad index"},
		{".status.conditions[] == a", "bad index"},
		{".status.conditions[1 == a", "bad index"},
		{".a[\"k] == 1", "bad key"},
		{".a[\"\"] == 1", "bad key"},
		{".status.replicas", "expected an operator"},
		{".status.replicas = 2", "expected an operator"},
		{".status.replicas >=", "expected a value"},
		{".status.replicas >=   ", "expected a value"},
		{".status.phase > Running", "'>' needs a number"},
		{".spec.paused <= true", "'<=' needs a number"},
		{".status.phase == \"Running", "unbalanced quotes"},
		{".status.phase == \"a\"b\"", "unbalanced quotes"},
		{".status.phase == '", "unbalanced quotes"},
	};
	struct fl_field_cmp fc;
	char err[256];
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		err[0] = '\0';
		assert_int_equal(fl_field_cmp_parse(cases[i].text, &fc, err,
						    sizeof(err)),
				 -1);
		if (!strstr(err, cases[i].says))
			fail_msg("'%s': got '%s', wanted '%s'", cases[i].text,
				 err, cases[i].says);
	}
}

static void test_field_cmp_long_parts(void **state)
{
	char text[1200], err[256];
	struct fl_field_cmp fc;
	size_t i;

	(void)state;
	/* A path longer than the struct holds. */
	text[0] = '.';
	for (i = 1; i < 600; i++)
		text[i] = 'a';
	snprintf(text + i, sizeof(text) - i, " == 1");
	assert_int_equal(fl_field_cmp_parse(text, &fc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "field path is longer than"));

	/* A value longer than the struct holds. */
	i = (size_t)snprintf(text, sizeof(text), ".a == ");
	for (; i < 1000; i++)
		text[i] = 'v';
	text[i] = '\0';
	assert_int_equal(fl_field_cmp_parse(text, &fc, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "value is longer than"));
}

static struct json_object *deployment(void)
{
	struct json_object *o = json_tokener_parse(
		"{\"metadata\": {\"name\": \"web\", \"labels\": "
		"{\"app.kubernetes.io/name\": \"web\"}},"
		" \"spec\": {\"replicas\": 3, \"paused\": false},"
		" \"status\": {\"availableReplicas\": 2, \"ratio\": 0.5,"
		"  \"phase\": null,"
		"  \"conditions\": [{\"type\": \"Available\","
		"    \"status\": \"True\"}, {\"type\": \"Progressing\","
		"    \"status\": \"False\"}]}}");

	assert_non_null(o);
	return o;
}

static void test_field_get(void **state)
{
	struct json_object *doc = deployment(), *v;
	char err[256];

	(void)state;
	assert_int_equal(fl_field_get(doc, ".status.availableReplicas", &v, err,
				      sizeof(err)),
			 1);
	assert_int_equal(json_object_get_int(v), 2);
	assert_int_equal(fl_field_get(doc, ".status.conditions[1].type", &v,
				      err, sizeof(err)),
			 1);
	assert_string_equal(json_object_get_string(v), "Progressing");
	assert_int_equal(fl_field_get(doc,
				      ".metadata.labels[\"app.kubernetes.io/"
				      "name\"]",
				      &v, err, sizeof(err)),
			 1);
	assert_string_equal(json_object_get_string(v), "web");
	assert_int_equal(fl_field_get(doc, ".status", &v, err, sizeof(err)), 1);
	assert_true(json_object_is_type(v, json_type_object));
	/* null is found, as NULL */
	assert_int_equal(
		fl_field_get(doc, ".status.phase", &v, err, sizeof(err)), 1);
	assert_null(v);

	/* Steps that do not exist say which. */
	assert_int_equal(fl_field_get(doc, ".status.readyReplicas", &v, err,
				      sizeof(err)),
			 0);
	assert_string_equal(err, "no field 'readyReplicas' in .status");
	assert_int_equal(fl_field_get(doc, ".nope.x", &v, err, sizeof(err)), 0);
	assert_string_equal(err, "no field 'nope' in .");
	assert_int_equal(fl_field_get(doc, ".status.conditions[2].status", &v,
				      err, sizeof(err)),
			 0);
	assert_string_equal(err, "no element [2] in .status.conditions");
	/* An index into an object, a key into an array or a number. */
	assert_int_equal(fl_field_get(doc, ".status[0]", &v, err, sizeof(err)),
			 0);
	assert_int_equal(fl_field_get(doc, ".status.conditions.type", &v, err,
				      sizeof(err)),
			 0);
	assert_string_equal(err, "no field 'type' in .status.conditions");
	assert_int_equal(
		fl_field_get(doc, ".spec.replicas.x", &v, err, sizeof(err)), 0);
	/* Bad syntax is -1, not "absent". */
	assert_int_equal(fl_field_get(doc, "status", &v, err, sizeof(err)), -1);
	assert_int_equal(fl_field_get(doc, ".a..b", &v, err, sizeof(err)), -1);
	assert_int_equal(
		fl_field_path_check(".a[99999999999]", err, sizeof(err)), -1);
	json_object_put(doc);
}

/* Parses "PATH OP VALUE" and compares it with the deployment. */
static int eval(struct json_object *doc, const char *text, char *why, size_t n)
{
	struct fl_field_cmp fc;
	struct json_object *v = NULL;
	char err[256];

	if (fl_field_cmp_parse(text, &fc, err, sizeof(err)) < 0)
		fail_msg("'%s': %s", text, err);
	if (fl_field_get(doc, fc.path, &v, err, sizeof(err)) < 0)
		fail_msg("'%s': %s", text, err);
	return fl_cmp_json(&fc.cmp, v, why, n);
}

static void test_cmp_json(void **state)
{
	struct json_object *doc = deployment();
	char why[128];

	(void)state;
	assert_int_equal(
		eval(doc, ".status.availableReplicas >= 2", why, sizeof(why)),
		1);
	assert_int_equal(
		eval(doc, ".status.availableReplicas > 2", why, sizeof(why)),
		0);
	assert_int_equal(eval(doc, ".status.ratio < 0.75", why, sizeof(why)),
			 1);
	assert_int_equal(eval(doc, ".status.conditions[0].status == True", why,
			      sizeof(why)),
			 1);
	assert_int_equal(eval(doc, ".status.conditions[1].status == True", why,
			      sizeof(why)),
			 0);
	assert_int_equal(eval(doc, ".status.conditions[1].status != 'True'",
			      why, sizeof(why)),
			 1);
	assert_int_equal(eval(doc, ".spec.paused == false", why, sizeof(why)),
			 1);
	assert_int_equal(eval(doc, ".spec.paused != false", why, sizeof(why)),
			 0);

	/* Types that do not match the operand cannot be compared. */
	assert_int_equal(eval(doc, ".spec.replicas == \"3\"", why, sizeof(why)),
			 -1);
	assert_string_equal(why, "a number, not a string");
	assert_int_equal(eval(doc, ".status.conditions[0].status >= 1", why,
			      sizeof(why)),
			 -1);
	assert_string_equal(why, "a string, not a number");
	assert_int_equal(eval(doc, ".status == 1", why, sizeof(why)), -1);
	assert_string_equal(why, "an object, not a number");
	assert_int_equal(eval(doc, ".spec.paused == 0", why, sizeof(why)), -1);
	assert_string_equal(why, "a boolean, not a number");
	/* A null field is absent, whatever the operator. */
	assert_int_equal(
		eval(doc, ".status.phase != Running", why, sizeof(why)), -1);
	assert_string_equal(why, "absent");
	json_object_put(doc);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_value_cmp_valid),
		cmocka_unit_test(test_value_cmp_invalid),
		cmocka_unit_test(test_cmp_number),
		cmocka_unit_test(test_field_cmp_valid),
		cmocka_unit_test(test_field_cmp_invalid),
		cmocka_unit_test(test_field_cmp_long_parts),
		cmocka_unit_test(test_field_get),
		cmocka_unit_test(test_cmp_json),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
