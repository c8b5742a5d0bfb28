/*
 * The walk follows the schema, not the document, so its recursion is as
 * deep as the schema (a dozen levels), whatever the input.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "rules.h"
#include "schema.h"
#include "yamljson.h"

#define PATH_MAX_LEN 256

struct walk {
	const struct fl_schema *s;
	struct fl_errors *errs;
};

static void child_path(char *out, const char *path, const char *key)
{
	snprintf(out, PATH_MAX_LEN, "%s%s%s", path, *path ? "." : "", key);
}

static void index_path(char *out, const char *path, size_t i)
{
	snprintf(out, PATH_MAX_LEN, "%s[%zu]", path, i);
}

static void report(struct walk *w, struct json_object *at, const char *path,
		   const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void report(struct walk *w, struct json_object *at, const char *path,
		   const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	fl_errors_add(w->errs, fl_yaml_line(at), path, "%s", msg);
}

/* ---- types ---- */

static const char *type_name(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_null:
		return "null";
	case json_type_boolean:
		return "boolean";
	case json_type_int:
		return "integer";
	case json_type_double:
		return "number";
	case json_type_string:
		return "string";
	case json_type_array:
		return "array";
	case json_type_object:
		return "object";
	}
	return "unknown";
}

static int type_ok(const char *want, struct json_object *v)
{
	enum json_type t = json_object_get_type(v);

	if (strcmp(want, "number") == 0)
		return t == json_type_int || t == json_type_double;
	return strcmp(want, type_name(v)) == 0;
}

/*
 * A short rendering of a value for messages, quoted when a string.  Schema
 * nodes are shared by every thread, and json_object_to_json_string()
 * caches its output inside the node: so scalars are formatted here.
 */
static const char *show(struct json_object *v, char *out, size_t n)
{
	switch (json_object_get_type(v)) {
	case json_type_string:
		snprintf(out, n, "\"%.100s\"", json_object_get_string(v));
		break;
	case json_type_int:
		snprintf(out, n, "%lld", (long long)json_object_get_int64(v));
		break;
	case json_type_double:
		snprintf(out, n, "%.15g", json_object_get_double(v));
		break;
	case json_type_boolean:
		snprintf(out, n, "%s",
			 json_object_get_boolean(v) ? "true" : "false");
		break;
	case json_type_null:
		snprintf(out, n, "null");
		break;
	default:
		snprintf(out, n, "%.100s", json_object_to_json_string(v));
	}
	return out;
}

/* ---- scalar keywords ---- */

static const regex_t *pattern_re(const struct fl_schema *s,
				 struct json_object *node)
{
	size_t i;

	for (i = 0; i < s->npats; i++)
		if (s->pats[i].node == node)
			return &s->pats[i].re;
	return NULL;
}

static void check_enum(struct walk *w, struct json_object *sch,
		       struct json_object *v, const char *path)
{
	struct json_object *e = fl_json_get(sch, "enum");
	char shown[128], list[400] = "";
	size_t i, n, off = 0;

	if (!e)
		return;
	n = json_object_array_length(e);
	for (i = 0; i < n; i++)
		if (json_object_equal(json_object_array_get_idx(e, i), v))
			return;
	for (i = 0; i < n && off < sizeof(list); i++)
		off += snprintf(list + off, sizeof(list) - off, "%s%s",
				i ? ", " : "",
				show(json_object_array_get_idx(e, i), shown,
				     sizeof(shown)));
	report(w, v, path, "unsupported value %s: supported values: %s",
	       show(v, shown, sizeof(shown)), list);
}

static size_t utf8_len(const char *s)
{
	size_t n = 0;

	for (; *s; s++)
		if ((*s & 0xc0) != 0x80)
			n++;
	return n;
}

int fl_cidr_valid(const char *s)
{
	char addr[64];
	const char *slash = strchr(s, '/');
	unsigned char buf[16];
	char *end;
	long bits;
	int v6;

	if (!slash || (size_t)(slash - s) >= sizeof(addr) || !slash[1])
		return 0;
	memcpy(addr, s, slash - s);
	addr[slash - s] = '\0';
	v6 = strchr(addr, ':') != NULL;
	if (inet_pton(v6 ? AF_INET6 : AF_INET, addr, buf) != 1)
		return 0;
	if (slash[1] < '0' || slash[1] > '9' || (slash[1] == '0' && slash[2]))
		return 0;
	bits = strtol(slash + 1, &end, 10);
	return *end == '\0' && bits >= 0 && bits <= (v6 ? 128 : 32);
}

