/*
 * Each twin below mirrors one CEL rule of the CRD.  They run only on a
 * node whose subtree already passed the schema, so fields have the types
 * the schema promises and durations are well-formed.
 */
#include <stdio.h>
#include <string.h>

#include "experiment.h"
#include "json.h"
#include "rules.h"
#include "units.h"
#include "yamljson.h"

/* For fields the schema requires: "" rather than NULL, should one be
 * missing after all. */
static const char *req_str(struct json_object *o, const char *key)
{
	const char *s = fl_json_str(o, key);

	return s ? s : "";
}

static struct json_object *at(struct json_object *arr, size_t i)
{
	return json_object_array_get_idx(arr, i);
}

static int64_t duration_or_zero(struct json_object *o, const char *key)
{
	int64_t ms = 0;
	const char *s = fl_json_str(o, key);

	if (s)
		fl_duration_parse(s, &ms);
	return ms;
}

static int fail(struct fl_errors *errs, struct json_object *node,
		const char *path, const char *message, const char *detail)
{
	fl_errors_add(errs, fl_yaml_line(node), path, "%s%s%s", message,
		      detail ? ": " : "", detail ? detail : "");
	return -1;
}

static void fault_path(char *out, size_t n, const char *path, size_t i,
		       const char *field)
{
	snprintf(out, n, "%s.faults[%zu]%s%s", path, i, field ? "." : "",
		 field ? field : "");
}

/* The target a fault names, or NULL. */
static struct json_object *target_of(struct json_object *spec,
				     struct json_object *fault)
{
	struct json_object *targets = fl_json_get(spec, "targets");
	const char *name = fl_json_str(fault, "target");
	size_t i;

	for (i = 0; name && i < fl_json_len(targets); i++)
		if (strcmp(req_str(at(targets, i), "name"), name) == 0)
			return at(targets, i);
	return NULL;
}

/* ---- "exactly one of" rules ---- */

static int count_set(struct json_object *self, const char *const *keys,
		     size_t n)
{
	size_t i;
	int set = 0;

	for (i = 0; i < n; i++)
		set += fl_json_get(self, keys[i]) != NULL;
	return set;
}

/*
 * The rules of the form "... must set exactly one of a, b, c" list their
 * fields in the message itself, so one twin serves them all.
 */
static int exactly_one_of_listed(struct json_object *self, const char *path,
				 const char *message, struct fl_errors *errs)
{
	const char *list = strstr(message, "exactly one of ");
	const char *keys[16];
	char copy[256], *p, *save = NULL;
	size_t n = 0;

	if (!list)
		return 0;
	snprintf(copy, sizeof(copy), "%s", list + strlen("exactly one of "));
	for (p = strtok_r(copy, ", ", &save); p && n < 16;
	     p = strtok_r(NULL, ", ", &save))
		keys[n++] = p;
	if (count_set(self, keys, n) == 1)
		return 0;
	return fail(errs, self, path, message, NULL);
}

static int one_fault_kind(struct json_object *self, const char *path,
			  const char *message, struct fl_errors *errs)
{
	int n = count_set(self, fl_fault_kind_names, FL_FAULT_KIND_COUNT);

	if (n == 1)
		return 0;
	return fail(errs, self, path, message,
		    n == 0 ? "none is set" : "several are set");
}

/* ---- spec-level rules ---- */

static int faults_name_targets(struct json_object *spec, const char *path,
			       const char *message, struct fl_errors *errs)
{
	struct json_object *faults = fl_json_get(spec, "faults");
	char p[256], detail[128];
	size_t i;
	int rc = 0;

	for (i = 0; i < fl_json_len(faults); i++) {
		struct json_object *f = at(faults, i);

		if (target_of(spec, f))
			continue;
		fault_path(p, sizeof(p), path, i, "target");
		snprintf(detail, sizeof(detail), "no target named \"%s\"",
			 req_str(f, "target"));
		rc = fail(errs, fl_json_get(f, "target"), p, message, detail);
	}
	return rc;
}

static int duration_capped(struct json_object *spec, const char *path,
			   const char *message, struct fl_errors *errs)
{
	char p[256];

	if (duration_or_zero(spec, "duration") <= 24 * 3600 * 1000)
		return 0;
	snprintf(p, sizeof(p), "%s.duration", path);
	return fail(errs, fl_json_get(spec, "duration"), p, message, NULL);
}

static int fault_window_fits(struct json_object *spec, const char *path,
			     const char *message, struct fl_errors *errs)
{
	struct json_object *faults = fl_json_get(spec, "faults");
	int64_t total = duration_or_zero(spec, "duration");
	char p[256];
	size_t i;
	int rc = 0;

	for (i = 0; i < fl_json_len(faults); i++) {
		struct json_object *f = at(faults, i);

		if (duration_or_zero(f, "startAfter") +
			    duration_or_zero(f, "duration") <=
		    total)
			continue;
		fault_path(p, sizeof(p), path, i, "startAfter");
		rc = fail(errs, f, p, message, NULL);
	}
	return rc;
}

