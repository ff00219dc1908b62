/* schema: the JSON Schema subset checker (src/lh-schema.c), which
 * checks a model's structured output against the schema the caller
 * gave. Both are input here: the schema (a caller's file) and the value
 * (the model's reply).
 *
 * Input: the schema, a JSON value, then the value, another.
 */
#include "fuzz.h"
#include "../../src/longhaul.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *schema, *value;
	json_error_t jerr;
	char err[512];
	size_t used;

	schema = json_loadb((const char *)data, size, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &jerr);
	if (!schema)
		return 0;
	used = jerr.position;
	if (used > size)
		abort();
	value = json_loadb((const char *)data + used, size - used, JSON_DECODE_ANY, &jerr);
	if (value) {
		err[0] = 0;
		if (lh_llm_schema_check(schema, value, err, sizeof err) < 0 && !err[0]) {
			fprintf(stderr, "a failed check gave no reason\n");
			abort();
		}
		if (strlen(err) >= sizeof err)
			abort();
		json_decref(value);
	}
	json_decref(schema);
	return 0;
}
