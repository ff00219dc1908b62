/* lh-schema.c: the subset of JSON Schema that models are asked to follow
 * (type, properties, required, items, enum, additionalProperties),
 * checked on the model's structured output.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <curl/curl.h>

#include "longhaul.h"
#include "lh-llm.h"

/* ---- JSON Schema, the subset models are asked for ---- */

static int
type_is(json_t *v, const char *t)
{
	if (!strcmp(t, "object")) return json_is_object(v);
	if (!strcmp(t, "array")) return json_is_array(v);
	if (!strcmp(t, "string")) return json_is_string(v);
	if (!strcmp(t, "integer")) return json_is_integer(v) ||
	    (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
	if (!strcmp(t, "number")) return json_is_number(v);
	if (!strcmp(t, "boolean")) return json_is_boolean(v);
	if (!strcmp(t, "null")) return json_is_null(v);
	return 1;
}

/* A count against the schema's bounds, which may be any JSON: compared
 * as numbers (a negative or fractional bound is not cast to a huge
 * size); a bound that is not a number is no bound. */
static int
out_of_bounds(size_t n, json_t *min, json_t *max)
{
	return (json_is_number(min) && (double)n < json_number_value(min)) ||
	    (json_is_number(max) && (double)n > json_number_value(max));
}

static int
check(json_t *s, json_t *v, const char *where, char *err, size_t size)
{
	json_t *x, *y;
	const char *key;
	char sub[256];
	size_t i, n;
	int ok;

	if (!json_is_object(s))
		return 0;
	if ((x = json_object_get(s, "type"))) {
		ok = json_is_string(x) ? type_is(v, json_string_value(x)) : 0;
		json_array_foreach(x, i, y)
			ok |= type_is(v, json_string_value(y) ? json_string_value(y) : "");
		if (!ok) {
			snprintf(err, size, "%s: not of type %s", where, json_is_string(x) ? json_string_value(x) : "listed");
			return -1;
		}
	}
	if ((x = json_object_get(s, "enum"))) {
		ok = 0;
		json_array_foreach(x, i, y)
			ok |= json_equal(v, y);
		if (!ok) {
			snprintf(err, size, "%s: not one of the enum", where);
			return -1;
		}
	}
	if ((x = json_object_get(s, "const")) && !json_equal(x, v)) {
		snprintf(err, size, "%s: not the const value", where);
		return -1;
	}
	if (json_is_number(v)) {
		if ((x = json_object_get(s, "minimum")) && json_number_value(v) < json_number_value(x)) {
			snprintf(err, size, "%s: below the minimum", where);
			return -1;
		}
		if ((x = json_object_get(s, "maximum")) && json_number_value(v) > json_number_value(x)) {
			snprintf(err, size, "%s: above the maximum", where);
			return -1;
		}
	}
	if (json_is_string(v)) {
		n = json_string_length(v);
		if (out_of_bounds(n, json_object_get(s, "minLength"), json_object_get(s, "maxLength"))) {
			snprintf(err, size, "%s: length out of bounds", where);
			return -1;
		}
	}
	if (json_is_array(v)) {
		n = json_array_size(v);
		if (out_of_bounds(n, json_object_get(s, "minItems"), json_object_get(s, "maxItems"))) {
			snprintf(err, size, "%s: number of items out of bounds", where);
			return -1;
		}
		if ((x = json_object_get(s, "items")))
			json_array_foreach(v, i, y) {
				snprintf(sub, sizeof sub, "%s[%zu]", where, i);
				if (check(x, y, sub, err, size) < 0)
					return -1;
			}
	}
	if (json_is_object(v)) {
		json_array_foreach(json_object_get(s, "required"), i, x)
			if (json_is_string(x) && !json_object_get(v, json_string_value(x))) {
				snprintf(err, size, "%s: missing required \"%s\"", where, json_string_value(x));
				return -1;
			}
		json_object_foreach(v, key, y) {
			snprintf(sub, sizeof sub, "%s.%s", where, key);
			if ((x = json_object_get(json_object_get(s, "properties"), key))) {
				if (check(x, y, sub, err, size) < 0)
					return -1;
			} else if ((x = json_object_get(s, "additionalProperties"))) {
				if (json_is_false(x)) {
					snprintf(err, size, "%s: not allowed", sub);
					return -1;
				}
				if (check(x, y, sub, err, size) < 0)
					return -1;
			}
		}
	}
	json_array_foreach(json_object_get(s, "allOf"), i, x)
		if (check(x, v, where, err, size) < 0)
			return -1;
	if ((x = json_object_get(s, "anyOf")) || (x = json_object_get(s, "oneOf"))) {
		n = 0;
		json_array_foreach(x, i, y)
			n += check(y, v, where, sub, sizeof sub) == 0;
		if (n == 0 || (json_object_get(s, "oneOf") && n > 1)) {
			snprintf(err, size, "%s: matches %zu of the %s alternatives", where, n,
			    json_object_get(s, "oneOf") ? "oneOf" : "anyOf");
			return -1;
		}
	}
	return 0;
}

int
lh_llm_schema_check(json_t *schema, json_t *value, char *err, size_t size)
{
	return check(schema, value, "$", err, size);
}
