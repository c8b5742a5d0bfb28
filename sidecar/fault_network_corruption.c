/*
 * networkCorruption: one bit of percent of the packets is flipped, in the
 * transport header or data, and no checksum is fixed, so that the receiver
 * sees a corrupt packet (and its stack drops it).
 */
#include "fault_net.h"

static int corruption_parse(struct json_object *params, void *state,
			    struct fl_errors *errs)
{
	struct fl_netq *q = state;

	q->p.corrupt = fl_net_share(params, "percent");
	q->p.corrupt_corr = fl_net_share(params, "correlation");
	return fl_netq_parse_common(params, q, errs);
}

const struct fl_fault_ops fl_fault_network_corruption_ops = {
	.kind = "networkCorruption",
	.state_size = sizeof(struct fl_netq),
	.parse = corruption_parse,
	.apply = fl_netq_apply,
	.revert = fl_netq_revert,
	.sweep = fl_net_sweep,
	.status = fl_netq_status,
	.release = fl_netq_release,
};
