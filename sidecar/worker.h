/*
 * Worker processes for the resource faults.  Each one is a child of the
 * sidecar that dies with it (PR_SET_PDEATHSIG), is called "fl-<tag>" so
 * that a sweep finds stragglers in /proc, and is moved into the target's
 * cgroup before it does any work, so that what it consumes is charged to
 * the target.
 */
#ifndef FL_SIDECAR_WORKER_H
#define FL_SIDECAR_WORKER_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "cgroup.h"

#define FL_WORKER_PREFIX "fl-"

struct fl_workers {
	pid_t *pids; /* fl_calloc'd; 0 for a slot already reaped */
	size_t n;
	const char *kind; /* the fault kind, for reports */
};

/* What a worker runs; it calls fl_worker_ready() once it holds what it
 * should (memory touched, for instance), then works until killed. */
typedef void (*fl_worker_fn)(size_t index, void *arg);

/*
 * Starts n workers running fn, and waits until each has joined cg and
 * called fl_worker_ready(), or until deadline_ms (CLOCK_MONOTONIC).
 * Returns 0, or -1 with err, all workers then stopped.  Stop the workers
 * with fl_workers_stop() in any case.
 */
int fl_workers_start(struct fl_workers *w, const char *kind, size_t n,
		     const char *tag, const struct fl_cgroup *cg,
		     fl_worker_fn fn, void *arg, int64_t deadline_ms, char *err,
		     size_t errn);

/* In a worker: tells the parent that it is ready. */
void fl_worker_ready(void);

/*
 * Reaps the workers of every running set that have ended (killed by the
 * OOM killer, for instance), so that no later kill() can reach a recycled
 * pid, and calls fn for each with its wait status.  Reaps only workers,
 * never another child.  Returns how many.
 */
int fl_workers_reap(void (*fn)(const struct fl_workers *w, pid_t pid,
			       int status, void *arg),
		    void *arg);

/* Kills and reaps every worker; idempotent.  Frees w->pids. */
void fl_workers_stop(struct fl_workers *w);

/* Kills processes named fl-* whose parent is not a live sidecar (workers
 * of an instance that died).  Returns how many. */
int fl_workers_sweep(void);

/* fl_workers_sweep() as an ops table's sweep, shared by every kind that
 * runs workers so that the engine calls it once. */
struct fl_fault_ctx;
int fl_workers_sweep_op(struct fl_fault_ctx *ctx);

/* CLOCK_MONOTONIC in milliseconds and nanoseconds. */
int64_t fl_now_ms(void);
int64_t fl_now_ns(void);

/*
 * The duty cycle of a worker that should take load_pct of one CPU in
 * slices of period_ns: the busy part of each slice.  0 for no load,
 * period_ns for full load.
 */
int64_t fl_duty_busy_ns(int64_t period_ns, int load_pct);

/* The CPU time a worker still owes after a slice, clamped to
 * [-max_ns, max_ns]: positive when it got less than its share (a
 * neighbour had the CPU), negative when it overshot. */
int64_t fl_duty_owed(int64_t owed_ns, int64_t max_ns);

/*
 * Spreads load_pct of a capacity of cpus_milli (thousandths of a CPU)
 * over workers: the load each worker takes of its own CPU, in percent,
 * capped at 100.  With workers == 0, chooses the fewest workers that can
 * carry the load and stores their number in *workers.
 */
int fl_duty_spread(int64_t cpus_milli, int load_pct, size_t *workers);

#endif
