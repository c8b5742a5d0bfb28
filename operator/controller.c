/*
 * The controller: watches feed the queue, workers drain it.
 *
 * One reflector per watched namespace (or one for all) turns every change
 * of a ChaosExperiment into its key on the queue; the workers reconcile
 * keys one at a time each, and the queue makes sure that one experiment
 * is never in two workers at once.  A second, small reflector watches the
 * operator's own namespace for the kill-switch annotation.
 *
 * Each thread has its own API client: a client handle is not shared.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "aws_ops.h"
#include "json.h"
#include "kube_watch.h"
#include "log.h"
#include "operator.h"

struct watcher {
	struct fl_operator *op;
	fl_kube *kube;
	struct fl_kube_reflector refl;
	pthread_t thread;
	int started;
	int listed;
};

struct fl_controller {
	struct watcher watchers[FL_OP_MAX_NS];
	size_t nwatchers;
	struct watcher ns_watch; /* the kill switch */
	struct fl_worker *workers;
	pthread_t *threads;
	int nworkers;
	pthread_mutex_t lock;	  /* keys */
	struct json_object *keys; /* known experiments, as a set */
};

static void key_of(struct json_object *obj, char *key, size_t n)
{
	struct json_object *meta = fl_json_get(obj, "metadata");
	const char *ns = fl_json_str(meta, "namespace");
	const char *name = fl_json_str(meta, "name");

	snprintf(key, n, "%s/%s", ns ? ns : "", name ? name : "");
}

static void on_experiment(void *arg, enum fl_kube_change change,
			  struct json_object *old, struct json_object *cur)
{
	struct watcher *w = arg;
	struct fl_controller *ctl = w->op->ctl;
	char key[FL_QUEUE_KEY_MAX];

	(void)old;
	key_of(cur, key, sizeof(key));
	pthread_mutex_lock(&ctl->lock);
	if (change == FL_KUBE_CHANGE_DELETE)
		json_object_object_del(ctl->keys, key);
	else
		json_object_object_add(ctl->keys, key, NULL);
	pthread_mutex_unlock(&ctl->lock);
	fl_queue_add(w->op->queue, key);
}

static void on_note(void *arg, enum fl_kube_reflector_note note, const char *rv,
		    long ms, const struct fl_kube_status *st)
{
	struct watcher *w = arg;
	struct fl_controller *ctl = w->op->ctl;

	(void)rv;
	(void)ms;
	if (note == FL_REFLECTOR_LISTED && !w->listed) {
		int all = 1;

		w->listed = 1;
		for (size_t i = 0; i < ctl->nwatchers; i++)
			all &= ctl->watchers[i].listed;
		if (all)
			w->op->synced = 1;
	}
	if (note == FL_REFLECTOR_FAILED && st) {
		char labels[64];

		snprintf(labels, sizeof(labels), "code=\"%ld\"", st->code);
		fl_metrics_add(w->op->metrics, "faultline_api_errors_total",
			       labels, 1);
		fl_warn("watch failed: %ld %s: %s", st->code, st->reason,
			st->message);
	}
}

static void on_namespace(void *arg, enum fl_kube_change change,
			 struct json_object *old, struct json_object *cur)
{
	struct watcher *w = arg;
	struct fl_operator *op = w->op;
	struct json_object *meta = fl_json_get(cur, "metadata");
	const char *v = fl_json_str(fl_json_get(meta, "annotations"),
				    FL_ANN_KILL_SWITCH);
	int on = op->cfg.kill_switch || (change != FL_KUBE_CHANGE_DELETE && v &&
					 *v && strcmp(v, "false"));

	(void)old;
	if (on == op->kill_switch)
		return;
	op->kill_switch = on;
	if (on) {
		/* Injectors first: they revert in milliseconds, without
		 * waiting for each experiment's turn in the queue. */
		size_t n = fl_agent_abort_all(op, "kill switch engaged");

		fl_warn("kill switch engaged (%s on namespace '%s'): aborting "
			"every running experiment (%zu injectors ordered to "
			"revert)",
			FL_ANN_KILL_SWITCH, op->cfg.self_ns, n);
	} else
		fl_info("kill switch released: experiments may run again");
	fl_controller_requeue_all(op);
}

