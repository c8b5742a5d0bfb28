#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <json-c/json.h>

#include "agent_proto.h"

/* Objects nest at most three deep (status -> faults -> one fault, whose
 * values json-c counts as one more level); anything deeper is refused by
 * the tokener itself, without recursion. */
#define MAX_DEPTH 4

static const char *const type_names[FL_AGENT_MSG_N] = {
	[FL_AGENT_MSG_CHALLENGE] = "challenge",
	[FL_AGENT_MSG_WELCOME] = "welcome",
	[FL_AGENT_MSG_HEARTBEAT] = "heartbeat",
	[FL_AGENT_MSG_ORDER] = "order",
	[FL_AGENT_MSG_BYE] = "bye",
	[FL_AGENT_MSG_HELLO] = "hello",
	[FL_AGENT_MSG_STATUS] = "status",
};

static const char *const state_names[FL_AGENT_STATE_N] = {
	[FL_AGENT_STATE_NONE] = "none",
	[FL_AGENT_STATE_APPLYING] = "applying",
	[FL_AGENT_STATE_ACTIVE] = "active",
	[FL_AGENT_STATE_REVERTING] = "reverting",
	[FL_AGENT_STATE_REVERTED] = "reverted",
	[FL_AGENT_STATE_FAILED] = "failed",
};

static const char *const fault_states[] = {"pending", "applied", "reverted",
					   "failed"};

/* The fields each type carries besides "type"; every one is required
 * except those marked optional in parse_fields(). */
static const char *const type_keys[FL_AGENT_MSG_N][4] = {
	[FL_AGENT_MSG_CHALLENGE] = {"challenge"},
	[FL_AGENT_MSG_WELCOME] = {"inj", "heartbeat"},
	[FL_AGENT_MSG_HEARTBEAT] = {"ts"},
	[FL_AGENT_MSG_ORDER] = {"inj", "order", "reason"},
	[FL_AGENT_MSG_BYE] = {"reason"},
	[FL_AGENT_MSG_HELLO] = {"token", "proof", "ts"},
	[FL_AGENT_MSG_STATUS] = {"state", "faults", "message"},
};

const char *fl_agent_msg_type_name(enum fl_agent_msg_type t)
{
	return (unsigned)t < FL_AGENT_MSG_N ? type_names[t] : "unknown";
}

const char *fl_agent_order_name(enum fl_agent_order o)
{
	return o == FL_AGENT_ORDER_REVERT  ? "revert"
	       : o == FL_AGENT_ORDER_ABORT ? "abort"
					   : "unknown";
}

const char *fl_agent_state_name(enum fl_agent_state s)
{
	return (unsigned)s < FL_AGENT_STATE_N ? state_names[s] : "unknown";
}

int fl_agent_msg_from_injector(enum fl_agent_msg_type t)
{
	return t == FL_AGENT_MSG_HELLO || t == FL_AGENT_MSG_HEARTBEAT ||
	       t == FL_AGENT_MSG_STATUS;
}

int fl_agent_msg_from_operator(enum fl_agent_msg_type t)
{
	return t == FL_AGENT_MSG_CHALLENGE || t == FL_AGENT_MSG_WELCOME ||
	       t == FL_AGENT_MSG_HEARTBEAT || t == FL_AGENT_MSG_ORDER ||
	       t == FL_AGENT_MSG_BYE;
}

static int fail(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- parsing ---- */

struct parse {
	struct json_object *o;
	const char *type; /* for error paths */
	char *err;
	size_t errlen;
};

/* Copies string field key into out (n bytes).  Required unless optional;
 * a string with a NUL inside or longer than n - 1 is refused. */
static int get_str(struct parse *p, struct json_object *o, const char *path,
		   const char *key, char *out, size_t n, int optional)
{
	struct json_object *v;
	size_t len;

	out[0] = '\0';
	if (!json_object_object_get_ex(o, key, &v)) {
		if (optional)
			return 0;
		return fail(p->err, p->errlen,
			    "%s.%s: required field is missing", path, key);
	}
	if (!json_object_is_type(v, json_type_string))
		return fail(p->err, p->errlen, "%s.%s: must be a string", path,
			    key);
	len = (size_t)json_object_get_string_len(v);
	if (len >= n)
		return fail(p->err, p->errlen,
			    "%s.%s: longer than %zu characters", path, key,
			    n - 1);
	memcpy(out, json_object_get_string(v), len + 1);
	if (strlen(out) != len)
		return fail(p->err, p->errlen, "%s.%s: holds a NUL character",
			    path, key);
	return 0;
}

static int get_int(struct parse *p, const char *key, int64_t min, int64_t max,
		   int64_t *out)
{
	struct json_object *v;

	if (!json_object_object_get_ex(p->o, key, &v))
		return fail(p->err, p->errlen,
			    "%s.%s: required field is missing", p->type, key);
	if (!json_object_is_type(v, json_type_int))
		return fail(p->err, p->errlen, "%s.%s: must be an integer",
			    p->type, key);
	errno = 0;
	*out = json_object_get_int64(v);
	if (errno || *out < min || *out > max)
		return fail(p->err, p->errlen,
			    "%s.%s: must be between %lld and %lld", p->type,
			    key, (long long)min, (long long)max);
	return 0;
}

/* Finds name in a table of n names; -1 when absent. */
static int lookup(const char *const *names, size_t n, const char *name)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (names[i] && strcmp(names[i], name) == 0)
			return (int)i;
	return -1;
}

