/*
 * spec.onFailure: what a run does when the hypothesis failed (verdict
 * Failed, or Aborted by a probe or an alarm): roll Deployments back to
 * their previous revision, and post a JSON notification to a webhook.
 */
#ifndef FL_OP_ON_FAILURE_H
#define FL_OP_ON_FAILURE_H

struct fl_run;

/*
 * Carries out spec.onFailure for run r, which ends with verdict and
 * message (not yet written).  Each action is recorded in
 * status.onFailure before and after it is taken, so that a restarted
 * operator never repeats one.  Returns 0 when every action is done or
 * has failed for good (recorded, with the reason), -1 to retry later
 * (what was recorded is kept, and done actions are not taken again).
 */
int fl_run_on_failure(struct fl_run *r, const char *verdict,
		      const char *message);

#endif
