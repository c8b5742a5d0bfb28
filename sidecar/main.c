/*
 * faultline-sidecar: the injector.  It applies the faults of one spec
 * inside the network, PID and cgroup context it runs in, holds them until
 * its own deadline or a signal, and reverts them.
 *
 *   faultline-sidecar run   [--spec JSON | --spec-file FILE]
 *   faultline-sidecar check [--spec JSON | --spec-file FILE]
 *   faultline-sidecar sweep
 *
 * Without --spec or --spec-file, the spec is read from $FAULTLINE_SPEC.
 * run prints one JSON line on stdout per state change ("swept",
 * "applied", "reverted", "failed"); errors in the spec go to stderr.
 *
 * Exit codes (also in sidecar/README.md):
 *   0  run: applied and reverted; check: valid; sweep: done
 *   2  bad spec or usage: nothing was changed on the system
 *   3  an apply failed: every fault applied before it was reverted
 *   4  a revert (or a sweep) failed: something may be left behind
 *   5  internal error
 *   6  run: reverted because the agent channel failed (the operator went
 *      silent past the grace period, or refused our hello)
 *
 * Safety: the deadline is a CLOCK_MONOTONIC timerfd armed before anything
 * is applied, and SIGTERM, SIGINT and SIGHUP arrive through a signalfd:
 * whichever comes first, everything applied is reverted.  A worker that
 * ends while its fault is held (SIGCHLD) is reaped and reported as a
 * "failed" line; the run goes on until the deadline.  Every run
 * starts with a sweep, which removes what an instance killed by SIGKILL
 * left behind.
 *
 * With an "agent" object in the spec, a client thread (agent_client.h)
 * talks to the operator; its verdict (an order, or the dead-man switch)
 * arrives through one more descriptor in the same poll and ends the hold
 * like a signal does.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "agent_client.h"
#include "alloc.h"
#include "fault.h"
#include "spec.h"
#include "worker.h"

enum {
	EXIT_OK = 0,
	EXIT_BAD_SPEC = 2,
	EXIT_APPLY_FAILED = 3,
	EXIT_REVERT_FAILED = 4,
	EXIT_INTERNAL = 5,
	EXIT_CHANNEL = 6,
};

#define SPEC_MAX (1 << 20)

static const char usage[] =
	"usage: faultline-sidecar run|check [--spec JSON | --spec-file FILE]\n"
	"       faultline-sidecar sweep\n"
	"The spec may also come from $FAULTLINE_SPEC.\n";

/* ---- status lines ---- */

static void now_rfc3339(char *out, size_t n)
{
	struct timespec ts;
	struct tm tm;

	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	if (snprintf(out, n, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ",
		     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		     tm.tm_min, tm.tm_sec, ts.tv_nsec / 1000000) >= (int)n)
		out[n - 1] = '\0';
}

/* Prints one status line, state, kind, tag and time first, then the
 * fields of extra, with a single write() so that a reader never sees half
 * a line.  Takes the reference on extra. */
