/*
 * The faults this operator carries out itself.  Kinds applied by the
 * injector inside a pod, and the AWS kinds, join this table when their
 * engines are wired in; until then a run that needs one fails before
 * anything is touched, saying which.
 */
#include <stddef.h>

#include "fault.h"

static const struct fl_fault_ops *const table[] = {
	&fl_fault_pod_delete,
};

const struct fl_fault_ops *fl_fault_ops_for(enum fl_fault_kind kind)
{
	for (size_t i = 0; i < sizeof(table) / sizeof(table[0]); i++)
		if (table[i]->kind == kind)
			return table[i];
	return NULL;
}
