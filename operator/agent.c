/*
 * The operator's side of the agent channel, as the manager runs it: the
 * settings checked at start, the server while this replica leads, and
 * the link from what injectors say to the work queue (a status from an
 * injector wakes its experiment at once, instead of at the next poll).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agent_server.h"
#include "alloc.h"
#include "log.h"
#include "metrics.h"
#include "operator.h"

/* Reads a whole file (at most max bytes) into a NUL-terminated buffer. */
static char *slurp(const char *path, size_t max, size_t *len, char *err,
		   size_t errlen)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	size_t n;

	if (!f) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return NULL;
	}
	buf = fl_malloc(max + 1);
	n = fread(buf, 1, max + 1, f);
	fclose(f);
	if (n > max) {
		snprintf(err, errlen, "%s: longer than %zu bytes", path, max);
		free(buf);
		return NULL;
	}
	buf[n] = '\0';
	*len = n;
	return buf;
}

/* wss://IP:PORT[/path] into host and port; the address must be an IP, as
 * the static injector cannot resolve names. */
static int parse_url(const char *url, char *host, size_t hn, int *port)
{
	const char *p, *end;
	char *tail;
	long v;
	unsigned char a[16];

	if (strncmp(url, "wss://", 6))
		return -1;
	p = url + 6;
	if (*p == '[') {
		end = strchr(p, ']');
		if (!end || end[1] != ':')
			return -1;
		p++;
	} else {
		end = strchr(p, ':');
		if (!end)
			return -1;
	}
	if ((size_t)(end - p) >= hn)
		return -1;
	memcpy(host, p, (size_t)(end - p));
	host[end - p] = '\0';
	if (inet_pton(AF_INET, host, a) != 1 &&
	    inet_pton(AF_INET6, host, a) != 1)
		return -1;
	p = end + (*end == ']' ? 2 : 1);
	errno = 0;
	v = strtol(p, &tail, 10);
	if (tail == p || errno || v < 1 || v > 65535 || (*tail && *tail != '/'))
		return -1;
	*port = (int)v;
	return 0;
}

int fl_agent_setup(struct fl_operator *op, char *err, size_t errlen)
{
	const struct fl_op_config *c = &op->cfg;
	char *key;
	size_t len;

	if (!c->agent_url)
		return 0;
	if (parse_url(c->agent_url, op->agent_host, sizeof(op->agent_host),
		      &op->agent_url_port)) {
		snprintf(err, errlen,
			 "--agent-url: '%s' is not wss://IP:PORT (an IP "
			 "address: the injector does not resolve names)",
			 c->agent_url);
		return -1;
	}
	op->agent_ca_pem = slurp(c->agent_ca ? c->agent_ca : c->agent_cert,
				 65536, &len, err, errlen);
	if (!op->agent_ca_pem)
		return -1;
	if (!strstr(op->agent_ca_pem, "-----BEGIN CERTIFICATE-----")) {
		snprintf(err, errlen, "%s: no PEM certificate in it",
			 c->agent_ca ? c->agent_ca : c->agent_cert);
		return -1;
	}
	key = slurp(c->agent_master_file, sizeof(op->agent_master), &len, err,
		    errlen);
	if (!key)
		return -1;
	while (len && (key[len - 1] == '\n' || key[len - 1] == '\r'))
		len--;
	if (len < FL_AGENT_MASTER_MIN) {
		snprintf(err, errlen,
			 "%s: the master key must be at least %d bytes",
			 c->agent_master_file, FL_AGENT_MASTER_MIN);
		free(key);
		return -1;
	}
	memcpy(op->agent_master, key, len);
	op->agent_master_len = len;
	memset(key, 0, len);
	free(key);
	return 0;
}

/* On the server thread: wake the experiment an injector belongs to, and
 * say what an operator on call would want to know. */
static void on_event(const struct fl_agent_event *ev, void *arg)
{
	struct fl_operator *op = arg;
	const struct fl_agent_claims *cl =
		ev->session ? &ev->session->claims : NULL;
	char key[FL_QUEUE_KEY_MAX];

	char labels[64];

	switch (ev->type) {
	case FL_AGENT_EV_WELCOMED:
		fl_metrics_add(op->metrics, "faultline_injectors_connected",
			       NULL, 1);
		break;
	case FL_AGENT_EV_REFUSED:
		fl_warn("agent channel: refused %s from %s: %s (%s)",
			cl ? cl->target : "a connection", ev->peer,
			fl_agent_refusal_name(ev->refusal), ev->detail);
		snprintf(labels, sizeof(labels), "reason=\"%s\"",
			 fl_agent_refusal_name(ev->refusal));
		fl_metrics_add(op->metrics, "faultline_agent_refusals_total",
			       labels, 1);
		break;
	case FL_AGENT_EV_CLOSED:
		fl_metrics_add(op->metrics, "faultline_injectors_connected",
			       NULL, -1);
		if (cl && ev->session->state != FL_AGENT_STATE_REVERTED)
			fl_info("agent channel: injector %s on %s "
				"disconnected (%s)",
				cl->inj, cl->target, ev->detail);
		break;
	default:
		break;
	}
	if (!cl)
		return;
	snprintf(key, sizeof(key), "%s/%s", cl->ns, cl->name);
	fl_queue_add(op->queue, key);
}

int fl_agent_start(struct fl_operator *op, char *err, size_t errlen)
{
	const struct fl_op_config *c = &op->cfg;
	struct fl_agent_server_config sc = {0};

	if (!c->agent_url || op->agent)
		return 0;
	sc.addr = c->agent_addr;
	sc.port = c->agent_port ? c->agent_port : op->agent_url_port;
	sc.cert_file = c->agent_cert;
	sc.key_file = c->agent_key;
	sc.master = op->agent_master;
	sc.master_len = op->agent_master_len;
	sc.heartbeat_s = c->agent_heartbeat_s;
	sc.silence_s = c->agent_grace_s;
	sc.on_event = on_event;
	sc.arg = op;
	op->agent = fl_agent_server_start(&sc, err, errlen);
	if (!op->agent)
		return -1;
	fl_info("agent channel: listening on %s port %d; injectors dial %s",
		c->agent_addr ? c->agent_addr : "all addresses",
		fl_agent_server_port(op->agent), c->agent_url);
	return 0;
}

void fl_agent_stop(struct fl_operator *op)
{
	fl_agent_server_stop(op->agent);
	op->agent = NULL;
}

size_t fl_agent_abort_all(struct fl_operator *op, const char *reason)
{
	return op->agent ? fl_agent_server_order_all(
				   op->agent, FL_AGENT_ORDER_ABORT, reason)
			 : 0;
}