static void emit(struct json_object *extra, const char *state, const char *kind,
		 const char *tag)
{
	struct json_object *line = json_object_new_object();
	char when[40], *buf;
	const char *text;
	size_t len;

	now_rfc3339(when, sizeof(when));
	json_object_object_add(line, "state", json_object_new_string(state));
	if (kind)
		json_object_object_add(line, "kind",
				       json_object_new_string(kind));
	if (tag)
		json_object_object_add(line, "tag",
				       json_object_new_string(tag));
	json_object_object_add(line, "time", json_object_new_string(when));
	json_object_object_foreach(extra, k, v)
		json_object_object_add(line, k, json_object_get(v));
	text = json_object_to_json_string_ext(
		line, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	buf = fl_malloc(len + 1);
	memcpy(buf, text, len);
	buf[len] = '\n';

	/* When nobody reads us any more, the faults still have to be
	 * reverted: a failed write changes nothing. */
	if (write(STDOUT_FILENO, buf, len + 1) < 0)
		errno = 0;
	free(buf);
	json_object_put(line);
	json_object_put(extra);
}

/* A "failed" line; index < 0 for a failure that is no fault's (a sweep). */
static void emit_failed(const char *kind, const char *tag, long index,
			const char *reason)
{
	struct json_object *line = json_object_new_object();

	if (index >= 0)
		json_object_object_add(line, "index",
				       json_object_new_int64(index));
	json_object_object_add(line, "reason", json_object_new_string(reason));
	emit(line, "failed", kind, tag);
}

/* ---- reading the spec ---- */

static char *read_file(const char *path)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	char *buf;
	ssize_t got;
	size_t off = 0;

	if (fd < 0)
		return NULL;
	buf = fl_malloc(SPEC_MAX + 1);
	while (off < SPEC_MAX &&
	       (got = read(fd, buf + off, SPEC_MAX - off)) != 0) {
		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0)
			break;
		off += (size_t)got;
	}
	close(fd);
	buf[off] = '\0';
	return buf;
}

/* The spec text from the arguments or the environment; the caller frees
 * it.  NULL with a message on stderr. */
static char *spec_text(int argc, char **argv)
{
	const char *env = getenv("FAULTLINE_SPEC");
	char *text;
	int i;

	for (i = 2; i < argc; i++) {
		if (strcmp(argv[i], "--spec") == 0 && i + 1 < argc)
			return fl_strdup(argv[i + 1]);
		if (strcmp(argv[i], "--spec-file") == 0 && i + 1 < argc) {
			text = read_file(argv[i + 1]);
			if (!text)
				fprintf(stderr,
					"faultline-sidecar: cannot read "
					"spec file '%s': %s\n",
					argv[i + 1], strerror(errno));
			return text;
		}
		fprintf(stderr, "faultline-sidecar: unknown argument '%s'\n%s",
			argv[i], usage);
		return NULL;
	}
	if (env)
		return fl_strdup(env);
	fprintf(stderr, "faultline-sidecar: no spec (--spec, --spec-file or "
			"FAULTLINE_SPEC)\n");
	return NULL;
}

/* Parses the spec; prints every error on stderr and returns -1. */
static int load_spec(int argc, char **argv, struct fl_spec *sp)
{
	struct fl_errors errs = {0};
	char *text = spec_text(argc, argv), msg[1024];
	size_t i;
	int rc;

	if (!text)
		return -1;
	rc = fl_spec_parse(text, sp, &errs);
	free(text);
	for (i = 0; rc < 0 && i < errs.n; i++)
		fprintf(stderr, "faultline-sidecar: bad spec: %s\n",
			fl_errors_format(&errs, i, NULL, msg, sizeof(msg)));
	if (rc < 0 && errs.dropped)
		fprintf(stderr,
			"faultline-sidecar: bad spec: %zu more errors\n",
			errs.dropped);
	return rc;
}

/* ---- sweep ---- */

/* Nonzero when a kind before i shares the sweep of kind i: kinds built on
 * one mechanism (the network kinds, the worker-based kinds) sweep
 * it once. */
static int swept_before(int i)
{
	int j;

	for (j = 0; j < i; j++)
		if (fl_fault_registry[j]->sweep == fl_fault_registry[i]->sweep)
			return 1;
	return 0;
}

/* Calls every registered sweep; prints a line for each that removed
 * something or failed.  Returns -1 when any failed. */
static int sweep_all(struct fl_fault_ctx *ctx)
{
	struct json_object *line;
	int i, n, rc = 0;

	for (i = 0; fl_fault_registry[i]; i++) {
		const struct fl_fault_ops *ops = fl_fault_registry[i];

		if (!ops->sweep || swept_before(i))
			continue;
		ctx->err[0] = '\0';
		n = ops->sweep(ctx);
		if (n < 0) {
			emit_failed(ops->kind, NULL, -1,
				    ctx->err[0] ? ctx->err : "sweep failed");
			rc = -1;
		} else if (n > 0) {
			line = json_object_new_object();
			json_object_object_add(line, "removed",
					       json_object_new_int(n));
			emit(line, "swept", ops->kind, NULL);
		}
	}
	return rc;
}

