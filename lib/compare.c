/*
 * Comparison strings and field paths for probes; the grammar is in
 * compare.h.
 */
#include <ctype.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "compare.h"

/* Longest number text accepted: well past any sensible threshold, short
 * enough that strtod never sees a giant literal. */
#define NUMBER_MAX 40

static const char *const op_text[] = {"<", "<=", ">", ">=", "==", "!="};

/* One step of a field path. */
struct step {
	int is_index;
	size_t index;
	char key[FL_FIELD_PATH_MAX];
};

/* The operator's text; "?" for a value outside the enum. */
const char *fl_cmp_op_text(enum fl_cmp_op op)
{
	return (unsigned)op < sizeof(op_text) / sizeof(op_text[0]) ? op_text[op]
								   : "?";
}

static const char *skip_blanks(const char *s)
{
	while (*s == ' ' || *s == '\t')
		s++;
	return s;
}

/* Reads an operator at *s; returns 0 and advances, or -1. */
static int parse_op(const char **s, enum fl_cmp_op *op)
{
	const char *p = *s;

	if (p[0] == '<' || p[0] == '>') {
		int eq = p[1] == '=';

		if (p[0] == '<')
			*op = eq ? FL_CMP_LE : FL_CMP_LT;
		else
			*op = eq ? FL_CMP_GE : FL_CMP_GT;
		*s = p + 1 + eq;
		return 0;
	}
	if ((p[0] == '=' || p[0] == '!') && p[1] == '=') {
		*op = p[0] == '=' ? FL_CMP_EQ : FL_CMP_NE;
		*s = p + 2;
		return 0;
	}
	return -1;
}

/* Length of a number -?DIGITS(.DIGITS)? at s, or 0 when there is none. */
static size_t number_len(const char *s)
{
	size_t i = 0, digits;

	if (s[i] == '-')
		i++;
	for (digits = 0; isdigit((unsigned char)s[i]); i++)
		digits++;
	if (digits == 0)
		return 0;
	if (s[i] == '.') {
		for (digits = 0; isdigit((unsigned char)s[i + 1]); i++)
			digits++;
		if (digits == 0)
			return 0;
		i++;
	}
	return i;
}

/* Converts the number of len bytes at s; -1 when it is too long. */
static int to_number(const char *s, size_t len, double *v)
{
	char tmp[NUMBER_MAX + 1];

	if (len > NUMBER_MAX)
		return -1;
	memcpy(tmp, s, len);
	tmp[len] = '\0';
	*v = strtod(tmp, NULL);
	return isfinite(*v) ? 0 : -1;
}

/* Parses a value comparison; see compare.h. */
int fl_cmp_parse(const char *s, struct fl_cmp *c, char *err, size_t n)
{
	const char *p, *num;
	size_t len;

	memset(c, 0, sizeof(*c));
	c->kind = FL_CMP_NUMBER;
	p = skip_blanks(s);
	if (!*p) {
		snprintf(err, n,
			 "empty comparison: expected an operator and "
			 "a number such as '< 0.5'");
		return -1;
	}
	if (parse_op(&p, &c->op) < 0) {
		snprintf(err, n,
			 "cannot parse '%.80s': expected an operator (<, <=, "
			 ">, >=, ==, !=) first",
			 s);
		return -1;
	}
	num = skip_blanks(p);
	len = number_len(num);
	if (len == 0) {
		snprintf(err, n,
			 "cannot parse '%.80s': expected a number after '%s'",
			 s, fl_cmp_op_text(c->op));
		return -1;
	}
	if (to_number(num, len, &c->number) < 0) {
		snprintf(err, n, "cannot parse '%.80s': the number is too long",
			 s);
		return -1;
	}
	if (*skip_blanks(num + len)) {
		snprintf(err, n,
			 "cannot parse '%.80s': unexpected text after the "
			 "number",
			 s);
		return -1;
	}
	return 0;
}

static int is_name_char(char c)
{
	return isalnum((unsigned char)c) || c == '_' || c == '-';
}

/* Reads a "[N]" or ["key"] step whose '[' is at path[*pos]. */
static int bracket_step(const char *path, size_t *pos, struct step *st,
			char *err, size_t n)
{
	size_t i = *pos + 1, start;
	char q = path[i];

	if (q == '"' || q == '\'') {
		const char *end = strchr(path + i + 1, q);

		if (!end || end[1] != ']' || end == path + i + 1) {
			snprintf(err, n,
				 "bad key at offset %zu: expected a quoted "
				 "key and ']'",
				 *pos);
			return -1;
		}
		memcpy(st->key, path + i + 1, (size_t)(end - path - i - 1));
		st->key[end - path - i - 1] = '\0';
		*pos = (size_t)(end - path) + 2;
		return 1;
	}
	for (start = i; isdigit((unsigned char)path[i]); i++)
		;
	if (i == start || i - start > 9 || path[i] != ']') {
		snprintf(err, n,
			 "bad index at offset %zu: expected [N] with N a "
			 "whole number",
			 *pos);
		return -1;
	}
	st->is_index = 1;
	st->index = strtoul(path + start, NULL, 10);
	*pos = i + 1;
	return 1;
}

