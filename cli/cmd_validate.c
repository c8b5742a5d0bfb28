/*
 * `kubectl faultline validate -f FILE...`: checks manifests offline with
 * the same rules as the API server (the CRD's schema, embedded, and the
 * experiment model's own checks).
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "experiment.h"
#include "yamljson.h"

/* Validates every document of one file; returns the number that failed,
 * or -1 when the file could not be read or parsed at all. */
static int validate_file(const char *path)
{
	struct fl_buf text;
	struct fl_errors errs = {0};
	struct json_object *docs = NULL;
	size_t i, n;
	int bad = -1;

	fl_buf_init(&text, FL_CLI_MAX_FILE);
	if (fl_cli_read_file(path, &text) < 0)
		goto out;
	if (fl_yaml_parse(text.data ? text.data : "", text.len, NULL, &docs,
			  &errs) < 0) {
		fl_cli_print_errors(&errs, path);
		bad = 1;
		goto out;
	}
	n = json_object_array_length(docs);
	bad = 0;
	for (i = 0; i < n; i++) {
		struct fl_experiment x;

		memset(&errs, 0, sizeof(errs));
		if (fl_experiment_from_json(json_object_array_get_idx(docs, i),
					    &x, &errs) < 0) {
			fl_cli_print_errors(&errs, path);
			bad++;
			continue;
		}
		printf("%s: %s is valid (%zu targets, %zu faults, %zu "
		       "probes)\n",
		       path, x.name, x.ntargets, x.nfaults, x.nprobes);
		fl_experiment_release(&x);
	}
	if (n == 0) {
		fprintf(stderr, "%s: no documents\n", path);
		bad = 1;
	}
out:
	json_object_put(docs);
	fl_buf_release(&text);
	return bad;
}

int fl_cmd_validate(const struct fl_cli_globals *g, int argc, char **argv)
{
	int i, files = 0, invalid = 0, failed = 0;

	(void)g;
	for (i = 0; i < argc; i++) {
		const char *path = argv[i];
		int r;

		if (strcmp(argv[i], "-f") == 0 ||
		    strcmp(argv[i], "--filename") == 0) {
			if (++i >= argc) {
				fl_cli_err("-f needs a file");
				return FL_EXIT_ERROR;
			}
			path = argv[i];
		}
		files++;
		r = validate_file(path);
		if (r < 0)
			failed = 1;
		else if (r > 0)
			invalid = 1;
	}
	if (files == 0) {
		fprintf(stderr,
			"usage: kubectl faultline validate -f FILE...\n");
		return FL_EXIT_ERROR;
	}
	return failed ? FL_EXIT_ERROR : invalid ? FL_EXIT_FAILED : 0;
}
