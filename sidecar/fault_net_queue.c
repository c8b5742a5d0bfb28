/*
 * The engine behind latency, loss, corruption and duplication.
 *
 * netem is the engine of choice, used when the kernel has it and the
 * fault can be netem's: all traffic, egress only, and no control channel
 * to spare (netem cannot tell the operator's packets from others).  We
 * find out whether the kernel has it by adding it as our root qdisc.
 * Otherwise, the NFQUEUE rules of sidecar/nft.c feed sidecar/nfq.c,
 * which also composes with other faults: each fault has its own queue,
 * and a packet accepted by one queue goes on to the next rule.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "fault_net.h"
#include "json.h"

int fl_netq_parse_common(struct json_object *params, struct fl_netq *q,
			 struct fl_errors *errs)
{
	return fl_net_scope_parse(params, &q->scope, errs);
}

static int netem_fits(struct fl_netq *q, const struct fl_fault_ctx *ctx)
{
	if (q->scope.nto || q->scope.dir != FL_NET_EGRESS) {
		snprintf(q->why_not_netem, sizeof(q->why_not_netem),
			 "netem applies to all egress traffic only");
		return 0;
	}
	if (ctx->control_cidr && !ctx->allow_control_cut) {
		snprintf(q->why_not_netem, sizeof(q->why_not_netem),
			 "netem cannot spare the control channel");
		return 0;
	}
	return 1;
}

/* Removes the netem qdiscs that a failed try_netem() installed.  A
 * qdisc that would not go stays listed, with its beacon still held, so
 * that revert tries it again (or, if we die, a sweep finds it); then
 * ctx->err has the kernel's message and -1 is returned. */
static int undo_netem(struct fl_netq *q, struct fl_nl *nl,
		      struct fl_fault_ctx *ctx)
{
	int i, left = 0;

	for (i = 0; i < q->nnetem; i++)
		if (fl_tc_unroot(nl, q->netem_if[i], ctx->err,
				 sizeof(ctx->err)) < 0)
			q->netem_if[left++] = q->netem_if[i];
	q->nnetem = left;
	if (left)
		return -1;

	fl_nl_close(&q->owner);
	return 0;
}

/* Installs netem on every target link.  Returns 0 when it is in place;
 * -1 with why_not_netem filled and nothing left, so that NFQUEUE may
 * take over; -2 with ctx->err when a netem could not be undone, since
 * NFQUEUE on top of a stray netem would double the fault. */
static int try_netem(struct fl_netq *q, struct fl_fault_ctx *ctx)
{
	struct fl_tc_link links[FL_TC_LINKS_MAX];
	struct fl_tc_netem nm = {.delay_us = q->p.delay_us,
				 .jitter_us = q->p.jitter_us,
				 .delay_corr = q->p.delay_corr,
				 .loss = q->p.loss,
				 .loss_corr = q->p.loss_corr,
				 .corrupt = q->p.corrupt,
				 .corrupt_corr = q->p.corrupt_corr,
				 .dup = q->p.dup,
				 .dup_corr = q->p.dup_corr};
	struct fl_nl nl;
	int k, i, rc = -1;

	if (!netem_fits(q, ctx))
		return -1;
	if (fl_nl_open(&nl, NETLINK_ROUTE, q->why_not_netem,
		       sizeof(q->why_not_netem)) < 0)
		return -1;
	k = fl_tc_targets(&nl, q->scope.ifname, links, FL_TC_LINKS_MAX,
			  q->why_not_netem, sizeof(q->why_not_netem));
	for (i = 0; i < k; i++) {
		if (fl_net_beacon_take(&q->owner, links[i].ifindex, 0, ctx->tag,
				       q->why_not_netem,
				       sizeof(q->why_not_netem)) < 0 ||
		    fl_tc_netem(&nl, links[i].ifindex, &nm, q->why_not_netem,
				sizeof(q->why_not_netem)) < 0)
			goto out;
		q->netem_if[q->nnetem++] = links[i].ifindex;
	}
	rc = k > 0 ? 0 : -1;
out:
	if (rc < 0 && undo_netem(q, &nl, ctx) < 0)
		rc = -2;
	fl_nl_close(&nl);
	return rc;
}

static int apply_nfqueue(struct fl_netq *q, struct fl_fault_ctx *ctx)
{
	struct fl_nft_spec spec = {.scope = &q->scope, .action = FL_NFT_QUEUE};
	char table[64];

	q->nfq = fl_nfq_start(&q->p, ctx->err, sizeof(ctx->err));
	if (!q->nfq)
		return -1;
	fl_net_table_name(ctx, table, sizeof(table));
	spec.table = table;
	spec.queue_num = fl_nfq_queue(q->nfq);
	if (!ctx->allow_control_cut) {
		spec.control_cidr = ctx->control_cidr;
		spec.control_port = ctx->control_port;
	}
	if (fl_nft_install(&q->nft, &spec, ctx->err, sizeof(ctx->err)) < 0) {
		fl_nfq_stop(q->nfq);
		q->nfq = NULL;
		return -1;
	}
	return 0;
}