/* Reads the step at path[*pos]: 1 with *st filled and *pos advanced, 0 at
 * the end, -1 with err. */
static int next_step(const char *path, size_t *pos, struct step *st, char *err,
		     size_t n)
{
	size_t i = *pos, start;

	memset(st, 0, sizeof(*st));
	if (!path[i])
		return 0;
	if (path[i] == '[')
		return bracket_step(path, pos, st, err, n);
	if (path[i] != '.') {
		snprintf(err, n,
			 "unexpected '%c' at offset %zu: expected '.name' or "
			 "'[N]'",
			 path[i], i);
		return -1;
	}
	for (start = ++i; is_name_char(path[i]); i++)
		;
	if (i == start) {
		snprintf(err, n, "empty field name at offset %zu", start - 1);
		return -1;
	}
	memcpy(st->key, path + start, i - start);
	st->key[i - start] = '\0';
	*pos = i;
	return 1;
}

/* Checks a field path's syntax; see compare.h. */
int fl_field_path_check(const char *path, char *err, size_t n)
{
	struct step st;
	size_t pos = 0;
	int rc;

	if (path[0] != '.') {
		snprintf(err, n, "field path '%.80s' must start with '.'",
			 path);
		return -1;
	}
	if (strlen(path) >= FL_FIELD_PATH_MAX) {
		snprintf(err, n, "field path is longer than %d characters",
			 FL_FIELD_PATH_MAX - 1);
		return -1;
	}
	while ((rc = next_step(path, &pos, &st, err, n)) > 0)
		;
	return rc;
}

/* Follows path in doc; see compare.h. */
int fl_field_get(struct json_object *doc, const char *path,
		 struct json_object **out, char *err, size_t n)
{
	struct json_object *cur = doc;
	struct step st;
	size_t pos = 0, done = 0;
	int rc;

	*out = NULL;
	if (fl_field_path_check(path, err, n) < 0)
		return -1;
	while ((rc = next_step(path, &pos, &st, err, n)) > 0) {
		struct json_object *next = NULL;

		if (st.is_index) {
			if (json_object_is_type(cur, json_type_array) &&
			    st.index < json_object_array_length(cur))
				next = json_object_array_get_idx(cur, st.index);
			if (!next) {
				snprintf(err, n, "no element [%zu] in %.*s",
					 st.index, (int)(done ? done : 1),
					 done ? path : ".");
				return 0;
			}
		} else if (!json_object_is_type(cur, json_type_object) ||
			   !json_object_object_get_ex(cur, st.key, &next)) {
			snprintf(err, n, "no field '%s' in %.*s", st.key,
				 (int)(done ? done : 1), done ? path : ".");
			return 0;
		}
		cur = next;
		done = pos;
	}
	if (rc < 0)
		return -1;
	*out = cur;
	return 1;
}

