/*
 * The operator's configuration: every setting is a flag, and most can
 * also come from the environment (what a Helm chart sets), flags
 * winning.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alloc.h"
#include "log.h"
#include "operator.h"
#include "units.h"

static const char usage[] =
	"usage: faultline-operator [OPTIONS]\n"
	"\n"
	"Runs ChaosExperiments: selects targets, injects faults, observes,\n"
	"reverts, and writes every phase and a verdict into status.\n"
	"\n"
	"  --namespaces A,B         watch only these namespaces (default all;\n"
	"                           FAULTLINE_NAMESPACES)\n"
	"  --protected-namespaces A,B\n"
	"                           never hold targets (default kube-system;\n"
	"                           the operator's own always;\n"
	"                           FAULTLINE_PROTECTED_NAMESPACES)\n"
	"  --namespace-opt-in       targets only in namespaces annotated\n"
	"                           faultline.dev/chaos=allowed\n"
	"                           (FAULTLINE_NAMESPACE_OPT_IN=true)\n"
	"  --max-concurrent N       experiments reconciled at once (default 4;\n"
	"                           FAULTLINE_MAX_CONCURRENT)\n"
	"  --metrics-addr ADDR      /metrics (default :8080; \"\" disables;\n"
	"                           FAULTLINE_METRICS_ADDR)\n"
	"  --health-addr ADDR       /healthz and /readyz (default :8081;\n"
	"                           FAULTLINE_HEALTH_ADDR)\n"
	"  --leader-elect BOOL      take a Lease before acting (default true;\n"
	"                           FAULTLINE_LEADER_ELECT)\n"
	"  --lease-name NAME        (default faultline-operator)\n"
	"  --lease-duration D       (default 15s)\n"
	"  --renew-deadline D       (default 10s)\n"
	"  --retry-period D         (default 2s)\n"
	"  --self-namespace NS      the operator's namespace (POD_NAMESPACE;\n"
	"                           default faultline-system)\n"
	"  --pod-name NAME          its pod (POD_NAME), never a target\n"
	"  --node-name NAME         its node (NODE_NAME), never a target\n"
	"  --kill-switch            abort every running experiment and start\n"
	"                           none (also: annotate the operator's\n"
	"                           namespace faultline.dev/kill-switch=true)\n"
	"\n"
	"Pod faults run in an injector (an ephemeral container) that talks\n"
	"to the operator over the agent channel; without --agent-url a run\n"
	"that needs one fails before touching anything.\n"
	"  --injector-image IMAGE   the sidecar image (FAULTLINE_INJECTOR_IMAGE)\n"
	"  --agent-url wss://IP:PORT\n"
	"                           where injectors reach this operator: the\n"
	"                           agent Service's address (FAULTLINE_AGENT_URL)\n"
	"  --agent-addr IP          listen address (default all;\n"
	"                           FAULTLINE_AGENT_ADDR)\n"
	"  --agent-port N           listen port (default the URL's;\n"
	"                           FAULTLINE_AGENT_PORT)\n"
	"  --agent-cert FILE, --agent-key FILE\n"
	"                           the serving certificate (naming the URL's\n"
	"                           address) and key (FAULTLINE_AGENT_CERT,\n"
	"                           FAULTLINE_AGENT_KEY)\n"
	"  --agent-ca FILE          the CA injectors trust (default the\n"
	"                           certificate itself; FAULTLINE_AGENT_CA)\n"
	"  --agent-master-key-file FILE\n"
	"                           at least 32 bytes that sign injection\n"
	"                           tokens; keep it across restarts\n"
	"                           (FAULTLINE_AGENT_MASTER_KEY_FILE)\n"
	"  --agent-grace D          an injector that hears nothing for this\n"
	"                           long reverts on its own (default 30s)\n"
	"  --agent-heartbeat D      (default 5s)\n"
	"  --agent-leader-label     label this replica's pod\n"
	"                           faultline.dev/leader=true while it leads,\n"
	"                           for the agent Service to select\n"
	"                           (FAULTLINE_AGENT_LEADER_LABEL=true)\n"
	"\n"
	"  --kubeconfig FILE, --context NAME\n"
	"                           outside a cluster (else in-cluster)\n"
	"  --kube-qps N             API requests per second per client\n"
	"                           (default 50)\n"
	"  --log-format json|text   (default json; FAULTLINE_LOG_FORMAT)\n"
	"  --log-level LEVEL        error, warn, info, debug, trace\n"
	"  --trace AREAS            kube,aws,netlink,reconcile,agent\n";

/* Splits a comma-separated list into out (pointing into a copy that
 * lives as long as the process). */
