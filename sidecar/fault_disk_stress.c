/*
 * diskStress: fills the filesystem of "path" with one file,
 * PATH/.faultline-fill-<tag>, of "size" bytes, or until "percent" of the
 * filesystem is used; "ioWorkers" processes then write, sync and read
 * inside that file.  Revert deletes the file.
 *
 * The fill never takes the last of the space: it is refused when it would
 * leave less than a margin (1% of the filesystem, at least 16 MiB) free.
 * The file's name is recorded in the state directory before it is
 * created, so that a sweep deletes it after a SIGKILL.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "cgroup.h"
#include "fault.h"
#include "json.h"
#include "state.h"
#include "units.h"
#include "worker.h"

#define FILL_PREFIX ".faultline-fill-"
#define MIN_MARGIN (16LL << 20)
#define IO_BLOCK (64 << 10)
#define IO_MIN_REGION (1LL << 20)
#define IO_MAX_REGION (64LL << 20)
#define KIND "diskStress"

struct disk_stress {
	const char *path; /* the directory; points into the spec */
	int64_t size;	  /* bytes, when given */
	int percent;	  /* target share of the filesystem used */
	int io_workers;
	char file[PATH_MAX];
	int64_t fill;	   /* bytes the file takes */
	int64_t io_region; /* bytes the workers write over */
	int created;
	char key[64]; /* the record's name, fl_state_key() */
	struct fl_workers w;
};

static int disk_parse(struct json_object *params, void *state,
		      struct fl_errors *errs)
{
	struct disk_stress *s = state;
	const char *size = fl_json_str(params, "size");

	s->path = fl_json_str(params, "path");
	if (size && fl_quantity_parse_int(size, &s->size) < 0) {
		fl_errors_add(errs, 0, KIND ".size", "\"%s\" is not a size",
			      size);
		return -1;
	}
	s->percent = json_object_get_int(fl_json_get(params, "percent"));
	s->io_workers = json_object_get_int(fl_json_get(params, "ioWorkers"));
	return 0;
}

/* How much to write, from statvfs; -1 with err when refused. */
static int plan(struct disk_stress *s, struct fl_fault_ctx *ctx)
{
	struct statvfs vfs;
	int64_t total, used, avail, margin, need;

	if (statvfs(s->path, &vfs) < 0) {
		snprintf(ctx->err, sizeof(ctx->err), "cannot stat '%.300s': %s",
			 s->path, strerror(errno));
		return -1;
	}
	total = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
	used = (int64_t)(vfs.f_blocks - vfs.f_bfree) * (int64_t)vfs.f_frsize;
	avail = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
	margin = total / 100 > MIN_MARGIN ? total / 100 : MIN_MARGIN;
	s->fill = s->percent ? total / 100 * s->percent +
				       total % 100 * s->percent / 100 - used
			     : s->size;
	if (s->fill < 0)
		s->fill = 0;
	s->io_region = s->fill < IO_MAX_REGION ? s->fill : IO_MAX_REGION;
	if (s->io_workers && s->io_region < IO_MIN_REGION)
		s->io_region = IO_MIN_REGION;
	need = s->fill > s->io_region ? s->fill : s->io_region;
	if (need > avail - margin) {
		snprintf(ctx->err, sizeof(ctx->err),
			 "filling %lld bytes in '%.300s' would leave less than "
			 "%lld bytes free (%lld available)",
			 (long long)need, s->path, (long long)margin,
			 (long long)avail);
		return -1;
	}
	return 0;
}

/* Allocates the file's blocks; writes zeros where fallocate is not
 * supported. */
static int fill(int fd, int64_t bytes)
{
	static const char zeros[IO_BLOCK];
	int64_t off = 0;

	if (bytes == 0 || fallocate(fd, 0, 0, bytes) == 0)
		return 0;
	if (errno != EOPNOTSUPP)
		return -1;
	while (off < bytes) {
		size_t len = bytes - off < IO_BLOCK ? (size_t)(bytes - off)
						    : IO_BLOCK;
		ssize_t got = pwrite(fd, zeros, len, off);

		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			return -1;
		off += got;
	}
	return fdatasync(fd);
}

