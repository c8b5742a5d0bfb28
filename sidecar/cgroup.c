#include <errno.h>
#include <sched.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/sysinfo.h>
#include <unistd.h>

#include "cgroup.h"

struct mount_ent {
	char dir[PATH_MAX];
	char ctrls[128]; /* super options minus rw/ro; "" for v2 */
	int v2;
};

#define MOUNTS_MAX 32

/* The cgroup mounts of our mount namespace, from /proc/self/mountinfo. */
static size_t cgroup_mounts(struct mount_ent *m, size_t max)
{
	FILE *f = fopen("/proc/self/mountinfo", "re");
	char line[4096], dir[PATH_MAX], type[64], opts[512];
	size_t n = 0;

	if (!f)
		return 0;
	while (n < max && fgets(line, sizeof(line), f)) {
		char *sep = strstr(line, " - ");

		if (!sep || sscanf(line, "%*s %*s %*s %*s %4095s", dir) != 1 ||
		    sscanf(sep + 3, "%63s %*s %511s", type, opts) != 2)
			continue;
		if (strcmp(type, "cgroup") && strcmp(type, "cgroup2"))
			continue;
		snprintf(m[n].dir, sizeof(m[n].dir), "%s", dir);
		m[n].v2 = strcmp(type, "cgroup2") == 0;
		snprintf(m[n].ctrls, sizeof(m[n].ctrls), "%.127s",
			 m[n].v2 ? ""
			 : strncmp(opts, "rw,", 3) == 0 ||
					 strncmp(opts, "ro,", 3) == 0
				 ? opts + 3
				 : opts);
		n++;
	}
	fclose(f);
	return n;
}

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

static void add_dir(struct fl_cgroup *cg, const char *path,
		    const struct mount_ent *m)
{
	struct fl_cgroup_dir *d;

	if (cg->n >= FL_CGROUP_MAX)
		return;
	d = &cg->d[cg->n++];
	snprintf(d->path, sizeof(d->path), "%s", path);
	snprintf(d->ctrls, sizeof(d->ctrls), "%s", m->ctrls);
	d->v2 = m->v2;
}

/* The mount that holds dir (the longest prefix), and dir's path inside. */
static const struct mount_ent *owner(const struct mount_ent *m, size_t n,
				     const char *dir, const char **rel)
{
	const struct mount_ent *best = NULL;
	size_t i, len, best_len = 0;

	for (i = 0; i < n; i++) {
		len = strlen(m[i].dir);
		if (strncmp(dir, m[i].dir, len) != 0 ||
		    (dir[len] != '/' && dir[len] != '\0') || len <= best_len)
			continue;
		best = &m[i];
		best_len = len;
	}
	*rel = dir + best_len;
	return best;
}

int fl_cgroup_from_dir(struct fl_cgroup *cg, const char *dir, char *err,
		       size_t errn)
{
	struct mount_ent m[MOUNTS_MAX];
	size_t i, n = cgroup_mounts(m, MOUNTS_MAX);
	const struct mount_ent *own;
	const char *rel;
	char path[PATH_MAX];

	memset(cg, 0, sizeof(*cg));
	own = owner(m, n, dir, &rel);
	if (!own || !is_dir(dir)) {
		snprintf(err, errn, "'%s' is not a cgroup directory", dir);
		return -1;
	}
	add_dir(cg, dir, own);
	if (own->v2)
		return 0;
	for (i = 0; i < n; i++) {
		if (&m[i] == own || m[i].v2)
			continue;
		if (snprintf(path, sizeof(path), "%s%s", m[i].dir, rel) <
			    (int)sizeof(path) &&
		    is_dir(path))
			add_dir(cg, path, &m[i]);
	}
	return 0;
}

/* Finds the mount of a /proc/PID/cgroup line's controllers. */
static const struct mount_ent *mount_of(const struct mount_ent *m, size_t n,
					const char *ctrls)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (*ctrls ? !m[i].v2 && strcmp(m[i].ctrls, ctrls) == 0
			   : m[i].v2)
			return &m[i];
	return NULL;
}

int fl_cgroup_from_pid(struct fl_cgroup *cg, pid_t pid, char *err, size_t errn)
{
	struct mount_ent m[MOUNTS_MAX];
	size_t n = cgroup_mounts(m, MOUNTS_MAX);
	char path[64], line[4096], full[PATH_MAX];
	FILE *f;

	memset(cg, 0, sizeof(*cg));
	if (pid)
		snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
	else
		snprintf(path, sizeof(path), "/proc/self/cgroup");
	f = fopen(path, "re");
	if (!f) {
		snprintf(err, errn, "cannot read '%s': %s", path,
			 strerror(errno));
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		char *ctrls = strchr(line, ':'), *rel;
		const struct mount_ent *mt;

		if (!ctrls || !(rel = strchr(ctrls + 1, ':')))
			continue;
		*rel++ = '\0';
		rel[strcspn(rel, "\n")] = '\0';
		mt = mount_of(m, n, ctrls + 1);
		if (!mt)
			continue;
		snprintf(full, sizeof(full), "%s%s", mt->dir,
			 strcmp(rel, "/") == 0 ? "" : rel);
		if (is_dir(full))
			add_dir(cg, full, mt);
	}
	fclose(f);
	return 0;
}

