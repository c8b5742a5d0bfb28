/*
 * YAML to json-c, driven by libyaml's event parser.  No recursion: an
 * explicit stack of open mappings and sequences, bounded by max_depth.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <yaml.h>

#include "alloc.h"
#include "yamljson.h"

const struct fl_yaml_limits fl_yaml_default_limits = {
	.max_bytes = 1 << 20,
	.max_depth = 64,
	.max_nodes = 100000,
};

struct frame {
	struct json_object *node;   /* the open mapping or sequence */
	char *key;		    /* mapping: key waiting for its value */
	char *anchor;		    /* anchor to record when the node ends */
	size_t nodes_at_start;	    /* loader->nodes when it opened */
	struct json_object *merges; /* mapping: "<<" sources, applied last */
	int height;		    /* levels of containers below it */
};

struct anchor {
	char *name;
	struct json_object *node; /* one reference held here */
	size_t size;		  /* nodes in it, for the alias budget */
	int height;		  /* levels of containers, for max_depth */
};

struct loader {
	yaml_parser_t parser;
	const struct fl_yaml_limits *lim;
	struct fl_errors *errs;
	struct frame *stack;
	int depth;
	struct anchor *anchors;
	size_t nanchors;
	size_t nodes;
	struct json_object *docs;
	struct json_object *root; /* the current document's root */
	int have_root;
};

int fl_yaml_line(struct json_object *o)
{
	return o ? (int)(intptr_t)json_object_get_userdata(o) : 0;
}

static void set_line(struct json_object *o, const yaml_mark_t *mark)
{
	if (o)
		json_object_set_userdata(o, (void *)(intptr_t)(mark->line + 1),
					 NULL);
}

static int fail(struct loader *l, const yaml_mark_t *mark, const char *msg,
		const char *detail)
{
	fl_errors_add(l->errs, mark ? (int)mark->line + 1 : 0, NULL, "%s%s%s",
		      msg, detail ? ": " : "", detail ? detail : "");
	return -1;
}

static void anchors_clear(struct loader *l)
{
	size_t i;

	for (i = 0; i < l->nanchors; i++) {
		free(l->anchors[i].name);
		json_object_put(l->anchors[i].node);
	}
	free(l->anchors);
	l->anchors = NULL;
	l->nanchors = 0;
}

static void anchor_add(struct loader *l, char *name, struct json_object *node,
		       size_t size, int height)
{
	l->anchors =
		fl_realloc(l->anchors, (l->nanchors + 1) * sizeof(*l->anchors));
	l->anchors[l->nanchors].name = name;
	l->anchors[l->nanchors].node = json_object_get(node);
	l->anchors[l->nanchors].size = size;
	l->anchors[l->nanchors].height = height;
	l->nanchors++;
}

/* The newest anchor of that name wins, as YAML allows redefinition. */
static struct anchor *anchor_find(struct loader *l, const char *name)
{
	size_t i;

	for (i = l->nanchors; i > 0; i--)
		if (strcmp(l->anchors[i - 1].name, name) == 0)
			return &l->anchors[i - 1];
	return NULL;
}

static int count_nodes(struct loader *l, size_t n, const yaml_mark_t *mark)
{
	if (n > l->lim->max_nodes || l->nodes > l->lim->max_nodes - n)
		return fail(l, mark, "document has too many nodes",
			    "aliases expand beyond the limit");
	l->nodes += n;
	return 0;
}

/* ---- scalar resolution, as YAML 1.1 (and so kubectl) reads it ---- */

static int in_list(const char *s, const char *const *list)
{
	for (; *list; list++)
		if (strcmp(s, *list) == 0)
			return 1;
	return 0;
}

static const char *const nulls[] = {"", "~", "null", "Null", "NULL", NULL};
static const char *const trues[] = {"y",    "Y",    "yes", "Yes", "YES", "true",
				    "True", "TRUE", "on",  "On",  "ON",	 NULL};
static const char *const falses[] = {"n",   "N",     "no",    "No",
				     "NO",  "false", "False", "FALSE",
				     "off", "Off",   "OFF",   NULL};

static const char *const nonfinite[] = {
	".inf",	 ".Inf",  ".INF", "+.inf", "+.Inf", "+.INF", "-.inf",
	"-.Inf", "-.INF", ".nan", ".NaN",  ".NAN",  NULL};

/* Copies s without '_' (YAML 1.1 allows them as digit separators) into
 * out; returns -1 when it does not fit. */
static int strip_underscores(const char *s, char *out, size_t n)
{
	size_t j = 0;

	for (; *s; s++) {
		if (*s == '_')
			continue;
		if (j + 1 >= n)
			return -1;
		out[j++] = *s;
	}
	out[j] = '\0';
	return 0;
}

