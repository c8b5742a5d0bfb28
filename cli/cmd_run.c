/*
 * `kubectl faultline run -f FILE [--wait] [--timeout DURATION]`: validates
 * the manifest offline, applies it server-side (so running the same file
 * again works), and with --wait follows the run that the apply started to
 * its end, with the verdict as the exit code.
 *
 * Which run is ours: the operator writes status.observedGeneration when it
 * takes up a generation and a new status.runId for each run.  A run is
 * ours when observedGeneration is at least the generation our apply
 * produced and the run id differs from the one before the apply (or there
 * was none).  Anything else is the previous run, or the operator not
 * having caught up yet.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "alloc.h"
#include "cli.h"
#include "experiment.h"
#include "json.h"
#include "kube_watch.h"
#include "units.h"
#include "yamljson.h"

/* Without --timeout: the experiment's duration and its recovery bound,
 * plus this much for preparing, validating and the operator's pace. */
#define DEFAULT_SLACK_MS (10 * 60 * 1000)

struct run_args {
	const char *file;
	int wait;
	int64_t timeout_ms; /* 0: none; -1: not given */
};

/* What the watch keeps while it waits. */
struct waiter {
	const char *ns, *name;
	int64_t generation;	 /* what our apply produced */
	char *prev_run;		 /* runId before the apply, or NULL */
	int64_t duration_ms;	 /* spec.duration, for the bar */
	int dry_run;		 /* spec.safety.dryRun */
	int tty;		 /* redraw one line instead of logging */
	int64_t started_ms;	 /* when we started waiting (monotonic) */
	struct json_object *cur; /* the latest object, one reference */
	char last[512];		 /* the last line printed */
	int done;		 /* our run ended, or the object is gone */
	int deleted;		 /* the object was deleted */
	int code;		 /* exit code once done */
	char failure[1100];	 /* the watch's last failure, for a timeout */
	struct fl_kube_reflector *r; /* the watch, to stop it when done */
};