static int split_list(const char *s, const char **out, size_t *n,
		      const char *what, char *err, size_t errlen)
{
	char *copy = fl_strdup(s), *save = NULL, *tok;

	*n = 0;
	for (tok = strtok_r(copy, ",", &save); tok;
	     tok = strtok_r(NULL, ",", &save)) {
		while (*tok == ' ')
			tok++;
		if (!*tok)
			continue;
		if (*n == FL_OP_MAX_NS) {
			snprintf(err, errlen, "%s: more than %d namespaces",
				 what, FL_OP_MAX_NS);
			return -1;
		}
		out[(*n)++] = tok;
	}
	return 0;
}

static int parse_bool(const char *s, int *out)
{
	if (!strcmp(s, "true") || !strcmp(s, "1") || !strcmp(s, "yes"))
		*out = 1;
	else if (!strcmp(s, "false") || !strcmp(s, "0") || !strcmp(s, "no"))
		*out = 0;
	else
		return -1;
	return 0;
}

static int parse_int(const char *s, long lo, long hi, long *out)
{
	char *end;
	long v = strtol(s, &end, 10);

	if (!*s || *end || v < lo || v > hi)
		return -1;
	*out = v;
	return 0;
}

static int parse_ms(const char *s, int *out)
{
	int64_t ms;

	if (fl_duration_parse(s, &ms) || ms <= 0 || ms > 3600000)
		return -1;
	*out = (int)ms;
	return 0;
}

static const char *env_or(const char *name, const char *dflt)
{
	const char *v = getenv(name);

	return v && *v ? v : dflt;
}

/* Reads the boolean variable name into *out when it is set. */
static int env_bool(const char *name, int *out, char *err, size_t errlen)
{
	const char *v = env_or(name, NULL);

	if (v && parse_bool(v, out)) {
		snprintf(err, errlen, "%s: '%s' is not true or false", name, v);
		return -1;
	}
	return 0;
}

/* A duration of at least a second, in whole seconds (rounded up). */
static int parse_s(const char *s, int *out)
{
	int ms;

	if (parse_ms(s, &ms) || ms < 1000)
		return -1;
	*out = (ms + 999) / 1000;
	return 0;
}

enum {
	O_NAMESPACES = 256,
	O_PROTECTED,
	O_OPT_IN,
	O_MAX_CONCURRENT,
	O_METRICS,
	O_HEALTH,
	O_LEADER,
	O_LEASE_NAME,
	O_LEASE_DURATION,
	O_RENEW,
	O_RETRY,
	O_SELF_NS,
	O_POD,
	O_NODE,
	O_KILL,
	O_KUBECONFIG,
	O_CONTEXT,
	O_QPS,
	O_LOG_FORMAT,
	O_LOG_LEVEL,
	O_TRACE,
	O_HELP,
	O_INJECTOR_IMAGE,
	O_AGENT_URL,
	O_AGENT_ADDR,
	O_AGENT_PORT,
	O_AGENT_CERT,
	O_AGENT_KEY,
	O_AGENT_CA,
	O_AGENT_MASTER,
	O_AGENT_GRACE,
	O_AGENT_HEARTBEAT,
	O_AGENT_LEADER_LABEL,
};

static const struct option longopts[] = {
	{"namespaces", required_argument, NULL, O_NAMESPACES},
	{"protected-namespaces", required_argument, NULL, O_PROTECTED},
	{"namespace-opt-in", no_argument, NULL, O_OPT_IN},
	{"max-concurrent", required_argument, NULL, O_MAX_CONCURRENT},
	{"metrics-addr", required_argument, NULL, O_METRICS},
	{"health-addr", required_argument, NULL, O_HEALTH},
	{"leader-elect", required_argument, NULL, O_LEADER},
	{"lease-name", required_argument, NULL, O_LEASE_NAME},
	{"lease-duration", required_argument, NULL, O_LEASE_DURATION},
	{"renew-deadline", required_argument, NULL, O_RENEW},
	{"retry-period", required_argument, NULL, O_RETRY},
	{"self-namespace", required_argument, NULL, O_SELF_NS},
	{"pod-name", required_argument, NULL, O_POD},
	{"node-name", required_argument, NULL, O_NODE},
	{"kill-switch", no_argument, NULL, O_KILL},
	{"kubeconfig", required_argument, NULL, O_KUBECONFIG},
	{"context", required_argument, NULL, O_CONTEXT},
	{"kube-qps", required_argument, NULL, O_QPS},
	{"log-format", required_argument, NULL, O_LOG_FORMAT},
	{"log-level", required_argument, NULL, O_LOG_LEVEL},
	{"trace", required_argument, NULL, O_TRACE},
	{"help", no_argument, NULL, O_HELP},
	{"injector-image", required_argument, NULL, O_INJECTOR_IMAGE},
	{"agent-url", required_argument, NULL, O_AGENT_URL},
	{"agent-addr", required_argument, NULL, O_AGENT_ADDR},
	{"agent-port", required_argument, NULL, O_AGENT_PORT},
	{"agent-cert", required_argument, NULL, O_AGENT_CERT},
	{"agent-key", required_argument, NULL, O_AGENT_KEY},
	{"agent-ca", required_argument, NULL, O_AGENT_CA},
	{"agent-master-key-file", required_argument, NULL, O_AGENT_MASTER},
	{"agent-grace", required_argument, NULL, O_AGENT_GRACE},
	{"agent-heartbeat", required_argument, NULL, O_AGENT_HEARTBEAT},
	{"agent-leader-label", no_argument, NULL, O_AGENT_LEADER_LABEL},
	{NULL, 0, NULL, 0},
};

