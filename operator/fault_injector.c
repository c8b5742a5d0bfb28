/*
 * The faults an injector applies inside a pod: network, resource and
 * process faults.  For each chosen pod the operator adds an ephemeral
 * container that runs the sidecar image with the fault's spec in its
 * environment, sharing the pod's network namespace and its target
 * container's process namespace, with only the capability its fault
 * needs, as root on a read-only root filesystem.
 *
 * The spec carries a token for this injection alone (lib/agent_token.h)
 * and the agent channel's address: the injector reports to the operator
 * and obeys its orders.  It also carries a local deadline a little after
 * the fault's end, and the channel's dead-man switch reverts it when the
 * operator goes silent; the operator's own revert order is the normal
 * end.  The agent's address is exempt from network faults, so that a
 * partition never cuts the order that ends it.
 *
 * Names are derived, never stored first: the container of fault F of run
 * R on the pod with uid U is faultline-<hash(R, F, U)>, so that after a
 * restart the operator finds what it injected by looking for that name.
 *
 * Ephemeral containers cannot be removed: a reverted injector stays in
 * the pod's spec, terminated, until the pod is replaced.
 */
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "agent_server.h"
#include "agent_token.h"
#include "alloc.h"
#include "fault.h"
#include "json.h"
#include "kube_watch.h"
#include "run.h"
#include "units.h"

#define DEADLINE_MARGIN_MS 5000 /* local deadline after the fault's end */
#define TOKEN_MARGIN_S 300	/* token life after the local deadline */
#define CONFIRM_WAIT_MS 3000	/* a revert waits this long for its answer */
#define FOLLOW_EVERY_MS 1000	/* look again while an injector starts */
#define STATE_DIR "/dev/shm/faultline" /* writable under a read-only root */

/* The capability the kind needs, or NULL for none. */
static const char *capability(enum fl_fault_kind k)
{
	switch (k) {
	case FL_FAULT_CPU_STRESS:
	case FL_FAULT_MEMORY_STRESS:
	case FL_FAULT_DISK_STRESS:
		return NULL;
	case FL_FAULT_PROCESS_KILL:
	case FL_FAULT_PROCESS_PAUSE:
		return "KILL";
	default:
		return "NET_ADMIN";
	}
}

/* The container (and injection) name: faultline-<10 hex>.  The hex alone
 * is the sidecar's tag. */
static void names(struct fl_fault_call *c, char *container, size_t n,
		  const char **tag)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	const char *uid = fl_json_str(c->target, "uid");
	const char *parts[3] = {c->run->run_id, c->fault->name,
				uid ? uid : fl_json_str(c->target, "name")};

	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	for (int i = 0; i < 3; i++) {
		EVP_DigestUpdate(ctx, parts[i] ? parts[i] : "",
				 parts[i] ? strlen(parts[i]) : 0);
		EVP_DigestUpdate(ctx, "|", 1);
	}
	EVP_DigestFinal_ex(ctx, md, &mdlen);
	EVP_MD_CTX_free(ctx);
	snprintf(container, n, "faultline-%02x%02x%02x%02x%02x", md[0], md[1],
		 md[2], md[3], md[4]);
	*tag = container + strlen("faultline-");
}

static const char *ns_of(struct fl_fault_call *c)
{
	return fl_json_str(c->target, "namespace");
}

static const char *pod_of(struct fl_fault_call *c)
{
	return fl_json_str(c->target, "name");
}

/* The entry's injector object, created when missing. */
static struct json_object *injector(struct fl_fault_call *c)
{
	struct json_object *o = fl_json_get(c->target, "injector");

	if (!o) {
		char name[40];
		const char *tag;

		names(c, name, sizeof(name), &tag);
		o = json_object_new_object();
		json_object_object_add(o, "container",
				       json_object_new_string(name));
		json_object_object_add(c->target, "injector", o);
	}
	return o;
}