static int check_keys(struct parse *p, struct json_object *o, const char *path,
		      const char *const *keys, size_t n)
{
	json_object_object_foreach(o, k, v)
	{
		(void)v;
		if (o == p->o && strcmp(k, "type") == 0)
			continue;
		if (lookup(keys, n, k) < 0)
			return fail(p->err, p->errlen,
				    "%s.%.64s: unknown field", path, k);
	}
	return 0;
}

static int parse_faults(struct parse *p, struct fl_agent_msg *m)
{
	static const char *const keys[] = {"kind", "state"};
	struct json_object *arr, *f;
	char path[48];
	size_t i, n;

	if (!json_object_object_get_ex(p->o, "faults", &arr))
		return fail(p->err, p->errlen,
			    "status.faults: required field is missing");
	if (!json_object_is_type(arr, json_type_array))
		return fail(p->err, p->errlen, "status.faults: must be a list");
	n = json_object_array_length(arr);
	if (n > FL_AGENT_MAX_FAULTS)
		return fail(p->err, p->errlen,
			    "status.faults: more than %d entries",
			    FL_AGENT_MAX_FAULTS);
	for (i = 0; i < n; i++) {
		f = json_object_array_get_idx(arr, i);
		snprintf(path, sizeof(path), "status.faults[%zu]", i);
		if (!json_object_is_type(f, json_type_object))
			return fail(p->err, p->errlen, "%s: must be an object",
				    path);
		if (check_keys(p, f, path, keys, 2) < 0 ||
		    get_str(p, f, path, "kind", m->faults[i].kind,
			    sizeof(m->faults[i].kind), 0) < 0 ||
		    get_str(p, f, path, "state", m->faults[i].state,
			    sizeof(m->faults[i].state), 0) < 0)
			return -1;
		if (lookup(fault_states, 4, m->faults[i].state) < 0)
			return fail(p->err, p->errlen,
				    "%s.state: '%.16s' is not one of pending, "
				    "applied, reverted, failed",
				    path, m->faults[i].state);
	}
	m->nfaults = n;
	return 0;
}

static int parse_order(struct parse *p, struct fl_agent_msg *m)
{
	char order[16];

	if (get_str(p, p->o, "order", "inj", m->inj, sizeof(m->inj), 0) < 0 ||
	    get_str(p, p->o, "order", "order", order, sizeof(order), 0) < 0 ||
	    get_str(p, p->o, "order", "reason", m->reason, sizeof(m->reason),
		    1) < 0)
		return -1;
	if (!m->inj[0])
		return fail(p->err, p->errlen, "order.inj: must not be empty");
	if (strcmp(order, "revert") == 0)
		m->order = FL_AGENT_ORDER_REVERT;
	else if (strcmp(order, "abort") == 0)
		m->order = FL_AGENT_ORDER_ABORT;
	else
		return fail(p->err, p->errlen,
			    "order.order: '%s' is not one of revert, abort",
			    order);
	return 0;
}

static int parse_status(struct parse *p, struct fl_agent_msg *m)
{
	char state[16];
	int s;

	if (get_str(p, p->o, "status", "state", state, sizeof(state), 0) < 0)
		return -1;
	s = lookup(state_names, FL_AGENT_STATE_N, state);
	if (s <= FL_AGENT_STATE_NONE)
		return fail(p->err, p->errlen,
			    "status.state: '%s' is not one of applying, "
			    "active, reverting, reverted, failed",
			    state);
	m->state = (enum fl_agent_state)s;
	if (json_object_object_get_ex(p->o, "faults", NULL) &&
	    parse_faults(p, m) < 0)
		return -1;
	return get_str(p, p->o, "status", "message", m->message,
		       sizeof(m->message), 1);
}

