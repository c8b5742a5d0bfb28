/*
 * Faults the operator carries out, one ops table per kind: inject one
 * target, check whether a target holds the fault (after a restart, to
 * never inject twice), and revert it.  A new kind is one file and one
 * line in fault.c's table.
 */
#ifndef FL_OP_FAULT_H
#define FL_OP_FAULT_H

#include <stddef.h>

#include <json-c/json.h>

#include "experiment.h"
#include "kube.h"

struct fl_run;

/* What a call says. */
enum fl_fault_result {
	FL_FAULT_OK,	  /* done (inject, revert) or present (check) */
	FL_FAULT_ABSENT,  /* check: the target does not hold the fault */
	FL_FAULT_REFUSED, /* will not succeed by retrying: why says why */
	FL_FAULT_RETRY,	  /* a transient failure: try again later */
};

struct fl_fault_call {
	struct fl_run *run;
	fl_kube *kube;
	const struct fl_fault *fault;
	struct json_object *target; /* the status.targets entry: namespace,
				       name, uid; ops may add fields */
	char why[512];		    /* filled on REFUSED or RETRY */
};

struct fl_fault_ops {
	enum fl_fault_kind kind;
	const char *engine; /* status.targets[].engine, e.g. "eviction" */
	enum fl_fault_result (*inject)(struct fl_fault_call *c);
	enum fl_fault_result (*check)(struct fl_fault_call *c);
	enum fl_fault_result (*revert)(struct fl_fault_call *c);
	/* Optional: after the revert, whether the target's population is
	 * whole again (a terminated node replaced, a service back to its
	 * running count).  OK when it is, RETRY to look again later,
	 * REFUSED when it cannot be known (why says why).  Waited for in
	 * Recovering, at most maxRecoveryTime. */
	enum fl_fault_result (*recovered)(struct fl_fault_call *c);
};

/* The ops of kind, or NULL when this build cannot carry it out. */
const struct fl_fault_ops *fl_fault_ops_for(enum fl_fault_kind kind);

extern const struct fl_fault_ops fl_fault_pod_delete;
extern const struct fl_fault_ops fl_fault_node_termination;
extern const struct fl_fault_ops fl_fault_ecs_task_stop;
extern const struct fl_fault_ops fl_fault_rds_failover;

#endif