static void check_string(struct walk *w, struct json_object *sch,
			 struct json_object *v, const char *path)
{
	const char *str = json_object_get_string(v);
	struct json_object *pat = fl_json_get(sch, "pattern");
	struct json_object *lim;
	const char *fmt = fl_json_str(sch, "format");
	const char *desc = fl_json_str(sch, "description");
	size_t len = utf8_len(str);
	char shown[128];

	if ((lim = fl_json_get(sch, "maxLength")) &&
	    len > (size_t)json_object_get_int64(lim)) {
		report(w, v, path,
		       "too long: must have at most %lld characters",
		       (long long)json_object_get_int64(lim));
		return;
	}
	if ((lim = fl_json_get(sch, "minLength")) &&
	    len < (size_t)json_object_get_int64(lim)) {
		report(w, v, path, "must have at least %lld character%s",
		       (long long)json_object_get_int64(lim),
		       json_object_get_int64(lim) == 1 ? "" : "s");
		return;
	}
	if (pat && regexec(pattern_re(w->s, pat), str, 0, NULL, 0) != 0) {
		if (desc)
			report(w, v, path, "%s is not %s",
			       show(v, shown, sizeof(shown)), desc);
		else
			report(w, v, path, "%s should match '%s'",
			       show(v, shown, sizeof(shown)),
			       json_object_get_string(pat));
		return;
	}
	if (fmt && strcmp(fmt, "cidr") == 0 && !fl_cidr_valid(str))
		report(w, v, path, "%s is not a CIDR such as 10.0.0.0/8",
		       show(v, shown, sizeof(shown)));
}

static void check_number(struct walk *w, struct json_object *sch,
			 struct json_object *v, const char *path)
{
	double d = json_object_get_double(v);
	struct json_object *lim;
	struct json_object *ex = fl_json_get(sch, "exclusiveMinimum");
	char shown[64], bound[64];

	show(v, shown, sizeof(shown));
	if ((lim = fl_json_get(sch, "minimum"))) {
		double m = json_object_get_double(lim);

		if (ex && json_object_get_boolean(ex) && d <= m)
			report(w, v, path, "%s must be greater than %s", shown,
			       show(lim, bound, sizeof(bound)));
		else if (d < m)
			report(w, v, path,
			       "%s must be greater than or equal to %s", shown,
			       show(lim, bound, sizeof(bound)));
	}
	if ((lim = fl_json_get(sch, "maximum")) &&
	    d > json_object_get_double(lim))
		report(w, v, path, "%s must be less than or equal to %s", shown,
		       show(lim, bound, sizeof(bound)));
}

/* ---- containers ---- */

static void walk(struct walk *w, struct json_object *sch, struct json_object *v,
		 const char *path);

struct noun {
	const char *one, *many;
};

static const struct noun item_noun = {"item", "items"};
static const struct noun property_noun = {"property", "properties"};

static void check_count(struct walk *w, struct json_object *sch,
			struct json_object *v, const char *path, size_t n,
			const char *minkey, const char *maxkey,
			const struct noun *what)
{
	struct json_object *lim;
	long long m;

	if (minkey && (lim = fl_json_get(sch, minkey)) &&
	    n < (size_t)(m = json_object_get_int64(lim)))
		report(w, v, path, "must have at least %lld %s", m,
		       m == 1 ? what->one : what->many);
	if ((lim = fl_json_get(sch, maxkey)) &&
	    n > (size_t)(m = json_object_get_int64(lim)))
		report(w, v, path, "must have at most %lld %s, not %zu", m,
		       m == 1 ? what->one : what->many, n);
}

/* x-kubernetes-list-type: map (entries unique by their keys) or set. */
static void check_list_type(struct walk *w, struct json_object *sch,
			    struct json_object *v, const char *path)
{
	const char *type = fl_json_str(sch, "x-kubernetes-list-type");
	struct json_object *keys =
		fl_json_get(sch, "x-kubernetes-list-map-keys");
	size_t i, j, n = json_object_array_length(v);
	char p[PATH_MAX_LEN], shown[128];