static int parse_int(const char *s, int64_t *v)
{
	const char *p = s;
	int neg = 0, base = 10;
	unsigned long long u;
	char *end;

	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X'))
		base = 16, p += 2;
	else if (p[0] == '0' && (p[1] == 'b' || p[1] == 'B'))
		base = 2, p += 2;
	else if (p[0] == '0' && (p[1] == 'o' || p[1] == 'O'))
		base = 8, p += 2;
	else if (p[0] == '0' && p[1])
		base = 8, p += 1;
	if (!*p || *p == '+' || *p == '-' || *p == ' ')
		return -1;
	errno = 0;
	u = strtoull(p, &end, base);
	if (*end || errno)
		return -1;
	if (neg ? u > (unsigned long long)INT64_MAX + 1 : u > INT64_MAX)
		return -1;
	*v = neg ? (int64_t)(0 - u) : (int64_t)u;
	return 0;
}

/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
static int looks_like_float(const char *s)
{
	int digits = 0;

	if (*s == '+' || *s == '-')
		s++;
	while (*s >= '0' && *s <= '9')
		s++, digits++;
	if (*s == '.') {
		s++;
		if (!digits && !(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++, digits++;
	}
	if (!digits)
		return 0;
	if (*s == 'e' || *s == 'E') {
		s++;
		if (*s == '+' || *s == '-')
			s++;
		if (!(*s >= '0' && *s <= '9'))
			return 0;
		while (*s >= '0' && *s <= '9')
			s++;
	}
	return *s == '\0';
}

/*
 * A number becomes JSON on its way to the API server, and JSON keeps no
 * difference between 3 and 3.0: so a whole float that fits is an integer.
 */
static struct json_object *number(double d)
{
	if (d == floor(d) && d >= -9.2e18 && d <= 9.2e18)
		return json_object_new_int64((int64_t)d);
	return json_object_new_double(d);
}

/* Reads s, whose digit separators are gone in clean, as an integer, a
 * float or else a string; -1 for infinity or NaN, which JSON cannot carry. */
static int resolve_number(const char *s, const char *clean,
			  struct json_object **out)
{
	int64_t i;

	if (parse_int(clean, &i) == 0) {
		*out = json_object_new_int64(i);
		return 0;
	}
	if (looks_like_float(clean)) {
		double d = strtod(clean, NULL);

		if (!isfinite(d))
			return -1;
		*out = number(d);
		return 0;
	}
	if (in_list(s, nonfinite))
		return -1;
	*out = json_object_new_string(s);
	return 0;
}

/* Returns 0 and sets *out (NULL for null), or -1 for a value that JSON
 * cannot carry (infinity, NaN). */
static int resolve_plain(const char *s, struct json_object **out)
{
	size_t n = strlen(s) + 1;
	char *clean;
	int rc;

	*out = NULL;
	if (in_list(s, nulls))
		return 0;
	if (in_list(s, trues) || in_list(s, falses)) {
		*out = json_object_new_boolean(in_list(s, trues));
		return 0;
	}
	if (strchr(".+-0123456789", s[0]) == NULL) {
		*out = json_object_new_string(s);
		return 0;
	}

	/* No length cap: go-yaml reads a 70-digit plain scalar as a float,
	 * and the API server would then see a number, not a string. */
	clean = fl_malloc(n);
	strip_underscores(s, clean, n);
	rc = resolve_number(s, clean, out);
	free(clean);
	return rc;
}

static int resolve_scalar(struct loader *l, const yaml_event_t *ev,
			  struct json_object **out)
{
	const char *text = (const char *)ev->data.scalar.value;
	const char *tag = (const char *)ev->data.scalar.tag;

	if (strlen(text) != ev->data.scalar.length)
		return fail(l, &ev->start_mark, "scalar contains a NUL byte",
			    NULL);
	if (!ev->data.scalar.plain_implicit ||
	    (tag && strcmp(tag, YAML_STR_TAG) == 0)) {
		*out = json_object_new_string_len(text,
						  (int)ev->data.scalar.length);
		return 0;
	}
	if (resolve_plain(text, out) < 0)
		return fail(l, &ev->start_mark, "number is not finite", text);
	return 0;
}

/* ---- building the tree ---- */

static int attach(struct loader *l, struct json_object *node, int height,
		  const yaml_event_t *ev);

static int add_to_map(struct loader *l, struct frame *f,
		      struct json_object *node, const yaml_mark_t *mark)
{
	char *key = f->key;
	int rc = 0;

	f->key = NULL;
	if (strcmp(key, "<<") == 0 && node &&
	    (json_object_is_type(node, json_type_object) ||
	     json_object_is_type(node, json_type_array))) {
		if (!f->merges)
			f->merges = json_object_new_array();
		json_object_array_add(f->merges, node);
	} else if (json_object_object_get_ex(f->node, key, NULL)) {
		json_object_put(node);
		rc = fail(l, mark, "duplicate key", key);
	} else {
		json_object_object_add(f->node, key, node);
	}
	free(key);
	return rc;
}

/* Adds node, whose containers nest height levels deep, to the open
 * container (or makes it the root); takes over the caller's reference. */
static int attach(struct loader *l, struct json_object *node, int height,
		  const yaml_event_t *ev)
{
	struct frame *f;

	if (l->depth == 0) {
		l->root = node;
		l->have_root = 1;
		return 0;
	}
	f = &l->stack[l->depth - 1];
	if (height > f->height)
		f->height = height;
	if (json_object_is_type(f->node, json_type_array)) {
		json_object_array_add(f->node, node);
		return 0;
	}
	if (f->key)
		return add_to_map(l, f, node, &ev->start_mark);

	/* A key: only scalars make sense as JSON object keys. */
	if (ev->type != YAML_SCALAR_EVENT) {
		json_object_put(node);
		return fail(l, &ev->start_mark, "mapping keys must be scalars",
			    NULL);
	}
	json_object_put(node);
	f->key = fl_strndup((const char *)ev->data.scalar.value,
			    ev->data.scalar.length);
	return 0;
}

static void merge_one(struct json_object *into, struct json_object *from)
{
	json_object_object_foreach(from, k, v)
	{
		if (!json_object_object_get_ex(into, k, NULL))
			json_object_object_add(into, k, json_object_get(v));
	}
}

/* Keys written in the mapping win over keys merged in with "<<". */
static int apply_merges(struct loader *l, struct frame *f,
			const yaml_mark_t *mark)
{
	size_t i, n;

	if (!f->merges)
		return 0;
	n = json_object_array_length(f->merges);
	for (i = 0; i < n; i++) {
		struct json_object *m = json_object_array_get_idx(f->merges, i);
		size_t j;

		if (json_object_is_type(m, json_type_object)) {
			merge_one(f->node, m);
			continue;
		}
		for (j = 0; j < json_object_array_length(m); j++) {
			struct json_object *e = json_object_array_get_idx(m, j);

			if (!json_object_is_type(e, json_type_object))
				return fail(l, mark, "merge key needs mappings",
					    NULL);
			merge_one(f->node, e);
		}
	}
	return 0;
}

static int open_node(struct loader *l, const yaml_event_t *ev, int is_map)
{
	const yaml_char_t *anchor = is_map ? ev->data.mapping_start.anchor
					   : ev->data.sequence_start.anchor;
	struct frame *f;

	if (l->depth >= l->lim->max_depth)
		return fail(l, &ev->start_mark, "document is nested too deeply",
			    NULL);
	if (count_nodes(l, 1, &ev->start_mark) < 0)
		return -1;
	f = &l->stack[l->depth++];
	memset(f, 0, sizeof(*f));
	f->node = is_map ? json_object_new_object() : json_object_new_array();
	set_line(f->node, &ev->start_mark);
	f->anchor = anchor ? fl_strdup((const char *)anchor) : NULL;
	f->nodes_at_start = l->nodes - 1;
	return 0;
}

static void frame_release(struct frame *f)
{
	json_object_put(f->node);
	json_object_put(f->merges);
	free(f->key);
	free(f->anchor);
}

static int close_node(struct loader *l, const yaml_event_t *ev)
{
	struct frame f = l->stack[--l->depth];

	if (apply_merges(l, &f, &ev->start_mark) < 0) {
		frame_release(&f);
		return -1;
	}
	json_object_put(f.merges);
	free(f.key);
	if (f.anchor)
		anchor_add(l, f.anchor, f.node, l->nodes - f.nodes_at_start,
			   f.height + 1);
	return attach(l, f.node, f.height + 1, ev);
}

static int on_scalar(struct loader *l, const yaml_event_t *ev)
{
	struct json_object *node;

	if (count_nodes(l, 1, &ev->start_mark) < 0 ||
	    resolve_scalar(l, ev, &node) < 0)
		return -1;
	set_line(node, &ev->start_mark);
	if (ev->data.scalar.anchor)
		anchor_add(l, fl_strdup((const char *)ev->data.scalar.anchor),
			   node, 1, 0);
	return attach(l, node, 0, ev);
}

/*
 * A deep copy that keeps each node's source line.  Aliases are expanded
 * into copies, as kubectl expands them: the schema walk then prunes and
 * fills defaults in place, and a node shared by two parents would carry
 * one parent's defaults into the other.  The alias budget in count_nodes()
 * already paid for these nodes, and max_depth bounds the recursion.
 */
static struct json_object *copy_tree(struct json_object *src)
{
	struct json_object *out;
	size_t i, n;

	switch (json_object_get_type(src)) {
	case json_type_object:
		out = json_object_new_object();
		json_object_object_foreach(src, k, v)
			json_object_object_add(out, k, copy_tree(v));
		break;
	case json_type_array:
		n = json_object_array_length(src);
		out = json_object_new_array_ext((int)n);
		for (i = 0; i < n; i++)
			json_object_array_add(
				out,
				copy_tree(json_object_array_get_idx(src, i)));
		break;
	case json_type_null:
		return NULL;
	default:
		/* Scalars are never changed in place, so sharing them is
		 * safe. */
		return json_object_get(src);
	}
	json_object_set_userdata(out, json_object_get_userdata(src), NULL);
	return out;
}

static int on_alias(struct loader *l, const yaml_event_t *ev)
{
	const char *name = (const char *)ev->data.alias.anchor;
	struct anchor *a = anchor_find(l, name);

	if (!a)
		return fail(l, &ev->start_mark, "unknown alias", name);
	if (count_nodes(l, a->size, &ev->start_mark) < 0)
		return -1;
	if (a->height > l->lim->max_depth - l->depth)
		return fail(l, &ev->start_mark, "document is nested too deeply",
			    "through an alias");
	return attach(l, copy_tree(a->node), a->height, ev);
}

static void end_document(struct loader *l)
{
	if (l->have_root && l->root)
		json_object_array_add(l->docs, l->root);
	l->root = NULL;
	l->have_root = 0;
	anchors_clear(l);
}

static int on_event(struct loader *l, const yaml_event_t *ev)
{
	switch (ev->type) {
	case YAML_MAPPING_START_EVENT:
		return open_node(l, ev, 1);
	case YAML_SEQUENCE_START_EVENT:
		return open_node(l, ev, 0);
	case YAML_MAPPING_END_EVENT:
	case YAML_SEQUENCE_END_EVENT:
		return close_node(l, ev);
	case YAML_SCALAR_EVENT:
		return on_scalar(l, ev);
	case YAML_ALIAS_EVENT:
		return on_alias(l, ev);
	case YAML_DOCUMENT_END_EVENT:
		end_document(l);
		return 0;
	default:
		return 0;
	}
}

static int parser_error(struct loader *l)
{
	yaml_parser_t *p = &l->parser;
	const char *what = p->problem ? p->problem : "malformed yaml";

	fl_errors_add(l->errs, (int)p->problem_mark.line + 1, NULL,
		      "cannot parse yaml: %s%s%s", what, p->context ? " " : "",
		      p->context ? p->context : "");
	return -1;
}

int fl_yaml_parse(const char *text, size_t len,
		  const struct fl_yaml_limits *limits,
		  struct json_object **docs, struct fl_errors *errs)
{
	struct loader l = {0};
	yaml_event_t ev;
	int rc = -1, done = 0;

	*docs = NULL;
	l.lim = limits ? limits : &fl_yaml_default_limits;
	l.errs = errs;
	if (len > l.lim->max_bytes) {
		fl_errors_add(errs, 0, NULL,
			      "document is too large: %zu bytes, limit %zu",
			      len, l.lim->max_bytes);
		return -1;
	}
	l.stack = fl_calloc((size_t)l.lim->max_depth + 1, sizeof(*l.stack));
	l.docs = json_object_new_array();
	if (!yaml_parser_initialize(&l.parser)) {
		fl_errors_add(errs, 0, NULL, "cannot start the yaml parser");
		goto out;
	}
	yaml_parser_set_input_string(&l.parser, (const unsigned char *)text,
				     len);
	while (!done) {
		int err;

		if (!yaml_parser_parse(&l.parser, &ev)) {
			parser_error(&l);
			goto out;
		}
		done = ev.type == YAML_STREAM_END_EVENT;
		err = on_event(&l, &ev);
		yaml_event_delete(&ev);
		if (err < 0)
			goto out;
	}
	*docs = l.docs;
	l.docs = NULL;
	rc = 0;
out:
	while (l.depth > 0)
		frame_release(&l.stack[--l.depth]);
	if (l.have_root)
		json_object_put(l.root);
	anchors_clear(&l);
	json_object_put(l.docs);
	free(l.stack);
	yaml_parser_delete(&l.parser);
	return rc;
}