static const char *container_name(struct fl_fault_call *c)
{
	return fl_json_str(injector(c), "container");
}

/* Sets injector.key to v; notes a change. */
static void set_str(struct fl_fault_call *c, const char *key, const char *v)
{
	struct json_object *o = injector(c);
	const char *old = fl_json_str(o, key);

	if (old && v && !strcmp(old, v))
		return;
	if (v)
		json_object_object_add(o, key, json_object_new_string(v));
	else
		json_object_object_del(o, key);
	c->changed = 1;
}

static void set_now(struct fl_fault_call *c, const char *key)
{
	char now[40];

	if (fl_json_get(injector(c), key))
		return;
	set_str(c, key, fl_time_format(fl_now_ms(), now, sizeof(now)));
}

/* Reads the target pod.  Returns 0 with *pod, 1 when it is gone (or was
 * replaced, or is going) with why filled, -1 on an API failure (why). */
static int read_pod(struct fl_fault_call *c, struct json_object **pod)
{
	struct fl_kube_ref ref = {"", "v1", "pods", ns_of(c), pod_of(c), NULL};
	struct fl_kube_status st = {0};
	const char *uid = fl_json_str(c->target, "uid"), *cur;
	struct json_object *meta;

	*pod = NULL;
	if (fl_kube_get(c->kube, &ref, pod, &st)) {
		int gone = st.code == 404;

		snprintf(c->why, sizeof(c->why), "pod '%s/%s' %s%s%.300s",
			 ns_of(c), pod_of(c), gone ? "went away" : "unreadable",
			 gone ? "" : ": ", gone ? "" : st.message);
		fl_kube_status_release(&st);
		return gone ? 1 : -1;
	}
	meta = fl_json_get(*pod, "metadata");
	cur = fl_json_str(meta, "uid");
	if ((uid && cur && strcmp(uid, cur)) ||
	    fl_json_get(meta, "deletionTimestamp")) {
		snprintf(c->why, sizeof(c->why), "pod '%s/%s' went away%s",
			 ns_of(c), pod_of(c),
			 fl_json_get(meta, "deletionTimestamp")
				 ? " (it is being deleted)"
				 : " (replaced under the same name)");
		json_object_put(*pod);
		*pod = NULL;
		return 1;
	}
	return 0;
}

/* The element of array named name, or NULL. */
static struct json_object *named(struct json_object *array, const char *name)
{
	for (size_t i = 0; i < fl_json_len(array); i++) {
		struct json_object *o = json_object_array_get_idx(array, i);
		const char *n = fl_json_str(o, "name");

		if (n && !strcmp(n, name))
			return o;
	}
	return NULL;
}

static struct json_object *spec_container(struct json_object *pod,
					  const char *name)
{
	return named(
		fl_json_get(fl_json_get(pod, "spec"), "ephemeralContainers"),
		name);
}

static struct json_object *container_status(struct json_object *pod,
					    const char *name)
{
	return named(fl_json_get(fl_json_get(pod, "status"),
				 "ephemeralContainerStatuses"),
		     name);
}

/* What an injector's exit code means (sidecar/README.md). */
static const char *exit_meaning(long code)
{
	switch (code) {
	case 0:
		return "applied and reverted";
	case 2:
		return "the spec was refused; nothing was applied";
	case 3:
		return "an apply failed; what was applied was reverted";
	case 4:
		return "a revert failed; something may be left behind";
	case 6:
		return "the agent channel failed, so it reverted on its own";
	case 137:
		return "killed";
	default:
		return "an internal error";
	}
}

static struct json_object *str_array(const char *a, const char *b)
{
	struct json_object *arr = json_object_new_array();

	if (a)
		json_object_array_add(arr, json_object_new_string(a));
	if (b)
		json_object_array_add(arr, json_object_new_string(b));
	return arr;
}

static struct json_object *env_var(const char *name, const char *value)
{
	struct json_object *e = json_object_new_object();

