/*
 * What the subcommands of kubectl-faultline share: the exit codes a
 * pipeline gates on, the global flags, the connection to the API server,
 * reading manifests, and small readers of a ChaosExperiment's status.
 *
 * Each subcommand lives in its own file (cmd_*.c) and is called by main.c
 * with its own arguments, the global flags already taken out.
 */
#ifndef FL_CLI_H
#define FL_CLI_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <json-c/json.h>

#include "buf.h"
#include "errors.h"
#include "kube.h"

/* Exit codes: 0 valid or passed, then these. */
#define FL_EXIT_FAILED 1  /* invalid manifest, or the verdict Failed */
#define FL_EXIT_ABORTED 2 /* the run was aborted */
#define FL_EXIT_ERROR 3	  /* usage, I/O or API error, timeout */

#define FL_CLI_NAME "kubectl-faultline"
#define FL_FIELD_MANAGER "kubectl-faultline"
#define FL_ABORT_ANNOTATION "faultline.dev/abort"

/* Manifests larger than the parser accepts are refused while reading. */
#define FL_CLI_MAX_FILE (2u << 20)

/* Flags that every subcommand takes, as kubectl spells them. */
struct fl_cli_globals {
	const char *kubeconfig; /* --kubeconfig, or NULL for the lookup */
	const char *context;	/* --context, or NULL */
	const char *namespace;	/* -n/--namespace, or NULL */
};

/* A connection and the namespace commands work in. */
struct fl_cli_conn {
	fl_kube *kube;
	char *namespace;     /* -n, else the context's, else "default" */
	int namespace_given; /* set when -n was on the command line */
};

/*
 * Takes the global flags out of argv (wherever they stand), leaving the
 * rest in order; *argc is updated.  Returns 0, or -1 after printing what
 * is wrong.
 */
int fl_cli_take_globals(int *argc, char **argv, struct fl_cli_globals *g);

/* Connects as the kubeconfig says.  Returns 0, or -1 after printing why;
 * fl_cli_conn_release() in both cases. */
int fl_cli_connect(const struct fl_cli_globals *g, struct fl_cli_conn *c);
void fl_cli_conn_release(struct fl_cli_conn *c);

/* The reference to one experiment (name NULL for the collection) in ns;
 * the strings are borrowed. */
struct fl_kube_ref fl_cli_ref(const char *ns, const char *name);

/* Prints "kubectl-faultline: " and the message to stderr. */
void fl_cli_err(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Prints an API failure about ns/name: "cannot VERB chaosexperiment
 * 'ns/name': CODE REASON: message". */
void fl_cli_api_err(const char *verb, const char *ns, const char *name,
		    const struct fl_kube_status *st);

/* Reads a file ("-" for stdin) into out, at most FL_CLI_MAX_FILE bytes.
 * Returns 0, or -1 after printing what failed. */
int fl_cli_read_file(const char *path, struct fl_buf *out);

/* Prints each validation error as "FILE:LINE: PATH: MSG" to stderr. */
void fl_cli_print_errors(const struct fl_errors *errs, const char *file);

/* Writes len bytes to path ("-" or NULL for stdout).  Returns 0, or -1
 * after printing what failed. */
int fl_cli_write_out(const char *path, const char *data, size_t len);

/* The value at a dotted path of object keys ("status.phase"); NULL when
 * any step is missing or not an object.  Borrowed from o. */
struct json_object *fl_cli_at(struct json_object *o, const char *path);

/* The string at a dotted path, or NULL. */
const char *fl_cli_str(struct json_object *o, const char *path);

/* The integer at a dotted path, or def when absent or not a number. */
int64_t fl_cli_int(struct json_object *o, const char *path, int64_t def);

/* Parses an RFC 3339 time ("2026-12-03T18:44:06Z", with an optional
 * fraction and offset) into milliseconds since the epoch.  Returns 0, or
 * -1 for text that is not one. */
int fl_cli_time_parse(const char *s, int64_t *ms);

/* Wall-clock milliseconds since the epoch. */
int64_t fl_cli_now_ms(void);

/* Formats the current time as RFC 3339 in UTC into out (at least 32
 * bytes); returns out. */
char *fl_cli_now_rfc3339(char *out, size_t n);

/* How long ago an RFC 3339 time was, the way kubectl shows ages ("45s",
 * "3m20s", "5h", "12d"); "<unknown>" when t is missing or malformed. */
char *fl_cli_age(const char *t, int64_t now_ms, char *out, size_t n);

/* The text of s made safe for a terminal: control characters and DEL
 * become '?', so a status field cannot move the cursor or change colours.
 * NULL or empty gives def.  Returns out (n bytes, truncated to fit). */
const char *fl_cli_safe(const char *s, const char *def, char *out, size_t n);

/* A table printed like kubectl's: columns padded to their widest cell and
 * separated by three spaces.  Cells are copied (and made safe). */
struct fl_cli_table {
	char **cells; /* rows * cols */
	size_t rows, cols, cap;
};

void fl_cli_table_init(struct fl_cli_table *t, size_t cols);
void fl_cli_table_release(struct fl_cli_table *t);
/* Adds one row of t->cols cells; a NULL cell prints as def. */
void fl_cli_table_row(struct fl_cli_table *t, const char *const *cells);
/* Prints every row, each prefixed by indent. */
void fl_cli_table_print(const struct fl_cli_table *t, FILE *out,
			const char *indent);

/* Writes a JSON tree as block-style YAML (strings quoted whenever a plain
 * scalar could be read as something else).  Returns 0, or -1 when out is
 * full. */
int fl_cli_yaml_emit(struct json_object *o, struct fl_buf *out);

/* Removes metadata.managedFields from an object, as kubectl does before
 * printing it. */
void fl_cli_strip(struct json_object *obj);

/*
 * Describes where the run in obj stands in one line (run id, phase, time
 * into the fault window of duration_ms when with_time is set, drawn as a
 * bar when bar is set, targets injected, each probe's last sample) into
 * out (n bytes, truncated to fit).  Returns the line's length.
 */
size_t fl_cli_progress_line(struct json_object *obj, int64_t duration_ms,
			    int64_t now_ms, int bar, int with_time, char *out,
			    size_t n);

/* Nonzero when obj's phase is Completed, Aborted or Failed. */
int fl_cli_run_finished(struct json_object *obj);

/* The exit code for a finished run: 0 Passed, 1 Failed, 2 Aborted, 3
 * Error; without a verdict 0 for a completed dry run, 2 for an abort,
 * else 3. */
int fl_cli_run_exit_code(struct json_object *obj, int dry_run);

/* The subcommands: argc/argv hold only the subcommand's own arguments.
 * Each returns the process exit code. */
int fl_cmd_validate(const struct fl_cli_globals *g, int argc, char **argv);
int fl_cmd_run(const struct fl_cli_globals *g, int argc, char **argv);
int fl_cmd_get(const struct fl_cli_globals *g, int argc, char **argv);
int fl_cmd_describe(const struct fl_cli_globals *g, int argc, char **argv);
int fl_cmd_abort(const struct fl_cli_globals *g, int argc, char **argv);
int fl_cmd_report(const struct fl_cli_globals *g, int argc, char **argv);

#endif
