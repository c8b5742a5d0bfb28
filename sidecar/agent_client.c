#include <arpa/inet.h>
#include <errno.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>

#include <libwebsockets.h>
#include <openssl/crypto.h>

#include "agent_client.h"
#include "agent_token.h"
#include "alloc.h"
#include "buf.h"

#define PROTOCOL_NAME "faultline-agent-v1"
#define TICK_US (100 * LWS_US_PER_MS)
#define RETRY_MIN_MS 500
#define RETRY_MAX_MS 4000

struct fl_agent_client {
	lws_sorted_usec_list_t tick; /* first: the tick finds us from it */
	struct fl_agent_url url;
	char *ca_pem;
	char token[FL_AGENT_TOKEN_MAX];
	uint8_t key[FL_AGENT_KEY_LEN];
	struct fl_agent_claims claims; /* read, not verified: our inj */
	int grace_s;
	int efd; /* eventfd: a verdict is set */

	struct lws_context *ctx;
	pthread_t thread;
	int started;
	int stopping; /* atomic */

	/* Server thread only. */
	struct lws *wsi;
	int64_t retry_at_ms, retry_ms;
	char challenge[FL_AGENT_CHALLENGE_LEN];
	int need_hello;
	int heartbeat_s;
	int64_t heartbeat_ms; /* last heartbeat sent */
	struct fl_buf rx;

	pthread_mutex_t mu; /* guards what follows */
	pthread_cond_t cv;  /* status sent */
	int64_t last_rx_ms; /* last frame from the operator */
	int welcomed;	    /* on this connection */
	int ever_welcomed;  /* on any */
	int connected;
	enum fl_agent_verdict verdict;
	char why[160];
	struct fl_agent_msg status; /* the latest status */
	int status_dirty;	    /* not yet sent */
	unsigned status_seq;	    /* bumped by each new status */
};

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int stopping(struct fl_agent_client *c)
{
	return __atomic_load_n(&c->stopping, __ATOMIC_ACQUIRE);
}

int fl_agent_url_parse(const char *url, struct fl_agent_url *out, char *err,
		       size_t errlen)
{
	const char *p, *end, *colon;
	uint8_t addr[16];
	char *tail;
	long port;
	size_t n;

	memset(out, 0, sizeof(*out));
	if (strncmp(url, "wss://", 6) != 0) {
		snprintf(err, errlen, "must start with wss://");
		return -1;
	}
	p = url + 6;
	if (*p == '[') {
		end = strchr(p, ']');
		colon = end ? end + 1 : NULL;
		p++;
	} else {
		end = strchr(p, ':');
		colon = end;
	}
	n = end ? (size_t)(end - p) : 0;
	if (!end || n == 0 || n >= sizeof(out->host) || *colon != ':') {
		snprintf(err, errlen, "must be wss://IP:PORT[/PATH]");
		return -1;
	}
	memcpy(out->host, p, n);
	if (inet_pton(strchr(out->host, ':') ? AF_INET6 : AF_INET, out->host,
		      addr) != 1) {
		snprintf(err, errlen,
			 "'%s' is not an IP address (names cannot be "
			 "resolved here)",
			 out->host);
		return -1;
	}
	errno = 0;
	port = strtol(colon + 1, &tail, 10);
	if (errno || tail == colon + 1 || port < 1 || port > 65535 ||
	    (*tail && *tail != '/')) {
		snprintf(err, errlen, "the port must be 1 to 65535");
		return -1;
	}
	out->port = (int)port;
	snprintf(out->path, sizeof(out->path), "%s", *tail ? tail : "/");
	for (p = tail; *p; p++)
		if (*p <= ' ' || *p > '~' ||
		    p - tail >= FL_AGENT_URL_PATH_MAX) {
			snprintf(err, errlen,
				 "the path must be printable and shorter "
				 "than %d",
				 FL_AGENT_URL_PATH_MAX);
			return -1;
		}
	return 0;
}

/* Sets the verdict once (the first one stands) and wakes the main loop.
 * Caller holds c->mu. */
