/*
 * The faults this operator carries out itself (podDelete through the API
 * server, the AWS kinds through the AWS APIs), then the kinds an injector
 * applies inside a pod.  A kind in neither fails a run before anything is
 * touched, saying which.
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
	for (size_t i = 0; i < fl_fault_injected_count; i++)
		if (fl_fault_injected[i].kind == kind)
			return &fl_fault_injected[i];
	return NULL;
}
