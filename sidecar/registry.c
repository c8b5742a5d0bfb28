/*
 * Every fault kind this build can inject.  A new kind adds its file
 * (sidecar/fault_<kind>.c, defining fl_fault_<snake_kind>_ops) and one
 * line here.
 */
#include <string.h>

#include "fault.h"

extern const struct fl_fault_ops fl_fault_cpu_stress_ops;
extern const struct fl_fault_ops fl_fault_memory_stress_ops;
extern const struct fl_fault_ops fl_fault_disk_stress_ops;
extern const struct fl_fault_ops fl_fault_process_kill_ops;
extern const struct fl_fault_ops fl_fault_process_pause_ops;

/* Network kinds (sidecar/fault_net.h holds what they share). */
extern const struct fl_fault_ops fl_fault_network_latency_ops;
extern const struct fl_fault_ops fl_fault_network_loss_ops;
extern const struct fl_fault_ops fl_fault_network_corruption_ops;
extern const struct fl_fault_ops fl_fault_network_duplication_ops;
extern const struct fl_fault_ops fl_fault_bandwidth_ops;
extern const struct fl_fault_ops fl_fault_network_partition_ops;
extern const struct fl_fault_ops fl_fault_dependency_timeout_ops;
extern const struct fl_fault_ops fl_fault_service_unavailable_ops;

const struct fl_fault_ops *const fl_fault_registry[] = {
	/* Resources and processes. */
	&fl_fault_cpu_stress_ops,
	&fl_fault_memory_stress_ops,
	&fl_fault_disk_stress_ops,
	&fl_fault_process_kill_ops,
	&fl_fault_process_pause_ops,

	/* Network. */
	&fl_fault_network_latency_ops,
	&fl_fault_network_loss_ops,
	&fl_fault_network_corruption_ops,
	&fl_fault_network_duplication_ops,
	&fl_fault_bandwidth_ops,
	&fl_fault_network_partition_ops,
	&fl_fault_dependency_timeout_ops,
	&fl_fault_service_unavailable_ops,

	NULL,
};

const struct fl_fault_ops *fl_fault_ops_find(const char *kind)
{
	size_t i;

	for (i = 0; fl_fault_registry[i]; i++)
		if (strcmp(fl_fault_registry[i]->kind, kind) == 0)
			return fl_fault_registry[i];
	return NULL;
}
