/*
 * Reading /proc: the few fields of /proc/PID/stat the faults need, process
 * names as a user writes them, and a scan of every process we can see (the
 * PID namespace we share with the target).
 */
#ifndef FL_SIDECAR_PROC_H
#define FL_SIDECAR_PROC_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

struct fl_proc_stat {
	pid_t pid;
	char comm[16]; /* the kernel's name, at most 15 bytes */
	char state;    /* R, S, D, T, t, Z, ... */
	pid_t ppid;
	uint64_t starttime; /* clock ticks after boot; with pid, an identity
			       that a recycled pid does not share */
};

/* A process that we may signal later: a recycled pid has another
 * starttime. */
struct fl_proc_ref {
	pid_t pid;
	uint64_t starttime;
};

/* Parses the text of /proc/PID/stat.  The name may hold spaces and
 * parentheses: it ends at the last ')'.  Returns 0, or -1 when malformed. */
int fl_proc_stat_parse(const char *text, struct fl_proc_stat *st);

/* Reads /proc/PID/stat; -1 when the process is gone or unreadable. */
int fl_proc_stat_read(pid_t pid, struct fl_proc_stat *st);

/* The basename of argv[0] from the raw bytes of /proc/PID/cmdline (NUL
 * separated, len bytes) into out; "" when empty.  Returns out. */
char *fl_proc_argv0_base(const char *cmdline, size_t len, char *out, size_t n);

/* Nonzero when the process is called name: its comm, or the basename of
 * its argv[0]. */
int fl_proc_is_named(const struct fl_proc_stat *st, const char *name);

/* Nonzero when ref still names the same live process (not a zombie). */
int fl_proc_ref_alive(const struct fl_proc_ref *ref);

/* Sends sig to the process ref names, if it is still that process.  The
 * pid is pinned with a pidfd before its starttime is checked again, so a
 * pid recycled in between is never signalled.  Where the kernel has no
 * pidfds, falls back to the check and kill(), which leaves a short race.
 * Returns 0 when sent; -1 with errno, ESRCH when the process is gone, a
 * zombie, or its pid now names another process. */
int fl_proc_signal(const struct fl_proc_ref *ref, int sig);

/* Calls fn for every process in /proc but our own; stops early when fn
 * returns nonzero and returns that value.  0 after a full scan, -1 when
 * /proc cannot be read. */
int fl_proc_each(int (*fn)(const struct fl_proc_stat *st, void *arg),
		 void *arg);

/*
 * Finds up to max processes called name (see fl_proc_is_named()), leaving
 * out ourselves, other sidecars, our workers (fl-*) and zombies, and
 * stopped processes when skip_stopped.  Returns how many, or -1 when /proc
 * cannot be read.
 */
int fl_proc_find_named(const char *name, int skip_stopped,
		       struct fl_proc_ref *refs, size_t max);

#endif
