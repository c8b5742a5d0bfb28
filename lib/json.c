#include "json.h"

struct json_object *fl_json_get(struct json_object *o, const char *key)
{
	struct json_object *v = NULL;

	if (o && json_object_is_type(o, json_type_object))
		json_object_object_get_ex(o, key, &v);
	return v;
}

const char *fl_json_str(struct json_object *o, const char *key)
{
	struct json_object *v = fl_json_get(o, key);

	return json_object_is_type(v, json_type_string)
		       ? json_object_get_string(v)
		       : NULL;
}

size_t fl_json_len(struct json_object *arr)
{
	return json_object_is_type(arr, json_type_array)
		       ? json_object_array_length(arr)
		       : 0;
}
