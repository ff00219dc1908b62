/* lh-cycle.c: the cycles of a run, BOARD/cycles/CYCLE.json, as
 * longhaul-run writes them (one record a cycle, rewritten whole).
 *
 * Read-only and best effort: a file that is not a regular file (a FIFO
 * would block the reader), not JSON, or without a numeric "started" is no
 * cycle and is skipped, so a stray file never stops a report.
 */
#include <dirent.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "longhaul.h"

static int
by_start(const void *a, const void *b)
{
	const struct lh_cycle *x = a, *y = b;

	return x->started < y->started ? -1 : x->started > y->started;
}

struct lh_cycle *
lh_cycles_load(const char *dir, size_t *n)
{
	char path[PATH_MAX];
	struct lh_cycle *cycles = NULL, *c;
	struct dirent *de;
	struct stat st;
	const char *state;
	json_t *j;
	DIR *d;

	*n = 0;
	if (!(d = opendir(dir)))
		return NULL;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);

		if (de->d_name[0] == '.' || len < 6 || len > 60 || strcmp(de->d_name + len - 5, ".json"))
			continue;
		if (snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
			continue;
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode) || !(j = json_load_file(path, 0, NULL)))
			continue;
		if (json_is_number(json_object_get(j, "started"))) {
			cycles = lh_realloc(cycles, (*n + 1) * sizeof *cycles);
			c = &cycles[(*n)++];
			snprintf(c->name, sizeof c->name, "%.*s", (int)(len - 5), de->d_name);
			c->started = json_number_value(json_object_get(j, "started"));
			c->usd_at_start = json_number_value(json_object_get(j, "usd_at_start"));
			c->tokens_at_start = json_number_value(json_object_get(j, "tokens_at_start"));
			state = json_string_value(json_object_get(j, "state"));
			snprintf(c->state, sizeof c->state, "%s", state ? state : "?");
		}
		json_decref(j);
	}
	closedir(d);
	if (*n)
		qsort(cycles, *n, sizeof *cycles, by_start);
	return cycles;
}

const struct lh_cycle *
lh_cycle_at(const struct lh_cycle *cycles, size_t n, double t)
{
	while (n > 0 && cycles[n - 1].started > t)
		n--;
	return n ? &cycles[n - 1] : NULL;
}