static void set_verdict(struct fl_agent_client *c, enum fl_agent_verdict v,
			const char *why)
{
	uint64_t one = 1;

	if (c->verdict != FL_AGENT_VERDICT_NONE)
		return;
	c->verdict = v;
	snprintf(c->why, sizeof(c->why), "%s", why);
	fprintf(stderr, "faultline-sidecar: agent: %s\n", why);
	if (write(c->efd, &one, sizeof(one)) < 0)
		errno = 0;
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
		fprintf(stderr, "faultline-sidecar: agent: %s\n", err);
		goto out;
	}
	frame = fl_malloc(LWS_PRE + b.len);
	memcpy(frame + LWS_PRE, b.data, b.len);
	if (lws_write(wsi, frame + LWS_PRE, b.len, LWS_WRITE_TEXT) ==
	    (int)b.len)
		rc = 0;
	OPENSSL_cleanse(frame, LWS_PRE + b.len);
	free(frame);
out:
	fl_buf_release(&b);
	return rc;
}

static int writable(struct fl_agent_client *c, struct lws *wsi)
{
	struct fl_agent_msg *m = fl_calloc(1, sizeof(*m));
	int more = 0, rc = 0, is_status = 0;
	unsigned seq = 0;

	pthread_mutex_lock(&c->mu);
	if (c->need_hello) {
		c->need_hello = 0;
		m->type = FL_AGENT_MSG_HELLO;
		m->ts = (int64_t)time(NULL);
		memcpy(m->token, c->token, sizeof(m->token));
		fl_agent_proof(c->key, c->challenge, m->ts, m->proof);
	} else if (c->welcomed && c->status_dirty) {
		*m = c->status;
		seq = c->status_seq;
		is_status = 1;
	} else if (c->welcomed && c->heartbeat_s &&
		   now_ms() - c->heartbeat_ms >= c->heartbeat_s * 1000LL) {
		m->type = FL_AGENT_MSG_HEARTBEAT;
		m->ts = (int64_t)time(NULL);
		c->heartbeat_ms = now_ms();
	} else {
		m->type = FL_AGENT_MSG_N;
	}
	pthread_mutex_unlock(&c->mu);

	if (m->type != FL_AGENT_MSG_N && send_msg(wsi, m) < 0)
		rc = -1;
	pthread_mutex_lock(&c->mu);
	/* A newer status may have come while this one was written: that
	 * one is still due. */
	if (is_status && rc == 0 && seq == c->status_seq) {
		c->status_dirty = 0;
		pthread_cond_broadcast(&c->cv);
	}
	more = c->welcomed && c->status_dirty;
	pthread_mutex_unlock(&c->mu);
	if (more)
		lws_callback_on_writable(wsi);
	OPENSSL_cleanse(m, sizeof(*m));
	free(m);
	return rc;
}

/* ---- reading ---- */

static void on_order(struct fl_agent_client *c, const struct fl_agent_msg *m)
{
	char why[160];

	/* A sidecar obeys only its own injection's orders. */
	if (strcmp(m->inj, c->claims.inj) != 0) {
		fprintf(stderr,
			"faultline-sidecar: agent: ignored an order for "
			"injection '%s' (ours is '%s')\n",
			m->inj, c->claims.inj);
		return;
	}
	snprintf(why, sizeof(why), "%s order%s%.120s",
		 fl_agent_order_name(m->order), m->reason[0] ? ": " : "",
		 m->reason);
	set_verdict(c,
		    m->order == FL_AGENT_ORDER_ABORT ? FL_AGENT_VERDICT_ABORT
						     : FL_AGENT_VERDICT_REVERT,
		    why);
}

