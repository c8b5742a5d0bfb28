/*
 * networkLoss: packets are dropped, percent of them, correlated like netem's.
 */
#include "fault_net.h"

static int loss_parse(struct json_object *params, void *state,
		      struct fl_errors *errs)
{
	struct fl_netq *q = state;

	q->p.loss = fl_net_share(params, "percent");
	q->p.loss_corr = fl_net_share(params, "correlation");
	return fl_netq_parse_common(params, q, errs);
}

const struct fl_fault_ops fl_fault_network_loss_ops = {
	.kind = "networkLoss",
	.state_size = sizeof(struct fl_netq),
	.parse = loss_parse,
	.apply = fl_netq_apply,
	.revert = fl_netq_revert,
	.sweep = fl_net_sweep,
	.status = fl_netq_status,
	.release = fl_netq_release,
};
