/*
 * The operator's shared state: its configuration (flags and environment),
 * the controller that feeds the work queue, and the per-worker context a
 * reconcile runs with.
 *
 * Layout: main.c starts things and elects a leader; controller.c watches
 * and queues; reconcile.c decides what a run needs next; run_*.c carry
 * out one phase each; status.c writes the result back; fault_*.c inject
 * and revert one kind of fault each behind struct fl_fault_ops.
 */
#ifndef FL_OP_OPERATOR_H
#define FL_OP_OPERATOR_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "kube.h"
#include "kube_event.h"
#include "metrics.h"
#include "probe.h"
#include "queue.h"
#include "targets.h"

#define FL_GROUP "faultline.dev"
#define FL_VERSION "v1alpha1"
#define FL_RESOURCE "chaosexperiments"
#define FL_FINALIZER "faultline.dev/revert"
#define FL_FIELD_MANAGER "faultline-operator"

/* Annotations a user sets on an experiment, or on the operator's
 * namespace. */
#define FL_ANN_RERUN "faultline.dev/rerun"
#define FL_ANN_ABORT "faultline.dev/abort"
#define FL_ANN_KILL_SWITCH "faultline.dev/kill-switch"

/* The label on the leading replica's pod, which the agent Service
 * selects. */
#define FL_LABEL_LEADER "faultline.dev/leader"

#define FL_OP_MAX_NS 64

struct fl_op_config {
	const char *namespaces[FL_OP_MAX_NS]; /* watched; none for all */
	size_t nnamespaces;
	const char *protected_ns[FL_OP_MAX_NS];
	size_t nprotected;
	int opt_in;		  /* targets only in namespaces that allow it */
	int workers;		  /* experiments reconciled at once */
	const char *metrics_addr; /* "" to disable */
	const char *health_addr;  /* "" to disable */
	int leader_elect;
	const char *lease_name;
	int lease_duration_s, renew_deadline_ms, retry_period_ms;
	const char *self_ns;   /* the operator's namespace */
	const char *self_pod;  /* its pod, or NULL outside a cluster */
	const char *self_node; /* its node, or NULL */
	const char *identity;  /* for the lease and Events */
	const char *kubeconfig, *context;
	int kill_switch; /* --kill-switch: abort everything, start nothing */
	double kube_qps;
	/* Pod faults: the injector and the agent channel it reports on. */
	const char *injector_image;
	const char *agent_url;	/* wss://IP:PORT, as injectors dial it */
	const char *agent_addr; /* listen address; NULL for all */
	int agent_port;		/* 0: the URL's port */
	const char *agent_cert, *agent_key, *agent_ca;
	const char *agent_master_file;
	int agent_grace_s, agent_heartbeat_s;
	int agent_leader_label; /* label our pod while leading */
};

/*
 * Fills c from argv and the environment (flags win).  Returns 0, 1 when
 * the usage was printed (--help), or -1 with a message in err naming the
 * flag or variable.  Strings point into argv, the environment, or static
 * storage.
 */
int fl_op_config_parse(struct fl_op_config *c, int argc, char **argv, char *err,
		       size_t errlen);

struct fl_controller;
struct fl_agent_server; /* agent_server.h */

/* What every worker shares. */
struct fl_operator {
	struct fl_op_config cfg;
	struct fl_scope scope;
	struct fl_kube_config kcfg; /* to make one client per thread */
	fl_queue *queue;
	fl_metrics *metrics;
	atomic_int kill_switch; /* flag or annotation; read by all threads */
	atomic_int synced;	/* the experiment cache is filled */
	struct fl_controller *ctl;
	/* The agent channel, while leading with --agent-url; NULL else. */
	struct fl_agent_server *agent;
	char *agent_ca_pem;  /* what injectors trust, PEM text */
	char agent_host[48]; /* the URL's address, for control.cidr */
	int agent_url_port;  /* the URL's port */
	uint8_t agent_master[256];
	size_t agent_master_len;
};

/*
 * Loads what the agent channel needs (the CA, the master key) and checks
 * the URL.  Returns 0 (also when no --agent-url is set), or -1 with err
 * naming the flag or file.
 */
int fl_agent_setup(struct fl_operator *op, char *err, size_t errlen);

/* Starts and stops the agent server (when configured): it serves only
 * while this replica leads. */
int fl_agent_start(struct fl_operator *op, char *err, size_t errlen);
void fl_agent_stop(struct fl_operator *op);

/* Orders every live injector to abort (the kill switch).  Returns how
 * many were ordered. */
size_t fl_agent_abort_all(struct fl_operator *op, const char *reason);

#define FL_WORKER_AWS_MAX 8 /* regions a worker keeps a client for */

struct fl_aws; /* aws.h */

/* A worker's own clients: neither fl_kube nor fl_aws handles are shared
 * between threads. */
struct fl_worker {
	struct fl_operator *op;
	fl_kube *kube;
	struct fl_kube_recorder rec;
	struct fl_probe_ctx probes; /* connections and discovery, kept */
	int id;
	struct {
		char region[32]; /* "" for the default region */
		struct fl_aws *aws;
	} aws[FL_WORKER_AWS_MAX];
	size_t naws;
};

/*
 * One reconcile of the experiment ns/name: re-reads it, decides and
 * carries out the next steps of its run, and writes status.  Returns the
 * milliseconds after which it wants to look again (0 for "only on the
 * next change"), or -1 on a failure worth retrying with backoff.
 */
int64_t fl_reconcile(struct fl_worker *w, const char *ns, const char *name);

/*
 * The controller: the watch on ChaosExperiments (and on the operator's
 * namespace, for the kill switch), and the worker threads.  Start when
 * leading; stop before exiting.  Returns 0, or -1 with err filled.
 */
int fl_controller_start(struct fl_operator *op, char *err, size_t errlen);
void fl_controller_stop(struct fl_operator *op);

/* Queues every experiment the cache holds (after the kill switch
 * changes). */
void fl_controller_requeue_all(struct fl_operator *op);

/* Test hooks: with FAULTLINE_FAILPOINTS="name,name" in the environment,
 * fl_failpoint(name) kills the process with SIGKILL at that point, the
 * way a node failure would.  Used by the restart tests; a no-op when the
 * variable is unset. */
void fl_failpoint(const char *name);

#endif
