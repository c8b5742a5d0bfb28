/*
 * Validation against a CustomResourceDefinition's OpenAPI v3 schema, the
 * way the API server applies it: nulls pruned, defaults filled in, unknown
 * fields refused (kubectl's strict field validation), then every keyword
 * the schema uses, then the x-kubernetes-validations rules through their C
 * twins (lib/rules.c).
 *
 * The schema is read from the CRD's own text, so there is one schema and
 * two enforcers of it: the API server and this file.
 */
#ifndef FL_SCHEMA_H
#define FL_SCHEMA_H

#include <regex.h>
#include <stddef.h>

#include <json-c/json.h>

#include "errors.h"

struct fl_schema_pattern {
	struct json_object *node; /* the pattern string in the schema */
	regex_t re;
};

struct fl_schema {
	struct json_object *docs; /* the parsed CRD; owns everything */
	struct json_object *root; /* openAPIV3Schema of the version */
	struct fl_schema_pattern *pats;
	size_t npats;
};

/*
 * Loads the schema of `version` from CRD YAML text and compiles its
 * patterns.  Returns 0, or -1 with an error in errs (a CRD without that
 * version, a pattern that does not compile, a rule without a C twin).
 * Release with fl_schema_release().
 */
int fl_schema_init(struct fl_schema *s, const char *crd_yaml, size_t len,
		   const char *version, struct fl_errors *errs);
void fl_schema_release(struct fl_schema *s);

/* The ChaosExperiment schema, loaded once from the CRD embedded at build
 * time; NULL (with errs filled) only if the embedded CRD is broken. */
struct fl_schema *fl_schema_experiment(struct fl_errors *errs);

/*
 * Validates doc in place: prunes nulls and fills defaults as the API
 * server would, and adds an error for each violation (with the source
 * line when doc came from fl_yaml_parse()).  Returns 0 when valid, -1
 * otherwise.
 */
int fl_schema_validate(const struct fl_schema *s, struct json_object *doc,
		       struct fl_errors *errs);

/*
 * Validates the parameters of one fault kind ("cpuStress", the object
 * under that key in a fault) against the schema node
 * spec.faults.items.properties.<kind>, in place like fl_schema_validate().
 * path prefixes the field paths in errors ("faults[0].cpuStress") and may
 * be empty.  Returns 0 when valid; -1 with errors, among them "unknown
 * fault kind" when the schema has no such kind.
 */
int fl_schema_validate_fault_params(const struct fl_schema *s, const char *kind,
				    struct json_object *params,
				    const char *path, struct fl_errors *errs);

/* Nonzero when s is an IPv4 or IPv6 CIDR ("10.0.0.0/8", "fd00::/64") as
 * the schema's `format: cidr` accepts it. */
int fl_cidr_valid(const char *s);

/* Calls fn for every x-kubernetes-validations message in the schema; for
 * tests that check every rule has a twin. */
void fl_schema_each_rule(const struct fl_schema *s,
			 void (*fn)(const char *message, void *arg), void *arg);

#endif
