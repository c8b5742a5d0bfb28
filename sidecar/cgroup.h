/*
 * The target's cgroups, on cgroup v1 (one hierarchy per controller, as
 * here) and v2 (one unified hierarchy, as on EKS with AL2023 or
 * Bottlerocket).
 *
 * A target is named by a directory or by a process.  A v2 directory is the
 * whole answer.  A v1 directory lies in one hierarchy ("cpu/shop/app"):
 * its relative path ("shop/app") is then looked up in every other v1
 * hierarchy, so that a worker moved into the cpu cgroup is also counted by
 * cpuacct and memory.  A process is resolved through /proc/PID/cgroup.
 */
#ifndef FL_SIDECAR_CGROUP_H
#define FL_SIDECAR_CGROUP_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define FL_CGROUP_MAX 16

struct fl_cgroup_dir {
	char path[PATH_MAX]; /* the directory to join */
	char ctrls[128]; /* v1: the hierarchy's controllers, "cpu,cpuacct" */
	int v2;		 /* the unified hierarchy */
};

struct fl_cgroup {
	struct fl_cgroup_dir d[FL_CGROUP_MAX];
	size_t n; /* 0: no target cgroup, workers stay in ours */
};

/* Resolves a cgroup directory (absolute, under a cgroup mount).  Returns
 * 0, or -1 with a message in err. */
int fl_cgroup_from_dir(struct fl_cgroup *cg, const char *dir, char *err,
		       size_t errn);

/* Resolves the cgroups of a process (0 for our own). */
int fl_cgroup_from_pid(struct fl_cgroup *cg, pid_t pid, char *err, size_t errn);

/* The target's cgroups: dir when given, else those of pid when nonzero,
 * else none (cg->n == 0: workers stay in ours). */
int fl_cgroup_resolve(struct fl_cgroup *cg, const char *dir, pid_t pid,
		      char *err, size_t errn);

/* Moves pid into every directory of cg.  Returns 0, or -1 with err. */
int fl_cgroup_join(const struct fl_cgroup *cg, pid_t pid, char *err,
		   size_t errn);

/* The path of a controller's file in cg, into out: v1_file in the
 * hierarchy of ctrl ("memory", "memory.limit_in_bytes"), else v2_file in
 * the unified one ("memory.max"; NULL for none).  Returns 0, or -1 when
 * cg has no such file. */
int fl_cgroup_file(const struct fl_cgroup *cg, const char *ctrl,
		   const char *v1_file, const char *v2_file, char *out,
		   size_t n);

/* Reads a file holding one integer or "max".  Stores the number, or -1
 * for "max" and v1's "no limit" (a value near INT64_MAX).  Returns 0, or
 * -1 when it cannot be read. */
int fl_cgroup_read_limit(const char *path, int64_t *v);

/* The CPU capacity of cg in thousandths of a CPU: its quota (v1
 * cpu.cfs_quota_us / cpu.cfs_period_us, v2 cpu.max) when it has one,
 * else the CPUs we may run on. */
int64_t fl_cgroup_cpus_milli(const struct fl_cgroup *cg);

/* The memory limit of cg in bytes (v1 memory.limit_in_bytes, v2
 * memory.max), else the machine's memory. */
int64_t fl_cgroup_memory_limit(const struct fl_cgroup *cg);

#endif