/* ---- apply, hold, revert ---- */

struct run {
	struct fl_spec sp;
	struct fl_fault_ctx ctx;
	int sfd;       /* SIGTERM, SIGINT, SIGHUP, SIGCHLD */
	int tfd;       /* the deadline */
	char why[160]; /* what ended the hold: "deadline", "SIGTERM" */
	struct fl_agent_client *agent; /* NULL without "agent" */
	enum fl_agent_verdict verdict; /* the agent's, when it ended it */
};

/* A worker ended while its fault was held (the OOM killer took a
 * memoryStress worker, say): the fault no longer holds all it should. */
static void worker_ended(const struct fl_workers *w, pid_t pid, int status,
			 void *arg)
{
	struct run *r = arg;
	char why[128];

	if (WIFSIGNALED(status))
		snprintf(why, sizeof(why), "worker %d was killed by signal %d",
			 (int)pid, WTERMSIG(status));
	else
		snprintf(why, sizeof(why), "worker %d exited with status %d",
			 (int)pid, WEXITSTATUS(status));
	emit_failed(w->kind, r->ctx.tag, -1, why);
}

/* Nonzero when a signal or the deadline says stop; fills r->why.  A
 * SIGCHLD reaps ended workers and reports them. */
static int should_stop(struct run *r, int timeout_ms)
{
	struct pollfd p[3] = {{.fd = r->sfd, .events = POLLIN},
			      {.fd = r->tfd, .events = POLLIN},
			      {.fd = -1, .events = POLLIN}};
	struct signalfd_siginfo si;

	if (r->agent)
		p[2].fd = fl_agent_client_fd(r->agent);
	if (poll(p, 3, timeout_ms) <= 0)
		return 0;
	if ((p[0].revents & POLLIN) &&
	    read(r->sfd, &si, sizeof(si)) == sizeof(si)) {
		if (si.ssi_signo == SIGCHLD) {
			fl_workers_reap(worker_ended, r);
			return 0;
		}
		snprintf(r->why, sizeof(r->why), "%s",
			 si.ssi_signo == SIGTERM  ? "SIGTERM"
			 : si.ssi_signo == SIGINT ? "SIGINT"
						  : "SIGHUP");
		return 1;
	}
	if (p[1].revents & POLLIN) {
		snprintf(r->why, sizeof(r->why), "deadline");
		return 1;
	}
	if (p[2].revents & POLLIN) {
		r->verdict = fl_agent_client_verdict(r->agent, r->why,
						     sizeof(r->why));
		return r->verdict != FL_AGENT_VERDICT_NONE;
	}
	return 0;
}

/* Tells the operator, when there is an agent channel, where the run
 * stands and which faults hold. */
static void report(struct run *r, enum fl_agent_state state, const char *msg)
{
	struct fl_agent_fault_status fs[FL_SPEC_MAX_FAULTS];
	size_t i;

	if (!r->agent)
		return;
	memset(fs, 0, sizeof(fs));
	for (i = 0; i < r->sp.nfaults && i < FL_SPEC_MAX_FAULTS; i++) {
		snprintf(fs[i].kind, sizeof(fs[i].kind), "%s",
			 r->sp.faults[i].ops->kind);
		snprintf(fs[i].state, sizeof(fs[i].state), "%s",
			 r->sp.faults[i].applied	    ? "applied"
			 : state == FL_AGENT_STATE_APPLYING ? "pending"
							    : "reverted");
	}
	fl_agent_client_status(r->agent, state, fs, i, msg);
}

