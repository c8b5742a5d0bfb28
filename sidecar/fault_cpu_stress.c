/*
 * cpuStress: workers that each burn a share of one CPU in short slices
 * (busy, then asleep, every 10 ms), inside the target's cgroup.
 *
 * Without "workers", load is a share of the target's CPU capacity (its
 * quota, else the CPUs it may use): the fewest workers that can carry it
 * split it evenly.  With "workers", each takes load percent of one CPU.
 *
 * A worker counts its own CPU time, not the wall clock, so that a worker
 * preempted by a neighbour does not count the stolen time as work done.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cgroup.h"
#include "fault.h"
#include "json.h"
#include "worker.h"

#define SLICE_NS 10000000LL
#define MAX_OWED_NS (5 * SLICE_NS)

struct cpu_stress {
	int load;	    /* percent */
	size_t workers;	    /* 0: chosen from the capacity */
	int per_worker;	    /* percent of one CPU each worker takes */
	int64_t cpus_milli; /* the capacity the load is a share of */
	struct fl_workers w;
};

static int64_t thread_cpu_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The time a worker could not get in one slice (a neighbour had the CPU)
 * is owed and taken in the next slices, so that the share holds on a busy
 * machine; the debt is capped so that a long starvation does not end in a
 * long burst.
 */
static void burn(size_t index, void *arg)
{
	const struct cpu_stress *s = arg;
	int64_t busy = fl_duty_busy_ns(SLICE_NS, s->per_worker);
	int64_t start = fl_now_ns(), owed = 0;
	struct timespec until;

	(void)index;
	fl_worker_ready();
	for (;;) {
		int64_t cpu0 = thread_cpu_ns(), end = start + SLICE_NS;
		int64_t want = busy + owed > SLICE_NS ? SLICE_NS : busy + owed;

		while (thread_cpu_ns() - cpu0 < want && fl_now_ns() < end)
			;
		owed = fl_duty_owed(owed + busy - (thread_cpu_ns() - cpu0),
				    MAX_OWED_NS);
		if (want < SLICE_NS) {
			until.tv_sec = end / 1000000000;
			until.tv_nsec = end % 1000000000;
			clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &until,
					NULL);
		}

		/* After a long preemption, start afresh rather than run
		 * slices back to back to catch up. */
		start = fl_now_ns() - end > SLICE_NS ? fl_now_ns() : end;
	}
}

static int cpu_parse(struct json_object *params, void *state,
		     struct fl_errors *errs)
{
	struct cpu_stress *s = state;
	struct json_object *w = fl_json_get(params, "workers");

	(void)errs;
	s->load = json_object_get_int(fl_json_get(params, "load"));
	s->workers = w ? (size_t)json_object_get_int(w) : 0;
	return 0;
}

static int cpu_apply(void *state, struct fl_fault_ctx *ctx)
{
	struct cpu_stress *s = state;
	struct fl_cgroup cg, own;
	size_t n = s->workers;

	if (fl_cgroup_resolve(&cg, ctx->cgroup_dir, ctx->target_pid, ctx->err,
			      sizeof(ctx->err)) < 0)
		return -1;
	if (cg.n == 0 &&
	    fl_cgroup_from_pid(&own, 0, ctx->err, sizeof(ctx->err)) == 0)
		s->cpus_milli = fl_cgroup_cpus_milli(&own);
	else
		s->cpus_milli = fl_cgroup_cpus_milli(&cg);
	if (s->workers)
		s->per_worker = s->load;
	else
		s->per_worker = fl_duty_spread(s->cpus_milli, s->load, &n);
	return fl_workers_start(&s->w, "cpuStress", n, ctx->tag, &cg, burn, s,
				ctx->deadline_ms, ctx->err, sizeof(ctx->err));
}

static int cpu_revert(void *state, struct fl_fault_ctx *ctx)
{
	struct cpu_stress *s = state;

	(void)ctx;
	fl_workers_stop(&s->w);
	return 0;
}

static void cpu_status(void *state, struct json_object *out)
{
	struct cpu_stress *s = state;

	json_object_object_add(out, "workers",
			       json_object_new_int64((int64_t)s->w.n));
	json_object_object_add(out, "loadPerWorker",
			       json_object_new_int(s->per_worker));
	json_object_object_add(out, "cpusMilli",
			       json_object_new_int64(s->cpus_milli));
}

const struct fl_fault_ops fl_fault_cpu_stress_ops = {
	.kind = "cpuStress",
	.state_size = sizeof(struct cpu_stress),
	.parse = cpu_parse,
	.apply = cpu_apply,
	.revert = cpu_revert,
	.sweep = fl_workers_sweep_op,
	.status = cpu_status,
};
