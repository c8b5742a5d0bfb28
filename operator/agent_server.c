#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libwebsockets.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>

#include "agent_server.h"
#include "alloc.h"
#include "buf.h"
#include "log.h"

#define PROTOCOL_NAME "faultline-agent-v1"

/* What a connection still has to write, a bit each, in this order. */
enum {
	WANT_CHALLENGE = 1 << 0,
	WANT_WELCOME = 1 << 1,
	WANT_BYE = 1 << 2,
	WANT_ORDER = 1 << 3,
	WANT_HEARTBEAT = 1 << 4,
	WANT_CLOSE = 1 << 5, /* the bye went out: close now */
};

enum phase { PHASE_HELLO, PHASE_LIVE, PHASE_CLOSING };

struct session {
	int used;
	struct fl_agent_session_info info;
	struct lws *wsi; /* the live connection; server thread only */
	enum fl_agent_order order;
	char order_reason[128];
	int64_t heartbeat_ms; /* last heartbeat sent */
	uint64_t seq;	      /* for evicting the oldest closed */
};

/* Per connection (lws allocates and zeroes it). */
struct conn {
	enum phase phase;
	unsigned want;
	char challenge[FL_AGENT_CHALLENGE_LEN];
	char peer[64];
	char bye[64];	  /* the refusal's name, or "shutdown" */
	long slot;	  /* session index when live, else -1 */
	struct fl_buf rx; /* a message in fragments */
	int rx_init;
};

struct fl_agent_server {
	lws_sorted_usec_list_t tick; /* first: the tick finds us from it */
	struct fl_agent_server_config cfg;
	uint8_t master[256];
	struct lws_context *ctx;
	struct lws_vhost *vh;
	int port;
	pthread_t thread;
	int started;
	int stopping;	    /* atomic */
	pthread_mutex_t mu; /* guards sessions[] and nseq */
	struct session *sessions;
	uint64_t nseq;
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int64_t unix_now(void)
{
	return (int64_t)time(NULL);
}

/* ---- events ---- */

static void emit(struct fl_agent_server *s, enum fl_agent_event_type type,
		 const struct fl_agent_session_info *info,
		 enum fl_agent_refusal refusal, const char *peer,
		 const char *detail)
{
	struct fl_agent_event ev = {
		.type = type,
		.session = info,
		.refusal = refusal,
		.peer = peer ? peer : "",
		.detail = detail ? detail : "",
	};

	if (s->cfg.on_event)
		s->cfg.on_event(&ev, s->cfg.arg);
}

/* ---- the table (callers hold s->mu) ---- */

static long find(struct fl_agent_server *s, const char *inj)
{
	size_t i;

	for (i = 0; i < s->cfg.max_sessions; i++)
		if (s->sessions[i].used &&
		    strcmp(s->sessions[i].info.claims.inj, inj) == 0)
			return (long)i;
	return -1;
}

/* A slot for a new session: a free one, else the oldest closed one; -1
 * when every slot holds a live session. */
static long take_slot(struct fl_agent_server *s)
{
	long best = -1;
	size_t i;

	for (i = 0; i < s->cfg.max_sessions; i++) {
		struct session *e = &s->sessions[i];

		if (!e->used)
			return (long)i;
		if (!e->info.live &&
		    (best < 0 || e->seq < s->sessions[best].seq))
			best = (long)i;
	}
	return best;
}

/* ---- writing ---- */

static int send_msg(struct lws *wsi, const struct fl_agent_msg *m)
{
	unsigned char *frame;
	struct fl_buf b;
	char err[128];
	int rc = -1;

	fl_buf_init(&b, FL_AGENT_FRAME_MAX);
	if (fl_agent_msg_format(m, &b, err, sizeof(err)) < 0) {
		fl_warn("agent: cannot format %s: %s",
			fl_agent_msg_type_name(m->type), err);
		goto out;
	}
	frame = fl_malloc(LWS_PRE + b.len);
	memcpy(frame + LWS_PRE, b.data, b.len);
	if (lws_write(wsi, frame + LWS_PRE, b.len, LWS_WRITE_TEXT) ==
	    (int)b.len)
		rc = 0;
	free(frame);
out:
	fl_buf_release(&b);
	return rc;
}

/* Nonzero when c's session has an order to send. */
static int order_waits(struct fl_agent_server *s, const struct conn *c)
{
	int pending;

	if (c->phase != PHASE_LIVE)
		return 0;
	pthread_mutex_lock(&s->mu);
	pending = s->sessions[c->slot].info.order_pending;
	pthread_mutex_unlock(&s->mu);
	return pending;
}

/* Fills m with what a live connection should write next: its welcome, a
 * queued order, a heartbeat.  Returns 0 when there is nothing; 2 for an
 * order (snap then holds the session). */
static int next_live(struct fl_agent_server *s, struct conn *c,
		     struct fl_agent_msg *m, struct fl_agent_session_info *snap)
{
	struct session *e;
	int rc = 1;

