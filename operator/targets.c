/*
 * Target selection: label selectors, the eligibility of pods, nodes and
 * namespaces, the count rule and the random choice.  Everything works on
 * objects and numbers handed in, so the rules are tested without a
 * cluster.
 */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "json.h"
#include "targets.h"

typedef __int128 i128;

static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/* Writes a reason into why, when the caller asked for one. */
static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static int str_eq(const char *a, const char *b)
{
	return a && b && !strcmp(a, b);
}

int fl_scope_namespace_allowed(const struct fl_scope *scope, const char *ns,
			       struct json_object *nsobj, char *why,
			       size_t whylen)
{
	const char *mark;
	size_t i;

	say(why, whylen, "%s", "");
	if (!ns || !*ns) {
		say(why, whylen, "object has no namespace");
		return 0;
	}
	if (str_eq(ns, scope->self_ns)) {
		say(why, whylen, "namespace '%s' is the operator's own", ns);
		return 0;
	}
	for (i = 0; i < scope->nprotected; i++) {
		if (str_eq(ns, scope->protected_ns[i])) {
			say(why, whylen, "namespace '%s' is protected", ns);
			return 0;
		}
	}
	if (!scope->opt_in)
		return 1;

	/* Opt-in: the Namespace object itself must say so. */
	if (!nsobj) {
		say(why, whylen,
		    "namespace '%s' is not opted in: no namespace object", ns);
		return 0;
	}
	mark = fl_json_str(
		fl_json_get(fl_json_get(nsobj, "metadata"), "annotations"),
		FL_CHAOS_ANNOTATION);
	if (!str_eq(mark, "allowed")) {
		say(why, whylen,
		    "namespace '%s' is not annotated " FL_CHAOS_ANNOTATION
		    ": allowed",
		    ns);
		return 0;
	}
	return 1;
}

static int value_in(const char *v, const char **values, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (str_eq(v, values[i]))
			return 1;
	}
	return 0;
}

/*
 * One requirement of matchExpressions against the labels object.  A label
 * whose value is not a string exists but equals nothing.  An unknown
 * operator matches nothing, so that a selector we do not understand
 * selects no target rather than every one.
 */
static int expr_matches(const struct fl_label_expr *e,
			struct json_object *labels)
{
	struct json_object *v = NULL;
	int has = 0;
	const char *s = NULL;

	if (labels && json_object_is_type(labels, json_type_object))
		has = json_object_object_get_ex(labels, e->key, &v);
	if (json_object_is_type(v, json_type_string))
		s = json_object_get_string(v);

	if (str_eq(e->op, "In"))
		return has && value_in(s, e->values, e->nvalues);
	if (str_eq(e->op, "NotIn"))
		return !has || !value_in(s, e->values, e->nvalues);
	if (str_eq(e->op, "Exists"))
		return has;
	if (str_eq(e->op, "DoesNotExist"))
		return !has;
	return 0;
}

int fl_selector_matches(const struct fl_selector *sel, struct json_object *obj)
{
	struct json_object *labels;
	size_t i;

	if (!sel)
		return 1;
	labels = fl_json_get(fl_json_get(obj, "metadata"), "labels");
	for (i = 0; i < sel->nlabels; i++) {
		const char *v = fl_json_str(labels, sel->labels[i].key);

		if (!str_eq(v, sel->labels[i].value))
			return 0;
	}
	for (i = 0; i < sel->nexprs; i++) {
		if (!expr_matches(&sel->exprs[i], labels))
			return 0;
	}
	return 1;
}

/* Appends text to out at *len; -1 when it would not fit with its NUL. */
static int put(char *out, size_t n, size_t *len, const char *s)
{
	size_t l = strlen(s);

	if (l >= n - *len)
		return -1;
	memcpy(out + *len, s, l + 1);
	*len += l;
	return 0;
}

/*
 * Whether s can stand in a selector string as it is: label keys and
 * values are made of letters, digits, '-', '_' and '.', keys also of '/'.
 * Anything else (a comma, a space, a parenthesis) would change what the
 * API server reads, so it is refused instead of being passed on.
 */
static int selector_word_ok(const char *s, int key)
{
	if (!s || (key && !*s))
		return 0;
	for (; *s; s++) {
		char c = *s;

		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-' || c == '_' ||
		    c == '.' || (key && c == '/'))
			continue;
		return 0;
	}
	return 1;
}

static int put_set(char *out, size_t n, size_t *len,
		   const struct fl_label_expr *e, const char *op)
{
	size_t i;

	if (!e->nvalues || put(out, n, len, e->key) || put(out, n, len, op))
		return -1;
	for (i = 0; i < e->nvalues; i++) {
		if (!selector_word_ok(e->values[i], 0) ||
		    put(out, n, len, i ? "," : "") ||
		    put(out, n, len, e->values[i]))
			return -1;
	}
	return put(out, n, len, ")");
}