	json_object_object_add(e, "name", json_object_new_string(name));
	json_object_object_add(e, "value", json_object_new_string(value));
	return e;
}

/*
 * The sidecar's spec for this injection (sidecar/README.md), with a
 * fresh token.  Returns NULL with why filled when the fault's time has
 * passed or the token cannot be made.
 */
static struct json_object *sidecar_spec(struct fl_fault_call *c,
					const char *inj, const char *tag)
{
	struct fl_operator *op = c->run->w->op;
	int64_t now = fl_now_ms();
	int64_t left = fl_run_fault_end(c->run, c->fault) - now;
	struct fl_agent_claims cl = {0};
	char token[FL_AGENT_TOKEN_MAX], pk64[FL_AGENT_B64_KEY_LEN], dur[32];
	char cidr[64];
	uint8_t pk[FL_AGENT_KEY_LEN];
	struct json_object *spec, *faults, *fault, *agent, *control;

	if (left < 1000) {
		snprintf(c->why, sizeof(c->why),
			 "less than a second of the fault's time was left");
		return NULL;
	}
	snprintf(cl.run, sizeof(cl.run), "%s", c->run->run_id);
	snprintf(cl.ns, sizeof(cl.ns), "%s", c->run->ns);
	snprintf(cl.name, sizeof(cl.name), "%s", c->run->name);
	snprintf(cl.target, sizeof(cl.target), "pod/%s/%s", ns_of(c),
		 pod_of(c));
	snprintf(cl.inj, sizeof(cl.inj), "%s", inj);
	cl.exp = (now + left + DEADLINE_MARGIN_MS) / 1000 +
		 op->cfg.agent_grace_s + TOKEN_MARGIN_S;
	if (fl_agent_token_sign(op->agent_master, op->agent_master_len, &cl,
				token, sizeof(token), pk)) {
		snprintf(c->why, sizeof(c->why),
			 "cannot sign the injection's token");
		return NULL;
	}
	fl_agent_b64url_encode(pk, sizeof(pk), pk64, sizeof(pk64));
	memset(pk, 0, sizeof(pk));

	spec = json_object_new_object();
	json_object_object_add(spec, "tag", json_object_new_string(tag));
	snprintf(dur, sizeof(dur), "%lldms",
		 (long long)(left + DEADLINE_MARGIN_MS));
	json_object_object_add(spec, "duration", json_object_new_string(dur));
	faults = json_object_new_array();
	fault = json_object_new_object();
	json_object_object_add(
		fault, "kind",
		json_object_new_string(fl_fault_kind_names[c->fault->kind]));
	json_object_object_add(fault, "params",
			       c->fault->params
				       ? json_object_get(c->fault->params)
				       : json_object_new_object());
	json_object_array_add(faults, fault);
	json_object_object_add(spec, "faults", faults);

	control = json_object_new_object();
	snprintf(cidr, sizeof(cidr), "%s/%d", op->agent_host,
		 strchr(op->agent_host, ':') ? 128 : 32);
	json_object_object_add(control, "cidr", json_object_new_string(cidr));
	json_object_object_add(control, "port",
			       json_object_new_int(op->agent_url_port));
	json_object_object_add(spec, "control", control);

	agent = json_object_new_object();
	json_object_object_add(agent, "url",
			       json_object_new_string(op->cfg.agent_url));
	json_object_object_add(agent, "caCert",
			       json_object_new_string(op->agent_ca_pem));
	json_object_object_add(agent, "token", json_object_new_string(token));
	json_object_object_add(agent, "proofKey", json_object_new_string(pk64));
	json_object_object_add(agent, "graceSeconds",
			       json_object_new_int(op->cfg.agent_grace_s));
	json_object_object_add(spec, "agent", agent);
	memset(pk64, 0, sizeof(pk64));
	return spec;
}

