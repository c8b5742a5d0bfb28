/*
 * kubectl-faultline: the kubectl plugin (`kubectl faultline ...`).
 *
 * Exit codes, which a pipeline gates on:
 *   0  valid / passed (or a dry run that completed)
 *   1  invalid manifest / experiment failed
 *   2  the run was aborted
 *   3  usage, I/O or API error, verdict Error, or a timeout
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const struct {
	const char *name;
	int (*fn)(const struct fl_cli_globals *g, int argc, char **argv);
} commands[] = {
	{"validate", fl_cmd_validate}, {"run", fl_cmd_run},
	{"get", fl_cmd_get},	       {"describe", fl_cmd_describe},
	{"abort", fl_cmd_abort},       {"report", fl_cmd_report},
};

static void usage(FILE *out)
{
	fprintf(out,
		"usage: kubectl faultline [FLAGS] COMMAND [ARGS]\n"
		"\n"
		"commands:\n"
		"  validate -f FILE...   check manifests offline, with the same "
		"rules as\n"
		"                        the API server (exit 1 if any is "
		"invalid)\n"
		"  run -f FILE [--wait] [--timeout DURATION]\n"
		"                        validate, apply (server-side), and "
		"with --wait\n"
		"                        follow the run to its verdict\n"
		"  get [NAME] [-o json|yaml] [-A]\n"
		"                        list experiments with phase and "
		"verdict\n"
		"  describe NAME         hypothesis, run, targets, probes, "
		"history\n"
		"  abort NAME            ask the operator to abort the current "
		"run\n"
		"  report NAME --format json|junit|markdown|html [-o FILE]\n"
		"                        export the run's result\n"
		"\n"
		"flags (as kubectl's): --kubeconfig FILE, --context NAME,\n"
		"  -n/--namespace NS (default: the context's namespace, else "
		"\"default\")\n"
		"\n"
		"exit codes: 0 valid/passed, 1 invalid/failed, 2 aborted,\n"
		"  3 error (bad usage, API error, verdict Error, timeout)\n");
}

int main(int argc, char **argv)
{
	struct fl_cli_globals g;
	size_t i;

	/* Global flags may stand anywhere, as with kubectl. */
	argc--;
	argv++;
	if (fl_cli_take_globals(&argc, argv, &g) < 0)
		return FL_EXIT_ERROR;
	if (argc < 1) {
		usage(stderr);
		return FL_EXIT_ERROR;
	}
	if (!strcmp(argv[0], "help") || !strcmp(argv[0], "--help") ||
	    !strcmp(argv[0], "-h")) {
		usage(stdout);
		return 0;
	}
	for (i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(argv[0], commands[i].name))
			return commands[i].fn(&g, argc - 1, argv + 1);
	fl_cli_err("unknown command '%s'", argv[0]);
	usage(stderr);
	return FL_EXIT_ERROR;
}