static int put_expr(char *out, size_t n, size_t *len,
		    const struct fl_label_expr *e)
{
	if (!selector_word_ok(e->key, 1))
		return -1;
	if (str_eq(e->op, "In"))
		return put_set(out, n, len, e, " in (");
	if (str_eq(e->op, "NotIn"))
		return put_set(out, n, len, e, " notin (");
	if (str_eq(e->op, "Exists"))
		return put(out, n, len, e->key);
	if (str_eq(e->op, "DoesNotExist")) {
		if (put(out, n, len, "!"))
			return -1;
		return put(out, n, len, e->key);
	}
	return -1;
}

/*
 * Besides a full buffer, returns -1 for what no selector string can say
 * faithfully: an unknown operator, In or NotIn without values, or a key or
 * value with characters outside the label syntax.  The caller still has
 * to URL-encode the result for a query string.
 */
int fl_selector_string(const struct fl_selector *sel, char *out, size_t n)
{
	size_t len = 0, i;
	int rc = -1;

	if (!n)
		return -1;
	out[0] = '\0';
	if (!sel)
		return 0;
	for (i = 0; i < sel->nlabels; i++) {
		const struct fl_kv *kv = &sel->labels[i];

		if (!selector_word_ok(kv->key, 1) ||
		    !selector_word_ok(kv->value, 0))
			goto out;
		if (put(out, n, &len, len ? "," : "") ||
		    put(out, n, &len, kv->key) || put(out, n, &len, "=") ||
		    put(out, n, &len, kv->value))
			goto out;
	}
	for (i = 0; i < sel->nexprs; i++) {
		if (put(out, n, &len, len ? "," : "") ||
		    put_expr(out, n, &len, &sel->exprs[i]))
			goto out;
	}
	rc = 0;
out:
	if (rc)
		out[0] = '\0';
	return rc;
}

/* The status of the condition of that type, or NULL when it is absent. */
static const char *condition_status(struct json_object *obj, const char *type)
{
	struct json_object *conds;
	size_t i, n;

	conds = fl_json_get(fl_json_get(obj, "status"), "conditions");
	n = fl_json_len(conds);
	for (i = 0; i < n; i++) {
		struct json_object *c = json_object_array_get_idx(conds, i);

		if (str_eq(fl_json_str(c, "type"), type))
			return fl_json_str(c, "status");
	}
	return NULL;
}

int fl_pod_eligible(const struct fl_scope *scope, struct json_object *pod,
		    char *why, size_t whylen)
{
	struct json_object *meta = fl_json_get(pod, "metadata");
	const char *name = fl_json_str(meta, "name");
	const char *ns = fl_json_str(meta, "namespace");
	const char *phase = fl_json_str(fl_json_get(pod, "status"), "phase");

	say(why, whylen, "%s", "");
	if (!name || !ns) {
		say(why, whylen, "pod has no name or namespace");
		return 0;
	}
	if (str_eq(name, scope->self_pod) && str_eq(ns, scope->self_ns)) {
		say(why, whylen, "pod '%s/%s' is the operator itself", ns,
		    name);
		return 0;
	}
	if (fl_json_get(meta, "deletionTimestamp")) {
		say(why, whylen, "pod '%s/%s' is terminating", ns, name);
		return 0;
	}
	if (!str_eq(phase, "Running")) {
		say(why, whylen, "pod '%s/%s' is not running (phase %s)", ns,
		    name, phase ? phase : "unknown");
		return 0;
	}
	if (!str_eq(condition_status(pod, "Ready"), "True")) {
		say(why, whylen, "pod '%s/%s' is not ready", ns, name);
		return 0;
	}
	return 1;
}

/*
 * Besides the Ready condition and the operator's own node, a cordoned
 * node (spec.unschedulable) or one being deleted is refused: it is
 * already in trouble, and a fault there proves nothing.
 */
int fl_node_eligible(const struct fl_scope *scope, struct json_object *node,
		     char *why, size_t whylen)
{
	struct json_object *meta = fl_json_get(node, "metadata");
	struct json_object *unsched;
	const char *name = fl_json_str(meta, "name");

	say(why, whylen, "%s", "");
	if (!name) {
		say(why, whylen, "node has no name");
		return 0;
	}
	if (str_eq(name, scope->self_node)) {
		say(why, whylen, "node '%s' runs the operator", name);
		return 0;
	}
	if (fl_json_get(meta, "deletionTimestamp")) {
		say(why, whylen, "node '%s' is being deleted", name);
		return 0;
	}
	unsched = fl_json_get(fl_json_get(node, "spec"), "unschedulable");
	if (json_object_is_type(unsched, json_type_boolean) &&
	    json_object_get_boolean(unsched)) {
		say(why, whylen, "node '%s' is cordoned", name);
		return 0;
	}
	if (!str_eq(condition_status(node, "Ready"), "True")) {
		say(why, whylen, "node '%s' is not ready", name);
		return 0;
	}
	return 1;
}

