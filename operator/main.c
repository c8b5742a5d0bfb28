/*
 * faultline-operator: the manager.  Reads its configuration, serves
 * /metrics, /healthz and /readyz, takes the leader Lease (unless told
 * not to), runs the controller while it leads, and shuts down on SIGTERM.
 *
 * Losing the Lease ends the process: another replica has taken over or is
 * about to, and a restart is the one clean way to drop every in-flight
 * decision.  No run is lost by it, as every run lives in its object's
 * status.
 */
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "httpd.h"
#include "kube_lease.h"
#include "kube_watch.h"
#include "log.h"
#include "operator.h"

static struct fl_operator op;
static atomic_int leading; /* read by the HTTP thread */

static const double seconds_buckets[] = {
	0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60};

static void declare_metrics(fl_metrics *m)
{
	size_t nb = sizeof(seconds_buckets) / sizeof(seconds_buckets[0]);

	fl_metrics_declare(m, "faultline_runs_total", FL_METRIC_COUNTER,
			   "Runs that ended, by phase and verdict.", NULL, 0);
	fl_metrics_declare(m, "faultline_phase_transitions_total",
			   FL_METRIC_COUNTER,
			   "Phases entered by runs, by phase.", NULL, 0);
	fl_metrics_declare(m, "faultline_injection_seconds",
			   FL_METRIC_HISTOGRAM,
			   "Time to inject one fault into one target, by kind.",
			   seconds_buckets, nb);
	fl_metrics_declare(m, "faultline_revert_seconds", FL_METRIC_HISTOGRAM,
			   "Time to revert one fault on one target, by kind.",
			   seconds_buckets, nb);
	fl_metrics_declare(m, "faultline_reconcile_seconds",
			   FL_METRIC_HISTOGRAM, "Time spent in one reconcile.",
			   seconds_buckets, nb);
	fl_metrics_declare(m, "faultline_reconcile_errors_total",
			   FL_METRIC_COUNTER,
			   "Reconciles that failed and were retried.", NULL, 0);
	fl_metrics_declare(m, "faultline_api_errors_total", FL_METRIC_COUNTER,
			   "Failed Kubernetes API calls, by HTTP code (0 for "
			   "a transport error).",
			   NULL, 0);
	fl_metrics_declare(m, "faultline_workqueue_depth", FL_METRIC_GAUGE,
			   "Experiments waiting in the work queue.", NULL, 0);
	fl_metrics_declare(m, "faultline_leader", FL_METRIC_GAUGE,
			   "1 while this replica holds the leader Lease.", NULL,
			   0);
	fl_metrics_declare(m, "faultline_injectors_connected", FL_METRIC_GAUGE,
			   "Injectors connected over the agent channel now.",
			   NULL, 0);
	fl_metrics_declare(m, "faultline_agent_refusals_total",
			   FL_METRIC_COUNTER,
			   "Agent-channel connections refused, by reason "
			   "(forged, expired, bad-proof, in-use, ...).",
			   NULL, 0);
	fl_metrics_declare(m, "faultline_kill_switch", FL_METRIC_GAUGE,
			   "1 while the kill switch is engaged.", NULL, 0);
}

static int serve(void *arg, const char *path, struct fl_buf *body,
		 const char **content_type)
{
	(void)arg;
	if (!strcmp(path, "/metrics")) {
		size_t len;
		char *text;

		fl_metrics_set(op.metrics, "faultline_workqueue_depth", NULL,
			       (double)fl_queue_len(op.queue));
		fl_metrics_set(op.metrics, "faultline_leader", NULL, leading);
		fl_metrics_set(op.metrics, "faultline_kill_switch", NULL,
			       op.kill_switch);
		text = fl_metrics_render(op.metrics, &len);
		fl_buf_add(body, text, len);
		free(text);
		*content_type = "text/plain; version=0.0.4; charset=utf-8";
		return 200;
	}
	if (!strcmp(path, "/healthz")) {
		fl_buf_adds(body, "ok\n");
		return 200;
	}
	if (!strcmp(path, "/readyz")) {
		/* A replica standing by is ready to take over; a leader is
		 * ready once its cache is filled. */
		if (leading && !op.synced) {
			fl_buf_adds(body, "leading, cache not synced yet\n");
			return 503;
		}
		fl_buf_adds(body,
			    leading ? "ok: leading\n" : "ok: standing by\n");
		return 200;
	}
	fl_buf_adds(body, "not found\n");
	return 404;
}

