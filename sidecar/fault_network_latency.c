/*
 * networkLatency: packets wait delay ± jitter (uniform, correlated like
 * netem's) before they go on.
 */
#include "fault_net.h"
#include "json.h"
#include "units.h"

/* Packets are held in memory; a longer delay is not a latency fault any
 * more but a partition, and should be asked for as one. */
#define MAX_DELAY_MS 60000

static int read_ms(struct json_object *params, const char *key, int64_t *ms,
		   struct fl_errors *errs)
{
	const char *text = fl_json_str(params, key);

	*ms = 0;
	if (!text)
		return 0;
	if (fl_duration_parse(text, ms) < 0 || *ms < 0 || *ms > MAX_DELAY_MS) {
		fl_errors_add(errs, 0, key,
			      "'%s' is not a duration of at "
			      "most %ds",
			      text, MAX_DELAY_MS / 1000);
		return -1;
	}
	return 0;
}

static int latency_parse(struct json_object *params, void *state,
			 struct fl_errors *errs)
{
	struct fl_netq *q = state;
	int64_t delay, jitter;
	int rc = fl_netq_parse_common(params, q, errs);

	if (read_ms(params, "delay", &delay, errs) < 0 ||
	    read_ms(params, "jitter", &jitter, errs) < 0)
		return -1;
	q->p.delay_us = delay * 1000;
	q->p.jitter_us = jitter * 1000;
	q->p.delay_corr = fl_net_share(params, "correlation");
	return rc;
}

const struct fl_fault_ops fl_fault_network_latency_ops = {
	.kind = "networkLatency",
	.state_size = sizeof(struct fl_netq),
	.parse = latency_parse,
	.apply = fl_netq_apply,
	.revert = fl_netq_revert,
	.sweep = fl_net_sweep,
	.status = fl_netq_status,
	.release = fl_netq_release,
};
