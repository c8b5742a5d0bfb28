/*
 * A command-line front to kube_watch.h, kube_lease.h and kube_event.h for
 * the integration tests and the benchmark:
 *
 *   kube_watch_driver watch [OPTIONS] GROUP VERSION RESOURCE NS
 *   kube_watch_driver lease [OPTIONS] --namespace NS --name L --id ID
 *   kube_watch_driver event [OPTIONS] --namespace NS --kind K
 *                     --api-version V --name N --reason R --note TEXT
 *                     [--uid U] [--type T] [--action A] [--times N]
 *   kube_watch_driver bench [OPTIONS] GROUP VERSION RESOURCE NS
 *                     --expect N
 *
 * GROUP "" or "core" is the core API; NS "" or "-" means all namespaces.
 * Common options: --kubeconfig F, --for SECONDS (how long to run; SIGTERM
 * or SIGINT end it sooner), --retries N (-1 for none), --timeout-ms N
 * (per request).
 *
 * watch: --timeout S (timeoutSeconds per watch), --page-size N,
 * --selector S, --backoff-max-ms N, --dump (print the store at the end),
 * --strip-managed-fields (store objects without metadata.managedFields).
 * Each change is one JSON line on stdout, flushed:
 *   {"type":"ADDED|MODIFIED|DELETED","ns":..,"name":..,"rv":..}
 * and what the reflector does is a line with "note" instead of "type":
 *   listed (rv, count), watch (rv, resume), bookmark (rv), expired (rv),
 *   failed (code, reason, message), backoff (ms); at the end "final"
 *   (count, and with --dump the objects as {ns, name, rv}).
 *
 * lease: --duration S, --renew-deadline-ms N, --retry-ms N; prints
 *   {"lease":"leading"|"stopped","id":..,"time":UNIX-SECONDS}
 * and gives the Lease up when it ends by signal or --for.
 *
 * event: records the event --times times, printing {"count": N} each.
 *
 * bench: lists until the store holds --expect objects, prints
 * {"note":"stored"}, waits for a line on stdin, then watches from the
 * list's resourceVersion and counts events until the store is empty
 * again; prints the figures and the peak RSS as one JSON line.  Never
 * fails on a time.
 *
 * Exit status 0, or 1 when the client cannot be set up; 2 for bad usage.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "alloc.h"
#include "json.h"
#include "kube.h"
#include "kube_event.h"
#include "kube_lease.h"
#include "kube_watch.h"

static volatile sig_atomic_t stopping;
static struct fl_kube_reflector *running; /* to stop from a signal */

static void on_signal(int sig)
{
	(void)sig;
	stopping = 1;
	if (running)
		running->stop = 1;
}

struct args {
	const char *mode, *kubeconfig, *selector;
	const char *ns, *name, *id, *kind, *api_version, *uid;
	const char *type, *reason, *action, *note;
	double for_s;
	int timeout_s, duration_s, renew_ms, retry_ms, retries, timeout_ms;
	int backoff_max_ms, dump, strip;
	long page_size, times, expect;
	char *pos[4];
	int npos;
};

static void usage(void)
{
	fprintf(stderr, "usage: kube_watch_driver watch|lease|event|bench "
			"[OPTIONS] [GROUP VERSION RESOURCE NS]\n");
	exit(2);
}

static long num(const char *s)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end)
		usage();
	return v;
}

/* Options that take a value, and where it goes. */
static int parse_opt(struct args *a, const char *opt, const char *v)
{
	const struct {
		const char *name;
		const char **str;
		long *l;
		int *i;
	} t[] = {
		{"--kubeconfig", &a->kubeconfig},
		{"--selector", &a->selector},
		{"--namespace", &a->ns},
		{"--name", &a->name},
		{"--id", &a->id},
		{"--kind", &a->kind},
		{"--api-version", &a->api_version},
		{"--uid", &a->uid},
		{"--type", &a->type},
		{"--reason", &a->reason},
		{"--action", &a->action},
		{"--note", &a->note},
		{"--page-size", NULL, &a->page_size},
		{"--times", NULL, &a->times},
		{"--expect", NULL, &a->expect},
		{"--timeout", NULL, NULL, &a->timeout_s},
		{"--duration", NULL, NULL, &a->duration_s},
		{"--renew-deadline-ms", NULL, NULL, &a->renew_ms},
		{"--retry-ms", NULL, NULL, &a->retry_ms},
		{"--retries", NULL, NULL, &a->retries},
		{"--timeout-ms", NULL, NULL, &a->timeout_ms},
		{"--backoff-max-ms", NULL, NULL, &a->backoff_max_ms},
	};
	size_t i;

	if (!strcmp(opt, "--for")) {
		a->for_s = strtod(v, NULL);
		return 0;
	}
	for (i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		if (strcmp(opt, t[i].name))
			continue;
		if (t[i].str)
			*t[i].str = v;
		else if (t[i].l)
			*t[i].l = num(v);
		else
			*t[i].i = (int)num(v);
		return 0;
	}
	return -1;
}