static int start_http(fl_httpd **metrics, fl_httpd **health)
{
	char err[256];

	if (op.cfg.metrics_addr[0]) {
		*metrics = fl_httpd_start(op.cfg.metrics_addr, serve, NULL, err,
					  sizeof(err));
		if (!*metrics) {
			fl_error("metrics: %s", err);
			return -1;
		}
		fl_info("serving /metrics on %s (port %d)", op.cfg.metrics_addr,
			fl_httpd_port(*metrics));
	}
	if (op.cfg.health_addr[0] &&
	    strcmp(op.cfg.health_addr, op.cfg.metrics_addr)) {
		*health = fl_httpd_start(op.cfg.health_addr, serve, NULL, err,
					 sizeof(err));
		if (!*health) {
			fl_error("health: %s", err);
			return -1;
		}
		fl_info("serving /healthz and /readyz on %s (port %d)",
			op.cfg.health_addr, fl_httpd_port(*health));
	}
	return 0;
}

static int load_kube(void)
{
	char err[512];
	int rc;

	if (op.cfg.kubeconfig || getenv("KUBECONFIG") ||
	    !getenv("KUBERNETES_SERVICE_HOST"))
		rc = fl_kube_config_load(&op.kcfg, op.cfg.kubeconfig,
					 op.cfg.context, err, sizeof(err));
	else
		rc = fl_kube_config_in_cluster(&op.kcfg, err, sizeof(err));
	if (rc)
		fl_error("cannot configure the API client: %s", err);
	return rc;
}

/*
 * Puts the leader label on this replica's pod, or takes it off: the
 * agent Service selects it, so that injectors reach the one replica that
 * serves them.  A failure is not fatal: injectors that reach no server
 * keep retrying, and revert on their own after their grace period.
 */
static void label_self(int on)
{
	struct fl_kube_ref ref = {
		"", "v1", "pods", op.cfg.self_ns, op.cfg.self_pod, NULL};
	struct fl_kube_status st = {0};
	char err[256], patch[160];
	fl_kube *k;

	if (!op.cfg.agent_leader_label || !op.cfg.self_pod)
		return;
	k = fl_kube_new(&op.kcfg, NULL, err, sizeof(err));
	if (!k) {
		fl_warn("cannot label pod %s/%s: %s", op.cfg.self_ns,
			op.cfg.self_pod, err);
		return;
	}
	snprintf(patch, sizeof(patch),
		 "{\"metadata\":{\"labels\":{\"%s\":%s}}}", FL_LABEL_LEADER,
		 on ? "\"true\"" : "null");
	if (fl_kube_patch(k, &ref, FL_KUBE_PATCH_MERGE, patch, NULL, 0, NULL,
			  &st))
		fl_warn("cannot %s the label %s on pod %s/%s: %ld %s; "
			"injectors may not reach this operator",
			on ? "set" : "remove", FL_LABEL_LEADER, op.cfg.self_ns,
			op.cfg.self_pod, st.code, st.message);
	fl_kube_status_release(&st);
	fl_kube_free(k);
}

static void start_leading(void *arg)
{
	char err[256];

	(void)arg;
	fl_info("leading (Lease %s/%s); starting the controller",
		op.cfg.self_ns, op.cfg.lease_name);
	leading = 1;
	if (fl_agent_start(&op, err, sizeof(err))) {
		fl_error("cannot start the agent channel: %s", err);
		exit(1);
	}
	label_self(1);
	if (fl_controller_start(&op, err, sizeof(err))) {
		fl_error("cannot start the controller: %s", err);
		exit(1);
	}
}

static void stop_leading(void *arg)
{
	(void)arg;
	if (!leading)
		return;
	leading = 0;
	fl_error("lost the leader Lease %s/%s; exiting so that a fresh "
		 "start picks up from status",
		 op.cfg.self_ns, op.cfg.lease_name);
	_exit(1);
}

/* Waits for SIGTERM or SIGINT until deadline_ms (monotonic); returns the
 * signal, or 0 at the deadline. */