/* One whole message from the operator; returns -1 to close. */
static int received(struct fl_agent_client *c, struct lws *wsi,
		    const char *text, size_t len)
{
	struct fl_agent_msg *m = fl_malloc(sizeof(*m));
	char err[256], why[160];
	int rc = 0;

	if (fl_agent_msg_parse(text, len, m, err, sizeof(err)) < 0) {
		fprintf(stderr, "faultline-sidecar: agent: bad message: %s\n",
			err);
		rc = -1;
		goto out;
	}
	if (!fl_agent_msg_from_operator(m->type)) {
		fprintf(stderr,
			"faultline-sidecar: agent: the operator sent a %s\n",
			fl_agent_msg_type_name(m->type));
		rc = -1;
		goto out;
	}
	pthread_mutex_lock(&c->mu);
	c->last_rx_ms = now_ms();
	switch (m->type) {
	case FL_AGENT_MSG_CHALLENGE:
		memcpy(c->challenge, m->challenge, sizeof(c->challenge));
		c->need_hello = 1;
		lws_callback_on_writable(wsi);
		break;
	case FL_AGENT_MSG_WELCOME:
		c->welcomed = 1;
		c->ever_welcomed = 1;
		c->heartbeat_s = m->heartbeat_s;
		c->heartbeat_ms = now_ms();
		c->retry_ms = RETRY_MIN_MS;
		/* A new session (the operator may have restarted) learns
		 * where we stand at once. */
		if (c->status.type == FL_AGENT_MSG_STATUS)
			c->status_dirty = 1;
		lws_callback_on_writable(wsi);
		break;
	case FL_AGENT_MSG_ORDER:
		on_order(c, m);
		break;
	case FL_AGENT_MSG_BYE:
		/* After a broken connection the operator may not yet have
		 * noticed that our old one is gone: "in-use" is then about
		 * ourselves, and we retry until the grace period ends.  A
		 * sidecar that was never welcomed is really a second one. */
		if (c->ever_welcomed && strcmp(m->reason, "in-use") == 0) {
			rc = -1;
			break;
		}
		snprintf(why, sizeof(why), "refused by the operator: %.100s",
			 m->reason);
		set_verdict(c, FL_AGENT_VERDICT_REFUSED, why);
		rc = -1;
		break;
	default:
		break;
	}
	pthread_mutex_unlock(&c->mu);
out:
	free(m);
	return rc;
}

static int receive(struct fl_agent_client *c, struct lws *wsi, const void *in,
		   size_t len)
{
	int rc;

	if (lws_frame_is_binary(wsi) || fl_buf_add(&c->rx, in, len) < 0) {
		fl_buf_reset(&c->rx);
		return -1;
	}
	if (!lws_is_final_fragment(wsi) || lws_remaining_packet_payload(wsi))
		return 0;
	rc = received(c, wsi, c->rx.data, c->rx.len);
	fl_buf_reset(&c->rx);
	return rc;
}

/* ---- the connection ---- */

static void connect_now(struct fl_agent_client *c)
{
	struct lws_client_connect_info ci;

	memset(&ci, 0, sizeof(ci));
	ci.context = c->ctx;
	ci.address = c->url.host;
	ci.port = c->url.port;
	ci.ssl_connection = LCCSCF_USE_SSL;
	ci.path = c->url.path;
	ci.host = c->url.host;
	ci.origin = c->url.host;
	ci.protocol = PROTOCOL_NAME;
	ci.local_protocol_name = PROTOCOL_NAME;
	ci.pwsi = &c->wsi;
	c->retry_at_ms = now_ms() + c->retry_ms;
	if (c->retry_ms < RETRY_MAX_MS)
		c->retry_ms *= 2;
	if (!lws_client_connect_via_info(&ci))
		c->wsi = NULL;
}

static void lost(struct fl_agent_client *c)
{
	c->wsi = NULL;
	c->need_hello = 0;
	fl_buf_reset(&c->rx);
	pthread_mutex_lock(&c->mu);
	c->connected = 0;
	c->welcomed = 0;
	c->heartbeat_s = 0;
	pthread_cond_broadcast(&c->cv);
	pthread_mutex_unlock(&c->mu);
}

static int callback(struct lws *wsi, enum lws_callback_reasons reason,
		    void *user, void *in, size_t len)
{
	struct fl_agent_client *c = lws_context_user(lws_get_context(wsi));

	(void)user;
	switch (reason) {
	case LWS_CALLBACK_CLIENT_ESTABLISHED:
		pthread_mutex_lock(&c->mu);
		c->connected = 1;
		pthread_mutex_unlock(&c->mu);
		return 0;
	case LWS_CALLBACK_CLIENT_RECEIVE:
		return receive(c, wsi, in, len);
	case LWS_CALLBACK_CLIENT_WRITEABLE:
		return writable(c, wsi);
	case LWS_CALLBACK_CLIENT_CONNECTION_ERROR:
		fprintf(stderr,
			"faultline-sidecar: agent: cannot connect to "
			"%s:%d: %s\n",
			c->url.host, c->url.port,
			in ? (const char *)in : "no reason given");
		lost(c);
		return 0;
	case LWS_CALLBACK_CLIENT_CLOSED:
		lost(c);
		return 0;
	case LWS_CALLBACK_EVENT_WAIT_CANCELLED:
		if (c->wsi && !stopping(c))
			lws_callback_on_writable(c->wsi);
		return 0;
	default:
		return lws_callback_http_dummy(wsi, reason, user, in, len);
	}
}