/* The ephemeral container for this injection. */
static struct json_object *container(struct fl_fault_call *c, const char *name,
				     const char *target,
				     struct json_object *spec)
{
	struct json_object *ctr = json_object_new_object();
	struct json_object *env = json_object_new_array();
	struct json_object *sc = json_object_new_object();
	struct json_object *caps = json_object_new_object();
	const char *cap = capability(c->fault->kind);

	json_object_object_add(ctr, "name", json_object_new_string(name));
	json_object_object_add(
		ctr, "image",
		json_object_new_string(c->run->w->op->cfg.injector_image));
	json_object_object_add(ctr, "imagePullPolicy",
			       json_object_new_string("IfNotPresent"));
	json_object_object_add(ctr, "args", str_array("run", NULL));
	json_object_array_add(env,
			      env_var("FAULTLINE_SPEC",
				      json_object_to_json_string_ext(
					      spec, JSON_C_TO_STRING_PLAIN)));
	json_object_array_add(env, env_var("FAULTLINE_STATE_DIR", STATE_DIR));
	json_object_object_add(ctr, "env", env);
	json_object_object_add(ctr, "targetContainerName",
			       json_object_new_string(target));
	json_object_object_add(ctr, "terminationMessagePolicy",
			       json_object_new_string("FallbackToLogsOnError"));
	json_object_object_add(caps, "drop", str_array("ALL", NULL));
	if (cap)
		json_object_object_add(caps, "add", str_array(cap, NULL));
	json_object_object_add(sc, "capabilities", caps);
	json_object_object_add(sc, "runAsUser", json_object_new_int(0));
	json_object_object_add(sc, "readOnlyRootFilesystem",
			       json_object_new_boolean(1));
	json_object_object_add(sc, "allowPrivilegeEscalation",
			       json_object_new_boolean(0));
	json_object_object_add(ctr, "securityContext", sc);
	return ctr;
}

/* The container the injector targets: the target's `container`, else
 * the pod's first.  NULL with why filled when the pod has no such one. */
static const char *target_container(struct fl_fault_call *c,
				    struct json_object *pod)
{
	const struct fl_target *t = NULL;
	struct json_object *ctrs =
		fl_json_get(fl_json_get(pod, "spec"), "containers");

	if (c->fault->target_index >= 0 &&
	    (size_t)c->fault->target_index < c->run->x.ntargets)
		t = &c->run->x.targets[c->fault->target_index];
	if (t && t->container) {
		if (named(ctrs, t->container))
			return t->container;
		snprintf(c->why, sizeof(c->why),
			 "pod '%s/%s' has no container '%s'", ns_of(c),
			 pod_of(c), t->container);
		return NULL;
	}
	if (!fl_json_len(ctrs)) {
		snprintf(c->why, sizeof(c->why), "pod '%s/%s' has no container",
			 ns_of(c), pod_of(c));
		return NULL;
	}
	return fl_json_str(json_object_array_get_idx(ctrs, 0), "name");
}

static enum fl_fault_result injector_inject(struct fl_fault_call *c)
{
	struct fl_kube_ref ref = {"",	    "v1",      "pods",
				  ns_of(c), pod_of(c), "ephemeralcontainers"};
	struct fl_kube_status st = {0};
	struct json_object *pod, *spec, *patch, *pspec, *list, *meta, *ours;
	char name[40];
	const char *tag, *target;
	enum fl_fault_result res = FL_FAULT_OK;
	int rc;

	names(c, name, sizeof(name), &tag);
	rc = read_pod(c, &pod);
	if (rc)
		return rc > 0 ? FL_FAULT_ABSENT : FL_FAULT_RETRY;
	if ((ours = spec_container(pod, name))) {
		/* Ours already (an attempt cut short after the patch). */
		set_str(c, "container", name);
		set_str(c, "targetContainer",
			fl_json_str(ours, "targetContainerName"));
		set_now(c, "requestedAt");
		json_object_put(pod);
		return FL_FAULT_OK;
	}
	target = target_container(c, pod);
	if (!target) {
		json_object_put(pod);
		return FL_FAULT_REFUSED;
	}
	spec = sidecar_spec(c, name, tag);
	if (!spec) {
		json_object_put(pod);
		return FL_FAULT_ABSENT;
	}

