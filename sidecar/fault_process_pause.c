/*
 * processPause: stops every process called "process" (SIGSTOP) and lets
 * them go on revert (SIGCONT).
 *
 * The processes are recorded (pid and start time) in the state directory
 * before any is stopped, so that a sweep continues them after we die by
 * SIGKILL, and a pid the kernel gave to another process since is never
 * signalled.  Processes already stopped by someone else are left alone.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "fault.h"
#include "json.h"
#include "proc.h"
#include "state.h"
#include "worker.h"

#define KIND "processPause"
#define MAX_PROCS 256
#define STOP_WAIT_MS 1000

struct process_pause {
	const char *name; /* points into the spec */
	struct fl_proc_ref refs[MAX_PROCS];
	int n;
	int saved;    /* the state record exists */
	char key[64]; /* the record's name, fl_state_key() */
};

static int pause_parse(struct json_object *params, void *state,
		       struct fl_errors *errs)
{
	struct process_pause *s = state;

	(void)errs;
	s->name = fl_json_str(params, "process");
	return 0;
}

static struct json_object *refs_json(const struct fl_proc_ref *refs, int n)
{
	struct json_object *arr = json_object_new_array();
	int i;

	for (i = 0; i < n; i++) {
		struct json_object *r = json_object_new_object();

		json_object_object_add(r, "pid",
				       json_object_new_int(refs[i].pid));
		json_object_object_add(
			r, "start",
			json_object_new_int64((int64_t)refs[i].starttime));
		json_object_array_add(arr, r);
	}
	return arr;
}

/* Continues every process of refs that is still the one we stopped.
 * Returns how many were continued; *failed counts those still alive that
 * could not be (errno tells why). */
static int resume(const struct fl_proc_ref *refs, int n, int *failed)
{
	int i, count = 0;

	*failed = 0;
	for (i = 0; i < n; i++) {
		if (fl_proc_signal(&refs[i], SIGCONT) == 0)
			count++;
		else if (errno != ESRCH)
			(*failed)++;
	}
	return count;
}

/* A signal is delivered when its target next runs: waits (at most
 * STOP_WAIT_MS) until every process we stopped shows as stopped, so that
 * "applied" means they are. */
static void wait_stopped(const struct fl_proc_ref *refs, int n)
{
	int64_t until = fl_now_ms() + STOP_WAIT_MS;
	struct fl_proc_stat st;
	int i = 0;

	while (i < n && fl_now_ms() < until) {
		if (fl_proc_stat_read(refs[i].pid, &st) < 0 ||
		    st.starttime != refs[i].starttime || st.state == 'T' ||
		    st.state == 't' || st.state == 'Z') {
			i++;
			continue;
		}
		usleep(1000);
	}
}

static int pause_apply(void *state, struct fl_fault_ctx *ctx)
{
	static unsigned uses;
	struct process_pause *s = state;
	struct json_object *rec;
	int i, rc;

	s->n = fl_proc_find_named(s->name, 1, s->refs, MAX_PROCS);
	if (s->n <= 0) {
		snprintf(ctx->err, sizeof(ctx->err),
			 s->n < 0 ? "cannot read /proc"
				  : "no running process called '%s'",
			 s->name);
		s->n = 0;
		return -1;
	}
	if (!s->key[0])
		fl_state_key(ctx->tag, &uses, s->key, sizeof(s->key));
	rec = json_object_new_object();
	json_object_object_add(rec, "procs", refs_json(s->refs, s->n));
	rc = fl_state_save(s->key, KIND, rec, ctx->err, sizeof(ctx->err));
	json_object_put(rec);
	if (rc < 0)
		return -1;
	s->saved = 1;
	for (i = 0; i < s->n; i++) {
		if (fl_proc_signal(&s->refs[i], SIGSTOP) == 0 || errno == ESRCH)
			continue;
		snprintf(ctx->err, sizeof(ctx->err),
			 "cannot stop '%s' (pid %d): %s", s->name,
			 (int)s->refs[i].pid, strerror(errno));
		return -1;
	}
	wait_stopped(s->refs, s->n);
	return 0;
}

static int pause_revert(void *state, struct fl_fault_ctx *ctx)
{
	struct process_pause *s = state;
	int failed;

	if (!s->saved)
		return 0;
	resume(s->refs, s->n, &failed);
	if (failed) {
		/* A process left stopped is a fault left behind: say so, and
		 * keep the record so that a sweep tries again. */
		snprintf(ctx->err, sizeof(ctx->err),
			 "cannot continue %d stopped process%s called '%s': %s",
			 failed, failed == 1 ? "" : "es", s->name,
			 strerror(errno));
		return -1;
	}
	fl_state_drop(s->key, KIND);
	s->saved = 0;
	return 0;
}

static int sweep_record(struct json_object *rec, char *err, size_t errn)
{
	struct json_object *procs = fl_json_get(rec, "procs");
	struct fl_proc_ref refs[MAX_PROCS];
	size_t i, n = fl_json_len(procs);
	int failed;

	if (n > MAX_PROCS)
		n = MAX_PROCS;
	for (i = 0; i < n; i++) {
		struct json_object *r = json_object_array_get_idx(procs, i);

		refs[i].pid = json_object_get_int(fl_json_get(r, "pid"));
		refs[i].starttime = (uint64_t)json_object_get_int64(
			fl_json_get(r, "start"));
	}
	n = (size_t)resume(refs, (int)n, &failed);
	if (failed) {
		snprintf(err, errn, "cannot continue %d stopped process%s: %s",
			 failed, failed == 1 ? "" : "es", strerror(errno));
		return -1;
	}
	return (int)n;
}

static int pause_sweep(struct fl_fault_ctx *ctx)
{
	return fl_state_sweep(KIND, sweep_record, ctx->err, sizeof(ctx->err));
}

static void pause_status(void *state, struct json_object *out)
{
	struct process_pause *s = state;
	struct json_object *pids = json_object_new_array();
	int i;

	for (i = 0; i < s->n; i++)
		json_object_array_add(pids,
				      json_object_new_int(s->refs[i].pid));
	json_object_object_add(out, "pids", pids);
}

const struct fl_fault_ops fl_fault_process_pause_ops = {
	.kind = KIND,
	.state_size = sizeof(struct process_pause),
	.parse = pause_parse,
	.apply = pause_apply,
	.revert = pause_revert,
	.sweep = pause_sweep,
	.status = pause_status,
};
