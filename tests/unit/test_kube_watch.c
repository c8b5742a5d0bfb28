/*
 * The watch's pure parts: parsing event lines, the store's dedupe and its
 * diff after a relist, and the backoff's bounds.  The network parts run
 * against a real API server in tests/integration/test_kube_watch.py.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "kube_store.h"
#include "kube_watch.h"

/* -- parsing -------------------------------------------------------------- */

static int parse(const char *line, struct fl_kube_watch_event *ev)
{
	char err[256];

	return fl_kube_watch_parse(line, strlen(line), ev, err, sizeof(err));
}

static void test_parse_added(void **state)
{
	struct fl_kube_watch_event ev;
	const char *line = "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Pod\","
			   "\"metadata\":{\"name\":\"a\",\"namespace\":\"n\","
			   "\"resourceVersion\":\"17\"}}}\n";

	(void)state;
	assert_int_equal(parse(line, &ev), 0);
	assert_int_equal(ev.type, FL_WATCH_ADDED);
	assert_string_equal(ev.type_name, "ADDED");
	assert_string_equal(ev.rv, "17");
	assert_non_null(ev.object);
	fl_kube_watch_event_release(&ev);
	assert_null(ev.line);
}

static void test_parse_bookmark(void **state)
{
	struct fl_kube_watch_event ev;
	const char *line =
		"{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Pod\","
		"\"metadata\":{\"resourceVersion\":\"99\"}}}";

	(void)state;
	assert_int_equal(parse(line, &ev), 0);
	assert_int_equal(ev.type, FL_WATCH_BOOKMARK);
	assert_string_equal(ev.rv, "99");
	fl_kube_watch_event_release(&ev);
}

static void test_parse_error_410(void **state)
{
	struct fl_kube_watch_event ev;
	const char *line =
		"{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\","
		"\"status\":\"Failure\",\"message\":\"too old resource "
		"version: 5 (90)\",\"reason\":\"Expired\",\"code\":410}}";

	(void)state;
	assert_int_equal(parse(line, &ev), 0);
	assert_int_equal(ev.type, FL_WATCH_ERROR);
	assert_int_equal(ev.code, 410);
	assert_string_equal(ev.reason, "Expired");
	fl_kube_watch_event_release(&ev);
}

static void test_parse_rejects(void **state)
{
	static const char *bad[] = {
		"",
		"not json",
		"[1,2]",
		"{\"type\":\"ADDED\"}",
		"{\"type\":\"WHATEVER\",\"object\":{}}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":{}}}",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":"
		"{\"resourceVersion\":\"1\"}}} trailing",
		"{\"type\":\"ADDED\",\"object\":{\"metadata\":"
		"{\"resourceVersion\":\"1\"}}",
	};
	struct fl_kube_watch_event ev;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(parse(bad[i], &ev), -1);
}

static void test_parse_rejects_long_rv(void **state)
{
	struct fl_kube_watch_event ev;
	char rv[FL_KUBE_RV_MAX + 1];
	char *line;

	(void)state;
	memset(rv, '7', sizeof(rv) - 1);
	rv[sizeof(rv) - 1] = '\0';
	line = fl_asprintf("{\"type\":\"MODIFIED\",\"object\":{\"metadata\":"
			   "{\"name\":\"a\",\"resourceVersion\":\"%s\"}}}",
			   rv);
	assert_int_equal(parse(line, &ev), -1);
	free(line);
}

static void test_parse_bounds_depth(void **state)
{
	struct fl_kube_watch_event ev;
	char *line = fl_malloc(4096);
	size_t i, n = 0;

	(void)state;
	n += (size_t)snprintf(line, 4096, "{\"type\":\"ADDED\",\"object\":");
	for (i = 0; i < 200; i++)
		line[n++] = '[';
	for (i = 0; i < 200; i++)
		line[n++] = ']';
	line[n++] = '}';
	line[n] = '\0';
	assert_int_equal(parse(line, &ev), -1);
	free(line);
}

/* -- the store ------------------------------------------------------------ */

struct seen {
	int adds, updates, deletes;
	char last[256]; /* "op name rv" of the last call */
};

static void record(void *arg, enum fl_kube_change ch, struct json_object *old,
		   struct json_object *cur)
{
	struct seen *s = arg;
	struct json_object *meta = json_object_object_get(cur, "metadata");
	const char *op = ch == FL_KUBE_CHANGE_ADD      ? "add"
			 : ch == FL_KUBE_CHANGE_UPDATE ? "update"
						       : "delete";

