#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "alloc.h"
#include "buf.h"
#include "yamljson.h"

/* Parses text that must hold exactly one document; returns it with a
 * reference the caller puts. */
static struct json_object *one(const char *text)
{
	struct fl_errors errs = {0};
	struct json_object *docs, *doc;

	assert_int_equal(fl_yaml_parse(text, strlen(text), NULL, &docs, &errs),
			 0);
	assert_int_equal(json_object_array_length(docs), 1);
	doc = json_object_get(json_object_array_get_idx(docs, 0));
	json_object_put(docs);
	return doc;
}

/* Parses text that must fail; returns the first error message. */
static const char *fails(const char *text, size_t len, struct fl_errors *errs)
{
	struct json_object *docs = (struct json_object *)1;

	memset(errs, 0, sizeof(*errs));
	assert_int_equal(fl_yaml_parse(text, len, NULL, &docs, errs), -1);
	assert_null(docs);
	assert_true(errs->n >= 1);
	return errs->e[0].msg;
}

static void test_scalars_resolve_like_kubectl(void **state)
{
	static const struct {
		const char *yaml;
		const char *json;
	} cases[] = {
		{"v: yes", "true"},
		{"v: Off", "false"},
		{"v: y", "true"},
		{"v: 'yes'", "\"yes\""},
		{"v: ~", "null"},
		{"v:", "null"},
		{"v: 0755", "493"},
		{"v: 0x1F", "31"},
		{"v: 0b101", "5"},
		{"v: 1_000", "1000"},
		{"v: -12", "-12"},
		{"v: 3.0", "3"},
		{"v: 1e3", "1000"},
		{"v: 08", "8"},
		{"v: 1.5", "1.5"},
		{"v: 30s", "\"30s\""},
		{"v: 10.0.0.0/8", "\"10.0.0.0/8\""},
		{"v: !!str 12", "\"12\""},
		{"v: \"12\"", "\"12\""},
		{"v: +", "\"+\""},
		{"v: .", "\".\""},
		{"v: 99999999999999999999", "1e+20"},
	};
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct json_object *doc = one(cases[i].yaml);
		struct json_object *v = NULL;

		json_object_object_get_ex(doc, "v", &v);
		assert_string_equal(
			v ? json_object_to_json_string_ext(
				    v, JSON_C_TO_STRING_PLAIN |
					       JSON_C_TO_STRING_NOSLASHESCAPE)
			  : "null",
			cases[i].json);
		json_object_put(doc);
	}
}

static void test_lines_are_kept(void **state)
{
	struct json_object *doc = one("a: 1\nb:\n  c: [x, y]\n  d: z\n");
	struct json_object *b, *c, *d;

	(void)state;
	json_object_object_get_ex(doc, "b", &b);
	json_object_object_get_ex(b, "c", &c);
	json_object_object_get_ex(b, "d", &d);
	assert_int_equal(fl_yaml_line(doc), 1);
	assert_int_equal(fl_yaml_line(b), 3);
	assert_int_equal(fl_yaml_line(json_object_array_get_idx(c, 1)), 3);
	assert_int_equal(fl_yaml_line(d), 4);
	json_object_put(doc);
}

static void test_streams_and_json(void **state)
{
	const char *text = "---\na: 1\n---\n---\n{\"b\": [1, 2.5, null]}\n";
	struct fl_errors errs = {0};
	struct json_object *docs;

	(void)state;
	assert_int_equal(fl_yaml_parse(text, strlen(text), NULL, &docs, &errs),
			 0);
	/* The empty document in the middle is skipped. */
	assert_int_equal(json_object_array_length(docs), 2);
	assert_string_equal(json_object_to_json_string_ext(
				    json_object_array_get_idx(docs, 1),
				    JSON_C_TO_STRING_PLAIN |
					    JSON_C_TO_STRING_NOSLASHESCAPE),
			    "{\"b\":[1,2.5,null]}");
	json_object_put(docs);
}

static void test_anchors_and_merge_keys(void **state)
{
	struct json_object *doc = one("base: &b {x: 1, y: 2}\n"
				      "copy: *b\n"
				      "merged: {<<: *b, y: 3}\n");
	const char *s = json_object_to_json_string_ext(
		doc, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);

	(void)state;
	assert_non_null(strstr(s, "\"copy\":{\"x\":1,\"y\":2}"));
	/* Keys written in the mapping win over merged ones. */
	assert_non_null(strstr(s, "\"y\":3"));
	assert_non_null(strstr(s, "\"x\":1"));
	json_object_put(doc);
}

/* An alias is a copy, as kubectl makes it: the schema walk edits nodes in
 * place, and must not reach the anchor's other uses through it. */
