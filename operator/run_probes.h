/*
 * The probes of a run, sampled into status.probes[] (run_probes.c).
 */
#ifndef FL_OP_RUN_PROBES_H
#define FL_OP_RUN_PROBES_H

#include <stddef.h>
#include <stdint.h>

#include "probe.h"

struct fl_run;

/*
 * Samples every probe that is due (never sampled, or its interval has
 * passed since its last sample) for stage ("baseline", "during",
 * "after"), records each sample in status (not yet written), and asks to
 * wake when the next one is due.  *sampled counts the samples taken.
 * Returns 0, or -1 with msg when a probe cannot be sampled at all (its
 * definition is invalid, or its kind is not in this build).
 */
int fl_probes_step(struct fl_run *r, const char *stage, int *sampled, char *msg,
		   size_t n);

/* FAILS when a probe currently fails (*which and *why name it and its
 * last error), HOLDS when every probe holds, else UNKNOWN.  With no
 * probes, HOLDS. */
enum fl_probe_verdict fl_probes_verdict(struct fl_run *r, const char **which,
					const char **why);

/* 1 with why when safety.abortWhen.probeFailures consecutive failures of
 * a watched probe (abortWhen.probes, or every probe) have been seen. */
int fl_probes_abort_due(struct fl_run *r, char *why, size_t n);

/* Passed samples over all samples of every probe, in percent (100 with
 * no sample); *samples gets the count. */
double fl_probes_availability(struct fl_run *r, int64_t *samples);

/* The latest start of a probe's current streak of passes (wall ms): the
 * moment from which every probe has held; -1 when one is failing. */
int64_t fl_probes_holding_since(struct fl_run *r);

/* 1 with *which when a probe's verdict for stage is Failed. */
int fl_probes_stage_failed(struct fl_run *r, const char *stage,
			   const char **which);

#endif