	pthread_mutex_lock(&s->mu);
	e = &s->sessions[c->slot];
	if (c->want & WANT_WELCOME) {
		c->want &= ~WANT_WELCOME;
		m->type = FL_AGENT_MSG_WELCOME;
		snprintf(m->inj, sizeof(m->inj), "%s", e->info.claims.inj);
		m->heartbeat_s = s->cfg.heartbeat_s;
	} else if (e->info.order_pending) {
		e->info.order_pending = 0;
		e->info.orders_sent++;
		e->info.changes++;
		m->type = FL_AGENT_MSG_ORDER;
		m->order = e->order;
		snprintf(m->inj, sizeof(m->inj), "%s", e->info.claims.inj);
		snprintf(m->reason, sizeof(m->reason), "%s", e->order_reason);
		*snap = e->info;
		rc = 2;
	} else if (c->want & WANT_HEARTBEAT) {
		c->want &= ~WANT_HEARTBEAT;
		m->type = FL_AGENT_MSG_HEARTBEAT;
		m->ts = unix_now();
		e->heartbeat_ms = now_ms();
	} else {
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	return rc;
}

/* Writes the most urgent thing c wants; returns -1 to close. */
static int writable(struct fl_agent_server *s, struct lws *wsi, struct conn *c)
{
	struct fl_agent_session_info snap;
	struct fl_agent_msg m;
	int sent_order = 0;

	memset(&m, 0, sizeof(m));
	if (c->want & WANT_CLOSE)
		return -1;
	if (c->want & WANT_CHALLENGE) {
		c->want &= ~WANT_CHALLENGE;
		m.type = FL_AGENT_MSG_CHALLENGE;
		memcpy(m.challenge, c->challenge, sizeof(m.challenge));
	} else if (c->want & WANT_BYE) {
		c->want = WANT_CLOSE;
		m.type = FL_AGENT_MSG_BYE;
		snprintf(m.reason, sizeof(m.reason), "%s", c->bye);
	} else if (c->phase != PHASE_LIVE) {
		return 0;
	} else {
		sent_order = next_live(s, c, &m, &snap);
		if (!sent_order)
			return 0;
		sent_order = sent_order == 2;
	}
	if (send_msg(wsi, &m) < 0)
		return -1;
	if (sent_order)
		emit(s, FL_AGENT_EV_ORDER, &snap, FL_AGENT_OK, c->peer,
		     fl_agent_order_name(m.order));
	if (c->want || order_waits(s, c))
		lws_callback_on_writable(wsi);
	return 0;
}

/* ---- reading ---- */

/* Refuses the connection: a bye with the reason, then close. */
static void refuse(struct fl_agent_server *s, struct lws *wsi, struct conn *c,
		   enum fl_agent_refusal r,
		   const struct fl_agent_session_info *info, const char *detail)
{
	snprintf(c->bye, sizeof(c->bye), "%s", fl_agent_refusal_name(r));
	c->want = WANT_BYE;
	c->phase = PHASE_CLOSING; /* nothing more is read or sent */
	lws_callback_on_writable(wsi);
	emit(s, FL_AGENT_EV_REFUSED, info, r, c->peer, detail);
}

static void hello(struct fl_agent_server *s, struct lws *wsi, struct conn *c,
		  const struct fl_agent_msg *m)
{
	struct fl_agent_session_info snap;
	uint8_t key[FL_AGENT_KEY_LEN];
	struct fl_agent_claims cl;
	enum fl_agent_refusal r;
	struct session *e;
	long slot;

	memset(&snap, 0, sizeof(snap));
	r = fl_agent_token_verify(s->master, s->cfg.master_len, m->token,
				  unix_now(), &cl, key);
	if (r != FL_AGENT_OK) {
		refuse(s, wsi, c, r, NULL, "token refused");
		return;
	}
	snap.claims = cl;
	snprintf(snap.peer, sizeof(snap.peer), "%s", c->peer);
	r = fl_agent_proof_check(key, c->challenge, m->ts, m->proof,
				 unix_now());
	OPENSSL_cleanse(key, sizeof(key));
	if (r != FL_AGENT_OK) {
		refuse(s, wsi, c, r, &snap, "proof refused");
		return;
	}

	pthread_mutex_lock(&s->mu);
	slot = find(s, cl.inj);
	if (slot >= 0 && s->sessions[slot].info.live) {
		snap = s->sessions[slot].info;
		pthread_mutex_unlock(&s->mu);
		refuse(s, wsi, c, FL_AGENT_IN_USE, &snap,
		       "another connection holds this injection");
		return;
	}
	if (slot < 0)
		slot = take_slot(s);
	if (slot < 0) {
		pthread_mutex_unlock(&s->mu);
		refuse(s, wsi, c, FL_AGENT_FULL, &snap, "session table full");
		return;
	}
	e = &s->sessions[slot];
	if (!e->used || strcmp(e->info.claims.inj, cl.inj) != 0) {
		/* A new session (or a closed one evicted): start clean. */
		memset(e, 0, sizeof(*e));
		e->used = 1;
	}
	e->info.claims = cl;
	snprintf(e->info.peer, sizeof(e->info.peer), "%s", c->peer);
	e->info.live = 1;
	e->info.closed_why[0] = '\0';
	e->info.welcomed_ms = e->info.last_rx_ms = now_ms();
	e->info.changes++;
	e->heartbeat_ms = e->info.welcomed_ms;
	e->wsi = wsi;
	e->seq = ++s->nseq;
	snap = e->info;
	pthread_mutex_unlock(&s->mu);

	c->slot = slot;
	c->phase = PHASE_LIVE;
	c->want |= WANT_WELCOME;
	lws_set_timeout(wsi, NO_PENDING_TIMEOUT, 0);
	lws_callback_on_writable(wsi);
	emit(s, FL_AGENT_EV_WELCOMED, &snap, FL_AGENT_OK, c->peer, "welcome");
}

static void status(struct fl_agent_server *s, struct conn *c,
		   const struct fl_agent_msg *m)
{
	struct fl_agent_session_info snap;
	struct session *e;

	pthread_mutex_lock(&s->mu);
	e = &s->sessions[c->slot];
	e->info.state = m->state;
	memcpy(e->info.faults, m->faults, sizeof(m->faults));
	e->info.nfaults = m->nfaults;
	memcpy(e->info.message, m->message, sizeof(m->message));
	e->info.changes++;
	snap = e->info;
	pthread_mutex_unlock(&s->mu);
	emit(s, FL_AGENT_EV_STATUS, &snap, FL_AGENT_OK, c->peer,
	     fl_agent_state_name(m->state));
}

/* One whole message from the injector. */
static void received(struct fl_agent_server *s, struct lws *wsi, struct conn *c,
		     const char *text, size_t len)
{
	struct fl_agent_msg *m = fl_malloc(sizeof(*m));
	char err[256];

	if (c->phase == PHASE_CLOSING)
		goto out;
	if (fl_agent_msg_parse(text, len, m, err, sizeof(err)) < 0) {
		refuse(s, wsi, c, FL_AGENT_PROTOCOL, NULL, err);
		goto out;
	}
	if (!fl_agent_msg_from_injector(m->type) ||
	    (c->phase == PHASE_HELLO) != (m->type == FL_AGENT_MSG_HELLO)) {
		snprintf(err, sizeof(err), "%s out of turn",
			 fl_agent_msg_type_name(m->type));
		refuse(s, wsi, c, FL_AGENT_PROTOCOL, NULL, err);
		goto out;
	}
	if (m->type == FL_AGENT_MSG_HELLO) {
		hello(s, wsi, c, m);
		goto out;
	}
	pthread_mutex_lock(&s->mu);
	s->sessions[c->slot].info.last_rx_ms = now_ms();
	if (m->type == FL_AGENT_MSG_HEARTBEAT)
		s->sessions[c->slot].info.heartbeats_rx++;
	pthread_mutex_unlock(&s->mu);
	if (m->type == FL_AGENT_MSG_STATUS)
		status(s, c, m);
out:
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
}

static void receive(struct fl_agent_server *s, struct lws *wsi, struct conn *c,
		    const void *in, size_t len)
{
	if (!c->rx_init) {
		fl_buf_init(&c->rx, FL_AGENT_FRAME_MAX);
		c->rx_init = 1;
	}
	if (lws_frame_is_binary(wsi)) {
		refuse(s, wsi, c, FL_AGENT_PROTOCOL, NULL,
		       "binary frames are not spoken here");
		return;
	}
	if (fl_buf_add(&c->rx, in, len) < 0) {
		fl_buf_reset(&c->rx);
		refuse(s, wsi, c, FL_AGENT_PROTOCOL, NULL,
		       "message larger than 65536 bytes");
		return;
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return;
	received(s, wsi, c, c->rx.data, c->rx.len);
	fl_buf_reset(&c->rx);
}

/* ---- connections ---- */

static void established(struct fl_agent_server *s, struct lws *wsi,
			struct conn *c)
{
	memset(c, 0, sizeof(*c));
	c->slot = -1;
	lws_get_peer_simple(wsi, c->peer, sizeof(c->peer));
	lws_set_timeout(wsi, PENDING_TIMEOUT_USER_OK, s->cfg.hello_s);
	if (fl_agent_challenge(c->challenge) < 0) {
		/* Without randomness no challenge is worth anything. */
		fl_error("agent: no randomness for a challenge; closing %s",
			 c->peer);
		c->want = WANT_CLOSE;
	} else {
		c->want = WANT_CHALLENGE;
	}
	lws_callback_on_writable(wsi);
}

static void closed(struct fl_agent_server *s, struct conn *c)
{
	struct fl_agent_session_info snap;
	struct session *e;
	int live = 0;

	if (c->rx_init)
		fl_buf_release(&c->rx);
	c->rx_init = 0;
	if (c->slot < 0) /* never welcomed */
		return;
	pthread_mutex_lock(&s->mu);
	e = &s->sessions[c->slot];
	if (e->info.live) {
		e->info.live = 0;
		e->info.order_pending = 0;
		e->info.changes++;
		if (!e->info.closed_why[0])
			snprintf(e->info.closed_why, sizeof(e->info.closed_why),
				 "%s",
				 __atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)
					 ? "shutdown"
					 : "closed");
		e->wsi = NULL;
		snap = e->info;
		live = 1;
	}
	pthread_mutex_unlock(&s->mu);
	c->phase = PHASE_CLOSING;
	if (live)
		emit(s, FL_AGENT_EV_CLOSED, &snap, FL_AGENT_OK, c->peer,
		     snap.closed_why);
}

/* On the server thread after lws_cancel_service() or a tick: asks to
 * write where an order waits. */
static void wake_orders(struct fl_agent_server *s)
{
	size_t i;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->cfg.max_sessions; i++)
		if (s->sessions[i].used && s->sessions[i].wsi &&
		    s->sessions[i].info.order_pending)
			lws_callback_on_writable(s->sessions[i].wsi);
	pthread_mutex_unlock(&s->mu);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct fl_agent_server *s = lws_context_user(lws_get_context(wsi));
	struct conn *c = user;

