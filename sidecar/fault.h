/*
 * The injector's fault engine: one ops table per fault kind, one file per
 * kind (sidecar/fault_<kind>.c), all listed in sidecar/registry.c.  A new
 * fault touches one file and one table.
 *
 * The engine is separate from transport: it knows nothing of the agent
 * channel to the operator.  main.c reads a spec, applies every fault in
 * it, holds them until the deadline, a signal or an order, and reverts
 * them.
 *
 * Everything a fault installs is tagged with ctx->tag (qdisc handles, the
 * nftables table, file names, process titles), so that sweep() can find
 * and remove what an instance that died by SIGKILL left behind.
 */
#ifndef FL_SIDECAR_FAULT_H
#define FL_SIDECAR_FAULT_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <json-c/json.h>

#include "errors.h"

/* What every fault of one run shares. */
struct fl_fault_ctx {
	const char *tag;	  /* short, [a-z0-9-], unique to this run */
	int64_t deadline_ms;	  /* CLOCK_MONOTONIC, when all must be back */
	pid_t target_pid;	  /* a process of the target container, or 0 */
	const char *cgroup_dir;	  /* the target's cgroup, or NULL for ours */
	int allow_control_cut;	  /* the spec allows cutting our own channel */
	const char *control_cidr; /* the operator's address, or NULL */
	int control_port;	  /* the operator's port, or 0 */
	char err[512];		  /* filled by a failing op, lowercase, says
				    what failed first */
};

struct fl_fault_ops {
	const char *kind;  /* the CRD's field name, "networkLatency" */
	size_t state_size; /* bytes main.c allocates (zeroed) per fault */

	/* Reads the fault's parameters (already validated against the CRD's
	 * schema) into state.  Adds an error naming the field and returns -1
	 * for what the schema cannot refuse; changes nothing on the system. */
	int (*parse)(struct json_object *params, void *state,
		     struct fl_errors *errs);

	/* Installs the fault.  On failure, undoes whatever it had installed,
	 * fills ctx->err and returns -1. */
	int (*apply)(void *state, struct fl_fault_ctx *ctx);

	/* Takes the fault back.  Idempotent: safe after a failed or partial
	 * apply, and when called twice.  Returns -1 (ctx->err) only when
	 * something may be left behind. */
	int (*revert)(void *state, struct fl_fault_ctx *ctx);

	/* Removes anything tagged by an earlier instance with any tag (it may
	 * have died by SIGKILL).  Returns the number of things removed, or
	 * -1 (ctx->err).  May be NULL when the kind leaves nothing behind
	 * that outlives the process. */
	int (*sweep)(struct fl_fault_ctx *ctx);

	/* Adds what a status line should say about the applied fault (the
	 * engine used, for instance) to out.  May be NULL. */
	void (*status)(void *state, struct json_object *out);

	/* Releases memory held in state (not the state itself).  May be
	 * NULL. */
	void (*release)(void *state);
};

/* The ops of a kind, or NULL when this build has no engine for it. */
const struct fl_fault_ops *fl_fault_ops_find(const char *kind);

/* Every registered ops table, NULL-terminated. */
extern const struct fl_fault_ops *const fl_fault_registry[];

#endif