static const struct lws_protocols protocols[] = {
	{
		.name = PROTOCOL_NAME,
		.callback = callback,
		.rx_buffer_size = 16384,
	},
	{NULL, NULL, 0, 0, 0, NULL, 0},
};

/* Every TICK_US on the client thread: the dead-man switch, reconnects,
 * heartbeats. */
static void tick(lws_sorted_usec_list_t *sul)
{
	struct fl_agent_client *c = (struct fl_agent_client *)sul;
	int64_t now = now_ms();
	char why[96];
	int beat;

	pthread_mutex_lock(&c->mu);
	if (now - c->last_rx_ms > c->grace_s * 1000LL) {
		snprintf(why, sizeof(why), "operator silent for more than %ds",
			 c->grace_s);
		set_verdict(c, FL_AGENT_VERDICT_SILENT, why);
	}
	beat = c->welcomed && c->heartbeat_s &&
	       now - c->heartbeat_ms >= c->heartbeat_s * 1000LL;
	pthread_mutex_unlock(&c->mu);

	if (!c->wsi && now >= c->retry_at_ms && !stopping(c))
		connect_now(c);
	else if (c->wsi && beat)
		lws_callback_on_writable(c->wsi);
	if (!stopping(c))
		lws_sul_schedule(c->ctx, 0, &c->tick, tick, TICK_US);
}

static void *serve(void *arg)
{
	struct fl_agent_client *c = arg;

	lws_sul_schedule(c->ctx, 0, &c->tick, tick, 1);
	while (!stopping(c))
		if (lws_service(c->ctx, 0) < 0)
			break;
	return NULL;
}

static void lws_log(int level, const char *line)
{
	size_t n = strlen(line);

	(void)level;
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		n--;
	fprintf(stderr, "faultline-sidecar: agent: libwebsockets: %.*s\n",
		(int)n, line);
}

static int setup(struct fl_agent_client *c,
		 const struct fl_agent_client_config *cfg, char *err,
		 size_t errlen)
{
	char uerr[128];

	if (fl_agent_url_parse(cfg->url, &c->url, uerr, sizeof(uerr)) < 0) {
		snprintf(err, errlen, "agent.url: %s", uerr);
		return -1;
	}
	if (!cfg->proof_key ||
	    fl_agent_b64url_decode(cfg->proof_key, strlen(cfg->proof_key),
				   c->key,
				   sizeof(c->key)) != FL_AGENT_KEY_LEN) {
		snprintf(err, errlen,
			 "agent.proofKey: must be base64url of %d bytes",
			 FL_AGENT_KEY_LEN);
		return -1;
	}
	if (!cfg->token || strlen(cfg->token) >= sizeof(c->token) ||
	    fl_agent_token_peek(cfg->token, &c->claims) != FL_AGENT_OK) {
		snprintf(err, errlen, "agent.token: not a faultline token");
		return -1;
	}
	if (!cfg->ca_pem || !strstr(cfg->ca_pem, "-----BEGIN CERTIFICATE")) {
		snprintf(err, errlen, "agent.caCert: no PEM certificate");
		return -1;
	}
	snprintf(c->token, sizeof(c->token), "%s", cfg->token);
	c->ca_pem = fl_strdup(cfg->ca_pem);
	c->grace_s = cfg->grace_s > 0 ? cfg->grace_s : 30;
	return 0;
}

