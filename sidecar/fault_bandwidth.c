/*
 * bandwidth: a token bucket on what leaves the target (tbf as the root
 * qdisc, or, for some destinations only, htb whose shaped class gets
 * them through u32 filters), and on what arrives when direction asks for
 * it, through an ifb device that everything arriving is redirected to.
 */
#include <stdio.h>
#include <string.h>

#include "fault_net.h"
#include "json.h"
#include "units.h"

/* Defaults, like tc users choose them: a bucket of 10 ms at the rate but
 * never under 16 KiB (so that one large segment fits), and a queue of
 * 100 ms at the rate on top. */
#define MIN_BURST (16u << 10)
#define MAX_BYTES 0xffffffffll

struct bandwidth {
	struct fl_net_scope scope;
	struct fl_tc_rate rate;
	int egress[FL_TC_LINKS_MAX];		/* links with our shaper */
	struct fl_tc_place at[FL_TC_LINKS_MAX]; /* where it is on each */
	int negress;
	int ingress[FL_TC_LINKS_MAX]; /* links redirected to an ifb */
	int ningress;
	struct fl_nl owner; /* owns the beacons of what we installed */
};

static int read_bytes(struct json_object *params, const char *key,
		      uint32_t *out, struct fl_errors *errs)
{
	const char *text = fl_json_str(params, key);
	int64_t v;

	if (!text)
		return 0;
	if (fl_quantity_parse_int(text, &v) < 0 || v <= 0 || v > MAX_BYTES) {
		fl_errors_add(errs, 0, key,
			      "'%s' is not a size between 1 and 4Gi", text);
		return -1;
	}
	*out = (uint32_t)v;
	return 0;
}

static uint64_t clamp_bytes(uint64_t v)
{
	return v > MAX_BYTES ? MAX_BYTES : v;
}

static int bandwidth_parse(struct json_object *params, void *state,
			   struct fl_errors *errs)
{
	struct bandwidth *b = state;
	const char *rate = fl_json_str(params, "rate");
	uint64_t bits = 0;
	int rc = fl_net_scope_parse(params, &b->scope, errs);

	if (!rate || fl_rate_parse(rate, &bits) < 0 || bits < 8) {
		fl_errors_add(errs, 0, "rate",
			      "'%s' is not a rate such as "
			      "10mbit",
			      rate ? rate : "");
		return -1;
	}
	b->rate.bytes_per_sec = bits / 8;
	if (read_bytes(params, "burst", &b->rate.burst, errs) < 0 ||
	    read_bytes(params, "limit", &b->rate.limit, errs) < 0)
		return -1;
	/* The defaults grow with the rate, which the schema lets reach
	 * 10^18 bits a second: they stop at the largest u32. */
	if (!b->rate.burst)
		b->rate.burst = (uint32_t)clamp_bytes(
			b->rate.bytes_per_sec / 100 > MIN_BURST
				? b->rate.bytes_per_sec / 100
				: MIN_BURST);
	if (!b->rate.limit)
		b->rate.limit = (uint32_t)clamp_bytes(
			(uint64_t)b->rate.burst + b->rate.bytes_per_sec / 10);
	return rc;
}

static int bandwidth_revert(void *state, struct fl_fault_ctx *ctx)
{
	struct bandwidth *b = state;
	struct fl_nl nl;
	int i, left;

	if (!b->negress && !b->ningress)
		goto out;
	if (fl_nl_open(&nl, NETLINK_ROUTE, ctx->err, sizeof(ctx->err)) < 0)
		return -1;

	/* What would not go stays listed, so that a second revert tries
	 * it again, and its beacon stays with it. */
	for (i = left = 0; i < b->negress; i++) {
		if (fl_tc_unplace(&nl, b->egress[i], &b->at[i], ctx->err,
				  sizeof(ctx->err)) < 0) {
			b->at[left] = b->at[i];
			b->egress[left++] = b->egress[i];
		}
	}
	b->negress = left;
	for (i = left = 0; i < b->ningress; i++)
		if (fl_tc_ifb_detach(&nl, b->ingress[i], ctx->err,
				     sizeof(ctx->err)) < 0)
			b->ingress[left++] = b->ingress[i];
	b->ningress = left;
	fl_nl_close(&nl);
	if (b->negress || b->ningress)
		return -1;
out:
	/* The beacons go last: until our qdiscs and devices are gone, they
	 * tell a sweep that these are a live instance's. */
	fl_nl_close(&b->owner);
	return 0;
}

/* Shapes what leaves ifindex: at the root, guarded by our beacon, or,
 * when a latency fault of this run put netem there, under netem (a
 * root is one qdisc; netem and a shaper compose as parent and child). */
