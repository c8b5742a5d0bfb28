/*
 * From a validated ChaosExperiment document to C structs.  The schema has
 * already checked types, ranges and the CEL rules; what is left here is
 * conversion, and the checks no schema can express (a duration that
 * overflows, a manifest that is not a ChaosExperiment at all).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "experiment.h"
#include "json.h"
#include "schema.h"
#include "units.h"
#include "yamljson.h"

const char *const fl_fault_kind_names[FL_FAULT_KIND_COUNT] = {
	[FL_FAULT_NETWORK_LATENCY] = "networkLatency",
	[FL_FAULT_NETWORK_LOSS] = "networkLoss",
	[FL_FAULT_NETWORK_CORRUPTION] = "networkCorruption",
	[FL_FAULT_NETWORK_DUPLICATION] = "networkDuplication",
	[FL_FAULT_BANDWIDTH] = "bandwidth",
	[FL_FAULT_NETWORK_PARTITION] = "networkPartition",
	[FL_FAULT_DEPENDENCY_TIMEOUT] = "dependencyTimeout",
	[FL_FAULT_SERVICE_UNAVAILABLE] = "serviceUnavailable",
	[FL_FAULT_CPU_STRESS] = "cpuStress",
	[FL_FAULT_MEMORY_STRESS] = "memoryStress",
	[FL_FAULT_DISK_STRESS] = "diskStress",
	[FL_FAULT_PROCESS_KILL] = "processKill",
	[FL_FAULT_PROCESS_PAUSE] = "processPause",
	[FL_FAULT_POD_DELETE] = "podDelete",
	[FL_FAULT_NODE_TERMINATION] = "nodeTermination",
	[FL_FAULT_ECS_TASK_STOP] = "ecsTaskStop",
	[FL_FAULT_RDS_FAILOVER] = "rdsFailover",
};

const char *const fl_target_kind_names[FL_TARGET_KIND_COUNT] = {
	[FL_TARGET_PODS] = "pods",
	[FL_TARGET_NODES] = "nodes",
	[FL_TARGET_ECS_TASKS] = "ecsTasks",
	[FL_TARGET_RDS] = "rdsInstances",
};

const char *const fl_probe_kind_names[FL_PROBE_KIND_COUNT] = {
	[FL_PROBE_HTTP] = "http",
	[FL_PROBE_PROMETHEUS] = "prometheus",
	[FL_PROBE_KUBERNETES] = "kubernetes",
	[FL_PROBE_CLOUDWATCH] = "cloudwatch",
};

#define PODS (1u << FL_TARGET_PODS)
#define ECS (1u << FL_TARGET_ECS_TASKS)

/* Which target kinds each fault may act on; the CRD's rules say the same
 * (nodeTermination and rdsFailover own their target kinds). */
static const unsigned fits[FL_FAULT_KIND_COUNT] = {
	[FL_FAULT_NETWORK_LATENCY] = PODS | ECS,
	[FL_FAULT_NETWORK_LOSS] = PODS | ECS,
	[FL_FAULT_NETWORK_CORRUPTION] = PODS | ECS,
	[FL_FAULT_NETWORK_DUPLICATION] = PODS | ECS,
	[FL_FAULT_BANDWIDTH] = PODS | ECS,
	[FL_FAULT_NETWORK_PARTITION] = PODS | ECS,
	[FL_FAULT_DEPENDENCY_TIMEOUT] = PODS | ECS,
	[FL_FAULT_SERVICE_UNAVAILABLE] = PODS | ECS,
	[FL_FAULT_CPU_STRESS] = PODS | ECS,
	[FL_FAULT_MEMORY_STRESS] = PODS | ECS,
	[FL_FAULT_DISK_STRESS] = PODS | ECS,
	[FL_FAULT_PROCESS_KILL] = PODS | ECS,
	[FL_FAULT_PROCESS_PAUSE] = PODS | ECS,
	[FL_FAULT_POD_DELETE] = PODS,
	[FL_FAULT_NODE_TERMINATION] = 1u << FL_TARGET_NODES,
	[FL_FAULT_ECS_TASK_STOP] = ECS,
	[FL_FAULT_RDS_FAILOVER] = 1u << FL_TARGET_RDS,
};

int fl_fault_fits_target(enum fl_fault_kind f, enum fl_target_kind t)
{
	return (fits[f] >> t) & 1u;
}

