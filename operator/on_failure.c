/*
 * spec.onFailure: rollbacks and the webhook notification.
 */
#include "json.h"
#include "log.h"
#include "on_failure.h"
#include "run.h"

int fl_run_on_failure(struct fl_run *r, const char *verdict,
		      const char *message)
{
	(void)message;
	/* TODO: carry out the rollbacks and the notification; until then
	 * say that they were not. */
	if (fl_json_get(fl_json_get(r->obj, "spec"), "onFailure"))
		FL_LOG(FL_LOG_WARN, &r->log,
		       "verdict %s: spec.onFailure is not carried out by this "
		       "build",
		       verdict);
	return 0;
}
