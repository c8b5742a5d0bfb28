/*
 * YAML (and JSON, which YAML reads too) into json-c trees.
 *
 * Scalars resolve the way kubectl reads a manifest (YAML 1.1: "yes" and
 * "on" are booleans, "0755" is octal, "~" is null), so that what we
 * validate is what the API server will receive.  Every node remembers the
 * line it came from (fl_yaml_line()), for error messages.
 *
 * Input is hostile until proven otherwise: the text size, the nesting
 * depth and the number of nodes (counting every expansion of an alias) are
 * bounded, so an alias bomb or a 10 MB document ends in an error.
 */
#ifndef FL_YAMLJSON_H
#define FL_YAMLJSON_H

#include <stddef.h>

#include <json-c/json.h>

#include "errors.h"

struct fl_yaml_limits {
	size_t max_bytes; /* input size */
	int max_depth;	  /* nesting of mappings and sequences */
	size_t max_nodes; /* nodes, aliases expanded */
};

/* 1 MiB, depth 64, 100,000 nodes: far above any real manifest. */
extern const struct fl_yaml_limits fl_yaml_default_limits;

/*
 * Parses every document of a YAML stream.  On success returns 0 and sets
 * *docs to a new json-c array holding one element per document (empty
 * documents are skipped); the caller releases it with json_object_put().
 * On failure returns -1, adds one error to errs, and sets *docs to NULL.
 * limits may be NULL for the defaults.
 */
int fl_yaml_parse(const char *text, size_t len,
		  const struct fl_yaml_limits *limits,
		  struct json_object **docs, struct fl_errors *errs);

/* The 1-based source line of a node made by fl_yaml_parse(); 0 for nodes
 * made elsewhere. */
int fl_yaml_line(struct json_object *o);

#endif