	switch (reason) {
	case LWS_CALLBACK_ESTABLISHED:
		established(s, wsi, c);
		return 0;
	case LWS_CALLBACK_RECEIVE:
		receive(s, wsi, c, in, len);
		return 0;
	case LWS_CALLBACK_SERVER_WRITEABLE:
		return writable(s, wsi, c);
	case LWS_CALLBACK_CLOSED:
		closed(s, c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		wake_orders(s);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{
		.name = PROTOCOL_NAME,
		.callback = callback,
		.per_session_data_size = sizeof(struct conn),
		.rx_buffer_size = 16384,
	},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* ---- the tick: heartbeats and silence ---- */

static void tick(lws_sorted_usec_list_t *sul)
{
	struct fl_agent_server *s = (struct fl_agent_server *)sul;
	struct fl_agent_session_info snaps[8];
	int64_t now = now_ms();
	size_t i, n = 0;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->cfg.max_sessions; i++) {
		struct session *e = &s->sessions[i];
		struct conn *c;

		if (!e->used || !e->wsi)
			continue;
		c = lws_wsi_user(e->wsi);
		if (now - e->info.last_rx_ms > s->cfg.silence_s * 1000LL) {
			/* Silent: close it; the CLOSED event follows. */
			snprintf(e->info.closed_why, sizeof(e->info.closed_why),
				 "silent");
			lws_set_timeout(e->wsi, PENDING_TIMEOUT_USER_OK,
					LWS_TO_KILL_ASYNC);
			if (n < 8)
				snaps[n++] = e->info;
			continue;
		}
		if (now - e->heartbeat_ms >= s->cfg.heartbeat_s * 1000LL - 50) {
			c->want |= WANT_HEARTBEAT;
			lws_callback_on_writable(e->wsi);
		}
	}
	pthread_mutex_unlock(&s->mu);
	for (i = 0; i < n; i++)
		fl_info("agent: closing silent session '%s' from %s",
			snaps[i].claims.inj, snaps[i].peer);
	if (!__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE))
		lws_sul_schedule(s->ctx, 0, &s->tick, tick,
				 250 * LWS_US_PER_MS);
}

static void *serve(void *arg)
{
	struct fl_agent_server *s = arg;

	lws_sul_schedule(s->ctx, 0, &s->tick, tick, 250 * LWS_US_PER_MS);
	while (!__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE))
		if (lws_service(s->ctx, 0) < 0)
			break;
	return NULL;
}

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	if (level & LLL_ERR)
		fl_warn("agent: libwebsockets: %.*s", (int)n, line);
	else
		fl_debug("agent: libwebsockets: %.*s", (int)n, line);
}