/* Defaults, then the environment; flags come after. */
static int defaults(struct fl_op_config *c, char *err, size_t errlen)
{
	const char *v;
	long n;

	memset(c, 0, sizeof(*c));
	c->workers = 4;
	c->metrics_addr = env_or("FAULTLINE_METRICS_ADDR", ":8080");
	c->health_addr = env_or("FAULTLINE_HEALTH_ADDR", ":8081");
	c->leader_elect = 1;
	c->lease_name = "faultline-operator";
	c->lease_duration_s = 15;
	c->renew_deadline_ms = 10000;
	c->retry_period_ms = 2000;
	c->self_ns = env_or("POD_NAMESPACE", "faultline-system");
	c->self_pod = env_or("POD_NAME", NULL);
	c->self_node = env_or("NODE_NAME", NULL);
	c->kube_qps = 50;
	c->protected_ns[c->nprotected++] = "kube-system";
	c->injector_image = env_or("FAULTLINE_INJECTOR_IMAGE", NULL);
	c->agent_url = env_or("FAULTLINE_AGENT_URL", NULL);
	c->agent_addr = env_or("FAULTLINE_AGENT_ADDR", NULL);
	c->agent_cert = env_or("FAULTLINE_AGENT_CERT", NULL);
	c->agent_key = env_or("FAULTLINE_AGENT_KEY", NULL);
	c->agent_ca = env_or("FAULTLINE_AGENT_CA", NULL);
	c->agent_master_file = env_or("FAULTLINE_AGENT_MASTER_KEY_FILE", NULL);
	c->agent_grace_s = 30;
	c->agent_heartbeat_s = 5;
	if (env_bool("FAULTLINE_AGENT_LEADER_LABEL", &c->agent_leader_label,
		     err, errlen))
		return -1;
	if ((v = env_or("FAULTLINE_AGENT_PORT", NULL))) {
		if (parse_int(v, 1, 65535, &n)) {
			snprintf(err, errlen,
				 "FAULTLINE_AGENT_PORT: '%s' is not a port", v);
			return -1;
		}
		c->agent_port = (int)n;
	}

	if ((v = env_or("FAULTLINE_NAMESPACES", NULL)) &&
	    split_list(v, c->namespaces, &c->nnamespaces,
		       "FAULTLINE_NAMESPACES", err, errlen))
		return -1;
	if ((v = env_or("FAULTLINE_PROTECTED_NAMESPACES", NULL)) &&
	    split_list(v, c->protected_ns, &c->nprotected,
		       "FAULTLINE_PROTECTED_NAMESPACES", err, errlen))
		return -1;
	if (env_bool("FAULTLINE_NAMESPACE_OPT_IN", &c->opt_in, err, errlen) ||
	    env_bool("FAULTLINE_LEADER_ELECT", &c->leader_elect, err, errlen))
		return -1;
	if ((v = env_or("FAULTLINE_MAX_CONCURRENT", NULL))) {
		if (parse_int(v, 1, 256, &n)) {
			snprintf(err, errlen,
				 "FAULTLINE_MAX_CONCURRENT: '%s' "
				 "is not a number from 1 to 256",
				 v);
			return -1;
		}
		c->workers = (int)n;
	}
	if ((v = env_or("FAULTLINE_LOG_FORMAT", NULL)))
		fl_log_cfg.format =
			strcmp(v, "text") ? FL_LOG_JSON : FL_LOG_TEXT;
	return 0;
}

