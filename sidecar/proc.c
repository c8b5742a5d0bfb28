#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proc.h"

/* Reads at most n-1 bytes of a small file and NUL-terminates them;
 * returns the length or -1. */
static ssize_t read_small(const char *path, char *buf, size_t n)
{
	ssize_t got, off = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	while ((size_t)off < n - 1) {
		got = read(fd, buf + off, n - 1 - off);
		if (got < 0 && errno == EINTR)
			continue;
		if (got <= 0)
			break;
		off += got;
	}
	close(fd);
	buf[off] = '\0';
	return off;
}

int fl_proc_stat_parse(const char *text, struct fl_proc_stat *st)
{
	const char *open_paren = strchr(text, '(');
	const char *close_paren = strrchr(text, ')');
	unsigned long long start;
	size_t len;
	int ppid, field;
	char *end;
	const char *p;

	memset(st, 0, sizeof(*st));
	if (!open_paren || !close_paren || close_paren < open_paren)
		return -1;
	st->pid = (pid_t)strtol(text, &end, 10);
	if (end == text || st->pid <= 0)
		return -1;
	len = (size_t)(close_paren - open_paren - 1);
	if (len >= sizeof(st->comm))
		len = sizeof(st->comm) - 1;
	memcpy(st->comm, open_paren + 1, len);

	/* After the name: " S ppid pgrp ...": p is at the space before field
	 * 3 (the state); starttime is field 22. */
	if (sscanf(close_paren + 1, " %c %d", &st->state, &ppid) != 2)
		return -1;
	st->ppid = ppid;
	p = close_paren + 1;
	for (field = 3; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p, " %llu", &start) != 1)
		return -1;
	st->starttime = start;
	return 0;
}

int fl_proc_stat_read(pid_t pid, struct fl_proc_stat *st)
{
	char path[64], buf[1024];

	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	if (read_small(path, buf, sizeof(buf)) <= 0)
		return -1;
	return fl_proc_stat_parse(buf, st);
}

char *fl_proc_argv0_base(const char *cmdline, size_t len, char *out, size_t n)
{
	size_t argv0 = strnlen(cmdline, len);
	const char *base = cmdline;
	size_t i;

	for (i = 0; i < argv0; i++)
		if (cmdline[i] == '/')
			base = cmdline + i + 1;
	snprintf(out, n, "%.*s", (int)(cmdline + argv0 - base), base);
	return out;
}

int fl_proc_is_named(const struct fl_proc_stat *st, const char *name)
{
	char path[64], cmd[4096], base[256];
	ssize_t len;

	if (strcmp(st->comm, name) == 0)
		return 1;
	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)st->pid);
	len = read_small(path, cmd, sizeof(cmd));
	if (len <= 0)
		return 0;
	fl_proc_argv0_base(cmd, (size_t)len, base, sizeof(base));
	return strcmp(base, name) == 0;
}

int fl_proc_ref_alive(const struct fl_proc_ref *ref)
{
	struct fl_proc_stat st;

	if (fl_proc_stat_read(ref->pid, &st) < 0)
		return 0;
	return st.starttime == ref->starttime && st.state != 'Z' &&
	       st.state != 'X';
}

/* Raw system calls: a static build may meet an older libc. */
static int pidfd_open_pid(pid_t pid)
{
	return (int)syscall(SYS_pidfd_open, pid, 0);
}

static int pidfd_signal(int fd, int sig)
{
	return (int)syscall(SYS_pidfd_send_signal, fd, sig, NULL, 0);
}

int fl_proc_signal(const struct fl_proc_ref *ref, int sig)
{
	int fd, rc = -1, saved;

	/* ENOSYS: a kernel before 5.3.  EPERM: a seccomp profile that does
	 * not know the call; kill() still reports a real refusal. */
	fd = pidfd_open_pid(ref->pid);
	if (fd < 0 && errno != ENOSYS && errno != EPERM)
		return -1;

	/* A pidfd names one process for good.  If the start time still
	 * matches after it was opened, fd is the process we meant, and a
	 * signal through it can never reach a later process that was given
	 * the same pid. */
	if (!fl_proc_ref_alive(ref)) {
		errno = ESRCH;
		goto out;
	}
	rc = fd >= 0 ? pidfd_signal(fd, sig) : kill(ref->pid, sig);
out:
	saved = errno;
	if (fd >= 0)
		close(fd);
	errno = saved;
	return rc;
}

int fl_proc_each(int (*fn)(const struct fl_proc_stat *st, void *arg), void *arg)
{
	DIR *d = opendir("/proc");
	struct dirent *de;
	struct fl_proc_stat st;
	pid_t self = getpid();
	int rc = 0;

	if (!d)
		return -1;
	while (rc == 0 && (de = readdir(d))) {
		char *end;
		long pid = strtol(de->d_name, &end, 10);

		if (*end || pid <= 0 || pid == self)
			continue;
		if (fl_proc_stat_read((pid_t)pid, &st) == 0)
			rc = fn(&st, arg);
	}
	closedir(d);
	return rc;
}

struct find {
	const char *name;
	int skip_stopped;
	struct fl_proc_ref *refs;
	size_t max, n;
};

static int find_one(const struct fl_proc_stat *st, void *arg)
{
	struct find *f = arg;

	if (st->state == 'Z' || st->state == 'X' ||
	    (f->skip_stopped && (st->state == 'T' || st->state == 't')) ||
	    strncmp(st->comm, "fl-", 3) == 0 ||
	    strcmp(st->comm, "faultline-sidec") == 0 ||
	    !fl_proc_is_named(st, f->name))
		return 0;
	f->refs[f->n].pid = st->pid;
	f->refs[f->n].starttime = st->starttime;
	return ++f->n == f->max;
}

int fl_proc_find_named(const char *name, int skip_stopped,
		       struct fl_proc_ref *refs, size_t max)
{
	struct find f = {.name = name,
			 .skip_stopped = skip_stopped,
			 .refs = refs,
			 .max = max};

	if (max == 0)
		return 0;
	return fl_proc_each(find_one, &f) < 0 ? -1 : (int)f.n;
}