static void *watch_main(void *arg)
{
	struct watcher *w = arg;

	fl_kube_reflector_run(&w->refl, 0);
	return NULL;
}

static void split_key(char *key, const char **ns, const char **name)
{
	char *slash = strchr(key, '/');

	*ns = key;
	*name = "";
	if (slash) {
		*slash = '\0';
		*name = slash + 1;
	}
}

static void *worker_main(void *arg)
{
	struct fl_worker *w = arg;
	struct fl_operator *op = w->op;
	char key[FL_QUEUE_KEY_MAX], copy[FL_QUEUE_KEY_MAX];

	while (!fl_queue_get(op->queue, key, sizeof(key))) {
		const char *ns, *name;
		int64_t t0 = fl_kube_monotonic_ms(), next;

		snprintf(copy, sizeof(copy), "%s", key);
		split_key(copy, &ns, &name);
		next = fl_reconcile(w, ns, name);
		fl_metrics_observe(
			op->metrics, "faultline_reconcile_seconds", NULL,
			(double)(fl_kube_monotonic_ms() - t0) / 1000.0);
		if (next < 0) {
			fl_metrics_add(op->metrics,
				       "faultline_reconcile_errors_total", NULL,
				       1);
			fl_queue_add_rate_limited(op->queue, key);
		} else {
			fl_queue_forget(op->queue, key);
			if (next > 0)
				fl_queue_add_after(op->queue, key, next);
		}
		fl_queue_done(op->queue, key);
	}
	return NULL;
}

static fl_kube *new_client(struct fl_operator *op, char *err, size_t errlen)
{
	struct fl_kube_opts o = {0};

	o.qps = op->cfg.kube_qps;
	o.user_agent = "faultline-operator";
	return fl_kube_new(&op->kcfg, &o, err, errlen);
}

/* Cloudwatch probes use the worker's AWS client of their region. */
static struct fl_aws *probe_aws(void *arg, const char *region, char *err,
				size_t n)
{
	struct fl_aws_error e = {0};
	fl_aws *a = fl_worker_aws(arg, region, &e);

	if (!a)
		snprintf(err, n, "%s", e.text);
	return a;
}

/* Reads the kill switch once.  A namespace that does not exist holds no
 * annotation; any other failure leaves the switch unknown, and a run
 * must not start on an unknown switch: that is an error. */
static int read_kill_switch(struct fl_operator *op, char *err, size_t errlen)
{
	struct fl_kube_ref ref = {
		"", "v1", "namespaces", NULL, op->cfg.self_ns, NULL};
	struct fl_kube_status st = {0};
	struct json_object *ns = NULL;
	fl_kube *k = new_client(op, err, errlen);
	struct watcher w = {0};
	int rc = 0;

	if (!k)
		return -1;
	w.op = op;
	if (!fl_kube_get(k, &ref, &ns, &st)) {
		on_namespace(&w, FL_KUBE_CHANGE_ADD, NULL, ns);
		json_object_put(ns);
	} else {
		if (st.code != 404) {
			snprintf(err, errlen,
				 "cannot read namespace '%s' for the kill "
				 "switch: %ld %s",
				 op->cfg.self_ns, st.code, st.message);
			rc = -1;
		}
		fl_kube_status_release(&st);
	}
	fl_kube_free(k);
	return rc;
}

static int start_watcher(struct fl_operator *op, struct watcher *w,
			 const struct fl_kube_ref *ref,
			 const struct fl_kube_reflector_opts *ro,
			 fl_kube_store_cb *cb, char *err, size_t errlen)
{
	w->op = op;
	w->kube = new_client(op, err, errlen);
	if (!w->kube)
		return -1;
	fl_kube_reflector_init(&w->refl, w->kube, ref, ro, cb, on_note, w);
	if (pthread_create(&w->thread, NULL, watch_main, w)) {
		snprintf(err, errlen, "cannot start a watch thread");
		return -1;
	}
	w->started = 1;
	return 0;
}

