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
struct fl_operator;

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
	int changed;		    /* follow: the entry was updated */
	int64_t wake_ms;	    /* follow: look again by then (wall
				       clock ms), 0 for no need */
};

struct fl_fault_ops {
	enum fl_fault_kind kind;
	enum fl_target_kind target; /* the kind of target it acts on */
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
	/* Optional: while the target is Injected, whether it still holds
	 * the fault.  OK when it does or cannot tell yet (c->wake_ms asks
	 * for another look), REFUSED when it lost it (why says why: the
	 * pod went away, the injector could not start), RETRY on a
	 * transient failure.  May update the entry (c->changed). */
	enum fl_fault_result (*follow)(struct fl_fault_call *c);
	/* Optional: why this operator cannot carry the kind out as it is
	 * configured, or NULL when it can. */
	const char *(*unusable)(const struct fl_operator *op);
};

/* The ops of kind, or NULL when this build cannot carry it out. */
const struct fl_fault_ops *fl_fault_ops_for(enum fl_fault_kind kind);

extern const struct fl_fault_ops fl_fault_pod_delete;
extern const struct fl_fault_ops fl_fault_node_termination;
extern const struct fl_fault_ops fl_fault_ecs_task_stop;
extern const struct fl_fault_ops fl_fault_rds_failover;

/* The kinds an injector applies inside a pod, one entry per kind. */
extern const struct fl_fault_ops fl_fault_injected[];
extern const size_t fl_fault_injected_count;

/*
 * Orders every live injector of the experiment ns/name to revert unless
 * run (NULL when the experiment is gone) holds it as a fault in place:
 * an injector that starts late, or outlives its run, never carries on.
 */
void fl_injector_sweep(struct fl_operator *op, const char *ns, const char *name,
		       struct fl_run *run);

#endif
