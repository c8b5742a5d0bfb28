/*
 * The injector's end of the agent channel: a TLS WebSocket client on its
 * own thread that connects to the operator, proves its injection with
 * the token and proof key from its spec, sends heartbeats and status,
 * and passes on the operator's orders for its own injection.
 *
 * Dead-man switch: when nothing has come from the operator for grace_s
 * (from the start, or from the last frame it sent), the client asks the
 * sidecar to revert; so does a refused hello.  The sidecar's own deadline
 * stands regardless.
 *
 * The main loop learns of a verdict by polling fl_agent_client_fd()
 * (readable once a verdict is set), then reads it with
 * fl_agent_client_verdict().
 */
#ifndef FL_SIDECAR_AGENT_CLIENT_H
#define FL_SIDECAR_AGENT_CLIENT_H

#include <stddef.h>

#include "agent_proto.h"

#define FL_AGENT_URL_PATH_MAX 256

struct fl_agent_client_config {
	const char *url;       /* wss://IP:PORT[/path], IPv6 as [::1] */
	const char *ca_pem;    /* the CA that signs the operator's cert */
	const char *token;     /* from the operator */
	const char *proof_key; /* base64url of FL_AGENT_KEY_LEN bytes */
	int grace_s;	       /* dead-man switch */
};

/* What the channel asks of the sidecar. */
enum fl_agent_verdict {
	FL_AGENT_VERDICT_NONE,	 /* nothing: hold */
	FL_AGENT_VERDICT_REVERT, /* an order to revert */
	FL_AGENT_VERDICT_ABORT,	 /* an order to abort */
	FL_AGENT_VERDICT_SILENT, /* the operator went silent */
	FL_AGENT_VERDICT_REFUSED /* the operator refused our hello */
};

struct fl_agent_url {
	char host[48]; /* an IP address, without brackets */
	int port;
	char path[FL_AGENT_URL_PATH_MAX];
};

/*
 * Parses a channel URL: "wss://", an IPv4 address or a bracketed IPv6
 * address (no names: a static binary cannot resolve them), ":PORT", and
 * an optional path ("/" when absent).  Returns 0, or -1 with err saying
 * what is wrong.
 */
int fl_agent_url_parse(const char *url, struct fl_agent_url *out, char *err,
		       size_t errlen);

struct fl_agent_client;

/*
 * Starts the client thread, which connects at once and keeps trying.
 * Call it with the signals the main loop waits for already blocked (the
 * thread inherits the mask).  Returns the client, or NULL with err
 * filled (a bad URL, proof key, token, or no thread).
 */
struct fl_agent_client *
fl_agent_client_start(const struct fl_agent_client_config *cfg, char *err,
		      size_t errlen);

/* A descriptor that becomes readable once a verdict is set. */
int fl_agent_client_fd(const struct fl_agent_client *c);

/* The verdict, and its reason in words into why (n bytes). */
enum fl_agent_verdict fl_agent_client_verdict(struct fl_agent_client *c,
					      char *why, size_t n);

/* Nonzero once the operator has welcomed us (on the current or an
 * earlier connection). */
int fl_agent_client_welcomed(struct fl_agent_client *c);

/*
 * Reports the sidecar's state; sent at once when connected, else on the
 * next welcome.  Only the latest status is kept.  faults may be NULL
 * when nfaults is 0.
 */
void fl_agent_client_status(struct fl_agent_client *c,
			    enum fl_agent_state state,
			    const struct fl_agent_fault_status *faults,
			    size_t nfaults, const char *message);

/*
 * Waits up to flush_ms for the latest status to be sent, then closes the
 * connection, stops the thread and frees c.  NULL is ignored.
 */
void fl_agent_client_stop(struct fl_agent_client *c, int flush_ms);

#endif