	if (ch == FL_KUBE_CHANGE_ADD) {
		assert_null(old);
		s->adds++;
	} else {
		assert_non_null(old);
		*(ch == FL_KUBE_CHANGE_UPDATE ? &s->updates : &s->deletes) += 1;
	}
	snprintf(s->last, sizeof(s->last), "%s %s %s", op,
		 json_object_get_string(json_object_object_get(meta, "name")),
		 fl_kube_obj_rv(cur));
}

static struct json_object *pod(const char *ns, const char *name, const char *rv)
{
	char *text = fl_asprintf("{\"metadata\":{\"namespace\":\"%s\","
				 "\"name\":\"%s\",\"resourceVersion\":\"%s\"}}",
				 ns, name, rv);
	struct json_object *o = json_tokener_parse(text);

	free(text);
	assert_non_null(o);
	return o;
}

/* Applies a watch event built from its parts and drops our reference. */
static int apply(struct fl_kube_store *st, const char *type, const char *ns,
		 const char *name, const char *rv, struct seen *s)
{
	struct json_object *o = pod(ns, name, rv);
	int rc = fl_kube_store_apply(st, type, o, record, s);

	json_object_put(o);
	return rc;
}

static void test_store_dedupes_by_rv(void **state)
{
	struct fl_kube_store st;
	struct seen s = {0};

	(void)state;
	fl_kube_store_init(&st);
	assert_int_equal(apply(&st, "ADDED", "n", "a", "1", &s), 1);
	assert_string_equal(s.last, "add a 1");
	/* The same object at the same version, as a resumed watch or a
	 * relist replays it: nothing to tell. */
	assert_int_equal(apply(&st, "ADDED", "n", "a", "1", &s), 0);
	assert_int_equal(apply(&st, "MODIFIED", "n", "a", "1", &s), 0);
	assert_int_equal(apply(&st, "MODIFIED", "n", "a", "2", &s), 1);
	assert_string_equal(s.last, "update a 2");
	/* The same name in another namespace is another object. */
	assert_int_equal(apply(&st, "MODIFIED", "m", "a", "3", &s), 1);
	assert_string_equal(s.last, "add a 3");
	assert_int_equal(apply(&st, "DELETED", "n", "a", "4", &s), 1);
	assert_string_equal(s.last, "delete a 4");
	assert_int_equal(apply(&st, "DELETED", "n", "a", "4", &s), 0);
	assert_int_equal(s.adds, 2);
	assert_int_equal(s.updates, 1);
	assert_int_equal(s.deletes, 1);
	assert_int_equal(st.count, 1);
	assert_null(fl_kube_store_get(&st, "n", "a"));
	assert_non_null(fl_kube_store_get(&st, "m", "a"));
	fl_kube_store_release(&st);
}

static void test_store_rejects_nameless(void **state)
{
	struct fl_kube_store st;
	struct json_object *o = json_tokener_parse("{\"metadata\":{}}");

	(void)state;
	fl_kube_store_init(&st);
	assert_int_equal(fl_kube_store_apply(&st, "ADDED", o, NULL, NULL), -1);
	assert_int_equal(fl_kube_store_apply(&st, "BOOKMARK", o, NULL, NULL),
			 -1);
	json_object_put(o);
	fl_kube_store_release(&st);
}

static struct json_object *list_of(const char *spec)
{
	struct json_object *items = json_object_new_array();
	char *copy = fl_strdup(spec), *save = NULL, *tok;

	/* spec: "name=rv name=rv ..." in namespace "n" */
	for (tok = strtok_r(copy, " ", &save); tok;
	     tok = strtok_r(NULL, " ", &save)) {
		char *eq = strchr(tok, '=');

		*eq = '\0';
		json_object_array_add(items, pod("n", tok, eq + 1));
	}
	free(copy);
	return items;
}

