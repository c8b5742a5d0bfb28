/*
 * JSON trees as block-style YAML, for `get -o yaml`.
 */
#include <ctype.h>
#include <string.h>

#include "cli.h"

/* Plain words that a YAML 1.1 reader (kubectl's, PyYAML) takes for a
 * boolean or null. */
static const char *const special[] = {
	"y",  "Y",    "yes",  "Yes",  "YES",   "n",	"N",	 "no", "No",
	"NO", "true", "True", "TRUE", "false", "False", "FALSE", "on", "On",
	"ON", "off",  "Off",  "OFF",  "null",  "Null",	"NULL",	 "~",
};

/* Nonzero when s can be written as a plain scalar and read back as the
 * same string: letters, digits and a few marks, not starting like a
 * number or an indicator, and not a special word. */
static int plain_ok(const char *s)
{
	size_t i;

	if (!*s || isdigit((unsigned char)s[0]) || strchr("-.+", s[0]))
		return 0;
	for (i = 0; i < sizeof(special) / sizeof(special[0]); i++)
		if (!strcmp(s, special[i]))
			return 0;
	for (i = 0; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("-_./", s[i]))
			return 0;
	return 1;
}

static int quoted(struct fl_buf *out, const char *s)
{
	int rc = fl_buf_addc(out, '"');

	for (; *s && !rc; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '"' || c == '\\')
			rc = fl_buf_addf(out, "\\%c", c);
		else if (c == '\n')
			rc = fl_buf_adds(out, "\\n");
		else if (c == '\t')
			rc = fl_buf_adds(out, "\\t");
		else if (c < 0x20 || c == 0x7f)
			rc = fl_buf_addf(out, "\\x%02x", c);
		else
			rc = fl_buf_addc(out, (char)c);
	}
	return rc ? rc : fl_buf_addc(out, '"');
}

static int scalar(struct json_object *o, struct fl_buf *out)
{
	const char *s;

	switch (json_object_get_type(o)) {
	case json_type_null:
		return fl_buf_adds(out, "null");
	case json_type_string:
		s = json_object_get_string(o);
		return plain_ok(s) ? fl_buf_adds(out, s) : quoted(out, s);
	default:
		return fl_buf_adds(out, json_object_to_json_string(o));
	}
}

static int is_collection(struct json_object *o)
{
	return (json_object_is_type(o, json_type_object) &&
		json_object_object_length(o) > 0) ||
	       (json_object_is_type(o, json_type_array) &&
		json_object_array_length(o) > 0);
}

static int indent(struct fl_buf *out, int depth)
{
	int i, rc = 0;

	for (i = 0; i < depth && !rc; i++)
		rc = fl_buf_adds(out, "  ");
	return rc;
}

static int emit(struct json_object *o, int depth, int inline_first,
		struct fl_buf *out);

/* A value after "key:" or "- ": collections on the next lines (maps in
 * a sequence item start on the same line), scalars on the same line. */
static int value(struct json_object *v, int depth, int in_seq,
		 struct fl_buf *out)
{
	if (!is_collection(v)) {
		if (json_object_is_type(v, json_type_object))
			return fl_buf_adds(out, " {}\n");
		if (json_object_is_type(v, json_type_array))
			return fl_buf_adds(out, " []\n");
		if (fl_buf_addc(out, ' ') || scalar(v, out))
			return -1;
		return fl_buf_addc(out, '\n');
	}
	if (in_seq && json_object_is_type(v, json_type_object))
		return fl_buf_addc(out, ' ') || emit(v, depth, 1, out);
	return fl_buf_addc(out, '\n') || emit(v, depth, 0, out);
}

static int emit(struct json_object *o, int depth, int inline_first,
		struct fl_buf *out)
{
	int first = 1;
	size_t i;

	if (json_object_is_type(o, json_type_array)) {
		for (i = 0; i < json_object_array_length(o); i++)
			if (indent(out, depth) || fl_buf_addc(out, '-') ||
			    value(json_object_array_get_idx(o, i), depth + 1, 1,
				  out))
				return -1;
		return 0;
	}
	json_object_object_foreach(o, key, v)
	{
		if (!(first && inline_first) && indent(out, depth))
			return -1;
		first = 0;
		if ((plain_ok(key) ? fl_buf_adds(out, key)
				   : quoted(out, key)) ||
		    fl_buf_addc(out, ':') || value(v, depth + 1, 0, out))
			return -1;
	}
	return 0;
}

int fl_cli_yaml_emit(struct json_object *o, struct fl_buf *out)
{
	if (!is_collection(o)) {
		if (scalar(o, out))
			return -1;
		return fl_buf_addc(out, '\n');
	}
	return emit(o, 0, 0, out) ? -1 : 0;
}
