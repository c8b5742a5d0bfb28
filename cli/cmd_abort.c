/*
 * `kubectl faultline abort NAME`: asks the operator to abort the current
 * run by setting the faultline.dev/abort annotation (a merge patch on
 * metadata.annotations only: the spec is never touched, so the generation
 * does not change and no new run starts).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int fl_cmd_abort(const struct fl_cli_globals *g, int argc, char **argv)
{
	struct fl_cli_conn c = {0};
	struct fl_kube_status st = {0};
	struct json_object *patch = NULL, *res = NULL;
	struct fl_kube_ref ref;
	char now[40], buf[64];
	const char *phase;
	int rc = FL_EXIT_ERROR;

	if (argc != 1 || argv[0][0] == '-') {
		fprintf(stderr, "usage: kubectl faultline abort NAME\n");
		return FL_EXIT_ERROR;
	}
	if (fl_cli_connect(g, &c))
		goto out;
	ref = fl_cli_ref(c.namespace, argv[0]);
	fl_cli_now_rfc3339(now, sizeof(now));

	/* {"metadata":{"annotations":{"faultline.dev/abort":NOW}}} */
	patch = json_object_new_object();
	{
		struct json_object *md = json_object_new_object();
		struct json_object *ann = json_object_new_object();

		json_object_object_add(ann, FL_ABORT_ANNOTATION,
				       json_object_new_string(now));
		json_object_object_add(md, "annotations", ann);
		json_object_object_add(patch, "metadata", md);
	}
	if (fl_kube_patch(c.kube, &ref, FL_KUBE_PATCH_MERGE,
			  json_object_to_json_string(patch), FL_FIELD_MANAGER,
			  0, &res, &st)) {
		fl_cli_api_err("abort", c.namespace, argv[0], &st);
		goto out;
	}
	phase = fl_cli_str(res, "status.phase");
	printf("chaosexperiment '%s/%s': abort requested (annotation %s=%s); "
	       "phase is %s\n",
	       c.namespace, argv[0], FL_ABORT_ANNOTATION, now,
	       fl_cli_safe(phase, "not set yet", buf, sizeof(buf)));
	rc = 0;
out:
	json_object_put(patch);
	json_object_put(res);
	fl_kube_status_release(&st);
	fl_cli_conn_release(&c);
	return rc;
}