	/* A strategic merge on the subresource adds our container by name;
	 * the resourceVersion read makes it conditional on the pod we
	 * looked at. */
	patch = json_object_new_object();
	meta = json_object_new_object();
	json_object_object_add(
		meta, "resourceVersion",
		json_object_new_string(fl_json_str(fl_json_get(pod, "metadata"),
						   "resourceVersion")));
	json_object_object_add(patch, "metadata", meta);
	pspec = json_object_new_object();
	list = json_object_new_array();
	json_object_array_add(list, container(c, name, target, spec));
	json_object_object_add(pspec, "ephemeralContainers", list);
	json_object_object_add(patch, "spec", pspec);
	json_object_put(spec);
	json_object_put(pod);

	rc = fl_kube_patch(
		c->kube, &ref, FL_KUBE_PATCH_STRATEGIC,
		json_object_to_json_string_ext(patch, JSON_C_TO_STRING_PLAIN),
		NULL, 0, NULL, &st);
	json_object_put(patch);
	if (rc) {
		snprintf(c->why, sizeof(c->why),
			 "adding the injector to pod '%s/%s' %s: %ld %s: "
			 "%.380s",
			 ns_of(c), pod_of(c),
			 st.code == 403 ? "was forbidden" : "failed", st.code,
			 st.reason, st.message);
		if (st.code == 404)
			res = FL_FAULT_ABSENT;
		else if (st.code == 0 || st.code == 409 || st.code == 429 ||
			 st.code >= 500)
			res = FL_FAULT_RETRY;
		else
			res = FL_FAULT_REFUSED;
		fl_kube_status_release(&st);
		return res;
	}
	set_str(c, "container", name);
	set_str(c, "targetContainer", target);
	set_str(c, "state", "Requested");
	set_now(c, "requestedAt");
	return FL_FAULT_OK;
}

static enum fl_fault_result injector_check(struct fl_fault_call *c)
{
	struct json_object *pod, *ours;
	int rc = read_pod(c, &pod);

	if (rc)
		return rc > 0 ? FL_FAULT_ABSENT : FL_FAULT_RETRY;
	ours = spec_container(pod, container_name(c));
	if (ours) {
		set_str(c, "targetContainer",
			fl_json_str(ours, "targetContainerName"));
		set_now(c, "requestedAt");
	}
	json_object_put(pod);
	return ours ? FL_FAULT_OK : FL_FAULT_ABSENT;
}

/* The injector's session, when the agent server has one. */
static int session(struct fl_fault_call *c, struct fl_agent_session_info *s)
{
	struct fl_agent_server *srv = c->run->w->op->agent;

	return srv && !fl_agent_server_session(srv, container_name(c), s) ? 0
									  : -1;
}

/* Records what the pod says of the injector.  Returns 1 when the
 * injector cannot (or can no longer) hold the fault, with why filled. */