/* The fields of m's type, already known to be the only ones present. */
static int parse_fields(struct parse *p, struct fl_agent_msg *m)
{
	int64_t v;

	switch (m->type) {
	case FL_AGENT_MSG_CHALLENGE:
		if (get_str(p, p->o, "challenge", "challenge", m->challenge,
			    sizeof(m->challenge), 0) < 0)
			return -1;
		if (!m->challenge[0])
			return fail(p->err, p->errlen,
				    "challenge.challenge: must not be empty");
		return 0;
	case FL_AGENT_MSG_WELCOME:
		if (get_str(p, p->o, "welcome", "inj", m->inj, sizeof(m->inj),
			    0) < 0 ||
		    get_int(p, "heartbeat", 1, 3600, &v) < 0)
			return -1;
		m->heartbeat_s = (int)v;
		return 0;
	case FL_AGENT_MSG_HEARTBEAT:
		return get_int(p, "ts", 0, INT64_MAX / 2, &m->ts);
	case FL_AGENT_MSG_ORDER:
		return parse_order(p, m);
	case FL_AGENT_MSG_BYE:
		return get_str(p, p->o, "bye", "reason", m->reason,
			       sizeof(m->reason), 0);
	case FL_AGENT_MSG_HELLO:
		if (get_str(p, p->o, "hello", "token", m->token,
			    sizeof(m->token), 0) < 0 ||
		    get_str(p, p->o, "hello", "proof", m->proof,
			    sizeof(m->proof), 0) < 0)
			return -1;
		return get_int(p, "ts", 0, INT64_MAX / 2, &m->ts);
	case FL_AGENT_MSG_STATUS:
		return parse_status(p, m);
	default:
		return fail(p->err, p->errlen, "unknown message type");
	}
}

int fl_agent_msg_parse(const char *text, size_t len, struct fl_agent_msg *m,
		       char *err, size_t errlen)
{
	struct parse p = {.err = err, .errlen = errlen};
	struct json_tokener *tok = NULL;
	char type[16];
	size_t end;
	int t, rc = -1;

	memset(m, 0, sizeof(*m));
	if (len > FL_AGENT_FRAME_MAX) {
		fail(err, errlen, "message: %zu bytes is more than %d", len,
		     FL_AGENT_FRAME_MAX);
		goto out;
	}
	if (memchr(text, '\0', len)) {
		fail(err, errlen, "message: holds a NUL byte");
		goto out;
	}
	tok = json_tokener_new_ex(MAX_DEPTH);
	p.o = tok ? json_tokener_parse_ex(tok, text, (int)len) : NULL;
	if (!p.o) {
		fail(err, errlen, "message: not JSON: %s",
		     tok ? json_tokener_error_desc(json_tokener_get_error(tok))
			 : "out of memory");
		goto out;
	}
	for (end = json_tokener_get_parse_end(tok);
	     end < len && strchr(" \t\r\n", text[end]); end++)
		;
	if (end != len) {
		fail(err, errlen, "message: text after the JSON object");
		goto out;
	}
	if (!json_object_is_type(p.o, json_type_object)) {
		fail(err, errlen, "message: must be a JSON object");
		goto out;
	}
	p.type = "message";
	if (get_str(&p, p.o, "message", "type", type, sizeof(type), 0) < 0)
		goto out;
	t = lookup(type_names, FL_AGENT_MSG_N, type);
	if (t < 0) {
		fail(err, errlen, "message.type: unknown type '%s'", type);
		goto out;
	}
	m->type = (enum fl_agent_msg_type)t;
	p.type = type_names[t];
	if (check_keys(&p, p.o, p.type, type_keys[t], 4) < 0)
		goto out;
	rc = parse_fields(&p, m);
out:
	if (rc < 0)
		memset(m, 0, sizeof(*m));
	json_object_put(p.o);
	if (tok)
		json_tokener_free(tok);
	return rc;
}

/* ---- formatting ---- */

static void add_str(struct json_object *o, const char *key, const char *v)
{
	json_object_object_add(o, key, json_object_new_string(v));
}