int fl_fault_kind_of(struct json_object *fault)
{
	int i, kind = -1;

	for (i = 0; i < FL_FAULT_KIND_COUNT; i++) {
		if (!fl_json_get(fault, fl_fault_kind_names[i]))
			continue;
		if (kind >= 0)
			return -1;
		kind = i;
	}
	return kind;
}

/* ---- the envelope: what a schema of spec and status cannot check ---- */

/* A DNS-1123 subdomain, as Kubernetes requires of most object names. */
static int is_dns_subdomain(const char *s)
{
	size_t n = strlen(s), i;

	if (n == 0 || n > 253)
		return 0;
	for (i = 0; i < n; i++) {
		char c = s[i];
		int alnum = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
		int edge = i == 0 || i == n - 1 || s[i - 1] == '.' ||
			   s[i + 1] == '.';

		if (!alnum && c != '-' && c != '.')
			return 0;
		if (!alnum && edge)
			return 0;
	}
	return 1;
}

static int check_envelope(struct json_object *doc, struct fl_errors *errs)
{
	struct json_object *meta = fl_json_get(doc, "metadata");
	const char *api = fl_json_str(doc, "apiVersion");
	const char *kind = fl_json_str(doc, "kind");
	const char *name = fl_json_str(meta, "name");
	int line = fl_yaml_line(doc);
	size_t before = errs->n + errs->dropped;

	if (!json_object_is_type(doc, json_type_object)) {
		fl_errors_add(errs, line, NULL, "document is not an object");
		return -1;
	}
	if (!api || strcmp(api, FL_API_VERSION) != 0)
		fl_errors_add(errs, line, "apiVersion", "must be %s, not %s",
			      FL_API_VERSION, api ? api : "missing");
	if (!kind || strcmp(kind, FL_KIND) != 0)
		fl_errors_add(errs, line, "kind", "must be %s, not %s", FL_KIND,
			      kind ? kind : "missing");
	if (!name)
		fl_errors_add(errs, fl_yaml_line(meta), "metadata.name",
			      "required field is missing");
	else if (!is_dns_subdomain(name))
		fl_errors_add(errs, fl_yaml_line(fl_json_get(meta, "name")),
			      "metadata.name",
			      "\"%.100s\" is not a valid name: lowercase "
			      "letters, digits, '-' and '.', at most 253",
			      name);
	return errs->n + errs->dropped == before ? 0 : -1;
}

/* ---- conversion ---- */

static int64_t duration(struct json_object *o, const char *key, int64_t def,
			const char *path, struct fl_errors *errs)
{
	const char *s = fl_json_str(o, key);
	int64_t ms;

	if (!s)
		return def;
	if (fl_duration_parse(s, &ms) == 0)
		return ms;
	fl_errors_add(errs, fl_yaml_line(fl_json_get(o, key)), path,
		      "\"%s\" is out of range for a duration", s);
	return def;
}

static const char **strings(struct json_object *arr, size_t *n)
{
	const char **out;
	size_t i;

	*n = fl_json_len(arr);
	if (*n == 0)
		return NULL;
	out = fl_calloc(*n, sizeof(*out));
	for (i = 0; i < *n; i++)
		out[i] = json_object_get_string(
			json_object_array_get_idx(arr, i));
	return out;
}

static struct fl_kv *pairs(struct json_object *obj, size_t *n)
{
	struct fl_kv *out;
	size_t i = 0;

	*n = obj ? (size_t)json_object_object_length(obj) : 0;
	if (*n == 0)
		return NULL;
	out = fl_calloc(*n, sizeof(*out));
	json_object_object_foreach(obj, k, v)
	{
		out[i].key = k;
		out[i].value = json_object_get_string(v);
		i++;
	}
	return out;
}

static void selector(struct json_object *o, struct fl_selector *sel)
{
	struct json_object *exprs = fl_json_get(o, "matchExpressions");
	size_t i;

	sel->labels = pairs(fl_json_get(o, "matchLabels"), &sel->nlabels);
	sel->nexprs = fl_json_len(exprs);
	if (sel->nexprs == 0)
		return;
	sel->exprs = fl_calloc(sel->nexprs, sizeof(*sel->exprs));
	for (i = 0; i < sel->nexprs; i++) {
		struct json_object *e = json_object_array_get_idx(exprs, i);

		sel->exprs[i].key = fl_json_str(e, "key");
		sel->exprs[i].op = fl_json_str(e, "operator");
		sel->exprs[i].values = strings(fl_json_get(e, "values"),
					       &sel->exprs[i].nvalues);
	}
}