struct fl_agent_client *
fl_agent_client_start(const struct fl_agent_client_config *cfg, char *err,
		      size_t errlen)
{
	struct fl_agent_client *c = fl_calloc(1, sizeof(*c));
	struct lws_context_creation_info info;

	c->efd = -1;
	pthread_mutex_init(&c->mu, NULL);
	pthread_cond_init(&c->cv, NULL);
	fl_buf_init(&c->rx, FL_AGENT_FRAME_MAX);
	if (setup(c, cfg, err, errlen) < 0)
		goto fail;
	c->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (c->efd < 0) {
		snprintf(err, errlen, "agent: eventfd: %s", strerror(errno));
		goto fail;
	}
	c->last_rx_ms = now_ms();
	c->retry_ms = RETRY_MIN_MS;
	lws_set_log_level(LLL_ERR, lws_log);

	memset(&info, 0, sizeof(info));
	info.options = LWS_SERVER_OPTION_DO_SSL_GLOBAL_INIT;
	info.port = CONTEXT_PORT_NO_LISTEN;
	info.protocols = protocols;
	info.client_ssl_ca_mem = c->ca_pem;
	info.client_ssl_ca_mem_len = (unsigned int)strlen(c->ca_pem);
	info.user = c;
	c->ctx = lws_create_context(&info);
	if (!c->ctx) {
		snprintf(err, errlen,
			 "agent: cannot set up the TLS client (agent.caCert "
			 "unreadable, or no /dev/urandom; see the line "
			 "above)");
		goto fail;
	}
	if (pthread_create(&c->thread, NULL, serve, c) != 0) {
		snprintf(err, errlen, "agent: cannot start the client thread");
		goto fail;
	}
	c->started = 1;
	return c;
fail:
	fl_agent_client_stop(c, 0);
	return NULL;
}

int fl_agent_client_fd(const struct fl_agent_client *c)
{
	return c->efd;
}

enum fl_agent_verdict fl_agent_client_verdict(struct fl_agent_client *c,
					      char *why, size_t n)
{
	enum fl_agent_verdict v;

	pthread_mutex_lock(&c->mu);
	v = c->verdict;
	if (why && n)
		snprintf(why, n, "%s", c->why);
	pthread_mutex_unlock(&c->mu);
	return v;
}

int fl_agent_client_welcomed(struct fl_agent_client *c)
{
	int w;

	pthread_mutex_lock(&c->mu);
	w = c->ever_welcomed;
	pthread_mutex_unlock(&c->mu);
	return w;
}

void fl_agent_client_status(struct fl_agent_client *c,
			    enum fl_agent_state state,
			    const struct fl_agent_fault_status *faults,
			    size_t nfaults, const char *message)
{
	pthread_mutex_lock(&c->mu);
	memset(&c->status, 0, sizeof(c->status));
	c->status.type = FL_AGENT_MSG_STATUS;
	c->status.state = state;
	if (nfaults > FL_AGENT_MAX_FAULTS)
		nfaults = FL_AGENT_MAX_FAULTS;
	if (nfaults)
		memcpy(c->status.faults, faults, nfaults * sizeof(*faults));
	c->status.nfaults = nfaults;
	snprintf(c->status.message, sizeof(c->status.message), "%s",
		 message ? message : "");
	c->status_dirty = 1;
	c->status_seq++;
	pthread_mutex_unlock(&c->mu);
	lws_cancel_service(c->ctx);
}

/* Waits until the latest status is sent, the connection is gone, or
 * flush_ms passed. */
static void flush(struct fl_agent_client *c, int flush_ms)
{
	struct timespec until;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += flush_ms / 1000;
	until.tv_nsec += (long)(flush_ms % 1000) * 1000000;
	if (until.tv_nsec >= 1000000000) {
		until.tv_sec++;
		until.tv_nsec -= 1000000000;
	}
	pthread_mutex_lock(&c->mu);
	while (c->status_dirty && c->welcomed && c->connected)
		if (pthread_cond_timedwait(&c->cv, &c->mu, &until) != 0)
			break;
	pthread_mutex_unlock(&c->mu);
}

void fl_agent_client_stop(struct fl_agent_client *c, int flush_ms)
{
	if (!c)
		return;
	if (c->started && flush_ms > 0)
		flush(c, flush_ms);
	__atomic_store_n(&c->stopping, 1, __ATOMIC_RELEASE);
	if (c->started) {
		lws_cancel_service(c->ctx);
		pthread_join(c->thread, NULL);
	}
	if (c->ctx)
		lws_context_destroy(c->ctx);
	if (c->efd >= 0)
		close(c->efd);
	fl_buf_release(&c->rx);
	pthread_cond_destroy(&c->cv);
	pthread_mutex_destroy(&c->mu);
	OPENSSL_cleanse(c->key, sizeof(c->key));
	OPENSSL_cleanse(c->token, sizeof(c->token));
	free(c->ca_pem);
	free(c);
}