static int pod_view(struct fl_fault_call *c, struct json_object *pod)
{
	struct json_object *cs = container_status(pod, container_name(c));
	struct json_object *state = fl_json_get(cs, "state");
	struct json_object *w = fl_json_get(state, "waiting");
	struct json_object *t = fl_json_get(state, "terminated");
	const char *reason;

	if (t) {
		long code = json_object_get_int(fl_json_get(t, "exitCode"));
		const char *msg = fl_json_str(t, "message");

		set_str(c, "state", "Terminated");
		json_object_object_add(injector(c), "exitCode",
				       json_object_new_int((int)code));
		snprintf(c->why, sizeof(c->why),
			 "the injector exited with %ld (%s)%s%.300s", code,
			 exit_meaning(code), msg ? ": " : "", msg ? msg : "");
		return 1;
	}
	if (w) {
		reason = fl_json_str(w, "reason");
		if (reason && strcmp(reason, "ContainerCreating") &&
		    strcmp(reason, "PodInitializing")) {
			const char *msg = fl_json_str(w, "message");

			set_str(c, "state", "Waiting");
			snprintf(c->why, sizeof(c->why),
				 "the injector cannot start: %s%s%.300s",
				 reason, msg ? ": " : "", msg ? msg : "");
			return 1;
		}
		set_str(c, "state", "Starting");
		return 0;
	}
	set_str(c, "state",
		fl_json_get(state, "running") ? "Running" : "Requested");
	return 0;
}

/*
 * A processKill of the target container's main process ends its PID
 * namespace, and the injector (which joined it) with it: exit 137, the
 * fault done rather than lost.  Told apart from any other end by the
 * target container itself, which must have stopped since the injector
 * was requested.
 */
static int killed_with_target(struct fl_fault_call *c, struct json_object *pod)
{
	struct json_object *inj = injector(c), *cs, *last;
	struct json_object *mine = fl_json_get(
		fl_json_get(container_status(pod, container_name(c)), "state"),
		"terminated");
	const char *target = fl_json_str(inj, "targetContainer");
	const char *requested = fl_json_str(inj, "requestedAt");
	const char *finished;
	int64_t since = requested ? fl_time_parse(requested) : -1;

	if (c->fault->kind != FL_FAULT_PROCESS_KILL || !target || since < 0 ||
	    !mine || json_object_get_int(fl_json_get(mine, "exitCode")) != 137)
		return 0;
	cs = named(fl_json_get(fl_json_get(pod, "status"), "containerStatuses"),
		   target);
	last = fl_json_get(fl_json_get(cs, "lastState"), "terminated");
	if (!last)
		last = fl_json_get(fl_json_get(cs, "state"), "terminated");
	finished = fl_json_str(last, "finishedAt");
	/* finishedAt has whole seconds: allow the one it falls in. */
	if (!finished || fl_time_parse(finished) < since - 1000)
		return 0;
	set_str(c, "state", "Ended");
	json_object_object_add(inj, "exitCode", json_object_new_int(137));
	return 1;
}

static enum fl_fault_result injector_follow(struct fl_fault_call *c)
{
	struct fl_agent_session_info s;
	struct json_object *pod;
	int rc;

	if (!session(c, &s)) {
		set_str(c, "peer", s.peer);
		switch (s.state) {
		case FL_AGENT_STATE_ACTIVE:
			set_str(c, "state", "Active");
			set_now(c, "activeAt");
			if (s.live)
				return FL_FAULT_OK;
			break; /* see whether it is still there */
		case FL_AGENT_STATE_FAILED:
			set_str(c, "state", "Failed");
			snprintf(c->why, sizeof(c->why),
				 "the injector failed: %.400s",
				 s.message[0] ? s.message : "no reason given");
			return FL_FAULT_REFUSED;
		case FL_AGENT_STATE_REVERTING:
		case FL_AGENT_STATE_REVERTED:
			set_str(c, "state", "Reverted");
			/* A pod being deleted stops its containers: say
			 * that rather than the signal the injector got. */
			rc = read_pod(c, &pod);
			if (rc == 0)
				json_object_put(pod);
			if (rc <= 0)
				snprintf(c->why, sizeof(c->why),
					 "the injector reverted before the "
					 "fault's end: %.400s",
					 s.message[0] ? s.message
						      : "no reason given");
			return FL_FAULT_REFUSED;
		default:
			set_str(c, "state", "Applying");
			break;
		}
	}
	rc = read_pod(c, &pod);
	if (rc < 0)
		return FL_FAULT_RETRY;
	if (rc > 0)
		return FL_FAULT_REFUSED;
	if (killed_with_target(c, pod)) {
		json_object_put(pod);
		return FL_FAULT_OK;
	}
	rc = pod_view(c, pod);
	json_object_put(pod);
	if (rc)
		return FL_FAULT_REFUSED;
	c->wake_ms = fl_now_ms() + FOLLOW_EVERY_MS;
	return FL_FAULT_OK;
}

