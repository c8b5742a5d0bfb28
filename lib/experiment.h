/*
 * The experiment model: a ChaosExperiment parsed into C structs, shared by
 * the operator and the CLI.
 *
 * Parsing first validates the document against the CRD's schema (see
 * schema.h), so everything here has already passed what the API server
 * checks; then it converts durations, sizes and modes into numbers.
 *
 * Strings point into the parsed JSON tree, which the struct keeps alive:
 * they stay valid until fl_experiment_release().
 */
#ifndef FL_EXPERIMENT_H
#define FL_EXPERIMENT_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "errors.h"

#define FL_API_VERSION "faultline.dev/v1alpha1"
#define FL_KIND "ChaosExperiment"

/* Fault kinds, in the order of fl_fault_kind_names. */
enum fl_fault_kind {
	FL_FAULT_NETWORK_LATENCY,
	FL_FAULT_NETWORK_LOSS,
	FL_FAULT_NETWORK_CORRUPTION,
	FL_FAULT_NETWORK_DUPLICATION,
	FL_FAULT_BANDWIDTH,
	FL_FAULT_NETWORK_PARTITION,
	FL_FAULT_DEPENDENCY_TIMEOUT,
	FL_FAULT_SERVICE_UNAVAILABLE,
	FL_FAULT_CPU_STRESS,
	FL_FAULT_MEMORY_STRESS,
	FL_FAULT_DISK_STRESS,
	FL_FAULT_PROCESS_KILL,
	FL_FAULT_PROCESS_PAUSE,
	FL_FAULT_POD_DELETE,
	FL_FAULT_NODE_TERMINATION,
	FL_FAULT_ECS_TASK_STOP,
	FL_FAULT_RDS_FAILOVER,
	FL_FAULT_KIND_COUNT
};

/* The field name of each kind in a fault ("networkLatency", ...). */
extern const char *const fl_fault_kind_names[FL_FAULT_KIND_COUNT];

enum fl_target_kind {
	FL_TARGET_PODS,
	FL_TARGET_NODES,
	FL_TARGET_ECS_TASKS,
	FL_TARGET_RDS,
	FL_TARGET_KIND_COUNT
};

extern const char *const fl_target_kind_names[FL_TARGET_KIND_COUNT];

struct fl_kv {
	const char *key;
	const char *value;
};

struct fl_label_expr {
	const char *key;
	const char *op; /* In, NotIn, Exists, DoesNotExist */
	const char **values;
	size_t nvalues;
};

struct fl_selector {
	struct fl_kv *labels; /* matchLabels */
	size_t nlabels;
	struct fl_label_expr *exprs; /* matchExpressions */
	size_t nexprs;
};

struct fl_target {
	const char *name;
	enum fl_target_kind kind;
	const char **namespaces; /* pods */
	size_t nnamespaces;
	struct fl_selector selector; /* pods, nodes */
	const char *field_selector;  /* pods */
	const char *container;	     /* pods, ecsTasks */
	const char *cluster;	     /* ecsTasks */
	const char *service;	     /* ecsTasks */
	const char *family;	     /* ecsTasks */
	struct fl_kv *tags;	     /* ecsTasks */
	size_t ntags;
	const char *region;	  /* ecsTasks, rdsInstances */
	const char **identifiers; /* rdsInstances */
	size_t nidentifiers;
	const char **clusters; /* rdsInstances (Aurora) */
	size_t nclusters;
};

enum fl_mode_kind { FL_MODE_ONE, FL_MODE_ALL, FL_MODE_COUNT, FL_MODE_PERCENT };

struct fl_mode {
	enum fl_mode_kind kind;
	int64_t value; /* count or percent */
};

struct fl_fault {
	const char *name;
	const char *target; /* a declared target's name */
	int target_index;   /* index in fl_experiment.targets */
	enum fl_fault_kind kind;
	struct fl_mode mode; /* FL_MODE_ONE when not given */
	int64_t duration_ms; /* the experiment's when not given */
	int64_t start_after_ms;
	struct json_object *params; /* the kind's own object, e.g. the
				       value of "networkLatency" */
};

enum fl_probe_kind {
	FL_PROBE_HTTP,
	FL_PROBE_PROMETHEUS,
	FL_PROBE_KUBERNETES,
	FL_PROBE_CLOUDWATCH,
	FL_PROBE_KIND_COUNT
};

extern const char *const fl_probe_kind_names[FL_PROBE_KIND_COUNT];

struct fl_probe {
	const char *name;
	enum fl_probe_kind kind;
	int64_t interval_ms;   /* default 10s */
	int64_t timeout_ms;    /* default 5s */
	int success_threshold; /* default 1 */
	int failure_threshold; /* default 1 */
	struct json_object *params;
};

struct fl_experiment {
	struct json_object *doc; /* owns every string below */
	const char *name;
	const char *namespace; /* NULL when the manifest has none */
	int64_t generation;
	const char *hypothesis;
	int64_t duration_ms;
	struct fl_target *targets;
	size_t ntargets;
	struct fl_fault *faults;
	size_t nfaults;
	struct fl_probe *probes;
	size_t nprobes;
	int64_t max_recovery_ms; /* default 5m */
	double min_availability; /* percent; < 0 when not given */
	int max_blast_radius;	 /* percent, default 10 */
	int64_t min_healthy;
	int dry_run;
	const char *schedule; /* NULL for one run per generation */
};

/*
 * Parses and validates one ChaosExperiment from YAML or JSON text.  file
 * names the source in errors and may be NULL.  Returns 0 and fills x (the
 * caller releases it), or -1 with errs filled and x left empty.  A stream
 * must hold exactly one document; see fl_experiment_from_json() for
 * documents already parsed.
 */
int fl_experiment_parse(const char *text, size_t len, struct fl_experiment *x,
			struct fl_errors *errs);

/*
 * Validates and converts an already parsed document (as read from the API
 * server).  Takes a new reference on doc, and may fill in defaults in it.
 * Returns 0, or -1 with errs filled.
 */
int fl_experiment_from_json(struct json_object *doc, struct fl_experiment *x,
			    struct fl_errors *errs);

void fl_experiment_release(struct fl_experiment *x);

/* The kind of fault a fault object sets, or -1 if none or several. */
int fl_fault_kind_of(struct json_object *fault);

/* Nonzero when a fault of this kind may act on a target of that kind. */
int fl_fault_fits_target(enum fl_fault_kind f, enum fl_target_kind t);

#endif