static int64_t clamp64(int64_t v, int64_t lo, int64_t hi)
{
	return v < lo ? lo : v > hi ? hi : v;
}

/* What the mode asks for, before any limit. */
static int64_t mode_wants(int64_t population, const struct fl_mode *mode)
{
	int64_t pct;

	switch (mode->kind) {
	case FL_MODE_ALL:
		return population;
	case FL_MODE_ONE:
		return 1;
	case FL_MODE_COUNT:
		return mode->value > 0 ? mode->value : 0;
	case FL_MODE_PERCENT:
		/* Over 100 percent would ask for more than there is. */
		pct = clamp64(mode->value, 0, 100);
		return (int64_t)(((i128)population * pct + 99) / 100);
	}
	return 0;
}

/* Explains, in out->why, why count is below wanted. */
static void plan_why(struct fl_plan_count *out, int64_t population,
		     int max_blast_pct, int64_t min_healthy)
{
	char *w = out->why;
	size_t n = sizeof(out->why);

	if (!population)
		say(w, n, "mode asks for %" PRId64 " but no target is eligible",
		    out->wanted);
	else if (!out->room)
		say(w, n,
		    "mode asks for %" PRId64
		    "; none allowed: minHealthy %" PRId64 " of %" PRId64
		    " must stay untouched",
		    out->wanted, min_healthy, population);
	else if (out->count == population)
		say(w, n,
		    "mode asks for %" PRId64 "; only %" PRId64 " eligible",
		    out->wanted, population);
	else if (out->room <= out->cap)
		say(w, n,
		    "mode asks for %" PRId64 "; capped at %" PRId64
		    ": minHealthy %" PRId64 " of %" PRId64
		    " must stay untouched",
		    out->wanted, out->count, min_healthy, population);
	else
		say(w, n,
		    "mode asks for %" PRId64 "; capped at %" PRId64
		    " by maxBlastRadius %d%% of %" PRId64,
		    out->wanted, out->count, max_blast_pct, population);
}

void fl_plan_count(int64_t population, const struct fl_mode *mode,
		   int max_blast_pct, int64_t min_healthy,
		   struct fl_plan_count *out)
{
	int pct = (int)clamp64(max_blast_pct, 1, 100);

	memset(out, 0, sizeof(*out));
	population = population > 0 ? population : 0;
	min_healthy = min_healthy > 0 ? min_healthy : 0;

	out->wanted = mode_wants(population, mode);
	out->cap = (int64_t)((i128)population * pct / 100);
	if (population && !out->cap)
		out->cap = 1;
	out->room = min_healthy < population ? population - min_healthy : 0;

	out->count = out->wanted;
	if (out->count > out->cap)
		out->count = out->cap;
	if (out->count > out->room)
		out->count = out->room;
	if (out->count < out->wanted)
		plan_why(out, population, pct, min_healthy);
}

/* splitmix64: a small generator with a full 2^64 period, good enough to
 * pick targets and fully determined by its seed. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Uniform in 0..bound-1 (bound > 0), by rejecting the few draws that
 * would favour the low values. */
static uint64_t below(uint64_t *state, uint64_t bound)
{
	uint64_t threshold = (0 - bound) % bound;
	uint64_t x;

	do {
		x = splitmix64(state);
	} while (x < threshold);
	return x % bound;
}

/*
 * Floyd's algorithm picks k of n with k draws; a bitmap of n bits holds
 * the chosen set, and reading it back gives the indexes in order.
 */
void fl_choose(size_t n, size_t k, uint64_t seed, size_t *out)
{
	uint64_t *bits, state = seed;
	size_t words, i, j, got = 0;

	if (k > n)
		k = n;
	if (!k)
		return;
	words = (n + 63) / 64;
	bits = fl_calloc(words, sizeof(*bits));
	for (j = n - k; j < n; j++) {
		size_t t = (size_t)below(&state, (uint64_t)j + 1);

		if (bits[t / 64] & (1ULL << (t % 64)))
			t = j;
		bits[t / 64] |= 1ULL << (t % 64);
	}
	for (i = 0; i < words && got < k; i++) {
		uint64_t w = bits[i];

		while (w) {
			out[got++] = i * 64 + (size_t)__builtin_ctzll(w);
			w &= w - 1;
		}
	}
	free(bits);
}