static int settled(const struct fl_agent_session_info *s)
{
	return s->state == FL_AGENT_STATE_REVERTED ||
	       s->state == FL_AGENT_STATE_FAILED;
}

static enum fl_fault_result injector_revert(struct fl_fault_call *c)
{
	struct fl_agent_server *srv = c->run->w->op->agent;
	struct fl_agent_session_info s;
	struct json_object *pod;
	int rc;

	if (!session(c, &s) && s.live && !settled(&s)) {
		int64_t until = fl_kube_monotonic_ms() + CONFIRM_WAIT_MS;
		struct timespec ts = {0, 10 * 1000000};
		struct json_object *ending =
			fl_json_get(c->run->status, "ending");
		const char *why = fl_json_str(ending, "message");

		if (!s.order_pending)
			fl_agent_server_order(srv, container_name(c),
					      ending ? FL_AGENT_ORDER_ABORT
						     : FL_AGENT_ORDER_REVERT,
					      why ? why
						  : "the fault's time is up");
		while (fl_kube_monotonic_ms() < until && !session(c, &s) &&
		       s.live && !settled(&s))
			nanosleep(&ts, NULL);
	}
	if (!session(c, &s) && settled(&s)) {
		set_str(c, "state", "Reverted");
		return FL_FAULT_OK;
	}
	if (!session(c, &s) && s.live) {
		snprintf(c->why, sizeof(c->why),
			 "ordered the injector to revert; no answer yet");
		return FL_FAULT_RETRY;
	}
	/* No live session: what does the pod say? */
	rc = read_pod(c, &pod);
	if (rc < 0)
		return FL_FAULT_RETRY;
	if (rc > 0) {
		set_str(c, "state", "Gone");
		snprintf(c->why, sizeof(c->why),
			 "the pod went away, and the fault with it");
		return FL_FAULT_OK;
	}
	if (killed_with_target(c, pod)) {
		/* A processKill done: nothing was left to revert. */
		json_object_put(pod);
		c->why[0] = '\0';
		return FL_FAULT_OK;
	}
	pod_view(c, pod);
	json_object_put(pod);
	if (!strcmp(fl_json_str(injector(c), "state"), "Terminated")) {
		/* Its exit says how it ended, unless that was the plan. */
		if (!json_object_get_int(fl_json_get(injector(c), "exitCode")))
			c->why[0] = '\0';
		return FL_FAULT_OK;
	}
	if (!strcmp(fl_json_str(injector(c), "state"), "Waiting") ||
	    !strcmp(fl_json_str(injector(c), "state"), "Requested") ||
	    !strcmp(fl_json_str(injector(c), "state"), "Starting")) {
		/* It never ran.  Should it start later, its hello wakes the
		 * sweep, which orders it back at once. */
		snprintf(c->why, sizeof(c->why),
			 "the injector never started, so nothing was applied");
		return FL_FAULT_OK;
	}
	snprintf(c->why, sizeof(c->why),
		 "the injector runs but is not connected; it reverts on its "
		 "own once it has heard nothing for %ds",
		 c->run->w->op->cfg.agent_grace_s);
	return FL_FAULT_RETRY;
}

static const char *injector_unusable(const struct fl_operator *op)
{
	if (!op->cfg.agent_url)
		return "pod faults need the agent channel: start the operator "
		       "with --agent-url (and its certificate and master key)";
	if (!op->cfg.injector_image)
		return "pod faults need the injector image: start the "
		       "operator with --injector-image";
	return NULL;
}

