/*
 * `kubectl faultline get [NAME] [-o json|yaml] [-A]`: experiments as a
 * table (NAME PHASE VERDICT TARGETS AGE, the CRD's printer columns), or
 * whole objects as JSON or YAML.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "json.h"

struct get_args {
	const char *name;
	const char *output; /* NULL, "json" or "yaml" */
	int all_namespaces;
};

static int parse_args(int argc, char **argv, struct get_args *a)
{
	int i;

	memset(a, 0, sizeof(*a));
	for (i = 0; i < argc; i++) {
		if (!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) {
			if (++i >= argc) {
				fl_cli_err("-o needs json or yaml");
				return -1;
			}
			a->output = argv[i];
		} else if (!strncmp(argv[i], "--output=", 9)) {
			a->output = argv[i] + 9;
		} else if (!strncmp(argv[i], "-o", 2) && argv[i][2]) {
			a->output = argv[i] + 2;
		} else if (!strcmp(argv[i], "-A") ||
			   !strcmp(argv[i], "--all-namespaces")) {
			a->all_namespaces = 1;
		} else if (argv[i][0] == '-' || a->name) {
			fl_cli_err("get: unexpected argument '%s'", argv[i]);
			return -1;
		} else {
			a->name = argv[i];
		}
	}
	if (a->output && strcmp(a->output, "json") &&
	    strcmp(a->output, "yaml")) {
		fl_cli_err("get: unknown output format '%s' (json or yaml)",
			   a->output);
		return -1;
	}
	if (a->name && a->all_namespaces) {
		fl_cli_err("get: a NAME cannot be combined with -A");
		return -1;
	}
	return 0;
}

static void add_row(struct fl_cli_table *t, struct json_object *obj, int ns,
		    int64_t now)
{
	char count[32], age[32];
	const char *cells[6];
	size_t i = 0;
	int64_t n = fl_cli_int(obj, "status.targetCount", -1);

	if (n >= 0)
		snprintf(count, sizeof(count), "%lld", (long long)n);
	else
		count[0] = '\0';
	if (ns)
		cells[i++] = fl_cli_str(obj, "metadata.namespace");
	cells[i++] = fl_cli_str(obj, "metadata.name");
	cells[i++] = fl_cli_str(obj, "status.phase");
	cells[i++] = fl_cli_str(obj, "status.verdict");
	cells[i++] = count;
	cells[i++] = fl_cli_age(fl_cli_str(obj, "metadata.creationTimestamp"),
				now, age, sizeof(age));
	fl_cli_table_row(t, cells);
}

static int print_table(struct json_object *items, int ns)
{
	static const char *const head[] = {"NAMESPACE", "NAME",	   "PHASE",
					   "VERDICT",	"TARGETS", "AGE"};
	struct fl_cli_table t;
	int64_t now = fl_cli_now_ms();
	size_t i;

	fl_cli_table_init(&t, ns ? 6 : 5);
	fl_cli_table_row(&t, ns ? head : head + 1);
	for (i = 0; i < fl_json_len(items); i++)
		add_row(&t, json_object_array_get_idx(items, i), ns, now);
	fl_cli_table_print(&t, stdout, "");
	fl_cli_table_release(&t);
	return 0;
}

static int print_object(struct json_object *o, const char *format)
{
	struct fl_buf out;
	int rc = -1;

	fl_buf_init(&out, 0);
	if (!strcmp(format, "json")) {
		if (fl_buf_adds(
			    &out,
			    json_object_to_json_string_ext(
				    o,
				    JSON_C_TO_STRING_PRETTY |
					    JSON_C_TO_STRING_SPACED |
					    JSON_C_TO_STRING_NOSLASHESCAPE)) ||
		    fl_buf_addc(&out, '\n'))
			goto out;
	} else if (fl_cli_yaml_emit(o, &out)) {
		goto out;
	}
	rc = fl_cli_write_out(NULL, out.data, out.len);
out:
	fl_buf_release(&out);
	return rc;
}

/* Makes a list response look like what kubectl prints for a list. */
static void as_list(struct json_object *list)
{
	struct json_object *items = fl_json_get(list, "items");
	size_t i;

	json_object_object_add(list, "apiVersion",
			       json_object_new_string("v1"));
	json_object_object_add(list, "kind", json_object_new_string("List"));
	for (i = 0; i < fl_json_len(items); i++) {
		struct json_object *it = json_object_array_get_idx(items, i);

		json_object_object_add(
			it, "apiVersion",
			json_object_new_string("faultline.dev/v1alpha1"));
		json_object_object_add(
			it, "kind", json_object_new_string("ChaosExperiment"));
		fl_cli_strip(it);
	}
}

int fl_cmd_get(const struct fl_cli_globals *g, int argc, char **argv)
{
	struct fl_cli_conn c;
	struct fl_kube_status st = {0};
	struct json_object *res = NULL;
	struct fl_kube_ref ref;
	struct get_args a;
	int rc = FL_EXIT_ERROR;

	if (parse_args(argc, argv, &a))
		return FL_EXIT_ERROR;
	if (fl_cli_connect(g, &c))
		goto out;
	ref = fl_cli_ref(a.all_namespaces ? NULL : c.namespace, a.name);
	if (a.name ? fl_kube_get(c.kube, &ref, &res, &st)
		   : fl_kube_list(c.kube, &ref, NULL, &res, &st)) {
		fl_cli_api_err(a.name ? "get" : "list",
			       a.all_namespaces ? "*" : c.namespace, a.name,
			       &st);
		goto out;
	}
	if (a.output) {
		if (a.name)
			fl_cli_strip(res);
		else
			as_list(res);
		rc = print_object(res, a.output) ? FL_EXIT_ERROR : 0;
		goto out;
	}
	if (a.name) {
		struct json_object *one = json_object_new_array();

		json_object_array_add(one, json_object_get(res));
		print_table(one, 0);
		json_object_put(one);
	} else if (!fl_json_len(fl_json_get(res, "items"))) {
		if (a.all_namespaces)
			fprintf(stderr, "No resources found\n");
		else
			fprintf(stderr, "No resources found in %s namespace.\n",
				c.namespace);
	} else {
		print_table(fl_json_get(res, "items"), a.all_namespaces);
	}
	rc = 0;
out:
	json_object_put(res);
	fl_kube_status_release(&st);
	fl_cli_conn_release(&c);
	return rc;
}