/*
 * The rules that tie a fault kind to a target kind.  "only" rules say the
 * target kind takes that fault and nothing else; the others only that the
 * fault needs that kind of target.
 */
static int kind_pairing(struct json_object *spec, const char *path,
			const char *message, struct fl_errors *errs,
			const char *fault_key, const char *target_key, int only)
{
	struct json_object *faults = fl_json_get(spec, "faults");
	char p[256];
	size_t i;
	int rc = 0;

	for (i = 0; i < fl_json_len(faults); i++) {
		struct json_object *f = at(faults, i);
		struct json_object *t = target_of(spec, f);
		int has_fault = fl_json_get(f, fault_key) != NULL;
		int has_target;

		if (!t && only)
			continue;
		has_target = t && fl_json_get(t, target_key) != NULL;
		if (only ? has_fault == has_target : !has_fault || has_target)
			continue;
		fault_path(p, sizeof(p), path, i, NULL);
		rc = fail(errs, f, p, message, NULL);
	}
	return rc;
}

static int nodes_pairing(struct json_object *spec, const char *path,
			 const char *message, struct fl_errors *errs)
{
	return kind_pairing(spec, path, message, errs, "nodeTermination",
			    "nodes", 1);
}

static int rds_pairing(struct json_object *spec, const char *path,
		       const char *message, struct fl_errors *errs)
{
	return kind_pairing(spec, path, message, errs, "rdsFailover",
			    "rdsInstances", 1);
}

static int pod_delete_pairing(struct json_object *spec, const char *path,
			      const char *message, struct fl_errors *errs)
{
	return kind_pairing(spec, path, message, errs, "podDelete", "pods", 0);
}

static int ecs_stop_pairing(struct json_object *spec, const char *path,
			    const char *message, struct fl_errors *errs)
{
	return kind_pairing(spec, path, message, errs, "ecsTaskStop",
			    "ecsTasks", 0);
}

static int rds_names_something(struct json_object *self, const char *path,
			       const char *message, struct fl_errors *errs)
{
	if (fl_json_get(self, "identifiers") || fl_json_get(self, "clusters"))
		return 0;
	return fail(errs, self, path, message, NULL);
}

static int probe_declared(struct json_object *spec, const char *name)
{
	struct json_object *probes = fl_json_get(spec, "probes");
	size_t i;

	for (i = 0; i < fl_json_len(probes); i++)
		if (strcmp(req_str(at(probes, i), "name"), name) == 0)
			return 1;
	return 0;
}

static int abort_probes_declared(struct json_object *spec, const char *path,
				 const char *message, struct fl_errors *errs)
{
	struct json_object *names = fl_json_get(
		fl_json_get(fl_json_get(spec, "safety"), "abortWhen"),
		"probes");
	char p[256], detail[128];
	size_t i;
	int rc = 0;

	for (i = 0; i < fl_json_len(names); i++) {
		const char *n = json_object_get_string(at(names, i));

		if (probe_declared(spec, n))
			continue;
		snprintf(p, sizeof(p), "%s.safety.abortWhen.probes[%zu]", path,
			 i);
		snprintf(detail, sizeof(detail), "no probe named \"%s\"", n);
		rc = fail(errs, at(names, i), p, message, detail);
	}
	return rc;
}

static const struct fl_rule rules[] = {
	{"every fault's target must name a declared target",
	 faults_name_targets},
	{"an experiment's duration must be at most 24h", duration_capped},
	{"a fault's startAfter plus its duration must end within the "
	 "experiment's duration",
	 fault_window_fits},
	{"nodeTermination is the only fault for a nodes target, and needs one",
	 nodes_pairing},
	{"rdsFailover is the only fault for an rdsInstances target, and needs "
	 "one",
	 rds_pairing},
	{"podDelete needs a pods target", pod_delete_pairing},
	{"rdsInstances must list identifiers or clusters", rds_names_something},
	{"ecsTaskStop needs an ecsTasks target", ecs_stop_pairing},
	{"safety.abortWhen.probes must name declared probes",
	 abort_probes_declared},
	{"a fault must set exactly one fault kind", one_fault_kind},
	{"a target must set exactly one of pods, nodes, ecsTasks, "
	 "rdsInstances",
	 exactly_one_of_listed},
	{"mode must set exactly one of all, one, count, percent",
	 exactly_one_of_listed},
	{"memoryStress must set exactly one of size, percent",
	 exactly_one_of_listed},
	{"diskStress must set exactly one of size, percent",
	 exactly_one_of_listed},
	{"a probe must set exactly one of http, prometheus, kubernetes, "
	 "cloudwatch",
	 exactly_one_of_listed},
};

const struct fl_rule *fl_rule_find(const char *message)
{
	size_t i;

	for (i = 0; message && i < sizeof(rules) / sizeof(rules[0]); i++)
		if (strcmp(rules[i].message, message) == 0)
			return &rules[i];
	return NULL;
}

const struct fl_rule *fl_rule_at(size_t i)
{
	return i < sizeof(rules) / sizeof(rules[0]) ? &rules[i] : NULL;
}
