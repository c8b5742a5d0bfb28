#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_client.h"
#include "agent_token.h"
#include "alloc.h"
#include "json.h"
#include "schema.h"
#include "spec.h"
#include "units.h"

#define TAG_MAX 32

static const char *const top_keys[] = {
	"tag",	   "duration",	      "faults", "target",
	"control", "allowControlCut", "agent",
};

static int check_keys(struct json_object *o, const char *const *keys, size_t n,
		      const char *path, struct fl_errors *errs)
{
	char p[256];
	size_t i;
	int bad = 0;

	json_object_object_foreach(o, k, v)
	{
		(void)v;
		for (i = 0; i < n && strcmp(k, keys[i]); i++)
			;
		if (i < n)
			continue;
		snprintf(p, sizeof(p), "%s%s%.64s", path, *path ? "." : "", k);
		fl_errors_add(errs, 0, p, "unknown field");
		bad = -1;
	}
	return bad;
}

static int valid_tag(const char *t)
{
	size_t n = strlen(t);

	return n >= 1 && n <= TAG_MAX &&
	       strspn(t, "abcdefghijklmnopqrstuvwxyz"
			 "0123456789-") == n;
}

static void parse_head(struct fl_spec *sp, struct fl_errors *errs)
{
	struct json_object *doc = sp->doc;
	const char *dur = fl_json_str(doc, "duration");
	struct json_object *v;

	sp->tag = fl_json_str(doc, "tag");
	if (!sp->tag)
		fl_errors_add(errs, 0, "tag", "required string is missing");
	else if (!valid_tag(sp->tag))
		fl_errors_add(errs, 0, "tag",
			      "\"%.64s\" must be 1 to %d characters of "
			      "[a-z0-9-]",
			      sp->tag, TAG_MAX);
	if (!dur)
		fl_errors_add(errs, 0, "duration",
			      "required string is missing (every fault has "
			      "a deadline)");
	else if (fl_duration_parse(dur, &sp->duration_ms) < 0 ||
		 sp->duration_ms <= 0 ||
		 sp->duration_ms > FL_SPEC_MAX_DURATION_MS)
		fl_errors_add(errs, 0, "duration",
			      "\"%.64s\" is not a duration between 1ms and 24h",
			      dur);
	v = fl_json_get(doc, "allowControlCut");
	if (v && !json_object_is_type(v, json_type_boolean))
		fl_errors_add(errs, 0, "allowControlCut", "must be a boolean");
	sp->allow_control_cut = v && json_object_get_boolean(v);
}

/* Nonzero when a path has a ".." component. */
static int has_dotdot(const char *path)
{
	const char *p = path;

	while ((p = strstr(p, ".."))) {
		if ((p == path || p[-1] == '/') && (p[2] == '/' || !p[2]))
			return 1;
		p += 2;
	}
	return 0;
}

static void parse_target(struct fl_spec *sp, struct fl_errors *errs)
{
	static const char *const keys[] = {"pid", "cgroup"};
	struct json_object *t = fl_json_get(sp->doc, "target"), *pid;

	if (!t)
		return;
	if (!json_object_is_type(t, json_type_object)) {
		fl_errors_add(errs, 0, "target", "must be an object");
		return;
	}
	check_keys(t, keys, 2, "target", errs);
	pid = fl_json_get(t, "pid");
	if (pid && (!json_object_is_type(pid, json_type_int) ||
		    json_object_get_int64(pid) <= 0 ||
		    json_object_get_int64(pid) > 4194304))
		fl_errors_add(errs, 0, "target.pid",
			      "must be a process id between 1 and 4194304");
	else if (pid)
		sp->target_pid = (pid_t)json_object_get_int64(pid);
	sp->cgroup = fl_json_str(t, "cgroup");
	if (fl_json_get(t, "cgroup") &&
	    (!sp->cgroup || sp->cgroup[0] != '/' || strlen(sp->cgroup) > 1024 ||
	     has_dotdot(sp->cgroup)))
		fl_errors_add(errs, 0, "target.cgroup",
			      "must be an absolute path without '..'");
}

