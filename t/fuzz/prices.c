/* prices: the price table (share/prices.json, or $LONGHAUL_SHARE's) as
 * llm_cost() reads it to price a call (src/lh-llm-fleet.c).
 *
 * Input: a first line "provider:model", then the file.
 */
#include "fuzz.h"
#include <math.h>
#include "../../src/longhaul.h"
#include "../../src/lh-llm.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[128];
	const char *nl = memchr(data, '\n', size), *colon;
	struct call c;
	char spec[256];
	double usd;

	if (!path[0]) {
		snprintf(path, sizeof path, "%s/prices.json", fuzz_scratch());
		setenv("LONGHAUL_SHARE", fuzz_scratch(), 1);
	}
	if (!nl || nl - (const char *)data >= (long)sizeof spec)
		return 0;
	snprintf(spec, sizeof spec, "%.*s", (int)(nl - (const char *)data), (const char *)data);
	fuzz_write_file(path, nl + 1, size - (nl + 1 - (const char *)data));
	memset(&c, 0, sizeof c);
	colon = strchr(spec, ':');
	snprintf(c.m.provider, sizeof c.m.provider, "%.*s", colon ? (int)(colon - spec) : 0, spec);
	c.m.name = colon ? (char *)colon + 1 : spec;
	c.input = 123456;
	c.output = 7890;
	c.cache_read = 100000;
	c.cache_write = 5000;
	usd = llm_cost(&c);
	if (!isfinite(usd)) {
		fprintf(stderr, "cost %g\n", usd);
		abort();
	}
	return 0;
}