/* Starts the agent client when the spec has one.  Returns -1 with a
 * message on stderr. */
static int agent_start(struct run *r)
{
	struct fl_agent_client_config cfg = {
		.url = r->sp.agent_url,
		.ca_pem = r->sp.agent_ca,
		.token = r->sp.agent_token,
		.proof_key = r->sp.agent_proof_key,
		.grace_s = r->sp.agent_grace_s,
	};
	char err[256];

	if (!r->sp.agent_url)
		return 0;
	r->agent = fl_agent_client_start(&cfg, err, sizeof(err));
	if (!r->agent) {
		fprintf(stderr, "faultline-sidecar: %s\n", err);
		return -1;
	}
	return 0;
}

static void emit_applied(struct run *r, size_t i)
{
	struct fl_spec_fault *f = &r->sp.faults[i];
	struct json_object *line = json_object_new_object();

	json_object_object_add(line, "index",
			       json_object_new_int64((int64_t)i));
	if (f->ops->status)
		f->ops->status(f->state, line);
	emit(line, "applied", f->ops->kind, r->ctx.tag);
}

/* Reverts every fault applied, last first.  A revert that fails is tried
 * once more.  Returns -1 when something may be left. */
static int revert_all(struct run *r, const char *why)
{
	struct json_object *line;
	size_t i = r->sp.nfaults;
	int rc = 0, attempt;

	while (i-- > 0) {
		struct fl_spec_fault *f = &r->sp.faults[i];

		if (!f->applied)
			continue;
		for (attempt = 0; attempt < 2; attempt++) {
			r->ctx.err[0] = '\0';
			if (f->ops->revert(f->state, &r->ctx) == 0)
				break;
		}
		if (attempt == 2) {
			emit_failed(f->ops->kind, r->ctx.tag, (long)i,
				    r->ctx.err);
			rc = -1;
			continue;
		}
		f->applied = 0;
		line = json_object_new_object();
		json_object_object_add(line, "index",
				       json_object_new_int64((int64_t)i));
		json_object_object_add(line, "reason",
				       json_object_new_string(why));
		emit(line, "reverted", f->ops->kind, r->ctx.tag);
	}
	return rc;
}

/* Applies the faults in order.  Returns 0 when all are applied, 1 when a
 * signal or the deadline came first, -1 when one failed (that one is
 * reverted here; those before it are left for revert_all()). */
static int apply_all(struct run *r)
{
	size_t i;

	for (i = 0; i < r->sp.nfaults; i++) {
		struct fl_spec_fault *f = &r->sp.faults[i];

		if (should_stop(r, 0))
			return 1;
		r->ctx.err[0] = '\0';

		if (f->ops->apply(f->state, &r->ctx) == 0) {
			f->applied = 1;
			emit_applied(r, i);
			continue;
		}
		emit_failed(f->ops->kind, r->ctx.tag, (long)i,
			    r->ctx.err[0] ? r->ctx.err : "apply failed");

		/* Apply undoes its own work when it fails; revert is safe
		 * after a partial apply, so make sure of it quietly.  When
		 * even that fails, something may be left: revert_all()
		 * tries again and reports it in the exit code. */
		if (f->ops->revert(f->state, &r->ctx) < 0)
			f->applied = 1;
		return -1;
	}
	return 0;
}

static int arm(struct run *r)
{
	struct itimerspec its = {0};
	sigset_t set;

	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	sigaddset(&set, SIGCHLD);
	if (sigprocmask(SIG_BLOCK, &set, NULL) < 0)
		return -1;
	r->sfd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
	r->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
	if (r->sfd < 0 || r->tfd < 0)
		return -1;
	its.it_value.tv_sec = r->ctx.deadline_ms / 1000;
	its.it_value.tv_nsec = (r->ctx.deadline_ms % 1000) * 1000000;
	return timerfd_settime(r->tfd, TFD_TIMER_ABSTIME, &its, NULL);
}