static int apply_defaults(struct fl_agent_server *s, char *err, size_t errlen)
{
	struct fl_agent_server_config *c = &s->cfg;

	if (c->master_len < FL_AGENT_MASTER_MIN ||
	    c->master_len > sizeof(s->master)) {
		snprintf(err, errlen,
			 "agent master key: %zu bytes, need %d to %zu",
			 c->master_len, FL_AGENT_MASTER_MIN, sizeof(s->master));
		return -1;
	}
	if (!c->cert_file || !c->key_file) {
		snprintf(err, errlen, "agent server: no certificate or key");
		return -1;
	}
	memcpy(s->master, c->master, c->master_len);
	c->master = NULL;
	if (c->heartbeat_s <= 0)
		c->heartbeat_s = 5;
	if (c->silence_s <= 0)
		c->silence_s = 3 * c->heartbeat_s;
	if (c->hello_s <= 0)
		c->hello_s = 10;
	if (c->max_sessions == 0)
		c->max_sessions = 1024;
	return 0;
}

struct fl_agent_server *
fl_agent_server_start(const struct fl_agent_server_config *cfg, char *err,
		      size_t errlen)
{
	struct fl_agent_server *s = fl_calloc(1, sizeof(*s));
	struct lws_context_creation_info info;

	s->cfg = *cfg;
	if (apply_defaults(s, err, errlen) < 0)
		goto fail;
	pthread_mutex_init(&s->mu, NULL);
	s->sessions = fl_calloc(s->cfg.max_sessions, sizeof(*s->sessions));
	lws_set_log_level(LLL_ERR | LLL_WARN, lws_log);

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT |
		       LWS_SERVER_OPTION_VALIDATE_UTF8;
	if (cfg->addr && !strchr(cfg->addr, ':'))
		info.options |= LWS_SERVER_OPTION_DISABLE_IPV6;
	info.iface = cfg->addr;
	info.port = cfg->port;
	info.protocols = protocols;
	info.ssl_cert_filepath = cfg->cert_file;
	info.ssl_private_key_filepath = cfg->key_file;
	info.ssl_options_set = SSL_OP_NO_TLSv1 | SSL_OP_NO_TLSv1_1;
	info.user = s;
	info.vhost_name = "faultline-agent";
	s->ctx = lws_create_context(&info);
	if (!s->ctx) {
		snprintf(err, errlen,
			 "agent server: cannot listen on %s:%d with "
			 "certificate '%s' and key '%s'",
			 cfg->addr ? cfg->addr : "*", cfg->port, cfg->cert_file,
			 cfg->key_file);
		goto fail;
	}
	s->vh = lws_get_vhost_by_name(s->ctx, "faultline-agent");
	s->port = s->vh ? lws_get_vhost_listen_port(s->vh) : -1;
	if (s->port <= 0) {
		snprintf(err, errlen, "agent server: not listening on %s:%d",
			 cfg->addr ? cfg->addr : "*", cfg->port);
		goto fail;
	}
	if (pthread_create(&s->thread, NULL, serve, s) != 0) {
		snprintf(err, errlen, "agent server: cannot start its thread");
		goto fail;
	}
	s->started = 1;
	return s;
fail:
	fl_agent_server_stop(s);
	return NULL;
}