static void target(struct json_object *o, struct fl_target *t)
{
	struct json_object *k;
	int i;

	t->name = fl_json_str(o, "name");
	for (i = 0; i < FL_TARGET_KIND_COUNT; i++)
		if (fl_json_get(o, fl_target_kind_names[i]))
			t->kind = (enum fl_target_kind)i;
	k = fl_json_get(o, fl_target_kind_names[t->kind]);
	t->namespaces = strings(fl_json_get(k, "namespaces"), &t->nnamespaces);
	selector(fl_json_get(k, "selector"), &t->selector);
	t->field_selector = fl_json_str(k, "fieldSelector");
	t->container = fl_json_str(k, "container");
	t->cluster = fl_json_str(k, "cluster");
	t->service = fl_json_str(k, "service");
	t->family = fl_json_str(k, "family");
	t->tags = pairs(fl_json_get(k, "tags"), &t->ntags);
	t->region = fl_json_str(k, "region");
	t->identifiers =
		strings(fl_json_get(k, "identifiers"), &t->nidentifiers);
	t->clusters = strings(fl_json_get(k, "clusters"), &t->nclusters);
}

static void mode(struct json_object *o, struct fl_mode *m)
{
	m->kind = FL_MODE_ONE;
	m->value = 0;
	if (fl_json_get(o, "all")) {
		m->kind = FL_MODE_ALL;
	} else if (fl_json_get(o, "count")) {
		m->kind = FL_MODE_COUNT;
		m->value = json_object_get_int64(fl_json_get(o, "count"));
	} else if (fl_json_get(o, "percent")) {
		m->kind = FL_MODE_PERCENT;
		m->value = json_object_get_int64(fl_json_get(o, "percent"));
	}
}

static int target_index(const struct fl_experiment *x, const char *name)
{
	size_t i;

	for (i = 0; i < x->ntargets; i++)
		if (strcmp(x->targets[i].name, name) == 0)
			return (int)i;
	return -1;
}

static void fault(struct fl_experiment *x, struct json_object *o, size_t i,
		  struct fl_errors *errs)
{
	struct fl_fault *f = &x->faults[i];
	char path[64];

	f->name = fl_json_str(o, "name");
	f->target = fl_json_str(o, "target");
	f->target_index = target_index(x, f->target);
	f->kind = (enum fl_fault_kind)fl_fault_kind_of(o);
	f->params = fl_json_get(o, fl_fault_kind_names[f->kind]);
	mode(fl_json_get(o, "mode"), &f->mode);
	snprintf(path, sizeof(path), "spec.faults[%zu].duration", i);
	f->duration_ms = duration(o, "duration", x->duration_ms, path, errs);
	snprintf(path, sizeof(path), "spec.faults[%zu].startAfter", i);
	f->start_after_ms = duration(o, "startAfter", 0, path, errs);
}

static int int_or(struct json_object *o, const char *key, int def)
{
	struct json_object *v = fl_json_get(o, key);

	return v ? (int)json_object_get_int64(v) : def;
}

static void probe(struct json_object *o, struct fl_probe *p, size_t i,
		  struct fl_errors *errs)
{
	char path[64];
	int k;

	p->name = fl_json_str(o, "name");
	for (k = 0; k < FL_PROBE_KIND_COUNT; k++)
		if (fl_json_get(o, fl_probe_kind_names[k]))
			p->kind = (enum fl_probe_kind)k;
	p->params = fl_json_get(o, fl_probe_kind_names[p->kind]);
	snprintf(path, sizeof(path), "spec.probes[%zu].interval", i);
	p->interval_ms = duration(o, "interval", 10000, path, errs);
	snprintf(path, sizeof(path), "spec.probes[%zu].timeout", i);
	p->timeout_ms = duration(o, "timeout", 5000, path, errs);
	p->success_threshold = int_or(o, "successThreshold", 1);
	p->failure_threshold = int_or(o, "failureThreshold", 1);
}