static void parse_control(struct fl_spec *sp, struct fl_errors *errs)
{
	static const char *const keys[] = {"cidr", "port"};
	struct json_object *c = fl_json_get(sp->doc, "control"), *port;

	if (!c)
		return;
	if (!json_object_is_type(c, json_type_object)) {
		fl_errors_add(errs, 0, "control", "must be an object");
		return;
	}
	check_keys(c, keys, 2, "control", errs);
	sp->control_cidr = fl_json_str(c, "cidr");
	if (fl_json_get(c, "cidr") &&
	    (!sp->control_cidr || !fl_cidr_valid(sp->control_cidr)))
		fl_errors_add(errs, 0, "control.cidr",
			      "must be a CIDR such as 10.0.0.5/32");
	port = fl_json_get(c, "port");
	if (port && (!json_object_is_type(port, json_type_int) ||
		     json_object_get_int64(port) < 1 ||
		     json_object_get_int64(port) > 65535))
		fl_errors_add(errs, 0, "control.port",
			      "must be a port between 1 and 65535");
	else if (port)
		sp->control_port = (int)json_object_get_int64(port);
}

static const char *agent_str(struct json_object *a, const char *key, size_t max,
			     struct fl_errors *errs)
{
	const char *v = fl_json_str(a, key);
	char path[32];

	snprintf(path, sizeof(path), "agent.%s", key);
	if (!v)
		fl_errors_add(errs, 0, path, "required string is missing");
	else if (strlen(v) > max)
		fl_errors_add(errs, 0, path, "longer than %zu characters", max);
	else
		return v;
	return NULL;
}

/* The agent channel: where the operator is, the CA that signs its
 * certificate, our token and proof key, the dead-man switch's grace. */
static void parse_agent(struct fl_spec *sp, struct fl_errors *errs)
{
	static const char *const keys[] = {"url", "token", "caCert", "proofKey",
					   "graceSeconds"};
	struct json_object *a = fl_json_get(sp->doc, "agent"), *g;
	struct fl_agent_claims claims;
	struct fl_agent_url url;
	uint8_t key[FL_AGENT_KEY_LEN];
	const char *v;
	char err[160];

	if (!a)
		return;
	if (!json_object_is_type(a, json_type_object)) {
		fl_errors_add(errs, 0, "agent", "must be an object");
		return;
	}
	check_keys(a, keys, 5, "agent", errs);
	v = agent_str(a, "url", 300, errs);
	if (v && fl_agent_url_parse(v, &url, err, sizeof(err)) < 0)
		fl_errors_add(errs, 0, "agent.url", "%s", err);
	sp->agent_url = v;
	v = agent_str(a, "caCert", FL_SPEC_AGENT_CA_MAX, errs);
	if (v && !strstr(v, "-----BEGIN CERTIFICATE-----"))
		fl_errors_add(errs, 0, "agent.caCert",
			      "must hold a PEM certificate");
	sp->agent_ca = v;
	v = agent_str(a, "token", FL_AGENT_TOKEN_MAX - 1, errs);
	if (v && fl_agent_token_peek(v, &claims) != FL_AGENT_OK)
		fl_errors_add(errs, 0, "agent.token",
			      "is not a faultline agent token");
	sp->agent_token = v;
	v = agent_str(a, "proofKey", 64, errs);
	if (v && fl_agent_b64url_decode(v, strlen(v), key, sizeof(key)) !=
			 FL_AGENT_KEY_LEN)
		fl_errors_add(errs, 0, "agent.proofKey",
			      "must be base64url of %d bytes",
			      FL_AGENT_KEY_LEN);
	sp->agent_proof_key = v;
	sp->agent_grace_s = FL_SPEC_AGENT_GRACE_S;
	g = fl_json_get(a, "graceSeconds");
	if (g &&
	    (!json_object_is_type(g, json_type_int) ||
	     json_object_get_int64(g) < 1 || json_object_get_int64(g) > 3600))
		fl_errors_add(errs, 0, "agent.graceSeconds",
			      "must be an integer from 1 to 3600");
	else if (g)
		sp->agent_grace_s = (int)json_object_get_int64(g);
}

/* One fault: its kind must have an engine here, its params must pass the
 * CRD's schema, then the kind's own parse(). */