static void parse_args(struct args *a, int argc, char **argv)
{
	int i;

	memset(a, 0, sizeof(*a));
	if (argc < 2)
		usage();
	a->mode = argv[1];
	for (i = 2; i < argc; i++) {
		if (!strcmp(argv[i], "--dump")) {
			a->dump = 1;
		} else if (!strcmp(argv[i], "--strip-managed-fields")) {
			a->strip = 1;
		} else if (!strncmp(argv[i], "--", 2)) {
			if (i + 1 >= argc || parse_opt(a, argv[i], argv[i + 1]))
				usage();
			i++;
		} else if (a->npos < 4) {
			a->pos[a->npos++] = argv[i];
		} else {
			usage();
		}
	}
}

static fl_kube *connect_kube(const struct args *a)
{
	struct fl_kube_config cfg = {0};
	struct fl_kube_opts opts = {0};
	char err[512];
	fl_kube *k;

	if (fl_kube_config_load(&cfg, a->kubeconfig, NULL, err, sizeof(err))) {
		fprintf(stderr, "kube_watch_driver: %s\n", err);
		return NULL;
	}
	opts.max_retries = a->retries;
	opts.timeout_ms = a->timeout_ms;
	opts.user_agent = "faultline-test-watch";
	k = fl_kube_new(&cfg, &opts, err, sizeof(err));
	fl_kube_config_release(&cfg);
	if (!k)
		fprintf(stderr, "kube_watch_driver: %s\n", err);
	return k;
}

static double wall_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int64_t deadline_of(const struct args *a)
{
	return a->for_s > 0
		       ? fl_kube_monotonic_ms() + (int64_t)(a->for_s * 1000)
		       : 0;
}

/* Prints o as one line and flushes, so a test sees it at once. */
static void emit(struct json_object *o)
{
	puts(json_object_to_json_string_ext(o, JSON_C_TO_STRING_PLAIN));
	fflush(stdout);
	json_object_put(o);
}

static void add_s(struct json_object *o, const char *k, const char *v)
{
	json_object_object_add(o, k, v ? json_object_new_string(v) : NULL);
}

/* -- watch ---------------------------------------------------------------- */

struct watch_state {
	int watched;		   /* a watch has started before */
	long changes;		   /* delivered */
	int bench;		   /* quiet: count, do not print changes */
	long expect;		   /* bench: objects the list must reach */
	int64_t first_ms, last_ms; /* bench: of the watch events */
	int listed;
	struct fl_kube_reflector *r;
};

static void on_change(void *arg, enum fl_kube_change ch,
		      struct json_object *old, struct json_object *cur)
{
	struct watch_state *w = arg;
	struct json_object *meta = fl_json_get(cur, "metadata"), *o;
	static const char *names[] = {"ADDED", "MODIFIED", "DELETED"};

	(void)old;
	w->changes++;
	if (w->bench) {
		if (w->listed) {
			w->last_ms = fl_kube_monotonic_ms();
			if (!w->first_ms)
				w->first_ms = w->last_ms;
			if (!w->r->store.count && ch == FL_KUBE_CHANGE_DELETE)
				w->r->stop = 1;
		}
		return;
	}
	o = json_object_new_object();
	add_s(o, "type", names[ch]);
	add_s(o, "ns", fl_json_str(meta, "namespace"));
	add_s(o, "name", fl_json_str(meta, "name"));
	add_s(o, "rv", fl_json_str(meta, "resourceVersion"));
	emit(o);
}

