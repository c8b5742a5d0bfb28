/*
 * networkPartition: traffic to (egress) or from (ingress) the given
 * destinations, or all traffic, vanishes without an answer.
 */
#include "fault_net.h"

static int partition_parse(struct json_object *params, void *state,
			   struct fl_errors *errs)
{
	struct fl_netf *f = state;

	f->action = FL_NFT_DROP;
	return fl_net_scope_parse(params, &f->scope, errs);
}

const struct fl_fault_ops fl_fault_network_partition_ops = {
	.kind = "networkPartition",
	.state_size = sizeof(struct fl_netf),
	.parse = partition_parse,
	.apply = fl_netf_apply,
	.revert = fl_netf_revert,
	.sweep = fl_net_sweep,
	.status = fl_netf_status,
};
