/*
 * dependencyTimeout: calls to the given dependencies go unanswered, so
 * that callers wait for their own timeouts.
 */
#include "fault_net.h"

static int timeout_parse(struct json_object *params, void *state,
			 struct fl_errors *errs)
{
	struct fl_netf *f = state;
	int rc = fl_net_scope_parse(params, &f->scope, errs);

	f->action = FL_NFT_DROP;
	f->scope.dir = FL_NET_EGRESS;
	if (rc == 0 && f->scope.nto == 0) {
		fl_errors_add(errs, 0, "to", "names no dependency");
		return -1;
	}
	return rc;
}

const struct fl_fault_ops fl_fault_dependency_timeout_ops = {
	.kind = "dependencyTimeout",
	.state_size = sizeof(struct fl_netf),
	.parse = timeout_parse,
	.apply = fl_netf_apply,
	.revert = fl_netf_revert,
	.sweep = fl_net_sweep,
	.status = fl_netf_status,
};