static void on_note(void *arg, enum fl_kube_reflector_note n, const char *rv,
		    long ms, const struct fl_kube_status *st)
{
	static const char *names[] = {"listed",	 "watch",  "bookmark",
				      "expired", "failed", "backoff"};
	struct watch_state *w = arg;
	struct json_object *o = json_object_new_object();

	add_s(o, "note", names[n]);
	add_s(o, "rv", rv);
	switch (n) {
	case FL_REFLECTOR_LISTED:
		json_object_object_add(
			o, "count",
			json_object_new_int64((int64_t)w->r->store.count));
		break;
	case FL_REFLECTOR_WATCHING:
		json_object_object_add(o, "resume",
				       json_object_new_boolean(w->watched));
		w->watched = 1;
		break;
	case FL_REFLECTOR_FAILED:
		json_object_object_add(o, "code",
				       json_object_new_int64(st->code));
		add_s(o, "reason", st->reason);
		add_s(o, "message", st->message);
		break;
	case FL_REFLECTOR_BACKOFF:
		json_object_object_add(o, "ms", json_object_new_int64(ms));
		break;
	default:
		break;
	}
	if (w->bench && n == FL_REFLECTOR_BOOKMARK) {
		json_object_put(o);
		return;
	}
	emit(o);
}

static void dump_one(void *arg, struct json_object *obj)
{
	struct json_object *meta = fl_json_get(obj, "metadata");
	struct json_object *o = json_object_new_object();

	add_s(o, "ns", fl_json_str(meta, "namespace"));
	add_s(o, "name", fl_json_str(meta, "name"));
	add_s(o, "rv", fl_json_str(meta, "resourceVersion"));
	json_object_array_add(arg, o);
}

static void init_reflector(struct fl_kube_reflector *r, fl_kube *k,
			   const struct args *a, struct watch_state *w)
{
	struct fl_kube_ref ref = {0};
	struct fl_kube_reflector_opts ro = {0};

	if (a->npos != 4)
		usage();
	ref.group = strcmp(a->pos[0], "core") ? a->pos[0] : "";
	ref.version = a->pos[1];
	ref.resource = a->pos[2];
	ref.namespace =
		(!a->pos[3][0] || !strcmp(a->pos[3], "-")) ? NULL : a->pos[3];
	ro.label_selector = a->selector;
	ro.page_size = a->page_size;
	ro.watch_timeout_s = a->timeout_s;
	ro.backoff_max_ms = a->backoff_max_ms;
	if (a->strip)
		ro.transform = fl_kube_strip_managed_fields;
	fl_kube_reflector_init(r, k, &ref, &ro, on_change, on_note, w);
	w->r = r;
	running = r;
}

static int run_watch(fl_kube *k, const struct args *a)
{
	struct fl_kube_reflector r;
	struct watch_state w = {0};
	struct json_object *o;

	init_reflector(&r, k, a, &w);
	fl_kube_reflector_run(&r, deadline_of(a));
	running = NULL;

	o = json_object_new_object();
	add_s(o, "note", "final");
	add_s(o, "rv", r.rv);
	json_object_object_add(o, "count",
			       json_object_new_int64((int64_t)r.store.count));
	json_object_object_add(o, "changes", json_object_new_int64(w.changes));
	if (a->dump) {
		struct json_object *objs = json_object_new_array();

		fl_kube_store_foreach(&r.store, dump_one, objs);
		json_object_object_add(o, "objects", objs);
	}
	emit(o);
	fl_kube_reflector_release(&r);
	return 0;
}

/* -- bench ---------------------------------------------------------------- */

static long maxrss_kb(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return ru.ru_maxrss;
}

static int run_bench(fl_kube *k, const struct args *a)
{
	struct fl_kube_reflector r;
	struct watch_state w = {.bench = 1, .expect = a->expect};
	int64_t deadline = deadline_of(a), t0, listed_ms;
	long rss_listed, events;
	struct json_object *o;
	char go[16];

	init_reflector(&r, k, a, &w);
	t0 = fl_kube_monotonic_ms();
	while (!stopping && (long)r.store.count < a->expect &&
	       (!deadline || fl_kube_monotonic_ms() < deadline)) {
		r.need_list = 1;
		fl_kube_reflector_step(&r, deadline);
	}
	listed_ms = fl_kube_monotonic_ms() - t0;
	rss_listed = maxrss_kb();
	w.listed = 1;
	events = w.changes;

	o = json_object_new_object();
	add_s(o, "note", "stored");
	json_object_object_add(o, "objects",
			       json_object_new_int64((int64_t)r.store.count));
	emit(o);

	/* The events pile up on the server while we wait; then we watch
	 * from the list's resourceVersion and take them as fast as we can. */
	if (!fgets(go, sizeof(go), stdin))
		go[0] = '\0';

	fl_kube_reflector_run(&r, deadline);
	running = NULL;
	events = w.changes - events;

	o = json_object_new_object();
	add_s(o, "note", "bench");
	json_object_object_add(o, "list_ms", json_object_new_int64(listed_ms));
	json_object_object_add(o, "maxrss_kb_after_list",
			       json_object_new_int64(rss_listed));
	json_object_object_add(o, "watch_events",
			       json_object_new_int64(events));
	json_object_object_add(o, "watch_ms",
			       json_object_new_int64(w.last_ms - w.first_ms));
	json_object_object_add(o, "maxrss_kb",
			       json_object_new_int64(maxrss_kb()));
	emit(o);
	fl_kube_reflector_release(&r);
	return 0;
}