int fl_agent_server_port(const struct fl_agent_server *s)
{
	return s->port;
}

int fl_agent_server_session(struct fl_agent_server *s, const char *inj,
			    struct fl_agent_session_info *out)
{
	long slot;

	pthread_mutex_lock(&s->mu);
	slot = find(s, inj);
	if (slot >= 0)
		*out = s->sessions[slot].info;
	pthread_mutex_unlock(&s->mu);
	return slot >= 0 ? 0 : -1;
}

int fl_agent_server_order(struct fl_agent_server *s, const char *inj,
			  enum fl_agent_order order, const char *reason)
{
	struct session *e;
	long slot;
	int rc = -1;

	pthread_mutex_lock(&s->mu);
	slot = find(s, inj);
	if (slot >= 0 && s->sessions[slot].info.live) {
		e = &s->sessions[slot];
		e->order = order;
		snprintf(e->order_reason, sizeof(e->order_reason), "%s",
			 reason ? reason : "");
		e->info.order_pending = 1;
		e->info.changes++;
		rc = 0;
	}
	pthread_mutex_unlock(&s->mu);
	if (rc == 0)
		lws_cancel_service(s->ctx);
	return rc;
}

size_t fl_agent_server_order_all(struct fl_agent_server *s,
				 enum fl_agent_order order, const char *reason)
{
	size_t i, n = 0;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->cfg.max_sessions; i++) {
		struct session *e = &s->sessions[i];

		if (!e->used || !e->info.live)
			continue;
		e->order = order;
		snprintf(e->order_reason, sizeof(e->order_reason), "%s",
			 reason ? reason : "");
		e->info.order_pending = 1;
		e->info.changes++;
		n++;
	}
	pthread_mutex_unlock(&s->mu);
	if (n)
		lws_cancel_service(s->ctx);
	return n;
}