static void convert(struct fl_experiment *x, struct fl_errors *errs)
{
	struct json_object *meta = fl_json_get(x->doc, "metadata");
	struct json_object *spec = fl_json_get(x->doc, "spec");
	struct json_object *arr, *o;
	size_t i;

	x->name = fl_json_str(meta, "name");
	x->namespace = fl_json_str(meta, "namespace");
	x->generation = json_object_get_int64(fl_json_get(meta, "generation"));
	x->hypothesis = fl_json_str(spec, "hypothesis");
	x->duration_ms = duration(spec, "duration", 0, "spec.duration", errs);

	arr = fl_json_get(spec, "targets");
	x->ntargets = fl_json_len(arr);
	x->targets = fl_calloc(x->ntargets + 1, sizeof(*x->targets));
	for (i = 0; i < x->ntargets; i++)
		target(json_object_array_get_idx(arr, i), &x->targets[i]);

	arr = fl_json_get(spec, "faults");
	x->nfaults = fl_json_len(arr);
	x->faults = fl_calloc(x->nfaults + 1, sizeof(*x->faults));
	for (i = 0; i < x->nfaults; i++)
		fault(x, json_object_array_get_idx(arr, i), i, errs);

	arr = fl_json_get(spec, "probes");
	x->nprobes = fl_json_len(arr);
	x->probes = fl_calloc(x->nprobes + 1, sizeof(*x->probes));
	for (i = 0; i < x->nprobes; i++)
		probe(json_object_array_get_idx(arr, i), &x->probes[i], i,
		      errs);

	o = fl_json_get(spec, "successCriteria");
	x->max_recovery_ms =
		duration(o, "maxRecoveryTime", 300000,
			 "spec.successCriteria.maxRecoveryTime", errs);
	x->min_availability = fl_json_get(o, "minAvailability")
				      ? json_object_get_double(fl_json_get(
						o, "minAvailability"))
				      : -1;
	o = fl_json_get(spec, "safety");
	x->max_blast_radius = int_or(o, "maxBlastRadius", 10);
	x->min_healthy = int_or(o, "minHealthy", 0);
	x->dry_run = fl_json_get(o, "dryRun") &&
		     json_object_get_boolean(fl_json_get(o, "dryRun"));
	x->schedule = fl_json_str(spec, "schedule");
}

/*
 * The status subresource belongs to the operator: the API server drops
 * status from a manifest on create and update, so a manifest's status
 * must not make it invalid here either.  It is set aside while the rest
 * is validated.
 */
static int validate_spec(const struct fl_schema *schema,
			 struct json_object *doc, struct fl_errors *errs)
{
	struct json_object *status = NULL;
	int rc;

	if (json_object_object_get_ex(doc, "status", &status)) {
		json_object_get(status);
		json_object_object_del(doc, "status");
	}
	rc = fl_schema_validate(schema, doc, errs);
	if (status)
		json_object_object_add(doc, "status", status);
	return rc;
}

int fl_experiment_from_json(struct json_object *doc, struct fl_experiment *x,
			    struct fl_errors *errs)
{
	struct fl_schema *schema;
	size_t before = errs->n + errs->dropped;

	memset(x, 0, sizeof(*x));
	if (check_envelope(doc, errs) < 0)
		return -1;
	schema = fl_schema_experiment(errs);
	if (!schema || validate_spec(schema, doc, errs) < 0)
		return -1;
	x->doc = json_object_get(doc);
	convert(x, errs);
	if (errs->n + errs->dropped != before) {
		fl_experiment_release(x);
		return -1;
	}
	return 0;
}

int fl_experiment_parse(const char *text, size_t n, struct fl_experiment *x,
			struct fl_errors *errs)
{
	struct json_object *docs;
	int rc = -1;

	memset(x, 0, sizeof(*x));
	if (fl_yaml_parse(text, n, NULL, &docs, errs) < 0)
		return -1;
	if (json_object_array_length(docs) != 1)
		fl_errors_add(errs, 0, NULL, "expected one document, found %zu",
			      json_object_array_length(docs));
	else
		rc = fl_experiment_from_json(json_object_array_get_idx(docs, 0),
					     x, errs);
	json_object_put(docs);
	return rc;
}

void fl_experiment_release(struct fl_experiment *x)
{
	size_t i;

	for (i = 0; i < x->ntargets; i++) {
		struct fl_target *t = &x->targets[i];
		size_t j;

		free(t->namespaces);
		free(t->selector.labels);
		for (j = 0; j < t->selector.nexprs; j++)
			free(t->selector.exprs[j].values);
		free(t->selector.exprs);
		free(t->tags);
		free(t->identifiers);
		free(t->clusters);
	}
	free(x->targets);
	free(x->faults);
	free(x->probes);
	json_object_put(x->doc);
	memset(x, 0, sizeof(*x));
}
