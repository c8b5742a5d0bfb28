/*
 * What the network faults share: the queue engine faults (latency, loss,
 * corruption, duplication: netem where the kernel has it, else NFQUEUE
 * and sidecar/nfq.c), the nftables faults (partition, dependency timeout,
 * service unavailable) and one sweep for all of them.  Each kind's own
 * file reads its parameters and holds its ops table.
 */
#ifndef FL_SIDECAR_FAULT_NET_H
#define FL_SIDECAR_FAULT_NET_H

#include <json-c/json.h>

#include "fault.h"
#include "net_scope.h"
#include "nfq.h"
#include "nft.h"
#include "tc.h"

/* ---- queue engine faults ---- */

struct fl_netq {
	struct fl_net_scope scope;
	struct fl_nfq_params p;
	const char *engine;	       /* "netem" or "nfqueue", once applied */
	char why_not_netem[160];       /* why the netem engine was not used */
	struct fl_nft nft;	       /* nfqueue: our rules */
	struct fl_nfq *nfq;	       /* nfqueue: the engine */
	int netem_if[FL_TC_LINKS_MAX]; /* netem: links with our root */
	int nnetem;
	struct fl_nl owner; /* netem: owns the beacons of our qdiscs */
};

/* Reads scope and correlation shared by the four kinds; the caller reads
 * its own numbers into q->p. */
int fl_netq_parse_common(struct json_object *params, struct fl_netq *q,
			 struct fl_errors *errs);
int fl_netq_apply(void *state, struct fl_fault_ctx *ctx);
int fl_netq_revert(void *state, struct fl_fault_ctx *ctx);
void fl_netq_status(void *state, struct json_object *out);
void fl_netq_release(void *state);

/* ---- nftables faults ---- */

struct fl_netf {
	struct fl_net_scope scope;
	enum fl_nft_action action;
	struct fl_nft nft;
	const char *hook;	  /* "egress", "output" or "input" */
	char why_not_egress[160]; /* why the egress hook was not used */
};

int fl_netf_apply(void *state, struct fl_fault_ctx *ctx);
int fl_netf_revert(void *state, struct fl_fault_ctx *ctx);
void fl_netf_status(void *state, struct json_object *out);

/* A fresh table name for this process: FL_NET_PREFIX-<tag>-<n>. */
void fl_net_table_name(const struct fl_fault_ctx *ctx, char *out, size_t n);

/* Creates the run tag's beacon (fl_nft_beacon()) of our root qdisc on
 * ifindex (ifb 0) or of our ifb device for it (ifb 1), owned by owner,
 * which it opens when needed; closing owner drops every beacon.
 * Returns 0, or -1 with err. */
int fl_net_beacon_take(struct fl_nl *owner, int ifindex, int ifb,
		       const char *tag, char *err, size_t n);

/* Whether the run tag holds the beacon of the root qdisc on ifindex:
 * 1 or 0, or -1 with err. */
int fl_net_beacon_ours(int ifindex, const char *tag, char *err, size_t n);

/* Removes every nftables table, qdisc, filter and ifb device of ours
 * (the sweep of every network kind).  Returns how many, or -1 with
 * ctx->err. */
int fl_net_sweep(struct fl_fault_ctx *ctx);

#endif