size_t fl_agent_server_find(struct fl_agent_server *s, const char *ns,
			    const char *name, struct fl_agent_session_info *out,
			    size_t max)
{
	size_t i, n = 0;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->cfg.max_sessions; i++) {
		const struct session *e = &s->sessions[i];

		if (!e->used || strcmp(e->info.claims.ns, ns) ||
		    strcmp(e->info.claims.name, name))
			continue;
		if (n < max)
			out[n] = e->info;
		n++;
	}
	pthread_mutex_unlock(&s->mu);
	return n;
}

size_t fl_agent_server_live(struct fl_agent_server *s)
{
	size_t i, n = 0;

	pthread_mutex_lock(&s->mu);
	for (i = 0; i < s->cfg.max_sessions; i++)
		n += s->sessions[i].used && s->sessions[i].info.live;
	pthread_mutex_unlock(&s->mu);
	return n;
}

void fl_agent_server_stop(struct fl_agent_server *s)
{
	if (!s)
		return;
	__atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
	if (s->started) {
		lws_cancel_service(s->ctx);
		pthread_join(s->thread, NULL);
	}
	if (s->ctx)
		lws_context_destroy(s->ctx);
	if (s->sessions)
		pthread_mutex_destroy(&s->mu);
	free(s->sessions);
	OPENSSL_cleanse(s->master, sizeof(s->master));
	free(s);
}