static void test_store_replace_diffs(void **state)
{
	struct fl_kube_store st;
	struct seen s = {0};
	struct json_object *items;

	(void)state;
	fl_kube_store_init(&st);
	items = list_of("a=1 b=1 c=1");
	assert_int_equal(fl_kube_store_replace(&st, items, record, &s), 3);
	json_object_put(items);
	assert_int_equal(s.adds, 3);

	/* During a gap: b changed, c was deleted, d was created.  The relist
	 * tells exactly that, and nothing about a. */
	memset(&s, 0, sizeof(s));
	items = list_of("a=1 b=5 d=6");
	assert_int_equal(fl_kube_store_replace(&st, items, record, &s), 3);
	json_object_put(items);
	assert_int_equal(s.adds, 1);
	assert_int_equal(s.updates, 1);
	assert_int_equal(s.deletes, 1);
	assert_int_equal(st.count, 3);
	assert_null(fl_kube_store_get(&st, "n", "c"));
	assert_string_equal(fl_kube_obj_rv(fl_kube_store_get(&st, "n", "b")),
			    "5");

	/* The same list again: no news. */
	memset(&s, 0, sizeof(s));
	items = list_of("a=1 b=5 d=6");
	assert_int_equal(fl_kube_store_replace(&st, items, record, &s), 0);
	json_object_put(items);

	/* Everything gone. */
	items = json_object_new_array();
	assert_int_equal(fl_kube_store_replace(&st, items, record, &s), 3);
	json_object_put(items);
	assert_int_equal(s.deletes, 3);
	assert_int_equal(st.count, 0);
	assert_int_equal(fl_kube_store_replace(&st, NULL, record, &s), -1);
	fl_kube_store_release(&st);
}

/* The store holds the list's objects themselves, not copies: each item
 * has exactly one more reference than before. */
static void test_store_holds_objects_once(void **state)
{
	struct fl_kube_store st;
	struct json_object *items = json_object_new_array(), *kept;
	char name[32];
	size_t i;

	(void)state;
	fl_kube_store_init(&st);
	for (i = 0; i < 10000; i++) {
		snprintf(name, sizeof(name), "pod-%zu", i);
		json_object_array_add(items, pod("n", name, "1"));
	}
	assert_int_equal(fl_kube_store_replace(&st, items, NULL, NULL), 10000);
	kept = json_object_get(json_object_array_get_idx(items, 1234));
	json_object_put(items);
	assert_int_equal(st.count, 10000);
	assert_ptr_equal(fl_kube_store_get(&st, "n", "pod-1234"), kept);
	/* Ours and the store's. */
	assert_int_equal(json_object_put(kept), 0);
	assert_non_null(fl_kube_store_get(&st, "n", "pod-9999"));
	fl_kube_store_release(&st);
}

static void test_strip_managed_fields(void **state)
{
	struct json_object *o = json_tokener_parse(
		"{\"metadata\":{\"name\":\"a\",\"resourceVersion\":\"3\","
		"\"managedFields\":[{\"manager\":\"kubectl\"}]}}");
	struct json_object *bare = json_tokener_parse("{\"spec\":{}}");

	(void)state;
	fl_kube_strip_managed_fields(o, NULL);
	assert_string_equal(
		json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN),
		"{\"metadata\":{\"name\":\"a\","
		"\"resourceVersion\":\"3\"}}");
	/* Nothing to strip, or no metadata at all: left alone. */
	fl_kube_strip_managed_fields(o, NULL);
	fl_kube_strip_managed_fields(bare, NULL);
	fl_kube_strip_managed_fields(NULL, NULL);
	json_object_put(o);
	json_object_put(bare);
}

/* -- backoff -------------------------------------------------------------- */

static void test_backoff_bounds(void **state)
{
	unsigned seed = 7;
	int f, i;

	(void)state;
	for (f = 1; f < 40; f++) {
		for (i = 0; i < 50; i++) {
			long full = 250L << (f - 1 > 10 ? 10 : f - 1);
			long w = fl_kube_backoff_ms(f, 250, 30000, 0, &seed);

			if (full > 30000)
				full = 30000;
			assert_true(w <= full);
			assert_true(w >= full / 2);
		}
	}
	/* Retry-After is a floor, but never above the cap. */
	assert_true(fl_kube_backoff_ms(1, 250, 30000, 5000, &seed) >= 5000);
	assert_int_equal(fl_kube_backoff_ms(1, 250, 30000, 600000, &seed),
			 30000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_added),
		cmocka_unit_test(test_parse_bookmark),
		cmocka_unit_test(test_parse_error_410),
		cmocka_unit_test(test_parse_rejects),
		cmocka_unit_test(test_parse_rejects_long_rv),
		cmocka_unit_test(test_parse_bounds_depth),
		cmocka_unit_test(test_store_dedupes_by_rv),
		cmocka_unit_test(test_store_rejects_nameless),
		cmocka_unit_test(test_store_replace_diffs),
		cmocka_unit_test(test_store_holds_objects_once),
		cmocka_unit_test(test_strip_managed_fields),
		cmocka_unit_test(test_backoff_bounds),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
