#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "fault.h"
#include "proc.h"
#include "worker.h"

/* The sidecar's comm, as the kernel cuts it (15 bytes). */
#define SIDECAR_COMM "faultline-sidec"

static int ready_fd = -1;

/* The sets with live workers, for fl_workers_reap(). */
#define SETS_MAX 64
static struct fl_workers *live_sets[SETS_MAX];

static void track(struct fl_workers *w, int on)
{
	size_t i;

	for (i = 0; i < SETS_MAX; i++) {
		if (on && !live_sets[i]) {
			live_sets[i] = w;
			return;
		}
		if (!on && live_sets[i] == w)
			live_sets[i] = NULL;
	}
}

int64_t fl_now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t fl_now_ms(void)
{
	return fl_now_ns() / 1000000;
}

int64_t fl_duty_busy_ns(int64_t period_ns, int load_pct)
{
	if (load_pct <= 0)
		return 0;
	if (load_pct >= 100)
		return period_ns;
	return period_ns * load_pct / 100;
}

int64_t fl_duty_owed(int64_t owed_ns, int64_t max_ns)
{
	if (owed_ns > max_ns)
		return max_ns;
	if (owed_ns < -max_ns)
		return -max_ns;
	return owed_ns;
}

int fl_duty_spread(int64_t cpus_milli, int load_pct, size_t *workers)
{
	int64_t want = cpus_milli * load_pct / 100; /* milli-CPUs in all */
	int64_t each;

	if (*workers == 0)
		*workers = want <= 0 ? 1 : (size_t)((want + 999) / 1000);
	each = (want * 100 + 500 * (int64_t)*workers) /
	       (1000 * (int64_t)*workers);
	return each > 100 ? 100 : (int)each;
}

void fl_worker_ready(void)
{
	char c = 'r';

	if (ready_fd >= 0 && write(ready_fd, &c, 1) == 1) {
		close(ready_fd);
		ready_fd = -1;
	}
}

/* In the child: dies with the parent, takes its name, drops what it
 * inherited, waits for the parent to have moved it, then works. */
static void child_main(size_t index, const char *tag, int go_fd, int rfd,
		       pid_t parent, fl_worker_fn fn, void *arg)
{
	char name[16], c;
	sigset_t none;
	int null_fd;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	if (getppid() != parent)
		_exit(1);
	snprintf(name, sizeof(name), FL_WORKER_PREFIX "%s", tag);
	prctl(PR_SET_NAME, name);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	null_fd = open("/dev/null", O_RDWR | O_CLOEXEC);
	if (null_fd >= 0) {
		dup2(null_fd, 0);
		dup2(null_fd, 1);
	}
	ready_fd = rfd;
	if (read(go_fd, &c, 1) != 1)
		_exit(1);
	close(go_fd);
	fn(index, arg);
	_exit(0);
}

/* Waits for one byte on fd until deadline_ms: 0 when it came, -2 past
 * the deadline, -1 when the worker died first. */
static int wait_ready(int fd, int64_t deadline_ms)
{
	struct pollfd p = {.fd = fd, .events = POLLIN};
	char c;

	for (;;) {
		int64_t left = deadline_ms - fl_now_ms();
		int rc;

		if (left <= 0)
			return -2;
		rc = poll(&p, 1, left > 1000000 ? 1000000 : (int)left);
		if (rc < 0 && errno == EINTR)
			continue;
		if (rc == 0)
			return -2;
		if (rc < 0)
			return -1;
		return read(fd, &c, 1) == 1 ? 0 : -1;
	}
}

/* Forks worker i; returns its ready pipe's read end, or -1 with err. */
static int start_one(struct fl_workers *w, size_t i, const char *tag,
		     const struct fl_cgroup *cg, fl_worker_fn fn, void *arg,
		     char *err, size_t errn)
{
	int go[2], ready[2];
	pid_t parent = getpid(), pid;

	if (pipe2(go, O_CLOEXEC) < 0)
		goto fail;
	if (pipe2(ready, O_CLOEXEC) < 0) {
		close(go[0]);
		close(go[1]);
		goto fail;
	}
	pid = fork();
	if (pid == 0) {
		close(go[1]);
		close(ready[0]);
		child_main(i, tag, go[0], ready[1], parent, fn, arg);
	}
	close(go[0]);
	close(ready[1]);
	if (pid < 0) {
		close(go[1]);
		close(ready[0]);
		goto fail;
	}
	w->pids[i] = pid;
	if (cg->n && fl_cgroup_join(cg, pid, err, errn) < 0) {
		close(go[1]);
		close(ready[0]);
		return -1;
	}
	if (write(go[1], "g", 1) != 1) {
		snprintf(err, errn, "worker %d died before it started",
			 (int)pid);
		close(go[1]);
		close(ready[0]);
		return -1;
	}
	close(go[1]);
	return ready[0];
fail:
	snprintf(err, errn, "cannot start a worker: %s", strerror(errno));
	return -1;
}

