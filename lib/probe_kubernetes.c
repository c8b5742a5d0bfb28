/*
 * The kubernetes probe: read one object and compare one of its fields.
 *
 * The object is named by apiVersion and kind, as a manifest names it; the
 * API wants the resource (the plural, "deployments") and whether it is
 * namespaced.  API discovery of the group version says both, and the
 * answer is kept in the context, so that each kind is looked up once.  A
 * kind that discovery does not list is not remembered: a CRD installed
 * later is found on a later sample.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "alloc.h"
#include "compare.h"
#include "json.h"
#include "probe_kinds.h"

/* Kinds remembered per context; past this the oldest entry goes. */
#define KINDS_MAX 32

struct kind_entry {
	char api_version[256];
	char kind[64];
	char plural[256];
	int namespaced;
};

struct fl_probe_kind_cache {
	struct kind_entry e[KINDS_MAX];
	size_t n;    /* entries filled */
	size_t next; /* the entry replaced next once full */
};

/* An empty map; see probe_kinds.h. */
struct fl_probe_kind_cache *fl_probe_kinds_new(void)
{
	return fl_calloc(1, sizeof(struct fl_probe_kind_cache));
}

/* Frees the map; NULL is allowed. */
void fl_probe_kinds_free(struct fl_probe_kind_cache *c)
{
	free(c);
}

static const struct kind_entry *cache_find(struct fl_probe_kind_cache *c,
					   const char *api_version,
					   const char *kind)
{
	size_t i;

	for (i = 0; i < c->n; i++) {
		if (strcmp(c->e[i].api_version, api_version) == 0 &&
		    strcmp(c->e[i].kind, kind) == 0)
			return &c->e[i];
	}
	return NULL;
}

static void cache_add(struct fl_probe_kind_cache *c, const char *api_version,
		      const char *kind, const char *plural, int namespaced)
{
	struct kind_entry *e;

	if (c->n < KINDS_MAX) {
		e = &c->e[c->n++];
	} else {
		e = &c->e[c->next];
		c->next = (c->next + 1) % KINDS_MAX;
	}
	snprintf(e->api_version, sizeof(e->api_version), "%s", api_version);
	snprintf(e->kind, sizeof(e->kind), "%s", kind);
	snprintf(e->plural, sizeof(e->plural), "%s", plural);
	e->namespaced = namespaced;
}

/* Finds kind in an APIResourceList; see probe_kinds.h. */
int fl_probe_kinds_find(struct json_object *list, const char *kind,
			char *plural, size_t n, int *namespaced)
{
	struct json_object *res = fl_json_get(list, "resources");
	size_t i;

	for (i = 0; i < fl_json_len(res); i++) {
		struct json_object *r = json_object_array_get_idx(res, i);
		const char *name = fl_json_str(r, "name");
		const char *k = fl_json_str(r, "kind");
		struct json_object *ns = fl_json_get(r, "namespaced");

		if (!name || !k || strchr(name, '/') || strcmp(k, kind) != 0)
			continue;
		if (strlen(name) >= n)
			continue;
		memcpy(plural, name, strlen(name) + 1);
		*namespaced = json_object_get_boolean(ns);
		return 1;
	}
	return 0;
}

/* Splits "group/version" (or "v1") into its parts; -1 when malformed. */
static int split_api_version(const char *av, char *group, size_t gn,
			     char *version, size_t vn)
{
	const char *slash = strchr(av, '/');

	if (!*av ||
	    (slash && (slash == av || !slash[1] || strchr(slash + 1, '/'))))
		return -1;
	if (!slash) {
		group[0] = '\0';
		snprintf(version, vn, "%s", av);
		return strlen(av) < vn ? 0 : -1;
	}
	if ((size_t)(slash - av) >= gn || strlen(slash + 1) >= vn)
		return -1;
	memcpy(group, av, (size_t)(slash - av));
	group[slash - av] = '\0';
	snprintf(version, vn, "%s", slash + 1);
	return 0;
}

/* Checks a kubernetes probe's fields; see probe_kinds.h. */
int fl_probe_kube_validate(struct json_object *params, char *err, size_t n)
{
	static const char *const required[] = {"apiVersion", "kind", "name",
					       "expect"};
	const char *av = fl_json_str(params, "apiVersion");
	struct json_object *ns = fl_json_get(params, "namespace");
	struct fl_field_cmp fc;
	char group[254], version[64], why[300];
	size_t i;

	for (i = 0; i < sizeof(required) / sizeof(required[0]); i++) {
		const char *v = fl_json_str(params, required[i]);

		if (!v || !*v) {
			snprintf(err, n, "kubernetes.%s: is missing or empty",
				 required[i]);
			return -1;
		}
	}
	if (split_api_version(av, group, sizeof(group), version,
			      sizeof(version)) < 0) {
		snprintf(err, n,
			 "kubernetes.apiVersion: '%.64s' is not 'v1' or "
			 "'group/version'",
			 av);
		return -1;
	}
	if (ns && (!json_object_is_type(ns, json_type_string) ||
		   !*json_object_get_string(ns))) {
		snprintf(err, n,
			 "kubernetes.namespace: must be a non-empty "
			 "string");
		return -1;
	}
	if (fl_field_cmp_parse(fl_json_str(params, "expect"), &fc, why,
			       sizeof(why)) < 0) {
		snprintf(err, n, "kubernetes.expect: %s", why);
		return -1;
	}
	return 0;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Maps the probe's apiVersion and kind to a resource, through the cache
 * or discovery.  Returns 1 when found; 0 with r's message set (a failed
 * sample) when not. */