static int flag(struct fl_op_config *c, int opt, const char *arg, char *err,
		size_t errlen)
{
	long n;

	switch (opt) {
	case O_NAMESPACES:
		return split_list(arg, c->namespaces, &c->nnamespaces,
				  "--namespaces", err, errlen);
	case O_PROTECTED:
		return split_list(arg, c->protected_ns, &c->nprotected,
				  "--protected-namespaces", err, errlen);
	case O_OPT_IN:
		c->opt_in = 1;
		return 0;
	case O_MAX_CONCURRENT:
		if (parse_int(arg, 1, 256, &n))
			break;
		c->workers = (int)n;
		return 0;
	case O_METRICS:
		c->metrics_addr = arg;
		return 0;
	case O_HEALTH:
		c->health_addr = arg;
		return 0;
	case O_LEADER:
		return parse_bool(arg, &c->leader_elect) ? -2 : 0;
	case O_LEASE_NAME:
		c->lease_name = arg;
		return 0;
	case O_LEASE_DURATION:
		return parse_s(arg, &c->lease_duration_s) ? -2 : 0;
	case O_RENEW:
		return parse_ms(arg, &c->renew_deadline_ms) ? -2 : 0;
	case O_RETRY:
		return parse_ms(arg, &c->retry_period_ms) ? -2 : 0;
	case O_SELF_NS:
		c->self_ns = arg;
		return 0;
	case O_POD:
		c->self_pod = arg;
		return 0;
	case O_NODE:
		c->self_node = arg;
		return 0;
	case O_KILL:
		c->kill_switch = 1;
		return 0;
	case O_KUBECONFIG:
		c->kubeconfig = arg;
		return 0;
	case O_CONTEXT:
		c->context = arg;
		return 0;
	case O_QPS:
		if (parse_int(arg, 1, 10000, &n))
			break;
		c->kube_qps = (double)n;
		return 0;
	case O_LOG_FORMAT:
		if (!strcmp(arg, "json"))
			fl_log_cfg.format = FL_LOG_JSON;
		else if (!strcmp(arg, "text"))
			fl_log_cfg.format = FL_LOG_TEXT;
		else
			break;
		return 0;
	case O_LOG_LEVEL:
		return fl_log_parse_level(arg, &fl_log_cfg.level) ? -2 : 0;
	case O_TRACE:
		return fl_log_parse_areas(arg, &fl_log_cfg.trace) ? -2 : 0;
	case O_INJECTOR_IMAGE:
		c->injector_image = arg;
		return 0;
	case O_AGENT_URL:
		c->agent_url = arg;
		return 0;
	case O_AGENT_ADDR:
		c->agent_addr = arg;
		return 0;
	case O_AGENT_PORT:
		if (parse_int(arg, 1, 65535, &n))
			break;
		c->agent_port = (int)n;
		return 0;
	case O_AGENT_CERT:
		c->agent_cert = arg;
		return 0;
	case O_AGENT_KEY:
		c->agent_key = arg;
		return 0;
	case O_AGENT_CA:
		c->agent_ca = arg;
		return 0;
	case O_AGENT_MASTER:
		c->agent_master_file = arg;
		return 0;
	case O_AGENT_GRACE:
		return parse_s(arg, &c->agent_grace_s) ? -2 : 0;
	case O_AGENT_LEADER_LABEL:
		c->agent_leader_label = 1;
		return 0;
	case O_AGENT_HEARTBEAT:
		return parse_s(arg, &c->agent_heartbeat_s) ? -2 : 0;
	}
	return -2;
}

int fl_op_config_parse(struct fl_op_config *c, int argc, char **argv, char *err,
		       size_t errlen)
{
	static char identity[300];
	char host[256] = "";
	int opt;

	if (defaults(c, err, errlen))
		return -1;
	optind = 1;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		int rc;

		if (opt == 'h' || opt == O_HELP) {
			fputs(usage, stdout);
			return 1;
		}
		if (opt == '?') {
			snprintf(err, errlen, "unknown option (see --help)");
			return -1;
		}
		rc = flag(c, opt, optarg, err, errlen);
		if (rc == -2)
			snprintf(err, errlen, "--%s: invalid value '%s'",
				 longopts[opt - O_NAMESPACES].name, optarg);
		if (rc)
			return -1;
	}
	if (optind < argc) {
		snprintf(err, errlen, "unexpected argument '%s'", argv[optind]);
		return -1;
	}
	if (c->renew_deadline_ms >= c->lease_duration_s * 1000) {
		snprintf(err, errlen,
			 "--renew-deadline must be shorter than "
			 "--lease-duration");
		return -1;
	}
	if (c->agent_url &&
	    (!c->agent_cert || !c->agent_key || !c->agent_master_file)) {
		snprintf(err, errlen,
			 "--agent-url needs --agent-cert, --agent-key and "
			 "--agent-master-key-file");
		return -1;
	}
	if (c->agent_url && c->agent_heartbeat_s * 2 > c->agent_grace_s) {
		snprintf(err, errlen,
			 "--agent-grace must be at least twice "
			 "--agent-heartbeat");
		return -1;
	}
	gethostname(host, sizeof(host) - 1);
	snprintf(identity, sizeof(identity), "%s_%ld",
		 c->self_pod ? c->self_pod : host, (long)getpid());
	c->identity = identity;
	return 0;
}
