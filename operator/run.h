/*
 * One reconcile's view of an experiment's run: the object as last read or
 * written, its parsed spec, and the helpers that change status and write
 * it back.  Everything the run knows lives in status, so that another
 * operator (or this one, restarted) can carry on from any write.
 */
#ifndef FL_OP_RUN_H
#define FL_OP_RUN_H

#include <stddef.h>
#include <stdint.h>

#include <json-c/json.h>

#include "experiment.h"
#include "log.h"
#include "operator.h"

/* Phases, as status.phase spells them. */
#define FL_PH_PENDING "Pending"
#define FL_PH_PREPARING "Preparing"
#define FL_PH_INJECTING "Injecting"
#define FL_PH_OBSERVING "Observing"
#define FL_PH_RECOVERING "Recovering"
#define FL_PH_VALIDATING "Validating"
#define FL_PH_COMPLETED "Completed"
#define FL_PH_ABORTED "Aborted"
#define FL_PH_FAILED "Failed"

/* Target states, as status.targets[].state spells them. */
#define FL_TS_SELECTED "Selected"
#define FL_TS_INJECTING "Injecting"
#define FL_TS_INJECTED "Injected"
#define FL_TS_REVERTING "Reverting"
#define FL_TS_REVERTED "Reverted"
#define FL_TS_FAILED "Failed"
#define FL_TS_SKIPPED "Skipped"

#define FL_HISTORY_MAX 10
#define FL_TARGETS_MAX 1024 /* status.targets, as the CRD bounds it */
#define FL_RUN_EVENTS 8

/* An Event waiting for the status write that makes it true. */
struct fl_run_pending_event {
	char type[8];
	char reason[32];
	char action[32];
	char note[512];
};

struct fl_run {
	struct fl_worker *w;
	struct json_object *obj;    /* the experiment; owned, replaced by
				       each successful write */
	struct json_object *status; /* obj's status, borrowed */
	struct fl_experiment x;	    /* the parsed spec, when parsed */
	int parsed;
	char ns[64];
	char name[254];
	char run_id[64];
	struct fl_log_ctx log;
	int conflict;	 /* the last write met a newer object (409) */
	int64_t wake_ms; /* the soonest time a step asked to look again
			    (wall clock ms), 0 for none */
	struct fl_run_pending_event events[FL_RUN_EVENTS];
	size_t nevents;
	const char *entered;	 /* a phase to count once written */
	const char *ended_phase; /* a run end to count once written */
	const char *ended_verdict;
};

/* Wall-clock milliseconds since the epoch. */
int64_t fl_now_ms(void);

/* Formats ms (wall clock) as RFC 3339 UTC with milliseconds into out. */
char *fl_time_format(int64_t ms, char *out, size_t n);

/* Parses an RFC 3339 time (as we or the API server write it); -1 when it
 * is not one. */
int64_t fl_time_parse(const char *s);

/* When fault f of this run ends (wall clock ms): its startAfter and
 * duration from the start of Injecting, within the experiment's
 * duration. */
int64_t fl_run_fault_end(struct fl_run *r, const struct fl_fault *f);

/* Status accessors.  Setters create status when it is missing. */
const char *fl_st_str(struct fl_run *r, const char *key);
int64_t fl_st_int(struct fl_run *r, const char *key, int64_t dflt);
void fl_st_set(struct fl_run *r, const char *key, struct json_object *v);
void fl_st_set_str(struct fl_run *r, const char *key, const char *v);

/* The time a phase of this run started (status.phaseTimes), or -1. */
int64_t fl_st_phase_time(struct fl_run *r, const char *phase);

/* Moves the run to phase: status.phase, its start time, the conditions
 * a run in that phase shows, and an Event once the write succeeds. */
void fl_st_phase(struct fl_run *r, const char *phase, const char *message);

/* Sets one condition (kstatus style), keeping lastTransitionTime when
 * its status does not change. */
void fl_st_condition(struct fl_run *r, const char *type, const char *status,
		     const char *reason, const char *message);

/* Ends the run: phase (Completed, Aborted or Failed), verdict (or NULL),
 * message, completionTime, the conditions, and one history entry. */
void fl_st_finish(struct fl_run *r, const char *phase, const char *verdict,
		  const char *message);

/*
 * Writes status through the status subresource, with the
 * resourceVersion read as a precondition.  On success r->obj is the
 * server's answer.  Returns 0, or -1 (r->conflict set on 409: someone
 * wrote in between; re-read and decide again).
 */
int fl_st_write(struct fl_run *r);

/* Records an Event about the experiment once the next status write
 * succeeds (best effort: a failure is logged, never fatal). */
void fl_run_event(struct fl_run *r, const char *type, const char *reason,
		  const char *action, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

/* Sends the Events waiting for a write (fl_st_write() does it). */
void fl_run_flush_events(struct fl_run *r);

/* Asks to look again no later than at_ms (wall clock). */
void fl_run_wake_at(struct fl_run *r, int64_t at_ms);

/* status.targets, created empty when missing. */
struct json_object *fl_st_targets(struct fl_run *r);

/* The phases (run_prepare.c, run_faults.c, run_finish.c).  Each returns
 * 0 when the run may go on at once (the phase changed or nothing is
 * left to wait for), 1 when it must wait (r->wake_ms says until when, or
 * a change will wake it), -1 on a failure worth retrying. */
int fl_run_prepare(struct fl_run *r);
int fl_run_inject(struct fl_run *r);
int fl_run_observe(struct fl_run *r);
int fl_run_recover(struct fl_run *r);
int fl_run_validate(struct fl_run *r);

/*
 * Reverts everything the run has injected, at once, and ends it as
 * Aborted with reason (a CamelCase word: KillSwitch, AbortRequested,
 * Deleted) and message.  Returns 0, or -1 when a revert or the write
 * failed (it is retried; nothing is given up on).
 */
int fl_run_abort(struct fl_run *r, const char *reason, const char *message);

/* Records in status.ending that the run is being aborted, and why (the
 * reverts that follow tell injectors so). */
void fl_run_ending(struct fl_run *r, const char *reason, const char *message);

/* Reverts every target in a state that may hold a fault (Injecting,
 * Injected, Reverting).  Returns 0 when all are reverted, -1 otherwise. */
int fl_run_revert_all(struct fl_run *r);

#endif