static void ctx_init(struct fl_fault_ctx *ctx, const struct fl_spec *sp)
{
	memset(ctx, 0, sizeof(*ctx));
	ctx->tag = sp->tag;
	ctx->deadline_ms = fl_now_ms() + sp->duration_ms;
	ctx->target_pid = sp->target_pid;
	ctx->cgroup_dir = sp->cgroup;
	ctx->allow_control_cut = sp->allow_control_cut;
	ctx->control_cidr = sp->control_cidr;
	ctx->control_port = sp->control_port;
}

static int cmd_run(int argc, char **argv)
{
	struct run r = {.sfd = -1, .tfd = -1};
	int rc = EXIT_INTERNAL, applied;

	if (load_spec(argc, argv, &r.sp) < 0)
		return EXIT_BAD_SPEC;
	ctx_init(&r.ctx, &r.sp);
	if (arm(&r) < 0) {
		fprintf(stderr,
			"faultline-sidecar: cannot arm the deadline: "
			"%s\n",
			strerror(errno));
		goto out;
	}
	/* After arm(): the client thread inherits the blocked signals. */
	if (agent_start(&r) < 0)
		goto out;
	sweep_all(&r.ctx);
	report(&r, FL_AGENT_STATE_APPLYING, "");
	applied = apply_all(&r);
	if (applied == 0) {
		report(&r, FL_AGENT_STATE_ACTIVE, "");
		while (!should_stop(&r, -1))
			;
	}
	report(&r, FL_AGENT_STATE_REVERTING,
	       applied < 0 ? "apply failed" : r.why);
	if (applied < 0)
		rc = revert_all(&r, "apply failed") < 0 ? EXIT_REVERT_FAILED
							: EXIT_APPLY_FAILED;
	else
		rc = revert_all(&r, r.why) < 0 ? EXIT_REVERT_FAILED : EXIT_OK;
	if (rc == EXIT_OK && (r.verdict == FL_AGENT_VERDICT_SILENT ||
			      r.verdict == FL_AGENT_VERDICT_REFUSED))
		rc = EXIT_CHANNEL;
	report(&r,
	       rc == EXIT_OK || rc == EXIT_CHANNEL ? FL_AGENT_STATE_REVERTED
						   : FL_AGENT_STATE_FAILED,
	       applied < 0 ? "apply failed" : r.why);
out:
	fl_agent_client_stop(r.agent, 2000);
	if (r.sfd >= 0)
		close(r.sfd);
	if (r.tfd >= 0)
		close(r.tfd);
	fl_spec_release(&r.sp);
	return rc;
}

static int cmd_check(int argc, char **argv)
{
	struct fl_spec sp;

	if (load_spec(argc, argv, &sp) < 0)
		return EXIT_BAD_SPEC;
	emit(json_object_new_object(), "valid", NULL, sp.tag);
	fl_spec_release(&sp);
	return EXIT_OK;
}

static int cmd_sweep(int argc, char **argv)
{
	struct fl_fault_ctx ctx = {.tag = "sweep"};

	(void)argv;
	if (argc > 2) {
		fputs(usage, stderr);
		return EXIT_BAD_SPEC;
	}
	ctx.deadline_ms = fl_now_ms() + 30000;
	return sweep_all(&ctx) < 0 ? EXIT_REVERT_FAILED : EXIT_OK;
}

int main(int argc, char **argv)
{
	/* A reader that goes away must not kill us before we revert. */
	signal(SIGPIPE, SIG_IGN);
	if (argc >= 2 && strcmp(argv[1], "run") == 0)
		return cmd_run(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "check") == 0)
		return cmd_check(argc, argv);
	if (argc >= 2 && strcmp(argv[1], "sweep") == 0)
		return cmd_sweep(argc, argv);
	fputs(usage, stderr);
	return EXIT_BAD_SPEC;
}