	if (!type || strcmp(type, "atomic") == 0)
		return;
	for (i = 1; i < n; i++) {
		struct json_object *a = json_object_array_get_idx(v, i);

		for (j = 0; j < i; j++) {
			struct json_object *b = json_object_array_get_idx(v, j);
			const char *k;

			if (strcmp(type, "set") == 0) {
				if (!json_object_equal(a, b))
					continue;
				index_path(p, path, i);
				report(w, a, p, "duplicate value %s",
				       show(a, shown, sizeof(shown)));
				break;
			}
			k = json_object_get_string(
				json_object_array_get_idx(keys, 0));
			if (!json_object_equal(fl_json_get(a, k),
					       fl_json_get(b, k)))
				continue;
			index_path(p, path, i);
			report(w, a, p,
			       "duplicate entry with %s %s (also at "
			       "index %zu)",
			       k, show(fl_json_get(a, k), shown, sizeof(shown)),
			       j);
			break;
		}
	}
}

static void walk_array(struct walk *w, struct json_object *sch,
		       struct json_object *v, const char *path)
{
	struct json_object *items = fl_json_get(sch, "items");
	struct json_object *max = fl_json_get(sch, "maxItems");
	size_t i, n = json_object_array_length(v);
	char p[PATH_MAX_LEN];

	check_count(w, sch, v, path, n, "minItems", "maxItems", &item_noun);
	if (items)
		for (i = 0; i < n; i++) {
			index_path(p, path, i);
			walk(w, items, json_object_array_get_idx(v, i), p);
		}

	/* The uniqueness check is quadratic: on a list already refused for
	 * its length, 30,000 entries would cost half a minute. */
	if (!max || n <= (size_t)json_object_get_int64(max))
		check_list_type(w, sch, v, path);
}

/*
 * The API server drops null fields before validating (they mean "not
 * set"); so do we.  Collect first: json-c forbids deleting while
 * iterating.
 */
static void prune_nulls(struct json_object *v)
{
	const char *gone[64];
	size_t i, n;

	do {
		n = 0;
		json_object_object_foreach(v, k, val)
		{
			if (!val && n < 64)
				gone[n++] = k;
		}
		for (i = 0; i < n; i++)
			json_object_object_del(v, gone[i]);
	} while (n == 64);
}

/* A copy of a default from the schema.  json-c's own deep copy refuses
 * nodes that carry user data, and ours carry their source line. */
static struct json_object *copy_value(struct json_object *v)
{
	struct json_object *out;
	size_t i;

	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return json_object_new_boolean(json_object_get_boolean(v));
	case json_type_int:
		return json_object_new_int64(json_object_get_int64(v));
	case json_type_double:
		return json_object_new_double(json_object_get_double(v));
	case json_type_string:
		return json_object_new_string(json_object_get_string(v));
	case json_type_array:
		out = json_object_new_array();
		for (i = 0; i < json_object_array_length(v); i++)
			json_object_array_add(
				out,
				copy_value(json_object_array_get_idx(v, i)));
		return out;
	case json_type_object:
		out = json_object_new_object();
		json_object_object_foreach(v, k, val)
			json_object_object_add(out, k, copy_value(val));
		return out;
	default:
		return NULL;
	}
}

static void fill_defaults(struct json_object *props, struct json_object *v)
{
	json_object_object_foreach(props, k, psch)
	{
		struct json_object *def = fl_json_get(psch, "default");

		if (!def || fl_json_get(v, k))
			continue;
		json_object_object_add(v, k, copy_value(def));
	}
}

static void walk_object(struct walk *w, struct json_object *sch,
			struct json_object *v, const char *path)
{
	struct json_object *props = fl_json_get(sch, "properties");
	struct json_object *addl = fl_json_get(sch, "additionalProperties");
	struct json_object *req = fl_json_get(sch, "required");
	char p[PATH_MAX_LEN];
	size_t i, n;

	prune_nulls(v);
	if (props)
		fill_defaults(props, v);
	check_count(w, sch, v, path, (size_t)json_object_object_length(v), NULL,
		    "maxProperties", &property_noun);
	json_object_object_foreach(v, k, val)
	{
		child_path(p, path, k);
		if (props && fl_json_get(props, k))
			walk(w, fl_json_get(props, k), val, p);
		else if (addl && json_object_is_type(addl, json_type_object))
			walk(w, addl, val, p);
		else if (props || addl)
			report(w, val ? val : v, p, "unknown field");
	}
	n = req ? json_object_array_length(req) : 0;
	for (i = 0; i < n; i++) {
		const char *field = json_object_get_string(
			json_object_array_get_idx(req, i));

		if (fl_json_get(v, field))
			continue;
		child_path(p, path, field);
		report(w, v, p, "required field is missing");
	}
}

