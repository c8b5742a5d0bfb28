/*
 * networkDuplication: percent of the packets arrive twice.  The copy is sent
 * again at once through a raw socket whose mark our rules let pass; the
 * original goes on.
 */
#include "fault_net.h"

static int duplication_parse(struct json_object *params, void *state,
			     struct fl_errors *errs)
{
	struct fl_netq *q = state;

	q->p.dup = fl_net_share(params, "percent");
	q->p.dup_corr = fl_net_share(params, "correlation");
	return fl_netq_parse_common(params, q, errs);
}

const struct fl_fault_ops fl_fault_network_duplication_ops = {
	.kind = "networkDuplication",
	.state_size = sizeof(struct fl_netq),
	.parse = duplication_parse,
	.apply = fl_netq_apply,
	.revert = fl_netq_revert,
	.sweep = fl_net_sweep,
	.status = fl_netq_status,
	.release = fl_netq_release,
};
