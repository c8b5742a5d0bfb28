/*
 * memoryStress: one worker in the target's cgroup that maps "size" bytes
 * (or "percent" of the cgroup's memory limit), writes to every page so
 * that each is really allocated and charged, and holds them until revert.
 *
 * The worker offers itself to the OOM killer first (oom_score_adj 1000):
 * the fault is pressure on the target, and when the kernel must choose,
 * it should take our memory back before the application's.
 */
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "cgroup.h"
#include "fault.h"
#include "json.h"
#include "units.h"
#include "worker.h"

struct memory_stress {
	int64_t size;  /* bytes, when given */
	int percent;   /* of the limit, when given */
	int64_t bytes; /* what the worker holds */
	struct fl_workers w;
};

static void offer_to_oom_killer(void)
{
	int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);

	if (fd < 0)
		return;
	if (write(fd, "1000", 4) != 4) {
		/* Not fatal: the worker is then judged like any other. */
	}
	close(fd);
}

static void hold(size_t index, void *arg)
{
	const struct memory_stress *s = arg;
	long page = sysconf(_SC_PAGESIZE);
	volatile char *mem;
	int64_t off;

	(void)index;
	offer_to_oom_killer();
	mem = mmap(NULL, (size_t)s->bytes, PROT_READ | PROT_WRITE,
		   MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
	if (mem == MAP_FAILED)
		_exit(1);
	for (off = 0; off < s->bytes; off += page)
		mem[off] = 1;
	fl_worker_ready();
	for (;;)
		pause();
}

static int memory_parse(struct json_object *params, void *state,
			struct fl_errors *errs)
{
	struct memory_stress *s = state;
	const char *size = fl_json_str(params, "size");

	if (size &&
	    (fl_quantity_parse_int(size, &s->size) < 0 || s->size <= 0)) {
		fl_errors_add(errs, 0, "memoryStress.size",
			      "\"%s\" is not a size above zero", size);
		return -1;
	}
	s->percent = json_object_get_int(fl_json_get(params, "percent"));
	return 0;
}

static int memory_apply(void *state, struct fl_fault_ctx *ctx)
{
	struct memory_stress *s = state;
	struct fl_cgroup cg, own;
	int64_t limit;

	if (fl_cgroup_resolve(&cg, ctx->cgroup_dir, ctx->target_pid, ctx->err,
			      sizeof(ctx->err)) < 0)
		return -1;
	s->bytes = s->size;
	if (!s->size) {
		if (cg.n == 0 && fl_cgroup_from_pid(&own, 0, ctx->err,
						    sizeof(ctx->err)) == 0)
			limit = fl_cgroup_memory_limit(&own);
		else
			limit = fl_cgroup_memory_limit(&cg);
		if (limit <= 0) {
			snprintf(ctx->err, sizeof(ctx->err),
				 "cannot read the memory limit");
			return -1;
		}
		s->bytes = limit / 100 * s->percent +
			   limit % 100 * s->percent / 100;
	}
	return fl_workers_start(&s->w, "memoryStress", 1, ctx->tag, &cg, hold,
				s, ctx->deadline_ms, ctx->err,
				sizeof(ctx->err));
}

static int memory_revert(void *state, struct fl_fault_ctx *ctx)
{
	struct memory_stress *s = state;

	(void)ctx;
	fl_workers_stop(&s->w);
	return 0;
}

static void memory_status(void *state, struct json_object *out)
{
	struct memory_stress *s = state;

	json_object_object_add(out, "bytes", json_object_new_int64(s->bytes));
}

const struct fl_fault_ops fl_fault_memory_stress_ops = {
	.kind = "memoryStress",
	.state_size = sizeof(struct memory_stress),
	.parse = memory_parse,
	.apply = memory_apply,
	.revert = memory_revert,
	.sweep = fl_workers_sweep_op,
	.status = memory_status,
};
