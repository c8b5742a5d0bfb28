/*
 * processKill: sends "signal" (SIGKILL by default) to every process called
 * "process" in the PID namespace we share with the target.  The kill is
 * the fault: revert has nothing to take back (the orchestrator restarts
 * the container), and nothing outlives us.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "fault.h"
#include "json.h"
#include "proc.h"

#define MAX_PROCS 256

struct process_kill {
	const char *name; /* points into the spec */
	int sig;
	struct fl_proc_ref killed[MAX_PROCS];
	int nkilled;
};

static const struct {
	const char *name;
	int sig;
} signals[] = {
	{"SIGKILL", SIGKILL}, {"SIGTERM", SIGTERM}, {"SIGINT", SIGINT},
	{"SIGQUIT", SIGQUIT}, {"SIGHUP", SIGHUP},   {"SIGUSR1", SIGUSR1},
	{"SIGUSR2", SIGUSR2},
};

static int kill_parse(struct json_object *params, void *state,
		      struct fl_errors *errs)
{
	struct process_kill *s = state;
	const char *sig = fl_json_str(params, "signal");
	size_t i;

	s->name = fl_json_str(params, "process");
	s->sig = SIGKILL;
	if (!sig)
		return 0;
	for (i = 0; i < sizeof(signals) / sizeof(signals[0]); i++) {
		if (strcmp(sig, signals[i].name) == 0) {
			s->sig = signals[i].sig;
			return 0;
		}
	}
	fl_errors_add(errs, 0, "processKill.signal", "unknown signal '%s'",
		      sig);
	return -1;
}

static int kill_apply(void *state, struct fl_fault_ctx *ctx)
{
	struct process_kill *s = state;
	struct fl_proc_ref found[MAX_PROCS];
	int i, n = fl_proc_find_named(s->name, 0, found, MAX_PROCS);

	if (n <= 0) {
		snprintf(ctx->err, sizeof(ctx->err),
			 n < 0 ? "cannot read /proc" : "no process called '%s'",
			 s->name);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (fl_proc_signal(&found[i], s->sig) == 0)
			s->killed[s->nkilled++] = found[i];
		else if (errno != ESRCH) {
			snprintf(ctx->err, sizeof(ctx->err),
				 "cannot signal '%s' (pid %d): %s", s->name,
				 (int)found[i].pid, strerror(errno));
			return -1;
		}
	}
	return 0;
}

static int kill_revert(void *state, struct fl_fault_ctx *ctx)
{
	(void)state;
	(void)ctx;
	return 0;
}

static void kill_status(void *state, struct json_object *out)
{
	struct process_kill *s = state;
	struct json_object *pids = json_object_new_array();
	int i;

	for (i = 0; i < s->nkilled; i++)
		json_object_array_add(pids,
				      json_object_new_int(s->killed[i].pid));
	json_object_object_add(out, "pids", pids);
}

const struct fl_fault_ops fl_fault_process_kill_ops = {
	.kind = "processKill",
	.state_size = sizeof(struct process_kill),
	.parse = kill_parse,
	.apply = kill_apply,
	.revert = kill_revert,
	.status = kill_status,
};
