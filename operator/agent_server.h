/*
 * The operator's end of the agent channel: a TLS WebSocket server on its
 * own thread that injectors (sidecars) connect to.
 *
 * Each connection gets a fresh random challenge; the injector's hello
 * must carry a token (lib/agent_token.h) signed with the master key and a
 * proof over that challenge.  A good hello opens the session of its
 * injection id, and a second live connection for the same id is refused
 * ("in-use").  Refused connections get a "bye" with the reason and are
 * closed; the server itself never stops for a bad peer.
 *
 * The server sends a heartbeat to every session every heartbeat_s, and
 * closes a session it has heard nothing from for silence_s (the injector
 * then reverts on its own: its dead-man switch).  Orders (revert, abort)
 * are queued from any thread and sent by the server thread.
 *
 * Sessions outlive their connection in a bounded table, so that the
 * operator can still read what an injector last reported after it went
 * away; the oldest closed ones make room for new ones.
 */
#ifndef FL_OP_AGENT_SERVER_H
#define FL_OP_AGENT_SERVER_H

#include <stddef.h>
#include <stdint.h>

#include "agent_proto.h"
#include "agent_token.h"

/* A snapshot of one session, copied out of the table. */
struct fl_agent_session_info {
	struct fl_agent_claims claims; /* verified: whose injection it is */
	char peer[64];		       /* the injector's address */
	int live;		       /* a connection holds it now */
	enum fl_agent_state state;     /* last status; NONE before one */
	struct fl_agent_fault_status faults[FL_AGENT_MAX_FAULTS];
	size_t nfaults;
	char message[512];	/* last status message */
	int64_t welcomed_ms;	/* CLOCK_MONOTONIC, last welcome */
	int64_t last_rx_ms;	/* CLOCK_MONOTONIC, last frame heard */
	uint64_t changes;	/* bumped on every status or liveness change */
	int order_pending;	/* an order is queued, not yet sent */
	unsigned orders_sent;	/* orders written to the connection */
	unsigned heartbeats_rx; /* heartbeats heard from the injector */
	char closed_why[64];	/* "closed", "silent", "shutdown" */
};

enum fl_agent_event_type {
	FL_AGENT_EV_WELCOMED, /* a hello was accepted */
	FL_AGENT_EV_REFUSED,  /* a hello or a frame was refused */
	FL_AGENT_EV_STATUS,   /* a status message arrived */
	FL_AGENT_EV_ORDER,    /* an order was written to the injector */
	FL_AGENT_EV_CLOSED,   /* a session's connection ended */
};

struct fl_agent_event {
	enum fl_agent_event_type type;
	/* The session; for REFUSED only when the token itself was good
	 * (in-use, bad-proof, stale), else NULL. */
	const struct fl_agent_session_info *session;
	enum fl_agent_refusal refusal; /* REFUSED */
	const char *peer;	       /* never NULL */
	const char *detail;	       /* why, in words; never NULL */
};

/* Called on the server thread (during fl_agent_server_stop(), on the
 * thread stopping it), without any lock held: it may call the API below
 * but fl_agent_server_stop().  It must not block for long: it holds up
 * every session. */
typedef void (*fl_agent_event_fn)(const struct fl_agent_event *ev, void *arg);

struct fl_agent_server_config {
	const char *addr;      /* IP address to listen on; NULL for all */
	int port;	       /* 0: the kernel picks one */
	const char *cert_file; /* PEM: the serving certificate (chain) */
	const char *key_file;  /* PEM: its private key */
	const uint8_t *master; /* the master key (copied) */
	size_t master_len;     /* at least FL_AGENT_MASTER_MIN */
	int heartbeat_s;       /* 0: 5 */
	int silence_s;	       /* 0: 3 * heartbeat_s */
	int hello_s;	       /* time a connection has to say hello; 0: 10 */
	size_t max_sessions;   /* 0: 1024 */
	fl_agent_event_fn on_event; /* may be NULL */
	void *arg;
};

struct fl_agent_server;

/*
 * Starts the server: loads the certificate and key, listens, and starts
 * its thread.  Returns the server (stop it with fl_agent_server_stop()),
 * or NULL with err naming what failed (a file, the address).
 */
struct fl_agent_server *
fl_agent_server_start(const struct fl_agent_server_config *cfg, char *err,
		      size_t errlen);

/* The port the server listens on (the kernel's choice when 0 was
 * asked). */
int fl_agent_server_port(const struct fl_agent_server *s);

/*
 * Copies the session of injection inj into out.  Returns 0, or -1 when
 * the table holds no such session.
 */
int fl_agent_server_session(struct fl_agent_server *s, const char *inj,
			    struct fl_agent_session_info *out);

/*
 * Queues an order for the injection inj; the server thread sends it at
 * once.  reason (may be NULL) travels with it.  Returns 0, or -1 when no
 * live session holds inj (the injector's own deadline and dead-man
 * switch still stand).
 */
int fl_agent_server_order(struct fl_agent_server *s, const char *inj,
			  enum fl_agent_order order, const char *reason);

/* Queues an order for every live session (the kill switch).  Returns
 * how many were ordered. */
size_t fl_agent_server_order_all(struct fl_agent_server *s,
				 enum fl_agent_order order, const char *reason);

/*
 * Copies up to max sessions (live or closed) of the experiment ns/name
 * into out.  Returns how many there are, which may exceed max.
 */
size_t fl_agent_server_find(struct fl_agent_server *s, const char *ns,
			    const char *name, struct fl_agent_session_info *out,
			    size_t max);

/* Live sessions now. */
size_t fl_agent_server_live(struct fl_agent_server *s);

/*
 * Stops the thread, closes every connection (CLOSED events are delivered
 * first) and frees the server.  NULL is ignored.
 */
void fl_agent_server_stop(struct fl_agent_server *s);

#endif