static int shape_egress(struct bandwidth *b, struct fl_nl *nl, int ifindex,
			struct fl_fault_ctx *ctx)
{
	struct fl_tc_place *at = &b->at[b->negress];

	if (fl_tc_place_find(nl, ifindex, at, ctx->err, sizeof(ctx->err)) < 0)
		return -1;
	if (at->nested) {
		if (fl_net_beacon_ours(ifindex, ctx->tag, ctx->err,
				       sizeof(ctx->err)) != 1) {
			snprintf(ctx->err, sizeof(ctx->err),
				 "the root qdisc of interface %d is another "
				 "live injector's netem",
				 ifindex);
			return -1;
		}
	} else if (fl_net_beacon_take(&b->owner, ifindex, 0, ctx->tag, ctx->err,
				      sizeof(ctx->err)) < 0) {
		return -1;
	}

	/* Listed before it is tried: if a partial shaper cannot be taken
	 * back here, revert takes it (an absent one is no error). */
	b->egress[b->negress++] = ifindex;
	return fl_tc_shape(nl, ifindex, at, &b->rate, &b->scope, 0, ctx->err,
			   sizeof(ctx->err));
}

static int shape_link(struct bandwidth *b, struct fl_nl *nl, int ifindex,
		      struct fl_fault_ctx *ctx)
{
	struct fl_tc_place root;
	int ifb;

	if ((b->scope.dir & FL_NET_EGRESS) &&
	    shape_egress(b, nl, ifindex, ctx) < 0)
		return -1;
	if (!(b->scope.dir & FL_NET_INGRESS))
		return 0;
	if (fl_net_beacon_take(&b->owner, ifindex, 1, ctx->tag, ctx->err,
			       sizeof(ctx->err)) < 0)
		return -1;
	ifb = fl_tc_ifb_attach(nl, ifindex, ctx->err, sizeof(ctx->err));
	if (ifb < 0)
		return -1;
	b->ingress[b->ningress++] = ifindex;

	/* The ifb device is ours alone: its root is free. */
	if (fl_tc_place_find(nl, ifb, &root, ctx->err, sizeof(ctx->err)) < 0)
		return -1;
	return fl_tc_shape(nl, ifb, &root, &b->rate, &b->scope, 1, ctx->err,
			   sizeof(ctx->err));
}

static int bandwidth_apply(void *state, struct fl_fault_ctx *ctx)
{
	struct bandwidth *b = state;
	struct fl_tc_link links[FL_TC_LINKS_MAX];
	char keep[sizeof(ctx->err)];
	struct fl_nl nl;
	int k, i, rc = -1;

	if (fl_nl_open(&nl, NETLINK_ROUTE, ctx->err, sizeof(ctx->err)) < 0)
		return -1;
	k = fl_tc_targets(&nl, b->scope.ifname, links, FL_TC_LINKS_MAX,
			  ctx->err, sizeof(ctx->err));
	for (i = 0; i < k; i++)
		if (shape_link(b, &nl, links[i].ifindex, ctx) < 0)
			goto out;
	rc = k > 0 ? 0 : -1;
out:
	fl_nl_close(&nl);
	if (rc < 0) {
		/* Keep the first failure's message, not the cleanup's. */
		memcpy(keep, ctx->err, sizeof(keep));
		bandwidth_revert(b, ctx);
		memcpy(ctx->err, keep, sizeof(keep));
	}
	return rc;
}

static void bandwidth_status(void *state, struct json_object *out)
{
	struct bandwidth *b = state;

	json_object_object_add(
		out, "engine",
		json_object_new_string(b->scope.nto ? "htb" : "tbf"));
	if (b->negress && b->at[0].nested)
		json_object_object_add(out, "under",
				       json_object_new_string("netem"));
	json_object_object_add(
		out, "bytesPerSecond",
		json_object_new_int64((int64_t)b->rate.bytes_per_sec));
	json_object_object_add(out, "burst",
			       json_object_new_int64(b->rate.burst));
	json_object_object_add(out, "limit",
			       json_object_new_int64(b->rate.limit));
	if (b->ningress)
		json_object_object_add(out, "ingress",
				       json_object_new_string("ifb"));
}

const struct fl_fault_ops fl_fault_bandwidth_ops = {
	.kind = "bandwidth",
	.state_size = sizeof(struct bandwidth),
	.parse = bandwidth_parse,
	.apply = bandwidth_apply,
	.revert = bandwidth_revert,
	.sweep = fl_net_sweep,
	.status = bandwidth_status,
};