/* Reads the operand of a field comparison (s at its first character). */
static int parse_operand(const char *s, const char *whole, struct fl_cmp *c,
			 char *err, size_t n)
{
	size_t len = strlen(s), nlen;

	while (len > 0 && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	if (len == 0) {
		snprintf(err, n,
			 "cannot parse '%.80s': expected a value after "
			 "the operator",
			 whole);
		return -1;
	}
	nlen = number_len(s);
	if (nlen == len) {
		c->kind = FL_CMP_NUMBER;
		if (to_number(s, len, &c->number) == 0)
			return 0;
		snprintf(err, n, "cannot parse '%.80s': the number is too long",
			 whole);
		return -1;
	}
	if ((len == 4 && strncmp(s, "true", 4) == 0) ||
	    (len == 5 && strncmp(s, "false", 5) == 0)) {
		c->kind = FL_CMP_BOOL;
		c->boolean = s[0] == 't';
		return 0;
	}
	c->kind = FL_CMP_STRING;
	if (s[0] == '"' || s[0] == '\'') {
		if (len < 2 || s[len - 1] != s[0] ||
		    memchr(s + 1, s[0], len - 2)) {
			snprintf(err, n,
				 "cannot parse '%.80s': unbalanced quotes "
				 "around the value",
				 whole);
			return -1;
		}
		s++;
		len -= 2;
	}
	if (len >= sizeof(c->text)) {
		snprintf(err, n, "the value is longer than %zu characters",
			 sizeof(c->text) - 1);
		return -1;
	}
	memcpy(c->text, s, len);
	c->text[len] = '\0';
	return 0;
}

/* Length of the path at the start of s: up to a blank or an operator
 * character outside a quoted key. */
static size_t path_len(const char *s)
{
	size_t i = 0;
	char q = 0;

	for (; s[i]; i++) {
		if (q) {
			if (s[i] == q)
				q = 0;
		} else if (s[i] == '"' || s[i] == '\'') {
			q = s[i];
		} else if (strchr(" \t<>=!", s[i])) {
			break;
		}
	}
	return i;
}

/* Parses a field comparison; see compare.h. */
int fl_field_cmp_parse(const char *s, struct fl_field_cmp *fc, char *err,
		       size_t n)
{
	const char *p = skip_blanks(s);
	size_t len = path_len(p);
	char perr[160];

	memset(fc, 0, sizeof(*fc));
	if (len == 0 || p[0] != '.') {
		snprintf(err, n,
			 "cannot parse '%.80s': expected a field path such "
			 "as '.status.availableReplicas' first",
			 s);
		return -1;
	}
	if (len >= sizeof(fc->path)) {
		snprintf(err, n, "field path is longer than %zu characters",
			 sizeof(fc->path) - 1);
		return -1;
	}
	memcpy(fc->path, p, len);
	fc->path[len] = '\0';
	if (fl_field_path_check(fc->path, perr, sizeof(perr)) < 0) {
		snprintf(err, n, "cannot parse '%.80s': %s", s, perr);
		return -1;
	}
	p = skip_blanks(p + len);
	if (parse_op(&p, &fc->cmp.op) < 0) {
		snprintf(err, n,
			 "cannot parse '%.80s': expected an operator (<, <=, "
			 ">, >=, ==, !=) after the field path",
			 s);
		return -1;
	}
	if (parse_operand(skip_blanks(p), s, &fc->cmp, err, n) < 0)
		return -1;
	if (fc->cmp.kind != FL_CMP_NUMBER && fc->cmp.op != FL_CMP_EQ &&
	    fc->cmp.op != FL_CMP_NE) {
		snprintf(err, n,
			 "cannot parse '%.80s': '%s' needs a number; strings "
			 "and booleans compare with == or !=",
			 s, fl_cmp_op_text(fc->cmp.op));
		return -1;
	}
	return 0;
}

/* Formats a comparison's operator and operand; see compare.h. */
char *fl_cmp_format(const struct fl_cmp *c, char *out, size_t n)
{
	const char *op = fl_cmp_op_text(c->op);

	switch (c->kind) {
	case FL_CMP_NUMBER:
		snprintf(out, n, "%s %.15g", op, c->number);
		break;
	case FL_CMP_BOOL:
		snprintf(out, n, "%s %s", op, c->boolean ? "true" : "false");
		break;
	default:
		snprintf(out, n, "%s \"%s\"", op, c->text);
		break;
	}
	return out;
}

/* Whether "a OP b" holds, given a three-way comparison result. */
static int holds(enum fl_cmp_op op, int three_way)
{
	switch (op) {
	case FL_CMP_LT:
		return three_way < 0;
	case FL_CMP_LE:
		return three_way <= 0;
	case FL_CMP_GT:
		return three_way > 0;
	case FL_CMP_GE:
		return three_way >= 0;
	case FL_CMP_EQ:
		return three_way == 0;
	default:
		return three_way != 0;
	}
}

/* Whether v OP c->number holds; see compare.h. */
int fl_cmp_number(const struct fl_cmp *c, double v)
{
	if (isnan(v))
		return 0;
	return holds(c->op, (v > c->number) - (v < c->number));
}

static const char *type_text(struct json_object *v)
{
	switch (json_object_get_type(v)) {
	case json_type_boolean:
		return "a boolean";
	case json_type_int:
	case json_type_double:
		return "a number";
	case json_type_string:
		return "a string";
	case json_type_array:
		return "an array";
	case json_type_object:
		return "an object";
	default:
		return "null";
	}
}

/* Compares a JSON value with c; see compare.h. */
int fl_cmp_json(const struct fl_cmp *c, struct json_object *v, char *why,
		size_t n)
{
	static const char *const want[] = {"a number", "a string", "a boolean"};
	json_type t = json_object_get_type(v);

	if (!v) {
		snprintf(why, n, "absent");
		return -1;
	}
	if (c->kind == FL_CMP_NUMBER &&
	    (t == json_type_int || t == json_type_double))
		return fl_cmp_number(c, json_object_get_double(v));
	if (c->kind == FL_CMP_BOOL && t == json_type_boolean)
		return holds(c->op, json_object_get_boolean(v) != c->boolean);
	if (c->kind == FL_CMP_STRING && t == json_type_string)
		return holds(c->op, strcmp(json_object_get_string(v), c->text));
	snprintf(why, n, "%s, not %s", type_text(v), want[c->kind]);
	return -1;
}
