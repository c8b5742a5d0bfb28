/*
 * The faults this operator carries out itself: podDelete through the
 * API server, and the AWS kinds through the AWS APIs.  Kinds applied by
 * the injector inside a pod join this table when their engine is wired
 * in; until then a run that needs one fails before anything is touched,
 * saying which.
 */
#include <stddef.h>

#include "fault.h"

static const struct fl_fault_ops *const table[] = {
	&fl_fault_pod_delete,
	&fl_fault_node_termination,
	&fl_fault_ecs_task_stop,
	&fl_fault_rds_failover,
};

const struct fl_fault_ops *fl_fault_ops_for(enum fl_fault_kind kind)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i]->kind == kind)
			return table[i];
	return NULL;
}
