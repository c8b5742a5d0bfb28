/*
 * `kubectl faultline report NAME --format json|junit|markdown|html
 * [-o FILE]`: exports the experiment's run for CI and for people.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "report.h"

/* Reports are bounded like everything built from network input. */
#define MAX_REPORT (64u << 20)

static const struct {
	const char *name;
	int (*render)(struct json_object *obj, struct fl_buf *out);
} formats[] = {
	{"json", fl_report_json},
	{"junit", fl_report_junit},
	{"markdown", fl_report_markdown},
	{"html", fl_report_html},
};

struct report_args {
	const char *name, *format, *output;
};

static int parse_args(int argc, char **argv, struct report_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		const char **slot = NULL;
		const char *v = NULL;

		if (!strncmp(argv[i], "--format=", 9))
			v = argv[i] + 9, slot = &a->format;
		else if (!strncmp(argv[i], "--output=", 9))
			v = argv[i] + 9, slot = &a->output;
		else if (!strcmp(argv[i], "--format"))
			slot = &a->format;
		else if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output"))
			slot = &a->output;
		if (slot && !v) {
			if (i + 1 >= argc) {
				fl_cli_err("report: %s needs a value", argv[i]);
				return -1;
			}
			v = argv[++i];
		}
		if (slot) {
			*slot = v;
		} else if (argv[i][0] == '-' || a->name) {
			fl_cli_err("report: unexpected argument '%s'", argv[i]);
			return -1;
		} else {
			a->name = argv[i];
		}
	}
	if (!a->name || !a->format) {
		fprintf(stderr, "usage: kubectl faultline report NAME --format "
				"json|junit|markdown|html [-o FILE]\n");
		return -1;
	}
	return 0;
}

int fl_cmd_report(const struct fl_cli_globals *g, int argc, char **argv)
{
	struct fl_cli_conn c = {0};
	struct fl_kube_status st = {0};
	struct json_object *obj = NULL;
	struct fl_kube_ref ref;
	struct report_args a;
	struct fl_buf out;
	size_t i, f = sizeof(formats) / sizeof(formats[0]);
	int rc = FL_EXIT_ERROR;

	fl_buf_init(&out, MAX_REPORT);
	if (parse_args(argc, argv, &a))
		goto out;
	for (i = 0; i < f && strcmp(formats[i].name, a.format); i++)
		;
	if (i == f) {
		fl_cli_err("report: unknown format '%s' (json, junit, "
			   "markdown or html)",
			   a.format);
		goto out;
	}
	if (fl_cli_connect(g, &c))
		goto out;
	ref = fl_cli_ref(c.namespace, a.name);
	if (fl_kube_get(c.kube, &ref, &obj, &st)) {
		fl_cli_api_err("get", c.namespace, a.name, &st);
		goto out;
	}
	if (formats[i].render(obj, &out)) {
		fl_cli_err("report of chaosexperiment '%s/%s' is larger than "
			   "%u bytes",
			   c.namespace, a.name, MAX_REPORT);
		goto out;
	}
	if (fl_cli_write_out(a.output, out.data, out.len))
		goto out;
	if (a.output && strcmp(a.output, "-"))
		fprintf(stderr,
			"wrote %s report of chaosexperiment '%s/%s' "
			"to %s\n",
			a.format, c.namespace, a.name, a.output);
	rc = 0;
out:
	json_object_put(obj);
	fl_kube_status_release(&st);
	fl_cli_conn_release(&c);
	fl_buf_release(&out);
	return rc;
}
