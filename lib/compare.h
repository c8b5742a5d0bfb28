/*
 * The comparisons that probes' "expect" strings hold, and the field paths
 * of the kubernetes probe.
 *
 * A value comparison is an operator and a number: "< 0.5", ">= 2",
 * "== 0".  The operators are <, <=, >, >=, == and !=; the number is
 * -?DIGITS(.DIGITS)?, as the CRD's pattern allows, with blanks around
 * either part.
 *
 * A field comparison puts a field path first: ".status.availableReplicas
 * >= 2", ".status.phase == Running", ".spec.paused != true".  The path is
 * a series of ".name" steps (letters, digits, '_' and '-'), "[N]" array
 * indexes and ["key"] steps for keys that hold dots or slashes (label
 * keys).  The operand is a number, true or false, a quoted string ("..."
 * or '...') or a bare word, taken as a string up to the end with outer
 * blanks removed.  <, <=, > and >= need a number; == and != take any.
 *
 * How a field compares: a number operand needs a JSON number, a boolean
 * operand a JSON boolean, a string operand a JSON string; anything else,
 * and an absent field, fails with a message that says so.  A Kubernetes
 * object leaves out counts that are zero (availableReplicas is absent
 * when none is available): an absent field fails every comparison rather
 * than being taken as 0, so that a mistyped path can never pass.
 */
#ifndef FL_COMPARE_H
#define FL_COMPARE_H

#include <stddef.h>

#include <json-c/json.h>

enum fl_cmp_op {
	FL_CMP_LT,
	FL_CMP_LE,
	FL_CMP_GT,
	FL_CMP_GE,
	FL_CMP_EQ,
	FL_CMP_NE
};

enum fl_cmp_kind { FL_CMP_NUMBER, FL_CMP_STRING, FL_CMP_BOOL };

#define FL_CMP_TEXT_MAX 256
#define FL_FIELD_PATH_MAX 256

struct fl_cmp {
	enum fl_cmp_op op;
	enum fl_cmp_kind kind;
	double number;		    /* FL_CMP_NUMBER */
	int boolean;		    /* FL_CMP_BOOL */
	char text[FL_CMP_TEXT_MAX]; /* FL_CMP_STRING, unquoted */
};

struct fl_field_cmp {
	char path[FL_FIELD_PATH_MAX]; /* ".status.availableReplicas" */
	struct fl_cmp cmp;
};

/*
 * Parses a value comparison ("< 0.5") into c.  Returns 0, or -1 with a
 * lowercase message in err that quotes the text and says what is wrong;
 * c is then unspecified.
 */
int fl_cmp_parse(const char *s, struct fl_cmp *c, char *err, size_t n);

/*
 * Parses a field comparison (".status.availableReplicas >= 2") into fc.
 * Returns 0, or -1 with a message in err.
 */
int fl_field_cmp_parse(const char *s, struct fl_field_cmp *fc, char *err,
		       size_t n);

/* The operator's text: "<", "<=", ... */
const char *fl_cmp_op_text(enum fl_cmp_op op);

/* Formats the operator and operand ("< 0.5", "== \"True\"") into out;
 * returns out. */
char *fl_cmp_format(const struct fl_cmp *c, char *out, size_t n);

/* Nonzero when v OP c->number holds.  NaN never holds, not even for !=:
 * a query that gives NaN (0/0, no traffic) has no value to judge. */
int fl_cmp_number(const struct fl_cmp *c, double v);

/*
 * Compares a JSON value (a field, NULL when absent or null) with c.
 * Returns 1 when it holds, 0 when not, and -1 when the value cannot be
 * compared (absent, or of another type than the operand); in the last
 * case why says what was found ("absent", "a string, not a number").
 */
int fl_cmp_json(const struct fl_cmp *c, struct json_object *v, char *why,
		size_t n);

/*
 * Checks a field path's syntax.  Returns 0, or -1 with a message in err
 * naming the position.
 */
int fl_field_path_check(const char *path, char *err, size_t n);

/*
 * Follows path in doc.  Returns 1 with *out set to the value (no new
 * reference; NULL for JSON null), 0 when a step does not exist (err says
 * which: "no field 'availableReplicas' in .status"), or -1 when the path
 * is not well formed (err says why).
 */
int fl_field_get(struct json_object *doc, const char *path,
		 struct json_object **out, char *err, size_t n);

#endif