static void churn(size_t index, void *arg)
{
	const struct disk_stress *s = arg;
	static char block[IO_BLOCK];
	int64_t blocks = s->io_region / IO_BLOCK, i = (int64_t)index;
	int fd = open(s->file, O_RDWR | O_CLOEXEC);

	if (fd < 0)
		_exit(1);
	memset(block, 0x5a, sizeof(block));
	fl_worker_ready();
	for (;; i++) {
		off_t off = (off_t)(i % blocks) * IO_BLOCK;

		if (pwrite(fd, block, sizeof(block), off) < 0 ||
		    (i % 16 == 0 && fdatasync(fd) < 0) ||
		    pread(fd, block, sizeof(block), off) < 0)
			usleep(10000);
	}
}

static int disk_apply(void *state, struct fl_fault_ctx *ctx)
{
	static unsigned uses;
	struct disk_stress *s = state;
	struct json_object *rec;
	struct fl_cgroup cg;
	int fd, rc;

	if (!s->key[0])
		fl_state_key(ctx->tag, &uses, s->key, sizeof(s->key));
	snprintf(s->file, sizeof(s->file), "%s/" FILL_PREFIX "%s", s->path,
		 s->key);
	if (plan(s, ctx) < 0 ||
	    fl_cgroup_resolve(&cg, ctx->cgroup_dir, ctx->target_pid, ctx->err,
			      sizeof(ctx->err)) < 0)
		return -1;
	rec = json_object_new_object();
	json_object_object_add(rec, "file", json_object_new_string(s->file));
	rc = fl_state_save(s->key, KIND, rec, ctx->err, sizeof(ctx->err));
	json_object_put(rec);
	if (rc < 0)
		return -1;
	fd = open(s->file, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		snprintf(ctx->err, sizeof(ctx->err),
			 "cannot create '%.300s': %s", s->file,
			 strerror(errno));
		fl_state_drop(s->key, KIND);
		return -1;
	}
	s->created = 1;
	rc = fill(fd, s->fill > s->io_region ? s->fill : s->io_region);
	if (rc < 0)
		snprintf(ctx->err, sizeof(ctx->err),
			 "cannot fill '%.300s' with %lld bytes: %s", s->file,
			 (long long)s->fill, strerror(errno));
	close(fd);
	if (rc == 0 && s->io_workers)
		rc = fl_workers_start(&s->w, KIND, (size_t)s->io_workers,
				      ctx->tag, &cg, churn, s, ctx->deadline_ms,
				      ctx->err, sizeof(ctx->err));
	return rc;
}

static int disk_revert(void *state, struct fl_fault_ctx *ctx)
{
	struct disk_stress *s = state;

	fl_workers_stop(&s->w);
	if (!s->created)
		return 0;
	if (unlink(s->file) < 0 && errno != ENOENT) {
		snprintf(ctx->err, sizeof(ctx->err),
			 "cannot delete '%.300s': %s", s->file,
			 strerror(errno));
		return -1;
	}
	s->created = 0;
	fl_state_drop(s->key, KIND);
	return 0;
}

/* Deletes the fill file of a dead instance's record. */
static int sweep_record(struct json_object *rec, char *err, size_t errn)
{
	const char *file = fl_json_str(rec, "file");
	const char *base = file ? strrchr(file, '/') : NULL;

	if (!base || strncmp(base + 1, FILL_PREFIX, strlen(FILL_PREFIX)) != 0)
		return 0;
	if (unlink(file) == 0)
		return 1;
	if (errno == ENOENT)
		return 0;
	snprintf(err, errn, "cannot delete '%.300s': %s", file,
		 strerror(errno));
	return -1;
}

static int disk_sweep(struct fl_fault_ctx *ctx)
{
	return fl_state_sweep(KIND, sweep_record, ctx->err, sizeof(ctx->err));
}

static void disk_status(void *state, struct json_object *out)
{
	struct disk_stress *s = state;

	json_object_object_add(out, "file", json_object_new_string(s->file));
	json_object_object_add(out, "bytes", json_object_new_int64(s->fill));
}

const struct fl_fault_ops fl_fault_disk_stress_ops = {
	.kind = KIND,
	.state_size = sizeof(struct disk_stress),
	.parse = disk_parse,
	.apply = disk_apply,
	.revert = disk_revert,
	.sweep = disk_sweep,
	.status = disk_status,
};