static void run_rules(struct walk *w, struct json_object *sch,
		      struct json_object *v, const char *path)
{
	struct json_object *rules =
		fl_json_get(sch, "x-kubernetes-validations");
	size_t i, n = rules ? json_object_array_length(rules) : 0;

	for (i = 0; i < n; i++) {
		const char *msg = fl_json_str(
			json_object_array_get_idx(rules, i), "message");
		const struct fl_rule *r = fl_rule_find(msg);

		/* fl_schema_init() refuses a schema with a rule that has no
		 * twin, so r is never NULL here. */
		if (r)
			r->check(v, path, msg, w->errs);
	}
}

static void walk(struct walk *w, struct json_object *sch, struct json_object *v,
		 const char *path)
{
	const char *type = fl_json_str(sch, "type");
	size_t before = w->errs->n + w->errs->dropped;

	if (type && !type_ok(type, v)) {
		report(w, v, path, "must be of type %s, not %s", type,
		       type_name(v));
		return;
	}
	switch (json_object_get_type(v)) {
	case json_type_object:
		walk_object(w, sch, v, path);
		break;
	case json_type_array:
		walk_array(w, sch, v, path);
		break;
	case json_type_string:
		check_string(w, sch, v, path);
		break;
	case json_type_int:
	case json_type_double:
		check_number(w, sch, v, path);
		break;
	default:
		break;
	}
	check_enum(w, sch, v, path);

	/* Rules only make sense on a node that is well-formed below. */
	if (w->errs->n + w->errs->dropped == before)
		run_rules(w, sch, v, path);
}

int fl_schema_validate(const struct fl_schema *s, struct json_object *doc,
		       struct fl_errors *errs)
{
	struct walk w = {.s = s, .errs = errs};
	size_t before = errs->n + errs->dropped;

	walk(&w, s->root, doc, "");
	return errs->n + errs->dropped == before ? 0 : -1;
}

/* The schema node of a fault kind, or NULL when the CRD has none. */
static struct json_object *fault_kind_node(const struct fl_schema *s,
					   const char *kind)
{
	static const char *const steps[] = {
		"properties", "spec",  "properties",
		"faults",     "items", "properties",
	};
	struct json_object *node = s->root;
	size_t i;

	for (i = 0; node && i < sizeof(steps) / sizeof(steps[0]); i++)
		node = fl_json_get(node, steps[i]);
	node = fl_json_get(node, kind);
	return json_object_is_type(node, json_type_object) ? node : NULL;
}

int fl_schema_validate_fault_params(const struct fl_schema *s, const char *kind,
				    struct json_object *params,
				    const char *path, struct fl_errors *errs)
{
	struct json_object *node = fault_kind_node(s, kind);
	struct walk w = {.s = s, .errs = errs};
	size_t before = errs->n + errs->dropped;

	if (!node) {
		fl_errors_add(errs, 0, path, "unknown fault kind '%.64s'",
			      kind);
		return -1;
	}
	walk(&w, node, params, path ? path : "");
	return errs->n + errs->dropped == before ? 0 : -1;
}

/* ---- loading ---- */

struct visit {
	void (*on_pattern)(struct fl_schema *s, struct json_object *pat,
			   struct fl_errors *errs);
	void (*on_rule)(const char *message, void *arg);
	void *arg;
};

/* Visits every schema node reachable through properties,
 * additionalProperties and items.  Anchors in the CRD make the same node
 * reachable twice: harmless, as both callbacks are idempotent. */
static void visit(struct fl_schema *s, struct json_object *sch,
		  const struct visit *vis, struct fl_errors *errs)
{
	struct json_object *props = fl_json_get(sch, "properties");
	struct json_object *rules =
		fl_json_get(sch, "x-kubernetes-validations");
	struct json_object *sub;
	size_t i;

	if (fl_json_get(sch, "pattern") && vis->on_pattern)
		vis->on_pattern(s, fl_json_get(sch, "pattern"), errs);
	for (i = 0;
	     rules && vis->on_rule && i < json_object_array_length(rules); i++)
		vis->on_rule(fl_json_str(json_object_array_get_idx(rules, i),
					 "message"),
			     vis->arg);
	if (props) {
		json_object_object_foreach(props, k, v)
		{
			(void)k;
			visit(s, v, vis, errs);
		}
	}
	if ((sub = fl_json_get(sch, "items")))
		visit(s, sub, vis, errs);
	if ((sub = fl_json_get(sch, "additionalProperties")) &&
	    json_object_is_type(sub, json_type_object))
		visit(s, sub, vis, errs);
}