static int write_pid(const char *dir, pid_t pid, char *err, size_t errn)
{
	char path[PATH_MAX + 16], num[32];
	int fd, len, rc = -1;

	snprintf(path, sizeof(path), "%s/cgroup.procs", dir);
	len = snprintf(num, sizeof(num), "%d\n", (int)pid);
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd >= 0 && write(fd, num, (size_t)len) == len)
		rc = 0;
	if (rc < 0)
		snprintf(err, errn, "cannot move pid %d into '%s': %s",
			 (int)pid, path, strerror(errno));
	if (fd >= 0)
		close(fd);
	return rc;
}

int fl_cgroup_join(const struct fl_cgroup *cg, pid_t pid, char *err,
		   size_t errn)
{
	size_t i;

	for (i = 0; i < cg->n; i++)
		if (write_pid(cg->d[i].path, pid, err, errn) < 0)
			return -1;
	return 0;
}

/* Nonzero when a comma-separated list holds ctrl. */
static int has_ctrl(const char *list, const char *ctrl)
{
	size_t len = strlen(ctrl);
	const char *p = list;

	while ((p = strstr(p, ctrl))) {
		if ((p == list || p[-1] == ',') &&
		    (p[len] == ',' || p[len] == '\0'))
			return 1;
		p += len;
	}
	return 0;
}

int fl_cgroup_file(const struct fl_cgroup *cg, const char *ctrl,
		   const char *v1_file, const char *v2_file, char *out,
		   size_t n)
{
	size_t i;

	for (i = 0; i < cg->n; i++) {
		const struct fl_cgroup_dir *d = &cg->d[i];

		if (d->v2 ? !v2_file : !has_ctrl(d->ctrls, ctrl))
			continue;
		snprintf(out, n, "%s/%s", d->path, d->v2 ? v2_file : v1_file);
		if (access(out, F_OK) == 0)
			return 0;
	}
	return -1;
}

int fl_cgroup_read_limit(const char *path, int64_t *v)
{
	char buf[64];
	ssize_t len;
	long long num;
	char *end;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	len = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (len <= 0)
		return -1;
	buf[len] = '\0';
	if (strncmp(buf, "max", 3) == 0) {
		*v = -1;
		return 0;
	}
	errno = 0;
	num = strtoll(buf, &end, 10);
	if (errno || end == buf)
		return -1;

	/* v1 says "no limit" with the largest page-aligned value. */
	*v = num >= (1LL << 62) ? -1 : (int64_t)num;
	return 0;
}

static int64_t online_cpus_milli(void)
{
	cpu_set_t set;

	if (sched_getaffinity(0, sizeof(set), &set) == 0)
		return (int64_t)CPU_COUNT(&set) * 1000;
	return (int64_t)sysconf(_SC_NPROCESSORS_ONLN) * 1000;
}

int64_t fl_cgroup_cpus_milli(const struct fl_cgroup *cg)
{
	char path[PATH_MAX + 32], buf[64];
	int64_t quota, period;
	long long q, p;
	FILE *f;

	if (fl_cgroup_file(cg, "cpu", "cpu.cfs_quota_us", NULL, path,
			   sizeof(path)) == 0) {
		if (fl_cgroup_read_limit(path, &quota) == 0 && quota > 0 &&
		    fl_cgroup_file(cg, "cpu", "cpu.cfs_period_us", NULL, path,
				   sizeof(path)) == 0 &&
		    fl_cgroup_read_limit(path, &period) == 0 && period > 0)
			return quota * 1000 / period;
		return online_cpus_milli();
	}
	if (fl_cgroup_file(cg, "cpu", NULL, "cpu.max", path, sizeof(path)) ==
		    0 &&
	    (f = fopen(path, "re"))) {
		int got = fgets(buf, sizeof(buf), f) &&
			  sscanf(buf, "%lld %lld", &q, &p) == 2;

		fclose(f);
		if (got && q > 0 && p > 0)
			return q * 1000 / p;
	}
	return online_cpus_milli();
}

int64_t fl_cgroup_memory_limit(const struct fl_cgroup *cg)
{
	char path[PATH_MAX + 32];
	int64_t limit;
	struct sysinfo si;

	if (fl_cgroup_file(cg, "memory", "memory.limit_in_bytes", "memory.max",
			   path, sizeof(path)) == 0 &&
	    fl_cgroup_read_limit(path, &limit) == 0 && limit > 0)
		return limit;
	if (sysinfo(&si) == 0)
		return (int64_t)si.totalram * si.mem_unit;
	return -1;
}

int fl_cgroup_resolve(struct fl_cgroup *cg, const char *dir, pid_t pid,
		      char *err, size_t errn)
{
	memset(cg, 0, sizeof(*cg));
	if (dir)
		return fl_cgroup_from_dir(cg, dir, err, errn);
	if (pid)
		return fl_cgroup_from_pid(cg, pid, err, errn);
	return 0;
}
