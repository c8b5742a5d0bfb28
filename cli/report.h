/*
 * Reports of one experiment's run, rendered from the object as the API
 * server returns it (metadata, spec and status).  Each renderer appends
 * to out and returns 0, or -1 when out reached its maximum.  Everything
 * taken from the object is escaped for the output's language: a status
 * field cannot inject markup.
 */
#ifndef FL_CLI_REPORT_H
#define FL_CLI_REPORT_H

#include <json-c/json.h>

#include "buf.h"

/* The run as JSON in a stable shape: every key always present (null when
 * the status lacks it), in a fixed order. */
int fl_report_json(struct json_object *obj, struct fl_buf *out);

/* JUnit XML: one testsuite for the run, one testcase per probe (a failure
 * when the probe failed during or after the faults, or the verdict is
 * Failed or Aborted; an error when it is Error), and the run id, verdict,
 * availability and recovery time as properties. */
int fl_report_junit(struct json_object *obj, struct fl_buf *out);

/* Markdown: a summary table, then the probes and the targets. */
int fl_report_markdown(struct json_object *obj, struct fl_buf *out);

/* One self-contained HTML page (inline CSS and SVG, no script, nothing
 * loaded from elsewhere) with the summary and a timeline: one row per
 * probe, one mark per sample, and the fault window as a band. */
int fl_report_html(struct json_object *obj, struct fl_buf *out);

/* Appends s escaped for XML and HTML text and attribute values (& < > "
 * '); characters that XML 1.0 forbids become U+FFFD.  NULL appends
 * nothing. */
int fl_report_xml_escape(struct fl_buf *out, const char *s);

/* Appends s for a Markdown table cell: | and markup characters escaped,
 * line breaks as spaces, < > & as entities.  NULL appends def. */
int fl_report_md_escape(struct fl_buf *out, const char *s, const char *def);

#endif