static void add_pattern(struct fl_schema *s, struct json_object *pat,
			struct fl_errors *errs)
{
	struct fl_schema_pattern *p;

	if (pattern_re(s, pat))
		return;
	s->pats = fl_realloc(s->pats, (s->npats + 1) * sizeof(*s->pats));
	p = &s->pats[s->npats];
	p->node = pat;
	if (regcomp(&p->re, json_object_get_string(pat),
		    REG_EXTENDED | REG_NOSUB) != 0) {
		fl_errors_add(errs, fl_yaml_line(pat), NULL,
			      "schema pattern does not compile: '%s'",
			      json_object_get_string(pat));
		return;
	}
	s->npats++;
}

struct twin_check {
	struct fl_errors *errs;
};

static void need_twin(const char *message, void *arg)
{
	struct twin_check *tc = arg;

	if (!message || !fl_rule_find(message))
		fl_errors_add(tc->errs, 0, NULL,
			      "schema rule has no C twin: \"%s\"",
			      message ? message : "(no message)");
}

static struct json_object *find_version(struct json_object *crd,
					const char *version)
{
	struct json_object *vers =
		fl_json_get(fl_json_get(crd, "spec"), "versions");
	size_t i, n = vers ? json_object_array_length(vers) : 0;

	for (i = 0; i < n; i++) {
		struct json_object *v = json_object_array_get_idx(vers, i);
		const char *name = fl_json_str(v, "name");

		if (name && strcmp(name, version) == 0)
			return fl_json_get(fl_json_get(v, "schema"),
					   "openAPIV3Schema");
	}
	return NULL;
}

int fl_schema_init(struct fl_schema *s, const char *crd_yaml, size_t len,
		   const char *version, struct fl_errors *errs)
{
	struct twin_check tc = {.errs = errs};
	struct visit vis = {
		.on_pattern = add_pattern, .on_rule = need_twin, .arg = &tc};
	size_t before = errs->n + errs->dropped;

	memset(s, 0, sizeof(*s));
	if (fl_yaml_parse(crd_yaml, len, NULL, &s->docs, errs) < 0)
		return -1;
	s->root = find_version(json_object_array_get_idx(s->docs, 0), version);
	if (!s->root) {
		fl_errors_add(errs, 0, NULL,
			      "crd has no schema for version '%s'", version);
		goto fail;
	}
	visit(s, s->root, &vis, errs);
	if (errs->n + errs->dropped != before)
		goto fail;
	return 0;
fail:
	fl_schema_release(s);
	return -1;
}

void fl_schema_release(struct fl_schema *s)
{
	size_t i;

	for (i = 0; i < s->npats; i++)
		regfree(&s->pats[i].re);
	free(s->pats);
	json_object_put(s->docs);
	memset(s, 0, sizeof(*s));
}

void fl_schema_each_rule(const struct fl_schema *s,
			 void (*fn)(const char *message, void *arg), void *arg)
{
	struct visit vis = {.on_rule = fn, .arg = arg};
	struct fl_errors unused = {0};

	visit((struct fl_schema *)s, s->root, &vis, &unused);
}

extern const char fl_crd_yaml[];
extern const size_t fl_crd_yaml_len;

static struct fl_schema experiment_schema;
static struct fl_errors experiment_errs;
static int experiment_rc;
static pthread_once_t experiment_once = PTHREAD_ONCE_INIT;

static void load_experiment_schema(void)
{
	experiment_rc =
		fl_schema_init(&experiment_schema, fl_crd_yaml, fl_crd_yaml_len,
			       "v1alpha1", &experiment_errs);
}

struct fl_schema *fl_schema_experiment(struct fl_errors *errs)
{
	size_t i;

	pthread_once(&experiment_once, load_experiment_schema);
	if (experiment_rc == 0)
		return &experiment_schema;
	for (i = 0; i < experiment_errs.n; i++)
		fl_errors_add(errs, 0, NULL, "embedded crd: %s",
			      experiment_errs.e[i].msg);
	return NULL;
}