/* The value of "--flag VALUE" or "--flag=VALUE" at argv[*i], or NULL. */
static const char *opt(int argc, char **argv, int *i, const char *flag,
		       const char *alias, int *bad)
{
	size_t n = strlen(flag);

	if (!strncmp(argv[*i], flag, n) && argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (strcmp(argv[*i], flag) && (!alias || strcmp(argv[*i], alias)))
		return NULL;
	if (*i + 1 >= argc) {
		fl_cli_err("run: %s needs a value", argv[*i]);
		*bad = 1;
		return NULL;
	}
	return argv[++*i];
}

static int parse_timeout(const char *v, int64_t *ms)
{
	if (!strcmp(v, "0")) {
		*ms = 0;
		return 0;
	}
	if (fl_duration_parse(v, ms) || *ms <= 0) {
		fl_cli_err("run: --timeout '%s' is not a duration such as "
			   "90s or 10m",
			   v);
		return -1;
	}
	return 0;
}

static int parse_args(int argc, char **argv, struct run_args *a)
{
	const char *v;
	int i, bad = 0;

	memset(a, 0, sizeof(*a));
	a->timeout_ms = -1;
	for (i = 0; i < argc && !bad; i++) {
		if (!strcmp(argv[i], "--wait") || !strcmp(argv[i], "-w"))
			a->wait = 1;
		else if ((v = opt(argc, argv, &i, "--filename", "-f", &bad)))
			a->file = v;
		else if ((v = opt(argc, argv, &i, "--timeout", NULL, &bad)))
			bad = parse_timeout(v, &a->timeout_ms) != 0;
		else if (!bad) {
			fl_cli_err("run: unexpected argument '%s'", argv[i]);
			bad = 1;
		}
	}
	if (bad)
		return -1;
	if (!a->file) {
		fprintf(stderr, "usage: kubectl faultline run -f FILE [--wait] "
				"[--timeout DURATION]\n");
		return -1;
	}
	return 0;
}

/*
 * Reads and validates the one experiment in path.  On success *doc holds
 * the document as written (what we apply) and x the validated model.
 */
static int load(const char *path, struct json_object **doc,
		struct fl_experiment *x)
{
	struct fl_errors errs = {0};
	struct json_object *docs = NULL;
	struct fl_buf text;
	int rc = -1;

	fl_buf_init(&text, FL_CLI_MAX_FILE);
	if (fl_cli_read_file(path, &text))
		goto out;
	if (fl_yaml_parse(text.data ? text.data : "", text.len, NULL, &docs,
			  &errs)) {
		fl_cli_print_errors(&errs, path);
		goto out;
	}
	if (json_object_array_length(docs) != 1) {
		fl_cli_err("%s: run takes one experiment per file, this one "
			   "holds %zu documents",
			   path, json_object_array_length(docs));
		goto out;
	}
	/* Validation fills in defaults: apply a copy of what the user
	 * wrote, taken before.  (A reparse, as json-c cannot deep-copy the
	 * parser's line numbers.) */
	*doc = json_tokener_parse(
		json_object_to_json_string(json_object_array_get_idx(docs, 0)));
	if (!*doc) {
		fl_cli_err("%s: cannot copy the document", path);
		goto out;
	}
	if (fl_experiment_from_json(json_object_array_get_idx(docs, 0), x,
				    &errs)) {
		fl_cli_print_errors(&errs, path);
		goto out;
	}
	rc = 0;
out:
	if (rc) {
		json_object_put(*doc);
		*doc = NULL;
	}
	json_object_put(docs);
	fl_buf_release(&text);
	return rc;
}

/* Sets metadata.namespace as the command line and the manifest agree.
 * Returns the namespace (borrowed from doc), or NULL after an error. */
static const char *settle_namespace(struct json_object *doc,
				    const struct fl_cli_conn *c,
				    const char *path)
{
	struct json_object *md = fl_json_get(doc, "metadata");
	const char *mine = fl_json_str(md, "namespace");

	if (mine && c->namespace_given && strcmp(mine, c->namespace)) {
		fl_cli_err("%s: the manifest's namespace '%s' does not match "
			   "--namespace '%s'",
			   path, mine, c->namespace);
		return NULL;
	}
	if (!mine)
		json_object_object_add(md, "namespace",
				       json_object_new_string(c->namespace));
	return fl_json_str(md, "namespace");
}

static int is_ours(const struct waiter *w, struct json_object *obj)
{
	const char *run = fl_cli_str(obj, "status.runId");

	return fl_cli_int(obj, "status.observedGeneration", -1) >=
		       w->generation &&
	       run && *run && (!w->prev_run || strcmp(run, w->prev_run));
}

static int term_width(void)
{
	struct winsize ws;

	if (ioctl(STDOUT_FILENO, TIOCGWINSZ, &ws) || ws.ws_col < 20)
		return 80;
	return ws.ws_col;
}

/* Before our run shows up: what the status holds instead, one line per
 * change (the previous run, or the operator not having caught up). */
static void waiting(struct waiter *w, int64_t elapsed)
{
	char line[512], run[80], phase[40];

	snprintf(line, sizeof(line),
		 "waiting for a new run of generation %lld (status: run %s, "
		 "phase %s, observed generation %lld)",
		 (long long)w->generation,
		 fl_cli_safe(fl_cli_str(w->cur, "status.runId"), "none", run,
			     sizeof(run)),
		 fl_cli_safe(fl_cli_str(w->cur, "status.phase"), "none", phase,
			     sizeof(phase)),
		 (long long)fl_cli_int(w->cur, "status.observedGeneration", 0));
	if (w->tty) {
		int width = term_width();

		if ((int)strlen(line) >= width)
			line[width - 1] = '\0';
		printf("\r\033[K%s", line);
	} else if (strcmp(line, w->last)) {
		snprintf(w->last, sizeof(w->last), "%s", line);
		printf("[%6.1fs] %s/%s %s\n", (double)elapsed / 1000, w->ns,
		       w->name, line);
	}
	fflush(stdout);
}

/* Shows where things stand: redrawn in place on a terminal, else one log
 * line per change (elapsed time in front). */
static void show(struct waiter *w)
{
	char line[512];
	int64_t elapsed = fl_kube_monotonic_ms() - w->started_ms;

	if (!w->cur || !is_ours(w, w->cur)) {
		waiting(w, elapsed);
		return;
	}
	if (w->tty) {
		int width = term_width();

		fl_cli_progress_line(w->cur, w->duration_ms, fl_cli_now_ms(), 1,
				     1, line, sizeof(line));
		if ((int)strlen(line) >= width)
			line[width - 1] = '\0';
		printf("\r\033[K%s", line);
		fflush(stdout);
		return;
	}
	fl_cli_progress_line(w->cur, w->duration_ms, 0, 0, 0, line,
			     sizeof(line));
	if (!strcmp(line, w->last))
		return;
	snprintf(w->last, sizeof(w->last), "%s", line);
	printf("[%6.1fs] %s/%s %s\n", (double)elapsed / 1000, w->ns, w->name,
	       line);
	fflush(stdout);
}

static void on_change(void *arg, enum fl_kube_change change,
		      struct json_object *old, struct json_object *cur)
{
	struct waiter *w = arg;

	(void)old;
	if (change == FL_KUBE_CHANGE_DELETE) {
		if (w->tty)
			printf("\n");
		fl_cli_err("chaosexperiment '%s/%s' was deleted while "
			   "waiting for its run",
			   w->ns, w->name);
		w->done = w->deleted = 1;
		w->code = FL_EXIT_ERROR;
		w->r->stop = 1;
		return;
	}
	json_object_put(w->cur);
	w->cur = json_object_get(cur);
	show(w);
	if (is_ours(w, cur) && fl_cli_run_finished(cur)) {
		w->done = 1;
		w->code = fl_cli_run_exit_code(cur, w->dry_run);
	}
	if (w->done)
		w->r->stop = 1;
}

static void on_note(void *arg, enum fl_kube_reflector_note note, const char *rv,
		    long ms, const struct fl_kube_status *st)
{
	struct waiter *w = arg;
	char msg[1024];

	(void)rv;
	(void)ms;
	if (note == FL_REFLECTOR_FAILED && st)
		snprintf(w->failure, sizeof(w->failure), "%ld %s: %s", st->code,
			 st->reason,
			 fl_cli_safe(st->message, "", msg, sizeof(msg)));
}

/* The last words: what the run ended with. */
static void summarize(const struct waiter *w)
{
	struct json_object *o = w->cur;
	char run[80], phase[40], verdict[40], msg[600], rec[40];
	struct json_object *avail = fl_cli_at(o, "status.availability");

	if (w->tty)
		printf("\n");
	printf("run %s of chaosexperiment '%s/%s' ended: %s, verdict %s",
	       fl_cli_safe(fl_cli_str(o, "status.runId"), "-", run,
			   sizeof(run)),
	       w->ns, w->name,
	       fl_cli_safe(fl_cli_str(o, "status.phase"), "-", phase,
			   sizeof(phase)),
	       fl_cli_safe(fl_cli_str(o, "status.verdict"), "none", verdict,
			   sizeof(verdict)));
	if (avail)
		printf(", availability %.2f%%", json_object_get_double(avail));
	if (fl_cli_str(o, "status.recoveryTime"))
		printf(", recovery %s",
		       fl_cli_safe(fl_cli_str(o, "status.recoveryTime"), "",
				   rec, sizeof(rec)));
	if (fl_cli_str(o, "status.message"))
		printf(": %s", fl_cli_safe(fl_cli_str(o, "status.message"), "",
					   msg, sizeof(msg)));
	printf("\n");
	fflush(stdout);
}

static int wait_run(struct fl_cli_conn *c, struct waiter *w, int64_t timeout_ms)
{
	struct fl_kube_reflector r;
	struct fl_kube_reflector_opts o = {0};
	struct fl_kube_ref ref = fl_cli_ref(w->ns, NULL);
	char sel[300], phase[64];
	int64_t deadline;

	snprintf(sel, sizeof(sel), "metadata.name=%s", w->name);
	o.field_selector = sel;
	o.transform = fl_kube_strip_managed_fields;
	o.backoff_max_ms = 5000;
	fl_kube_reflector_init(&r, c->kube, &ref, &o, on_change, on_note, w);
	w->r = &r;
	w->started_ms = fl_kube_monotonic_ms();
	deadline = timeout_ms ? w->started_ms + timeout_ms : 0;
	while (!w->done && (!deadline || fl_kube_monotonic_ms() < deadline)) {
		int64_t until = deadline;

		/* A terminal gets a fresh clock every second. */
		if (w->tty) {
			until = fl_kube_monotonic_ms() + 1000;
			if (deadline && until > deadline)
				until = deadline;
		}
		r.stop = 0;
		fl_kube_reflector_step(&r, until);
		if (!w->done && w->tty)
			show(w);
	}
	fl_kube_reflector_release(&r);
	if (w->done) {
		if (!w->deleted)
			summarize(w);
		return w->code;
	}
	if (w->tty)
		printf("\n");
	if (w->cur && is_ours(w, w->cur))
		fl_cli_safe(fl_cli_str(w->cur, "status.phase"), "none", phase,
			    sizeof(phase));
	else
		snprintf(phase, sizeof(phase), "none: no new run seen");
	fl_cli_err("timed out after %llds waiting for the run of "
		   "chaosexperiment '%s/%s' (last phase %s)%s%s",
		   (long long)(timeout_ms / 1000), w->ns, w->name, phase,
		   w->failure[0] ? "; last API error: " : "", w->failure);
	return FL_EXIT_ERROR;
}

/* Applies doc server-side; fills *out with the object the server kept. */
static int apply(struct fl_cli_conn *c, const char *ns, const char *name,
		 struct json_object *doc, struct json_object **out)
{
	struct fl_kube_ref ref = fl_cli_ref(ns, name);
	struct fl_kube_status st = {0};
	int rc = 0;

	if (fl_kube_patch(c->kube, &ref, FL_KUBE_PATCH_APPLY,
			  /* YAML has no "\/" escape: JSON is YAML only
			   * without it. */
			  json_object_to_json_string_ext(
				  doc, JSON_C_TO_STRING_PLAIN |
					       JSON_C_TO_STRING_NOSLASHESCAPE),
			  FL_FIELD_MANAGER, 1, out, &st)) {
		fl_cli_api_err("apply", ns, name, &st);
		rc = -1;
	}
	fl_kube_status_release(&st);
	return rc;
}

/* The object as it is before our apply: NULL when there is none. */
static int fetch_before(struct fl_cli_conn *c, const char *ns, const char *name,
			struct json_object **out)
{
	struct fl_kube_ref ref = fl_cli_ref(ns, name);
	struct fl_kube_status st = {0};
	int rc = 0;

	*out = NULL;
	if (fl_kube_get(c->kube, &ref, out, &st) && st.code != 404) {
		fl_cli_api_err("get", ns, name, &st);
		rc = -1;
	}
	fl_kube_status_release(&st);
	return rc;
}

int fl_cmd_run(const struct fl_cli_globals *g, int argc, char **argv)
{
	struct fl_experiment x = {0};
	struct json_object *doc = NULL, *before = NULL, *after = NULL;
	struct fl_cli_conn c = {0};
	struct waiter w = {0};
	struct run_args a;
	const char *ns;
	int64_t gen_before;
	int rc = FL_EXIT_ERROR;

	if (parse_args(argc, argv, &a) || load(a.file, &doc, &x))
		goto out;
	if (fl_cli_connect(g, &c) || !(ns = settle_namespace(doc, &c, a.file)))
		goto out;
	if (fetch_before(&c, ns, x.name, &before) ||
	    apply(&c, ns, x.name, doc, &after))
		goto out;

	gen_before = fl_cli_int(before, "metadata.generation", 0);
	w.generation = fl_cli_int(after, "metadata.generation", 1);
	printf("chaosexperiment.faultline.dev/%s %s (namespace %s, "
	       "generation %lld)\n",
	       x.name,
	       !before			    ? "created"
	       : gen_before != w.generation ? "configured"
					    : "unchanged",
	       ns, (long long)w.generation);
	fflush(stdout);
	if (!a.wait) {
		rc = 0;
		goto out;
	}

	if (before && gen_before == w.generation)
		fprintf(stderr,
			"%s: the spec did not change; waiting for a new run "
			"of generation %lld (the operator starts one per "
			"generation, or on its schedule)\n",
			FL_CLI_NAME, (long long)w.generation);
	if (fl_cli_str(before, "status.runId"))
		w.prev_run = fl_strdup(fl_cli_str(before, "status.runId"));
	w.ns = ns;
	w.name = x.name;
	w.duration_ms = x.duration_ms;
	w.dry_run = x.dry_run;
	w.tty = isatty(STDOUT_FILENO);
	if (a.timeout_ms < 0)
		a.timeout_ms =
			x.duration_ms + x.max_recovery_ms + DEFAULT_SLACK_MS;
	rc = wait_run(&c, &w, a.timeout_ms);
out:
	json_object_put(w.cur);
	free(w.prev_run);
	json_object_put(before);
	json_object_put(after);
	if (x.doc)
		fl_experiment_release(&x);
	json_object_put(doc);
	fl_cli_conn_release(&c);
	return rc;
}