int fl_controller_start(struct fl_operator *op, char *err, size_t errlen)
{
	struct fl_controller *ctl = fl_calloc(1, sizeof(*ctl));
	struct fl_kube_reflector_opts ro = {0};
	size_t nns = op->cfg.nnamespaces ? op->cfg.nnamespaces : 1;

	op->ctl = ctl;
	pthread_mutex_init(&ctl->lock, NULL);
	ctl->keys = json_object_new_object();
	ro.transform = fl_kube_strip_managed_fields;
	ro.watch_timeout_s = 60;

	/* Know the kill switch before any worker can start a run. */
	if (read_kill_switch(op, err, errlen))
		return -1;

	ctl->nworkers = op->cfg.workers;
	ctl->workers = fl_calloc((size_t)ctl->nworkers, sizeof(*ctl->workers));
	ctl->threads = fl_calloc((size_t)ctl->nworkers, sizeof(*ctl->threads));
	for (int i = 0; i < ctl->nworkers; i++) {
		struct fl_worker *w = &ctl->workers[i];
		struct fl_kube_recorder_opts ro_ev = {"faultline.dev/operator",
						      op->cfg.identity, 0, 0};

		w->op = op;
		w->id = i;
		w->kube = new_client(op, err, errlen);
		if (!w->kube)
			return -1;
		fl_kube_recorder_init(&w->rec, w->kube, &ro_ev);
		fl_probe_ctx_init(&w->probes, w->kube, NULL);
		w->probes.aws_for = probe_aws;
		w->probes.aws_arg = w;
		if (pthread_create(&ctl->threads[i], NULL, worker_main, w)) {
			snprintf(err, errlen, "cannot start worker threads");
			return -1;
		}
	}

	for (size_t i = 0; i < nns; i++) {
		struct fl_kube_ref ref = {
			FL_GROUP,
			FL_VERSION,
			FL_RESOURCE,
			op->cfg.nnamespaces ? op->cfg.namespaces[i] : NULL,
			NULL,
			NULL};

		ctl->nwatchers++;
		if (start_watcher(op, &ctl->watchers[i], &ref, &ro,
				  on_experiment, err, errlen))
			return -1;
	}

	struct fl_kube_ref nsref = {"", "v1", "namespaces", NULL, NULL, NULL};
	char field[320];

	snprintf(field, sizeof(field), "metadata.name=%s", op->cfg.self_ns);
	ro.field_selector = field;
	return start_watcher(op, &ctl->ns_watch, &nsref, &ro, on_namespace, err,
			     errlen);
}

void fl_controller_requeue_all(struct fl_operator *op)
{
	struct fl_controller *ctl = op->ctl;

	if (!ctl)
		return;
	pthread_mutex_lock(&ctl->lock);
	json_object_object_foreach(ctl->keys, key, val)
	{
		(void)val;
		fl_queue_add(op->queue, key);
	}
	pthread_mutex_unlock(&ctl->lock);
}

void fl_controller_stop(struct fl_operator *op)
{
	struct fl_controller *ctl = op->ctl;

	if (!ctl)
		return;
	/* Workers finish the reconcile they are in; watches are left to
	 * the process's exit (a quiet watch holds its thread for up to its
	 * timeout, and nothing they hold needs writing back). */
	fl_queue_shutdown(op->queue);
	for (int i = 0; i < ctl->nworkers; i++) {
		if (!ctl->threads[i])
			continue;
		pthread_join(ctl->threads[i], NULL);
		fl_worker_aws_release(&ctl->workers[i]);
	}
	for (size_t i = 0; i < ctl->nwatchers; i++)
		ctl->watchers[i].refl.stop = 1;
	ctl->ns_watch.refl.stop = 1;
}