/* -- lease ---------------------------------------------------------------- */

static void say_lease(const char *what, const char *id)
{
	struct json_object *o = json_object_new_object();

	add_s(o, "lease", what);
	add_s(o, "id", id);
	json_object_object_add(o, "time", json_object_new_double(wall_s()));
	emit(o);
}

static void lease_started(void *arg)
{
	say_lease("leading", arg);
}

static void lease_stopped(void *arg)
{
	say_lease("stopped", arg);
}

static int run_lease(fl_kube *k, const struct args *a)
{
	struct fl_kube_lease_opts lo = {
		.namespace = a->ns,
		.name = a->name,
		.identity = a->id,
		.lease_duration_s = a->duration_s,
		.renew_deadline_ms = a->renew_ms,
		.retry_period_ms = a->retry_ms,
	};
	struct fl_kube_lease l;
	int64_t deadline = deadline_of(a);

	if (!a->ns || !a->name || !a->id)
		usage();
	fl_kube_lease_init(&l, k, &lo, lease_started, lease_stopped,
			   (void *)a->id);
	say_lease("candidate", a->id);
	while (!stopping && (!deadline || fl_kube_monotonic_ms() < deadline)) {
		int64_t next = fl_kube_lease_tick(&l, fl_kube_monotonic_ms());

		while (!stopping && fl_kube_monotonic_ms() < next &&
		       (!deadline || fl_kube_monotonic_ms() < deadline)) {
			struct timespec ts = {0, 20 * 1000000};

			nanosleep(&ts, NULL);
		}
	}
	fl_kube_lease_resign(&l);
	fl_kube_lease_release(&l);
	return 0;
}

/* -- event ---------------------------------------------------------------- */

static int run_event(fl_kube *k, const struct args *a)
{
	struct fl_kube_recorder_opts ro = {
		.controller = "faultline.dev/test-driver",
		.instance = a->id ? a->id : "kube-watch-driver",
	};
	struct fl_kube_objref obj = {
		.api_version = a->api_version ? a->api_version : "v1",
		.kind = a->kind,
		.namespace = a->ns,
		.name = a->name,
		.uid = a->uid,
	};
	struct fl_kube_recorder rec;
	long i, times = a->times > 0 ? a->times : 1;
	int rc = 0;

	fl_kube_recorder_init(&rec, k, &ro);
	for (i = 0; i < times && !rc; i++) {
		struct fl_kube_status st = {0};
		long count = 0;
		struct json_object *o = json_object_new_object();

		if (fl_kube_event_record(
			    &rec, &obj, a->type ? a->type : "Normal", a->reason,
			    a->action ? a->action : "Test", a->note, &count,
			    &st)) {
			json_object_object_add(o, "code",
					       json_object_new_int64(st.code));
			add_s(o, "message", st.message);
			rc = 1;
		} else {
			json_object_object_add(o, "count",
					       json_object_new_int64(count));
		}
		emit(o);
		fl_kube_status_release(&st);
	}
	fl_kube_recorder_release(&rec);
	return rc;
}

int main(int argc, char **argv)
{
	struct args a;
	struct sigaction sa = {.sa_handler = on_signal};
	fl_kube *k;
	int rc;

	parse_args(&a, argc, argv);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	k = connect_kube(&a);
	if (!k)
		return 1;
	if (!strcmp(a.mode, "watch"))
		rc = run_watch(k, &a);
	else if (!strcmp(a.mode, "bench"))
		rc = run_bench(k, &a);
	else if (!strcmp(a.mode, "lease"))
		rc = run_lease(k, &a);
	else if (!strcmp(a.mode, "event"))
		rc = run_event(k, &a);
	else
		usage();
	fl_kube_free(k);
	return rc;
}
