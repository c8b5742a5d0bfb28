/*
 * kubectl-faultline: the kubectl plugin (`kubectl faultline ...`).
 *
 * Exit codes, which a pipeline gates on:
 *   0  valid / passed
 *   1  invalid manifest / experiment failed
 *   3  usage or I/O error
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alloc.h"
#include "buf.h"
#include "experiment.h"
#include "schema.h"
#include "yamljson.h"

#define EXIT_INVALID 1
#define EXIT_ERROR 3

/* Manifests larger than the parser accepts are refused while reading. */
#define MAX_FILE (2u << 20)

static int read_file(const char *path, struct fl_buf *out)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char chunk[8192];
	size_t n;
	int rc = 0;

	if (!f) {
		fprintf(stderr, "kubectl-faultline: cannot open '%s': %s\n",
			path, strerror(errno));
		return -1;
	}
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		if (fl_buf_add(out, chunk, n) < 0) {
			fprintf(stderr,
				"kubectl-faultline: '%s' is larger than %u "
				"bytes\n",
				path, MAX_FILE);
			rc = -1;
			break;
		}
	}
	if (ferror(f)) {
		fprintf(stderr, "kubectl-faultline: cannot read '%s': %s\n",
			path, strerror(errno));
		rc = -1;
	}
	if (f != stdin)
		fclose(f);
	return rc;
}

static void print_errors(const struct fl_errors *errs, const char *file)
{
	char line[1024];
	size_t i;

	for (i = 0; i < errs->n; i++)
		fprintf(stderr, "%s\n",
			fl_errors_format(errs, i, file, line, sizeof(line)));
	if (errs->dropped)
		fprintf(stderr, "%s: %zu more errors not shown\n", file,
			errs->dropped);
}

/* Validates every document of one file; returns the number that failed,
 * or -1 when the file could not be read or parsed at all. */
static int validate_file(const char *path)
{
	struct fl_buf text;
	struct fl_errors errs = {0};
	struct json_object *docs = NULL;
	size_t i, n;
	int bad = -1;

	fl_buf_init(&text, MAX_FILE);
	if (read_file(path, &text) < 0)
		goto out;
	if (fl_yaml_parse(text.data ? text.data : "", text.len, NULL, &docs,
			  &errs) < 0) {
		print_errors(&errs, path);
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
			print_errors(&errs, path);
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

static int cmd_validate(int argc, char **argv)
{
	int i, files = 0, invalid = 0, failed = 0;

	for (i = 0; i < argc; i++) {
		const char *path = argv[i];
		int r;

		if (strcmp(argv[i], "-f") == 0 ||
		    strcmp(argv[i], "--filename") == 0) {
			if (++i >= argc) {
				fprintf(stderr, "kubectl-faultline: -f needs "
						"a file\n");
				return EXIT_ERROR;
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
		return EXIT_ERROR;
	}
	return failed ? EXIT_ERROR : invalid ? EXIT_INVALID : 0;
}

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kubectl faultline COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  validate -f FILE...  check manifests offline, with the "
		"same rules\n"
		"                       as the API server (exit 1 if any is "
		"invalid)\n");
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		usage(stderr);
		return EXIT_ERROR;
	}
	if (strcmp(argv[1], "validate") == 0)
		return cmd_validate(argc - 2, argv + 2);
	if (strcmp(argv[1], "help") == 0 || strcmp(argv[1], "--help") == 0) {
		usage(stdout);
		return 0;
	}
	fprintf(stderr, "kubectl-faultline: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_ERROR;
}