int fl_workers_start(struct fl_workers *w, const char *kind, size_t n,
		     const char *tag, const struct fl_cgroup *cg,
		     fl_worker_fn fn, void *arg, int64_t deadline_ms, char *err,
		     size_t errn)
{
	int *fds = fl_calloc(n, sizeof(*fds));
	size_t i;
	int rc = -1;

	w->pids = fl_calloc(n, sizeof(*w->pids));
	w->n = n;
	w->kind = kind;
	track(w, 1);
	for (i = 0; i < n; i++)
		fds[i] = -1;

	/* A worker whose write fails dies of SIGPIPE, not us. */
	signal(SIGPIPE, SIG_IGN);
	for (i = 0; i < n; i++)
		if ((fds[i] = start_one(w, i, tag, cg, fn, arg, err, errn)) < 0)
			goto out;
	for (i = 0; i < n; i++) {
		int got = wait_ready(fds[i], deadline_ms);

		if (got == 0)
			continue;
		snprintf(err, errn,
			 got == -2 ? "worker %d was not ready by the deadline"
				   : "worker %d died before it was ready (out "
				     "of memory?)",
			 (int)w->pids[i]);
		goto out;
	}
	rc = 0;
out:
	for (i = 0; i < n; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	free(fds);
	if (rc < 0)
		fl_workers_stop(w);
	return rc;
}

int fl_workers_reap(void (*fn)(const struct fl_workers *w, pid_t pid,
			       int status, void *arg),
		    void *arg)
{
	size_t i, j;
	int status, count = 0;

	for (i = 0; i < SETS_MAX; i++) {
		struct fl_workers *w = live_sets[i];

		for (j = 0; w && j < w->n; j++) {
			pid_t pid = w->pids[j];

			if (pid <= 0 || waitpid(pid, &status, WNOHANG) != pid)
				continue;
			w->pids[j] = 0;
			count++;
			if (fn)
				fn(w, pid, status, arg);
		}
	}
	return count;
}

void fl_workers_stop(struct fl_workers *w)
{
	size_t i;

	track(w, 0);
	for (i = 0; i < w->n; i++)
		if (w->pids[i] > 0)
			kill(w->pids[i], SIGKILL);
	for (i = 0; i < w->n; i++) {
		while (w->pids[i] > 0 && waitpid(w->pids[i], NULL, 0) < 0 &&
		       errno == EINTR)
			;
		w->pids[i] = 0;
	}
	free(w->pids);
	w->pids = NULL;
	w->n = 0;
}

/* Nonzero when pid runs the sidecar's program: a worker is forked, never
 * exec'd, so its argv[0] is still the sidecar's.  Someone else's process
 * that happens to be called "fl-..." is not ours to kill. */
static int runs_sidecar(pid_t pid)
{
	char path[64], cmd[4096], base[256];
	ssize_t len;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/cmdline", (int)pid);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	len = read(fd, cmd, sizeof(cmd));
	close(fd);
	if (len <= 0)
		return 0;
	fl_proc_argv0_base(cmd, (size_t)len, base, sizeof(base));
	return strncmp(base, SIDECAR_COMM, strlen(SIDECAR_COMM)) == 0;
}

static int kill_straggler(const struct fl_proc_stat *st, void *arg)
{
	struct fl_proc_ref ref = {.pid = st->pid, .starttime = st->starttime};
	struct fl_proc_stat parent;
	int *count = arg;

	if (strncmp(st->comm, FL_WORKER_PREFIX, strlen(FL_WORKER_PREFIX)) !=
		    0 ||
	    st->state == 'Z' || st->state == 'X' || !runs_sidecar(st->pid))
		return 0;
	if (fl_proc_stat_read(st->ppid, &parent) == 0 &&
	    strcmp(parent.comm, SIDECAR_COMM) == 0 && parent.state != 'Z')
		return 0;
	if (fl_proc_signal(&ref, SIGKILL) == 0)
		(*count)++;
	return 0;
}

int fl_workers_sweep(void)
{
	int count = 0;

	if (fl_proc_each(kill_straggler, &count) < 0)
		return -1;
	return count;
}

int fl_workers_sweep_op(struct fl_fault_ctx *ctx)
{
	int n = fl_workers_sweep();

	if (n < 0)
		snprintf(ctx->err, sizeof(ctx->err), "cannot read /proc");
	return n;
}
