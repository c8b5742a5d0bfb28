/*
 * The operator's AWS side: one AWS client per worker and region, the
 * populations of ecsTasks and rdsInstances targets, and the CloudWatch
 * alarms that abort a run (safety.abortWhen.cloudwatchAlarms).  The AWS
 * fault kinds themselves are fault_*.c files behind struct fl_fault_ops.
 */
#ifndef FL_OP_AWS_OPS_H
#define FL_OP_AWS_OPS_H

#include <stddef.h>

#include <json-c/json.h>

#include "aws.h"
#include "experiment.h"
#include "fault.h"

struct fl_run;
struct fl_worker;

/*
 * The worker's client for region (NULL: the operator's default region,
 * from the environment), made on first use and kept.  Returns NULL with
 * *err filled when no client can be made (no region, a bad endpoint).
 */
fl_aws *fl_worker_aws(struct fl_worker *w, const char *region,
		      struct fl_aws_error *err);

/* Frees the worker's AWS clients. */
void fl_worker_aws_release(struct fl_worker *w);

/*
 * The eligible population of an ecsTasks or rdsInstances target, as a
 * new JSON array the caller owns: objects {"name", "uid"} (ECS: the task
 * id and the task ARN; RDS: the instance or cluster identifier, and
 * "cluster": true for an Aurora cluster).  Returns 0; 1 with why filled
 * when the target cannot be resolved for a reason retrying cannot fix
 * (the AWS error's text: AuthFailure, an unknown cluster); -1 with why
 * filled on a transient failure (logged as a warning), until Preparing
 * has lasted two minutes: then 1, saying it gave up.
 */
int fl_aws_resolve_target(struct fl_run *r, const struct fl_target *t,
			  struct json_object **items, char *why, size_t n);

/*
 * Whether one of the run's safety.abortWhen.cloudwatchAlarms is in state
 * ALARM: 1 with why naming it ("cloudwatch alarm 'checkout-5xx' is in
 * ALARM: ..."), 0 when none is (or none is configured), -1 with why when
 * the alarms cannot be read (the run goes on; the caller reports it).
 * Called at every step of Injecting and Observing; while alarms are
 * configured it asks to be called again soon (fl_run_wake_at()).
 */
int fl_aws_alarms_firing(struct fl_run *r, char *why, size_t n);

/*
 * The EC2 instance behind a Node's spec.providerID, "aws:///<zone>/<id>"
 * as the AWS cloud provider writes it: the instance id into id, the
 * region of the zone into region ("" when the providerID names no zone).
 * Returns 0, or -1 (id and region "") when provider_id is NULL or not
 * that of an EC2 instance (another cloud, a Fargate node, an id that
 * does not fit idn).
 */
int fl_aws_node_instance(const char *provider_id, char *id, size_t idn,
			 char *region, size_t rn);

/* -- for the AWS fault kinds (fault_*.c) ----------------------------- */

/*
 * How many inject attempts of one target may end in a transient AWS
 * failure (throttling that outlasted the client's own retries, a 5xx,
 * no answer, credentials that could not be fetched) before the fault
 * gives up as REFUSED.  Each attempt is counted in the target's
 * status entry ("attempts"), with the last error in its "reason", so a
 * run never retries silently and never forever.
 */
#define FL_AWS_FAULT_ATTEMPTS 4

/*
 * The worker's client for region (NULL: the default), for a fault
 * call.  Returns NULL with c->why filled and *res set (REFUSED: no
 * client can be made) when it cannot.  Owned by the worker.
 */
fl_aws *fl_aws_fault_client(struct fl_fault_call *c, const char *region,
			    enum fl_fault_result *res);

/*
 * Sorts an inject's failed AWS call: a transient failure is counted in
 * the entry and is RETRY until the FL_AWS_FAULT_ATTEMPTS-th, then
 * REFUSED; anything else (AuthFailure, AccessDenied, a bad parameter)
 * is REFUSED at once.  unapplied says the fault surely did not take
 * effect (the failed call was a read, or was throttled), which lets
 * the check after the retry skip its own AWS call.  c->why is what
 * ("instance i-0abc (node 'n1'): ") and err->text, with the attempt
 * count for a transient failure ("gave up after 4 attempts: ..." once
 * it gives up); on RETRY it is also put in the entry's reason, so that
 * status shows why the fault waits.
 */
enum fl_fault_result fl_aws_fault_failed(struct fl_fault_call *c,
					 const char *what,
					 const struct fl_aws_error *err,
					 int unapplied);

/*
 * For check(): 1 when the last inject attempt recorded that it failed
 * before its fault could take effect (and forgets that, so that the
 * next attempt is checked for real), else 0.
 */
int fl_aws_fault_unapplied(struct fl_fault_call *c);

/* Marks a successful inject: clears the retry notes of the entry. */
void fl_aws_fault_done(struct fl_fault_call *c);

/*
 * Sorts a failed AWS call of check(), revert() or recovered(): RETRY
 * for a transient failure, else REFUSED; c->why says what failed.
 */
enum fl_fault_result fl_aws_call_failed(struct fl_fault_call *c,
					const char *what,
					const struct fl_aws_error *err);

/* The spec's target an entry belongs to (by its "target" name), or
 * NULL when the spec no longer has it. */
const struct fl_target *fl_aws_entry_target(struct fl_fault_call *c);

#endif