static int resolve(struct fl_probe_ctx *ctx, const char *av, const char *kind,
		   struct kind_entry *out, struct fl_probe_result *r)
{
	const struct kind_entry *e = cache_find(ctx->kinds, av, kind);
	struct fl_kube_status st = {0};
	struct json_object *list = NULL;
	char group[254], version[64];
	int found = 0;

	if (e) {
		*out = *e;
		return 1;
	}
	split_api_version(av, group, sizeof(group), version, sizeof(version));
	if (fl_kube_discover(ctx->kube, group, version, &list, &st) < 0) {
		if (st.code == 404)
			fl_probe_msg(r,
				     "kubernetes: apiVersion '%s' is not "
				     "served",
				     av);
		else
			fl_probe_msg(r,
				     "kubernetes: discovery of '%s' failed: "
				     "%.200s",
				     av, st.message);
		goto out;
	}
	memset(out, 0, sizeof(*out));
	found = fl_probe_kinds_find(list, kind, out->plural,
				    sizeof(out->plural), &out->namespaced);
	if (!found) {
		fl_probe_msg(r, "kubernetes: apiVersion '%s' has no kind '%s'",
			     av, kind);
		goto out;
	}
	cache_add(ctx->kinds, av, kind, out->plural, out->namespaced);
out:
	json_object_put(list);
	fl_kube_status_release(&st);
	return found;
}

/* The field's value as short text for a message. */
static void value_text(struct json_object *v, char *out, size_t n)
{
	snprintf(out, n, "%.64s",
		 v ? json_object_to_json_string_ext(v, JSON_C_TO_STRING_PLAIN)
		   : "null");
}

/* Compares the field of obj; fills r. */
static void judge(struct json_object *obj, const struct fl_field_cmp *fc,
		  const char *what, struct fl_probe_result *r)
{
	struct json_object *v = NULL;
	char why[200], want[300], shown[80];
	int rc;

	if (fl_field_get(obj, fc->path, &v, why, sizeof(why)) == 0) {
		fl_probe_msg(r, "%s: %s is absent (%s)", what, fc->path, why);
		return;
	}
	fl_cmp_format(&fc->cmp, want, sizeof(want));
	rc = fl_cmp_json(&fc->cmp, v, why, sizeof(why));
	if (rc < 0) {
		fl_probe_msg(r, "%s: %s is %s, cannot compare with %s", what,
			     fc->path, why, want);
		return;
	}
	value_text(v, shown, sizeof(shown));
	if (json_object_is_type(v, json_type_int) ||
	    json_object_is_type(v, json_type_double)) {
		r->has_value = 1;
		r->value = json_object_get_double(v);
	}
	r->passed = rc;
	fl_probe_msg(r, "%s: %s is %s, %s%s", what, fc->path, shown,
		     rc ? "" : "not ", want);
}

/* Takes one sample of a kubernetes probe; see probe_kinds.h. */
int fl_probe_kube_sample(const struct fl_probe *p, struct fl_probe_ctx *ctx,
			 struct fl_probe_result *r)
{
	const char *av = fl_json_str(p->params, "apiVersion");
	const char *kind = fl_json_str(p->params, "kind");
	const char *name = fl_json_str(p->params, "name");
	const char *ns = fl_json_str(p->params, "namespace");
	struct fl_kube_status st = {0};
	struct json_object *obj = NULL;
	struct fl_kube_ref ref = {0};
	struct fl_field_cmp fc;
	struct kind_entry e;
	struct fl_kube_limits limits;
	char group[254], version[64], what[400], lower[64], why[300];
	int64_t start;
	size_t i;

	if (!ctx->kube) {
		fl_probe_msg(r,
			     "probe '%s': kubernetes probes need a "
			     "kubernetes client, and none is configured",
			     p->name);
		return -1;
	}
	fl_field_cmp_parse(fl_json_str(p->params, "expect"), &fc, why,
			   sizeof(why));
	start = now_ms();
	/* The probe's timeout bounds each request, and a sample is never
	 * retried: the next sample is the retry. */
	limits = fl_kube_set_limits(
		ctx->kube, (struct fl_kube_limits){(int)p->timeout_ms, 0});
	if (!resolve(ctx, av, kind, &e, r))
		goto out;
	split_api_version(av, group, sizeof(group), version, sizeof(version));
	ref.group = group;
	ref.version = version;
	ref.resource = e.plural;
	ref.name = name;
	if (e.namespaced)
		ref.namespace =
			ns ? ns : (ctx->namespace ? ctx->namespace : "default");
	for (i = 0; kind[i] && i + 1 < sizeof(lower); i++)
		lower[i] = (char)tolower((unsigned char)kind[i]);
	lower[i] = '\0';
	snprintf(what, sizeof(what), "kubernetes %s '%s%s%.253s'", lower,
		 ref.namespace ? ref.namespace : "", ref.namespace ? "/" : "",
		 name);

	if (fl_kube_get(ctx->kube, &ref, &obj, &st) < 0) {
		if (st.code == 404)
			fl_probe_msg(r, "%s: not found", what);
		else if (st.code == 0)
			fl_probe_msg(r, "%s: %.200s", what, st.message);
		else
			fl_probe_msg(r, "%s: %ld %.200s", what, st.code,
				     st.message);
		goto out;
	}
	judge(obj, &fc, what, r);
out:
	fl_kube_set_limits(ctx->kube, limits);
	r->latency_ms = now_ms() - start;
	json_object_put(obj);
	fl_kube_status_release(&st);
	return 0;
}
