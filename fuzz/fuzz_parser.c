/*
 * libFuzzer target: any bytes through the whole manifest path (YAML
 * loading, schema validation, CEL twins, conversion).  The parser must
 * answer with a result or an error, never crash, leak or run away.
 */
#include <stddef.h>
#include <stdint.h>

#include "experiment.h"
#include "yamljson.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fl_experiment x;
	struct fl_errors errs = {0};
	struct json_object *docs;
	size_t i;

	if (fl_experiment_parse((const char *)data, size, &x, &errs) == 0)
		fl_experiment_release(&x);

	/* Streams of several documents take the CLI's path. */
	if (fl_yaml_parse((const char *)data, size, NULL, &docs, &errs) < 0)
		return 0;
	for (i = 0; i < json_object_array_length(docs); i++) {
		struct fl_errors e = {0};

		if (fl_experiment_from_json(json_object_array_get_idx(docs, i),
					    &x, &e) == 0)
			fl_experiment_release(&x);
	}
	json_object_put(docs);
	return 0;
}
