/*
 * C twins of the CRD's x-kubernetes-validations (CEL) rules.  Each twin
 * checks what its rule checks and reports the rule's own message, with a
 * more precise path where it can (the API server can only name the object
 * the rule sits on).  Twins are found by the rule's message.
 */
#ifndef FL_RULES_H
#define FL_RULES_H

#include <stddef.h>

#include <json-c/json.h>

#include "errors.h"

/* Returns 0 when the rule holds for self, -1 after adding an error. */
typedef int fl_rule_fn(struct json_object *self, const char *path,
		       const char *message, struct fl_errors *errs);

struct fl_rule {
	const char *message;
	fl_rule_fn *check;
};

/* The twin for a rule's message, or NULL. */
const struct fl_rule *fl_rule_find(const char *message);

/* The i-th twin, or NULL past the last: lets a test check that no twin
 * outlives its rule. */
const struct fl_rule *fl_rule_at(size_t i);

#endif
