#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "proc.h"
#include "state.h"

#define SUFFIX ".json"

const char *fl_state_dir(void)
{
	const char *d = getenv("FAULTLINE_STATE_DIR");

	return d && *d ? d : "/run/faultline";
}

static void record_path(char *out, size_t n, const char *tag, const char *kind)
{
	snprintf(out, n, "%s/%s.%s" SUFFIX, fl_state_dir(), tag, kind);
}

int fl_state_save(const char *tag, const char *kind, struct json_object *rec,
		  char *err, size_t errn)
{
	struct fl_proc_stat self;
	char path[PATH_MAX], tmp[PATH_MAX + 32];
	const char *text;
	size_t len;
	int fd, rc = -1;

	if (mkdir(fl_state_dir(), 0700) < 0 && errno != EEXIST) {
		snprintf(err, errn, "cannot create state directory '%s': %s",
			 fl_state_dir(), strerror(errno));
		return -1;
	}
	if (fl_proc_stat_read(getpid(), &self) < 0) {
		snprintf(err, errn, "cannot read our own /proc entry");
		return -1;
	}
	json_object_object_add(rec, "tag", json_object_new_string(tag));
	json_object_object_add(rec, "kind", json_object_new_string(kind));
	json_object_object_add(rec, "ownerPid", json_object_new_int(self.pid));
	json_object_object_add(rec, "ownerStart",
			       json_object_new_int64((int64_t)self.starttime));
	text = json_object_to_json_string_ext(rec, JSON_C_TO_STRING_PLAIN);
	len = strlen(text);
	record_path(path, sizeof(path), tag, kind);
	snprintf(tmp, sizeof(tmp), "%s.tmp.%d", path, (int)self.pid);
	fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd >= 0 && write(fd, text, len) == (ssize_t)len && fsync(fd) == 0 &&
	    rename(tmp, path) == 0)
		rc = 0;
	if (rc < 0) {
		snprintf(err, errn, "cannot write state '%s': %s", path,
			 strerror(errno));
		unlink(tmp);
	}
	if (fd >= 0)
		close(fd);
	return rc;
}

void fl_state_key(const char *tag, unsigned *uses, char *out, size_t n)
{
	unsigned k = (*uses)++;

	if (k == 0)
		snprintf(out, n, "%s", tag);
	else
		snprintf(out, n, "%s-%u", tag, k);
}

void fl_state_drop(const char *tag, const char *kind)
{
	char path[PATH_MAX];

	record_path(path, sizeof(path), tag, kind);
	unlink(path);
}

/* Nonzero when the record's owner still runs. */
static int owner_alive(struct json_object *rec)
{
	struct json_object *pid, *start;
	struct fl_proc_ref ref;

	if (!json_object_object_get_ex(rec, "ownerPid", &pid) ||
	    !json_object_object_get_ex(rec, "ownerStart", &start))
		return 0;
	ref.pid = (pid_t)json_object_get_int(pid);
	ref.starttime = (uint64_t)json_object_get_int64(start);
	return ref.pid != getpid() && fl_proc_ref_alive(&ref);
}

/* Nonzero when a file name is a record of kind. */
static int is_record_of(const char *name, const char *kind)
{
	size_t len = strlen(name), klen = strlen(kind);
	size_t slen = strlen(SUFFIX);

	if (len < klen + slen + 2 || strcmp(name + len - slen, SUFFIX) != 0)
		return 0;
	return name[len - slen - klen - 1] == '.' &&
	       strncmp(name + len - slen - klen, kind, klen) == 0;
}

/* Nonzero for a temporary file whose writer is gone (killed between
 * writing and renaming: the record was never committed, so nothing was
 * installed on its account). */
static int stale_tmp(const char *name)
{
	const char *t = strstr(name, SUFFIX ".tmp.");
	long pid;

	if (!t)
		return 0;
	pid = strtol(t + strlen(SUFFIX ".tmp."), NULL, 10);
	return pid > 0 && kill((pid_t)pid, 0) < 0 && errno == ESRCH;
}

int fl_state_sweep(const char *kind,
		   int (*fn)(struct json_object *rec, char *err, size_t errn),
		   char *err, size_t errn)
{
	DIR *d = opendir(fl_state_dir());
	struct dirent *de;
	char path[PATH_MAX];
	int total = 0, failed = 0;

	if (!d && errno == ENOENT)
		return 0;
	if (!d) {
		snprintf(err, errn, "cannot read state directory '%.200s': %s",
			 fl_state_dir(), strerror(errno));
		return -1;
	}
	while ((de = readdir(d))) {
		struct json_object *rec;
		int got;

		if (stale_tmp(de->d_name)) {
			unlinkat(dirfd(d), de->d_name, 0);
			continue;
		}
		if (!is_record_of(de->d_name, kind))
			continue;
		snprintf(path, sizeof(path), "%s/%s", fl_state_dir(),
			 de->d_name);
		rec = json_object_from_file(path);
		if (rec && owner_alive(rec)) {
			json_object_put(rec);
			continue;
		}
		got = rec ? fn(rec, err, errn) : 0;
		json_object_put(rec);
		if (got < 0) {
			failed = 1;
			continue;
		}
		total += got;
		unlink(path);
	}
	closedir(d);
	return failed ? -1 : total;
}

size_t fl_state_count(void)
{
	DIR *d = opendir(fl_state_dir());
	struct dirent *de;
	size_t n = 0;

	if (!d)
		return 0;
	while ((de = readdir(d)))
		if (de->d_name[0] != '.')
			n++;
	closedir(d);
	return n;
}