static void test_aliases_are_copies(void **state)
{
	struct json_object *doc =
		one("a: &a {x: {y: 1}, n: 12345678901234567890"
		    "12345678901234567890123456789012345}\n"
		    "b: *a\n");
	struct json_object *a, *b, *ax, *bx;

	(void)state;
	assert_true(json_object_object_get_ex(doc, "a", &a));
	assert_true(json_object_object_get_ex(doc, "b", &b));
	assert_ptr_not_equal(a, b);
	assert_true(json_object_object_get_ex(a, "x", &ax));
	assert_true(json_object_object_get_ex(b, "x", &bx));
	assert_ptr_not_equal(ax, bx);
	json_object_object_add(ax, "z", json_object_new_int(2));
	assert_false(json_object_object_get_ex(bx, "z", NULL));
	/* go-yaml reads a long numeral as a float, whatever its length. */
	assert_true(json_object_object_get_ex(b, "n", &bx));
	assert_true(json_object_is_type(bx, json_type_double));
	json_object_put(doc);
}

static void test_alias_depth_is_bounded(void **state)
{
	struct fl_yaml_limits lim = fl_yaml_default_limits;
	struct fl_errors errs = {0};
	struct json_object *docs;
	const char *text = "a: &a [[[1]]]\nb: *a\nc: [*a]\n";

	(void)state;
	lim.max_depth = 4;
	assert_int_equal(fl_yaml_parse(text, strlen(text), &lim, &docs, &errs),
			 -1);
	assert_int_equal(errs.e[0].line, 3);
	assert_non_null(strstr(errs.e[0].msg, "nested too deeply"));
}

static void test_duplicate_keys_refused(void **state)
{
	struct fl_errors errs;

	(void)state;
	assert_non_null(strstr(fails("a: 1\nb: 2\na: 3\n", 15, &errs),
			       "duplicate key: a"));
	assert_int_equal(errs.e[0].line, 3);
}

static void test_malformed_and_truncated(void **state)
{
	static const char *bad[] = {
		"a: [1, 2\n",  "a: {b: 1\n",	"a: 'unterminated\n",
		"- a\nb: c\n", "a: *nowhere\n", "? [k]\n: v\n",
		"v: .inf\n",   "\tv: 1\n",	"a:\n  - 1\n - 2\n",
	};
	struct fl_errors errs;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_true(strlen(fails(bad[i], strlen(bad[i]), &errs)) > 0);

	/* A NUL byte in the middle is not silently cut off. */
	fails("a: b\0c\n", 7, &errs);
}

/* A "billion laughs" alias bomb: each level doubles... tenfold. */
static void test_alias_bomb_is_bounded(void **state)
{
	struct fl_buf b;
	struct fl_errors errs;
	int i;

	(void)state;
	fl_buf_init(&b, 0);
	fl_buf_adds(&b, "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
	for (i = 1; i < 12; i++)
		fl_buf_addf(&b,
			    "a%d: &a%d [*a%d, *a%d, *a%d, *a%d, *a%d, *a%d, "
			    "*a%d, *a%d, *a%d, *a%d]\n",
			    i, i, i - 1, i - 1, i - 1, i - 1, i - 1, i - 1,
			    i - 1, i - 1, i - 1, i - 1);
	assert_non_null(strstr(fails(b.data, b.len, &errs), "too many nodes"));
	fl_buf_release(&b);
}

static void test_deep_nesting_is_bounded(void **state)
{
	size_t n = 100000;
	char *text = fl_malloc(n + 1);
	struct fl_errors errs;

	(void)state;
	memset(text, '[', n);
	text[n] = '\0';
	assert_non_null(strstr(fails(text, n, &errs), "nested too deeply"));
	free(text);
}

static void test_huge_document_is_refused(void **state)
{
	size_t n = 10u << 20;
	char *text = fl_malloc(n);
	struct fl_errors errs;

	(void)state;
	memset(text, 'a', n);
	memcpy(text, "k: ", 3);
	assert_non_null(strstr(fails(text, n, &errs), "too large"));
	free(text);
}

static void test_keys_must_be_scalars(void **state)
{
	struct fl_errors errs;

	(void)state;
	assert_non_null(
		strstr(fails("{[a]: 1}\n", 9, &errs), "keys must be scalars"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_scalars_resolve_like_kubectl),
		cmocka_unit_test(test_lines_are_kept),
		cmocka_unit_test(test_streams_and_json),
		cmocka_unit_test(test_anchors_and_merge_keys),
		cmocka_unit_test(test_aliases_are_copies),
		cmocka_unit_test(test_alias_depth_is_bounded),
		cmocka_unit_test(test_duplicate_keys_refused),
		cmocka_unit_test(test_malformed_and_truncated),
		cmocka_unit_test(test_alias_bomb_is_bounded),
		cmocka_unit_test(test_deep_nesting_is_bounded),
		cmocka_unit_test(test_huge_document_is_refused),
		cmocka_unit_test(test_keys_must_be_scalars),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
