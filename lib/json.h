/*
 * Small json-c accessors that tolerate what a hostile or partial document
 * holds: a missing key, a NULL object, a value of another type.
 */
#ifndef FL_JSON_H
#define FL_JSON_H

#include <stddef.h>

#include <json-c/json.h>

/* The value of key in object o; NULL when o is not an object, the key is
 * absent, or its value is null.  No new reference is taken. */
struct json_object *fl_json_get(struct json_object *o, const char *key);

/* The string value of key in o; NULL unless it is a string.  Points into
 * o, valid while o lives. */
const char *fl_json_str(struct json_object *o, const char *key);

/* The length of an array; 0 for NULL or anything not an array. */
size_t fl_json_len(struct json_object *arr);

#endif