static int wait_signal(const sigset_t *set, int64_t deadline_ms)
{
	int64_t left = deadline_ms - fl_kube_monotonic_ms();
	struct timespec ts;
	int sig;

	if (left < 0)
		left = 0;
	ts.tv_sec = left / 1000;
	ts.tv_nsec = (left % 1000) * 1000000;
	sig = sigtimedwait(set, NULL, &ts);
	return sig < 0 ? 0 : sig;
}

static int run(const sigset_t *set)
{
	struct fl_kube_lease lease;
	fl_kube *lk = NULL;
	char err[256];
	int sig;

	/* A replica restarted in the same pod may still carry the label
	 * from when it led. */
	label_self(0);
	if (!op.cfg.leader_elect) {
		start_leading(NULL);
		while (!(
			sig = wait_signal(set, fl_kube_monotonic_ms() + 60000)))
			;
		fl_info("signal %d: shutting down", sig);
		fl_controller_stop(&op);
		fl_agent_stop(&op);
		return 0;
	}

	/* The lease's client never retries: the next tick does, and a
	 * retried call could outlast the renew deadline. */
	struct fl_kube_opts lo = {0};
	struct fl_kube_lease_opts lopts = {
		op.cfg.self_ns,		  op.cfg.lease_name,
		op.cfg.identity,	  op.cfg.lease_duration_s,
		op.cfg.renew_deadline_ms, op.cfg.retry_period_ms};

	lo.max_retries = -1;
	lo.timeout_ms = 2000;
	lk = fl_kube_new(&op.kcfg, &lo, err, sizeof(err));
	if (!lk) {
		fl_error("cannot create the lease client: %s", err);
		return 1;
	}
	fl_kube_lease_init(&lease, lk, &lopts, start_leading, stop_leading,
			   NULL);
	fl_info("waiting for the leader Lease %s/%s as %s", op.cfg.self_ns,
		op.cfg.lease_name, op.cfg.identity);
	for (;;) {
		int64_t next =
			fl_kube_lease_tick(&lease, fl_kube_monotonic_ms());

		sig = wait_signal(set, next);
		if (sig)
			break;
	}
	fl_info("signal %d: shutting down", sig);
	leading = 0;
	fl_controller_stop(&op);
	fl_agent_stop(&op);
	if (lease.leading && fl_kube_lease_resign(&lease))
		fl_warn("could not give the Lease up; it runs out on its own");
	fl_kube_lease_release(&lease);
	fl_kube_free(lk);
	return 0;
}

int main(int argc, char **argv)
{
	fl_httpd *metrics = NULL, *health = NULL;
	char err[512];
	sigset_t set;
	int rc;

	fl_log_cfg.component = "operator";
	fl_log_cfg.level = FL_LOG_INFO;
	fl_log_cfg.format = isatty(2) ? FL_LOG_TEXT : FL_LOG_JSON;
	rc = fl_op_config_parse(&op.cfg, argc, argv, err, sizeof(err));
	if (rc) {
		if (rc < 0)
			fprintf(stderr, "faultline-operator: %s\n", err);
		return rc < 0 ? 2 : 0;
	}
	srandom((unsigned)(time(NULL) ^ getpid()));

	/* Signals are taken synchronously by the main thread; every thread
	 * started from here on inherits the mask. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	op.scope.protected_ns = op.cfg.protected_ns;
	op.scope.nprotected = op.cfg.nprotected;
	op.scope.opt_in = op.cfg.opt_in;
	op.scope.self_ns = op.cfg.self_ns;
	op.scope.self_pod = op.cfg.self_pod;
	op.scope.self_node = op.cfg.self_node;
	op.kill_switch = op.cfg.kill_switch;
	op.queue = fl_queue_new(NULL);
	op.metrics = fl_metrics_new();
	if (!op.queue || !op.metrics)
		return 1;
	declare_metrics(op.metrics);
	if (fl_agent_setup(&op, err, sizeof(err))) {
		fprintf(stderr, "faultline-operator: %s\n", err);
		return 2;
	}
	if (load_kube() || start_http(&metrics, &health))
		return 1;
	if (op.kill_switch)
		fl_warn("kill switch engaged by flag: no experiment will run");

	rc = run(&set);
	if (metrics)
		fl_httpd_stop(metrics);
	if (health)
		fl_httpd_stop(health);
	fl_info("stopped");
	return rc;
}