int fl_netq_apply(void *state, struct fl_fault_ctx *ctx)
{
	struct fl_netq *q = state;
	int rc = try_netem(q, ctx);

	if (rc == 0) {
		q->engine = "netem";
		return 0;
	}
	if (rc == -2)
		return -1;
	if (apply_nfqueue(q, ctx) < 0)
		return -1;
	q->engine = "nfqueue";
	return 0;
}

int fl_netq_revert(void *state, struct fl_fault_ctx *ctx)
{
	struct fl_netq *q = state;
	struct fl_nl nl;
	int rc = 0, i, left = 0;

	/* The rules go first: while they are still there with nobody
	 * listening, bypass lets packets through anyway. */
	if (fl_nft_remove(&q->nft, ctx->err, sizeof(ctx->err)) < 0)
		rc = -1;
	fl_nfq_stop(q->nfq);
	q->nfq = NULL;
	if (q->nnetem) {
		if (fl_nl_open(&nl, NETLINK_ROUTE, ctx->err, sizeof(ctx->err)) <
		    0)
			return -1;

		/* A qdisc that would not go stays listed, so that a
		 * second revert tries it again. */
		for (i = 0; i < q->nnetem; i++)
			if (fl_tc_unroot(&nl, q->netem_if[i], ctx->err,
					 sizeof(ctx->err)) < 0)
				q->netem_if[left++] = q->netem_if[i];
		fl_nl_close(&nl);
		q->nnetem = left;
	}
	if (q->nnetem)
		return -1;

	/* The beacons go last: until our qdiscs are gone, they tell a
	 * sweep that these are a live instance's. */
	fl_nl_close(&q->owner);
	return rc;
}

void fl_netq_status(void *state, struct json_object *out)
{
	struct fl_netq *q = state;
	struct fl_nfq_stats st;

	if (!q->engine)
		return;
	json_object_object_add(out, "engine",
			       json_object_new_string(q->engine));
	if (q->why_not_netem[0])
		json_object_object_add(
			out, "netem", json_object_new_string(q->why_not_netem));
	if (!q->nfq)
		return;
	fl_nfq_stats(q->nfq, &st);
	json_object_object_add(out, "queue",
			       json_object_new_int(fl_nfq_queue(q->nfq)));
	json_object_object_add(out, "table",
			       json_object_new_string(q->nft.table));
	json_object_object_add(out, "packets",
			       json_object_new_int64((int64_t)st.seen));
	json_object_object_add(out, "dropped",
			       json_object_new_int64((int64_t)st.dropped));
	json_object_object_add(out, "corrupted",
			       json_object_new_int64((int64_t)st.corrupted));
	json_object_object_add(out, "duplicated",
			       json_object_new_int64((int64_t)st.duplicated));
	json_object_object_add(out, "passedFull",
			       json_object_new_int64((int64_t)st.passed_full));
}

void fl_netq_release(void *state)
{
	struct fl_netq *q = state;
	char ignore[64];

	/* Only reached without a revert on a path that lost track of the
	 * fault; still leave nothing running. */
	fl_nft_remove(&q->nft, ignore, sizeof(ignore));
	fl_nfq_stop(q->nfq);
	q->nfq = NULL;
}

void fl_net_table_name(const struct fl_fault_ctx *ctx, char *out, size_t n)
{
	static unsigned seq;

	snprintf(out, n, "%s-%s-%u", FL_NET_PREFIX, ctx->tag ? ctx->tag : "x",
		 ++seq);
}

int fl_net_beacon_take(struct fl_nl *owner, int ifindex, int ifb,
		       const char *tag, char *err, size_t n)
{
	char name[128];

	if (!owner->sock && fl_nl_open(owner, NETLINK_NETFILTER, err, n) < 0)
		return -1;
	fl_tc_beacon_name(ifindex, ifb, tag, name, sizeof(name));
	if (fl_nft_beacon(owner, name, err, n) == 0)
		return 0;
	if (errno == EEXIST)
		snprintf(err, n,
			 "%s of interface %d is held by another "
			 "live injector (beacon '%s')",
			 ifb ? "the ifb device" : "the root qdisc", ifindex,
			 name);
	return -1;
}

int fl_net_beacon_ours(int ifindex, const char *tag, char *err, size_t n)
{
	struct fl_nft_live *live = fl_calloc(1, sizeof(*live));
	char name[128];
	int rc = -1;

	fl_tc_beacon_name(ifindex, 0, tag, name, sizeof(name));
	if (fl_nft_live(live, err, n) == 0)
		rc = fl_nft_is_live(live, name);
	free(live);
	return rc;
}

/* A beacon we could not see (more live tables than the list holds) may
 * be alive: the sweep then leaves the thing alone. */
static int beacon_alive(const char *beacon, void *arg)
{
	const struct fl_nft_live *live = arg;

	return live->overflow || fl_nft_is_live(live, beacon);
}

int fl_net_sweep(struct fl_fault_ctx *ctx)
{
	struct fl_nft_live *live = fl_calloc(1, sizeof(*live));
	int a, b = -1;

	a = fl_nft_sweep(ctx->err, sizeof(ctx->err));
	if (a >= 0 && fl_nft_live(live, ctx->err, sizeof(ctx->err)) == 0)
		b = fl_tc_sweep(beacon_alive, live, ctx->err, sizeof(ctx->err));
	free(live);
	return a < 0 || b < 0 ? -1 : a + b;
}
