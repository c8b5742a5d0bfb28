/*
 * The nftables faults: partition and dependency timeout drop packets
 * silently (callers time out), service unavailable rejects connections
 * to the target's ports (tcp reset, icmp port unreachable).  The
 * operator's channel is spared by an accept rule before ours unless the
 * spec allows cutting it.
 *
 * Drops of egress traffic go to the netdev egress hook of each device:
 * there a dropped packet looks to the sender like one lost on the way
 * (sendto() succeeds).  Dropped at the output hook, it makes sendto()
 * fail with EPERM, and a UDP client (a DNS lookup) fails at once instead
 * of timing out.  Traffic to our own addresses (over lo) never reaches a
 * device's egress hook, and is not dropped.
 */
#include <stdio.h>
#include <string.h>

#include "fault_net.h"

/* The devices whose netdev egress hook takes the drop rules; 0 when the
 * output hook must do (no device is up, or not a drop). */
static size_t egress_devs(struct fl_netf *f, struct fl_tc_link *links,
			  const char **names)
{
	char ignore[128];
	struct fl_nl nl;
	int k, i;

	if (f->action != FL_NFT_DROP || !(f->scope.dir & FL_NET_EGRESS))
		return 0;
	if (fl_nl_open(&nl, NETLINK_ROUTE, ignore, sizeof(ignore)) < 0)
		return 0;
	k = fl_tc_targets(&nl, f->scope.ifname, links, FL_TC_LINKS_MAX, ignore,
			  sizeof(ignore));
	fl_nl_close(&nl);
	for (i = 0; i < k; i++)
		names[i] = links[i].name;
	return k > 0 ? (size_t)k : 0;
}

int fl_netf_apply(void *state, struct fl_fault_ctx *ctx)
{
	struct fl_netf *f = state;
	struct fl_nft_spec spec = {.scope = &f->scope, .action = f->action};
	struct fl_tc_link links[FL_TC_LINKS_MAX];
	const char *names[FL_TC_LINKS_MAX];
	char table[64];

	fl_net_table_name(ctx, table, sizeof(table));
	spec.table = table;
	if (!ctx->allow_control_cut) {
		spec.control_cidr = ctx->control_cidr;
		spec.control_port = ctx->control_port;
	}
	spec.egress_devs = names;
	spec.ndevs = egress_devs(f, links, names);
	if (spec.ndevs &&
	    fl_nft_install(&f->nft, &spec, ctx->err, sizeof(ctx->err)) == 0) {
		f->hook = "egress";
		return 0;
	}

	/* Without a device, or on a kernel without the netdev egress hook,
	 * the output hook drops too, only less quietly. */
	if (spec.ndevs)
		snprintf(f->why_not_egress, sizeof(f->why_not_egress), "%.*s",
			 (int)sizeof(f->why_not_egress) - 1, ctx->err);
	spec.ndevs = 0;
	if (fl_nft_install(&f->nft, &spec, ctx->err, sizeof(ctx->err)) < 0)
		return -1;
	f->hook = f->scope.dir & FL_NET_EGRESS ? "output" : "input";
	return 0;
}

int fl_netf_revert(void *state, struct fl_fault_ctx *ctx)
{
	struct fl_netf *f = state;

	return fl_nft_remove(&f->nft, ctx->err, sizeof(ctx->err));
}

void fl_netf_status(void *state, struct json_object *out)
{
	struct fl_netf *f = state;

	json_object_object_add(out, "engine",
			       json_object_new_string("nftables"));
	if (f->hook)
		json_object_object_add(out, "hook",
				       json_object_new_string(f->hook));
	if (f->why_not_egress[0])
		json_object_object_add(
			out, "egressHook",
			json_object_new_string(f->why_not_egress));
	if (f->nft.table[0])
		json_object_object_add(out, "table",
				       json_object_new_string(f->nft.table));
}