/* Checks what the receiver would refuse, so that we never send it. */
static int format_check(const struct fl_agent_msg *m, char *err, size_t errlen)
{
	size_t i;

	if ((unsigned)m->type >= FL_AGENT_MSG_N)
		return fail(err, errlen, "message: unknown type %d", m->type);
	if (m->type == FL_AGENT_MSG_CHALLENGE && !m->challenge[0])
		return fail(err, errlen, "challenge.challenge: empty");
	if ((m->type == FL_AGENT_MSG_ORDER ||
	     m->type == FL_AGENT_MSG_WELCOME) &&
	    !m->inj[0])
		return fail(err, errlen, "%s.inj: empty", type_names[m->type]);
	if (m->type == FL_AGENT_MSG_WELCOME &&
	    (m->heartbeat_s < 1 || m->heartbeat_s > 3600))
		return fail(err, errlen,
			    "welcome.heartbeat: must be between 1 and 3600");
	if (m->type == FL_AGENT_MSG_ORDER &&
	    m->order != FL_AGENT_ORDER_REVERT &&
	    m->order != FL_AGENT_ORDER_ABORT)
		return fail(err, errlen, "order.order: unknown order %d",
			    m->order);
	if (m->type == FL_AGENT_MSG_STATUS &&
	    (m->state <= FL_AGENT_STATE_NONE || m->state >= FL_AGENT_STATE_N))
		return fail(err, errlen, "status.state: unknown state %d",
			    m->state);
	if (m->type == FL_AGENT_MSG_STATUS && m->nfaults > FL_AGENT_MAX_FAULTS)
		return fail(err, errlen, "status.faults: more than %d entries",
			    FL_AGENT_MAX_FAULTS);
	for (i = 0; m->type == FL_AGENT_MSG_STATUS && i < m->nfaults; i++)
		if (lookup(fault_states, 4, m->faults[i].state) < 0)
			return fail(err, errlen,
				    "status.faults[%zu].state: unknown state",
				    i);
	return 0;
}

static struct json_object *status_faults(const struct fl_agent_msg *m)
{
	struct json_object *arr = json_object_new_array(), *f;
	size_t i;

	for (i = 0; i < m->nfaults; i++) {
		f = json_object_new_object();
		add_str(f, "kind", m->faults[i].kind);
		add_str(f, "state", m->faults[i].state);
		json_object_array_add(arr, f);
	}
	return arr;
}

static void format_fields(const struct fl_agent_msg *m, struct json_object *o)
{
	switch (m->type) {
	case FL_AGENT_MSG_CHALLENGE:
		add_str(o, "challenge", m->challenge);
		break;
	case FL_AGENT_MSG_WELCOME:
		add_str(o, "inj", m->inj);
		json_object_object_add(o, "heartbeat",
				       json_object_new_int(m->heartbeat_s));
		break;
	case FL_AGENT_MSG_HEARTBEAT:
		json_object_object_add(o, "ts", json_object_new_int64(m->ts));
		break;
	case FL_AGENT_MSG_ORDER:
		add_str(o, "inj", m->inj);
		add_str(o, "order", fl_agent_order_name(m->order));
		add_str(o, "reason", m->reason);
		break;
	case FL_AGENT_MSG_BYE:
		add_str(o, "reason", m->reason);
		break;
	case FL_AGENT_MSG_HELLO:
		add_str(o, "token", m->token);
		add_str(o, "proof", m->proof);
		json_object_object_add(o, "ts", json_object_new_int64(m->ts));
		break;
	case FL_AGENT_MSG_STATUS:
		add_str(o, "state", fl_agent_state_name(m->state));
		json_object_object_add(o, "faults", status_faults(m));
		add_str(o, "message", m->message);
		break;
	default:
		break;
	}
}

int fl_agent_msg_format(const struct fl_agent_msg *m, struct fl_buf *out,
			char *err, size_t errlen)
{
	struct json_object *o;
	const char *text;
	size_t len;
	int rc = -1;

	fl_buf_reset(out);
	if (format_check(m, err, errlen) < 0)
		return -1;
	o = json_object_new_object();
	add_str(o, "type", type_names[m->type]);
	format_fields(m, o);
	text = json_object_to_json_string_ext(
		o, JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE);
	len = strlen(text);
	if (len > FL_AGENT_FRAME_MAX)
		fail(err, errlen, "%s: %zu bytes is more than %d",
		     type_names[m->type], len, FL_AGENT_FRAME_MAX);
	else if (fl_buf_add(out, text, len) < 0)
		fail(err, errlen, "%s: %zu bytes do not fit the buffer",
		     type_names[m->type], len);
	else
		rc = 0;
	json_object_put(o);
	return rc;
}