#define INJECTED(k)                                                          \
	{                                                                    \
		.kind = (k), .target = FL_TARGET_PODS, .engine = "injector", \
		.inject = injector_inject, .check = injector_check,          \
		.revert = injector_revert, .follow = injector_follow,        \
		.unusable = injector_unusable,                               \
	}

const struct fl_fault_ops fl_fault_injected[] = {
	INJECTED(FL_FAULT_NETWORK_LATENCY),
	INJECTED(FL_FAULT_NETWORK_LOSS),
	INJECTED(FL_FAULT_NETWORK_CORRUPTION),
	INJECTED(FL_FAULT_NETWORK_DUPLICATION),
	INJECTED(FL_FAULT_BANDWIDTH),
	INJECTED(FL_FAULT_NETWORK_PARTITION),
	INJECTED(FL_FAULT_DEPENDENCY_TIMEOUT),
	INJECTED(FL_FAULT_SERVICE_UNAVAILABLE),
	INJECTED(FL_FAULT_CPU_STRESS),
	INJECTED(FL_FAULT_MEMORY_STRESS),
	INJECTED(FL_FAULT_DISK_STRESS),
	INJECTED(FL_FAULT_PROCESS_KILL),
	INJECTED(FL_FAULT_PROCESS_PAUSE),
};

const size_t fl_fault_injected_count =
	sizeof(fl_fault_injected) / sizeof(fl_fault_injected[0]);

/* Whether the run holds injection inj as a fault in place. */
static int holds(struct fl_run *r, const struct fl_agent_claims *cl)
{
	struct json_object *targets = fl_json_get(r->status, "targets");
	const char *phase = fl_json_str(r->status, "phase");

	if (strcmp(cl->run, r->run_id) || !phase ||
	    (strcmp(phase, FL_PH_INJECTING) && strcmp(phase, FL_PH_OBSERVING) &&
	     strcmp(phase, FL_PH_RECOVERING)))
		return 0;
	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);
		const char *ctr =
			fl_json_str(fl_json_get(e, "injector"), "container");
		const char *st = fl_json_str(e, "state");

		if (ctr && !strcmp(ctr, cl->inj) && st &&
		    (!strcmp(st, FL_TS_INJECTED) ||
		     !strcmp(st, FL_TS_INJECTING)))
			return 1;
	}
	/* Marked Injecting, not yet written with its injector object. */
	for (size_t i = 0; i < fl_json_len(targets); i++) {
		struct json_object *e = json_object_array_get_idx(targets, i);
		const char *st = fl_json_str(e, "state");

		if (st && !strcmp(st, FL_TS_INJECTING) &&
		    !fl_json_get(e, "injector"))
			return 1;
	}
	return 0;
}

void fl_injector_sweep(struct fl_operator *op, const char *ns, const char *name,
		       struct fl_run *run)
{
	struct fl_agent_session_info *s;
	size_t n, max = FL_TARGETS_MAX;

	if (!op->agent || !fl_agent_server_find(op->agent, ns, name, NULL, 0))
		return;
	s = fl_malloc(max * sizeof(*s));
	n = fl_agent_server_find(op->agent, ns, name, s, max);
	if (n > max)
		n = max;
	for (size_t i = 0; i < n; i++) {
		const char *why;

		if (!s[i].live || settled(&s[i]) || s[i].order_pending)
			continue;
		if (!run)
			why = "the experiment is gone";
		else if (op->kill_switch)
			why = "the kill switch is engaged";
		else if (!holds(run, &s[i].claims))
			why = "not part of a run in progress";
		else
			continue;
		fl_warn("agent channel: ordering injector %s on %s to revert: "
			"%s",
			s[i].claims.inj, s[i].claims.target, why);
		fl_agent_server_order(op->agent, s[i].claims.inj,
				      FL_AGENT_ORDER_REVERT, why);
	}
	free(s);
}
