/*
 * The JSON report: the run's status and the experiment's identity in a
 * shape that does not depend on which fields the operator happened to
 * write.  Consumers can index every key without checking for it.
 */
#include <string.h>

#include "json.h"
#include "report.h"

static const char *const experiment_keys[] = {
	"name", "namespace", "uid", "generation", "creationTimestamp",
};
static const char *const spec_keys[] = {"hypothesis", "duration", "schedule"};
static const char *const run_keys[] = {
	"runId",       "observedGeneration", "phase",	       "verdict",
	"message",     "startTime",	     "completionTime", "phaseTimes",
	"targetCount", "recoveryTime",	     "availability",
};
static const char *const target_keys[] = {
	"target", "fault",  "kind",	  "namespace",	"name",	       "state",
	"reason", "engine", "injectedAt", "revertedAt", "recoveredAt",
};
static const char *const probe_keys[] = {
	"name",	  "baseline", "during",	   "after",    "samples",
	"passed", "passRate", "lastError", "timeline",
};
static const char *const condition_keys[] = {
	"type",
	"status",
	"reason",
	"message",
	"lastTransitionTime",
	"observedGeneration",
};
static const char *const history_keys[] = {
	"runId",   "generation",   "phase",
	"verdict", "startTime",	   "completionTime",
	"message", "availability", "recoveryTime",
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A new object with exactly keys, each taken from src or null. */
static struct json_object *pick(struct json_object *src,
				const char *const *keys, size_t n)
{
	struct json_object *o = json_object_new_object();
	size_t i;

	for (i = 0; i < n; i++)
		json_object_object_add(
			o, keys[i], json_object_get(fl_json_get(src, keys[i])));
	return o;
}

/* A new array of pick() applied to each element of src. */
static struct json_object *pick_all(struct json_object *src,
				    const char *const *keys, size_t n)
{
	struct json_object *a = json_object_new_array();
	size_t i;

	for (i = 0; i < fl_json_len(src); i++)
		json_object_array_add(
			a, pick(json_object_array_get_idx(src, i), keys, n));
	return a;
}

int fl_report_json(struct json_object *obj, struct fl_buf *out)
{
	struct json_object *md = fl_json_get(obj, "metadata");
	struct json_object *spec = fl_json_get(obj, "spec");
	struct json_object *st = fl_json_get(obj, "status");
	struct json_object *r = json_object_new_object();
	struct json_object *x = pick(md, experiment_keys, N(experiment_keys));
	struct json_object *dry =
		fl_json_get(fl_json_get(spec, "safety"), "dryRun");
	size_t i;
	int rc;

	for (i = 0; i < N(spec_keys); i++)
		json_object_object_add(
			x, spec_keys[i],
			json_object_get(fl_json_get(spec, spec_keys[i])));
	json_object_object_add(
		x, "dryRun",
		json_object_new_boolean(dry && json_object_get_boolean(dry)));
	json_object_object_add(
		r, "apiVersion",
		json_object_new_string("faultline.dev/v1alpha1"));
	json_object_object_add(r, "kind",
			       json_object_new_string("ChaosExperimentReport"));
	json_object_object_add(r, "experiment", x);
	json_object_object_add(r, "run", pick(st, run_keys, N(run_keys)));
	json_object_object_add(r, "targets",
			       pick_all(fl_json_get(st, "targets"), target_keys,
					N(target_keys)));
	json_object_object_add(
		r, "probes",
		pick_all(fl_json_get(st, "probes"), probe_keys, N(probe_keys)));
	json_object_object_add(r, "conditions",
			       pick_all(fl_json_get(st, "conditions"),
					condition_keys, N(condition_keys)));
	json_object_object_add(r, "history",
			       pick_all(fl_json_get(st, "history"),
					history_keys, N(history_keys)));
	rc = fl_buf_adds(out,
			 json_object_to_json_string_ext(
				 r, JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE));
	if (!rc)
		rc = fl_buf_addc(out, '\n');
	json_object_put(r);
	return rc ? -1 : 0;
}