static void parse_fault(struct fl_spec *sp, size_t i,
			const struct fl_schema *schema, struct fl_errors *errs)
{
	static const char *const keys[] = {"kind", "params"};
	struct json_object *f =
		json_object_array_get_idx(fl_json_get(sp->doc, "faults"), i);
	struct fl_spec_fault *sf = &sp->faults[i];
	struct json_object *params;
	const char *kind;
	char path[64], ppath[128];
	size_t before = errs->n + errs->dropped;

	snprintf(path, sizeof(path), "faults[%zu]", i);
	if (!json_object_is_type(f, json_type_object)) {
		fl_errors_add(errs, 0, path, "must be an object");
		return;
	}
	check_keys(f, keys, 2, path, errs);
	kind = fl_json_str(f, "kind");
	snprintf(ppath, sizeof(ppath), "%s.kind", path);
	if (!kind) {
		fl_errors_add(errs, 0, ppath, "required string is missing");
		return;
	}
	sf->ops = fl_fault_ops_find(kind);
	if (!sf->ops) {
		fl_errors_add(errs, 0, ppath,
			      "unknown fault kind '%.64s' (or one the sidecar "
			      "does not inject)",
			      kind);
		return;
	}
	params = fl_json_get(f, "params");
	if (!params) {
		params = json_object_new_object();
		json_object_object_add(f, "params", params);
	}
	snprintf(ppath, sizeof(ppath), "%s.params", path);
	if (fl_schema_validate_fault_params(schema, kind, params, ppath, errs) <
		    0 ||
	    errs->n + errs->dropped != before)
		return;
	sf->state = fl_calloc(1, sf->ops->state_size ? sf->ops->state_size : 1);
	if (sf->ops->parse(params, sf->state, errs) == 0)
		sf->parsed = 1;
	else if (errs->n + errs->dropped == before)
		fl_errors_add(errs, 0, ppath, "refused by %s", kind);
}

static void parse_faults(struct fl_spec *sp, struct fl_errors *errs)
{
	struct json_object *fs = fl_json_get(sp->doc, "faults");
	struct fl_errors serrs = {0};
	const struct fl_schema *schema;
	size_t i, n;

	if (!json_object_is_type(fs, json_type_array) ||
	    (n = json_object_array_length(fs)) == 0 || n > FL_SPEC_MAX_FAULTS) {
		fl_errors_add(errs, 0, "faults",
			      "must be a list of 1 to %d faults",
			      FL_SPEC_MAX_FAULTS);
		return;
	}
	schema = fl_schema_experiment(&serrs);
	if (!schema) {
		fl_errors_add(errs, 0, "faults", "%s", serrs.e[0].msg);
		return;
	}
	sp->faults = fl_calloc(n, sizeof(*sp->faults));
	sp->nfaults = n;
	for (i = 0; i < n; i++)
		parse_fault(sp, i, schema, errs);
}

int fl_spec_parse(const char *text, struct fl_spec *sp, struct fl_errors *errs)
{
	struct json_tokener *tok = json_tokener_new();
	size_t before = errs->n + errs->dropped;
	size_t len = strlen(text);

	memset(sp, 0, sizeof(*sp));
	sp->doc = json_tokener_parse_ex(tok, text, (int)len);
	if (!sp->doc ||
	    text[json_tokener_get_parse_end(tok) +
		 strspn(text + json_tokener_get_parse_end(tok), " \t\r\n")] ||
	    json_tokener_get_error(tok) != json_tokener_success) {
		fl_errors_add(
			errs, 0, NULL, "spec is not JSON: %s",
			json_tokener_error_desc(json_tokener_get_error(tok)));
		json_tokener_free(tok);
		fl_spec_release(sp);
		return -1;
	}
	json_tokener_free(tok);
	if (!json_object_is_type(sp->doc, json_type_object)) {
		fl_errors_add(errs, 0, NULL, "spec must be a JSON object");
		fl_spec_release(sp);
		return -1;
	}
	check_keys(sp->doc, top_keys, sizeof(top_keys) / sizeof(top_keys[0]),
		   "", errs);
	parse_head(sp, errs);
	parse_target(sp, errs);
	parse_control(sp, errs);
	parse_agent(sp, errs);
	parse_faults(sp, errs);
	if (errs->n + errs->dropped == before)
		return 0;
	fl_spec_release(sp);
	return -1;
}

void fl_spec_release(struct fl_spec *sp)
{
	size_t i;

	for (i = 0; i < sp->nfaults; i++) {
		struct fl_spec_fault *f = &sp->faults[i];

		if (f->parsed && f->ops->release)
			f->ops->release(f->state);
		free(f->state);
	}
	free(sp->faults);
	json_object_put(sp->doc);
	memset(sp, 0, sizeof(*sp));
}
