/* llm-usage: sum the usage logs that llm-call appends to, one JSON line
 * per group: by role, by model, by task (or the fields given with -g),
 * then the total.  -t prints only the total, from the cached running
 * sums that the budget breaker reads, so it stays cheap on long logs.
 * -T prints the same groups as a table for people, by default by role,
 * model, task, cycle and hour. "hour" (the UTC hour of the call's time)
 * and "cycle" (the cycle of longhaul-run running then: the last one in
 * BOARD/cycles/ started at or before the call) are derived, since the
 * log lines do not carry them.
 */
#include <dirent.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longhaul.h"

static const char *fields[] = { "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens" };

static void
usage(void)
{
	fputs("usage: llm-usage [-tT] [-b board | -d dir] [-g field]...\n", stderr);
	exit(2);
}

static void
add(json_t *groups, json_t *order, const char *by, json_t *line)
{
	json_t *value = by ? json_object_get(line, by) : NULL, *g;
	char *key, *v = value ? json_dumps(value, JSON_ENCODE_ANY | JSON_COMPACT) : lh_strdup("null");
	size_t i, len = strlen(v) + (by ? strlen(by) : 5) + 2;

	key = lh_malloc(len);
	snprintf(key, len, "%s\t%s", by ? by : "total", v);
	if (!(g = json_object_get(groups, key))) {
		g = json_pack("{s:s,s:I,s:f}", "by", by ? by : "total", "calls", (json_int_t)0, "cost_usd", 0.0);
		if (by)
			json_object_set(g, by, value ? value : json_null());
		for (i = 0; i < 4; i++)
			json_object_set_new(g, fields[i], json_integer(0));
		json_object_set_new(groups, key, g);
		json_array_append_new(order, json_string(key));
	}
	json_object_set_new(g, "calls", json_integer(json_integer_value(json_object_get(g, "calls")) + 1));
	for (i = 0; i < 4; i++)
		json_object_set_new(g, fields[i], json_integer(json_integer_value(json_object_get(g, fields[i])) +
		    json_integer_value(json_object_get(line, fields[i]))));
	json_object_set_new(g, "cost_usd", json_real(json_number_value(json_object_get(g, "cost_usd")) +
	    json_number_value(json_object_get(line, "cost_usd"))));
	free(key);
	free(v);
}

/* count the calls of a model that had no price, by provider:model */
static void
unpriced_call(json_t *unpriced, json_t *line)
{
	char name[512];

	snprintf(name, sizeof name, "%s:%s", json_string_value(json_object_get(line, "provider")) ?
	    json_string_value(json_object_get(line, "provider")) : "?",
	    json_string_value(json_object_get(line, "model")) ? json_string_value(json_object_get(line, "model")) : "?");
	json_object_set_new(unpriced, name, json_integer(json_integer_value(json_object_get(unpriced, name)) + 1));
}

/* the cycles of the run, by start time: BOARD/cycles/CYCLE.json */
static struct lh_cycle *cycles;
static size_t ncycles;

/* "hour" and "cycle", unless the line has them */
static void
derive(json_t *line)
{
	const char *t = json_string_value(json_object_get(line, "time"));
	const struct lh_cycle *c = lh_cycle_at(cycles, ncycles, json_number_value(json_object_get(line, "ts")));

	if (!json_object_get(line, "hour"))
		json_object_set_new(line, "hour", t && strlen(t) >= 13 ? json_stringn(t, 13) : json_null());
	if (!json_object_get(line, "cycle"))
		json_object_set_new(line, "cycle", c ? json_string(c->name) : json_null());
}

/* one group as a row of the table; text from the log is shown without
 * control characters, since an agent may have written it */
static void
row(json_t *g)
{
	const char *by = json_string_value(json_object_get(g, "by"));
	json_t *v = strcmp(by, "total") ? json_object_get(g, by) : NULL;
	char *s = !v ? lh_strdup(strcmp(by, "total") ? "-" : "") :
	    json_is_string(v) ? lh_strdup(json_string_value(v)) : json_dumps(v, JSON_ENCODE_ANY);

	lh_printable(s);
	printf("%-6s %-28s %7lld %11lld %10lld %10lld %10lld %10.4f\n", by, s,
	    (long long)json_integer_value(json_object_get(g, "calls")),
	    (long long)json_integer_value(json_object_get(g, "input_tokens")),
	    (long long)json_integer_value(json_object_get(g, "output_tokens")),
	    (long long)json_integer_value(json_object_get(g, "cache_read_tokens")),
	    (long long)json_integer_value(json_object_get(g, "cache_write_tokens")),
	    json_number_value(json_object_get(g, "cost_usd")));
	free(s);
}

static int
by_key(const void *a, const void *b)
{
	return strcmp(json_string_value(*(json_t *const *)a), json_string_value(*(json_t *const *)b));
}

static const char manual[] =
"usage: llm-usage [-tT] [-b board | -d dir] [-g field]...\n"
"Sum the model usage log ($LONGHAUL_BOARD/usage/, else $LONGHAUL_STATE):\n"
"one JSON line per role, model and task (or per -g field), then the total.\n"
"Calls of models without a price are counted at $0, with a warning.\n"
"  -t        print only the running total the budget breaker reads\n"
"  -b board  the usage directory of this board\n"
"  -T        print a table (default groups: role, model, task, cycle, hour)\n"
"  -d dir    the usage directory\n"
"  -g field  group by this field of the log lines (repeatable)\n"
"See llm-usage(1).\n";

int
main(int argc, char **argv)
{
	const char *by[16];
	char dir[4096] = "", path[4400], cycles_dir[4200], *line = NULL;
	int c, nby = 0, total_only = 0, table = 0, i, bad = 0;
	size_t cap = 0, k, n;
	ssize_t len;
	json_t *groups = json_object(), *order = json_array(), *j, **keys;
	json_t *unpriced = json_object(), *v;
	const char *model;
	struct dirent **names;
	FILE *f;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "tTb:d:g:")) != -1)
		switch (c) {
		case 't': total_only = 1; break;
		case 'b': lh_path(dir, sizeof dir, "%s/usage", optarg); break;
		case 'T': table = 1; break;
		case 'd': lh_path(dir, sizeof dir, "%s", optarg); break;
		case 'g':
			if (nby == 16)
				usage();
			by[nby++] = optarg;
			break;
		default: usage();
		}
	if (optind != argc)
		usage();
	if (!dir[0] && lh_llm_usage_dir(dir, sizeof dir) < 0)
		lh_die_errno(1, "usage directory");
	if (total_only) {
		uint64_t tokens;
		double usd;

		if (lh_llm_usage_total(dir, &tokens, &usd) < 0)
			lh_die_errno(1, "%s", dir);
		printf("{\"by\":\"total\",\"tokens\":%llu,\"cost_usd\":%.6f}\n", (unsigned long long)tokens, usd);
		lh_close_stdout();
		return 0;
	}
	if (!nby) {
		by[nby++] = "role";
		by[nby++] = "model";
		by[nby++] = "task";
		if (table) {
			by[nby++] = "cycle";
			by[nby++] = "hour";
		}
	}
	lh_path(cycles_dir, sizeof cycles_dir, "%s/../cycles", dir);
	cycles = lh_cycles_load(cycles_dir, &ncycles);
	if ((n = scandir(dir, &names, NULL, alphasort)) == (size_t)-1)
		lh_die_errno(1, "%s", dir);
	for (k = 0; k < n; k++) {
		len = strlen(names[k]->d_name);
		if (names[k]->d_name[0] != '.' && len > 6 && !strcmp(names[k]->d_name + len - 6, ".jsonl")) {
			lh_path(path, sizeof path, "%s/%s", dir, names[k]->d_name);
			if (!(f = fopen(path, "r"))) {
				lh_warn_errno("%s", path);
				bad = 1;
			} else {
				while ((len = getline(&line, &cap, f)) > 0) {
					if (line[len - 1] != '\n')
						break;  /* a line being written */
					if (!(j = json_loadb(line, len, 0, NULL))) {
						lh_warn("%s: skipping a line that is not JSON", path);
						bad = 1;
						continue;
					}
					derive(j);
					if (json_is_true(json_object_get(j, "unpriced")))
						unpriced_call(unpriced, j);
					for (i = 0; i < nby; i++)
						add(groups, order, by[i], j);
					add(groups, order, NULL, j);
					json_decref(j);
				}
				fclose(f);
			}
		}
		free(names[k]);
	}
	free(names);
	free(line);
	json_object_foreach(unpriced, model, v)
		lh_warn("%s: %lld call%s without a price, counted as $0 (give it a price in the config's \"prices\")",
		    model, (long long)json_integer_value(v), json_integer_value(v) == 1 ? "" : "s");
	json_decref(unpriced);
	if (table)
		printf("%-6s %-28s %7s %11s %10s %10s %10s %10s\n", "BY", "VALUE", "CALLS",
		    "INPUT", "OUTPUT", "CACHE_RD", "CACHE_WR", "USD");
	if (!json_array_size(order)) {
		if (table)
			row(json_pack("{s:s,s:i,s:f}", "by", "total", "calls", 0, "cost_usd", 0.0));
		else
			puts("{\"by\":\"total\",\"calls\":0,\"cost_usd\":0.0,\"input_tokens\":0,\"output_tokens\":0,\"cache_read_tokens\":0,\"cache_write_tokens\":0}");
		lh_close_stdout();
		return bad;
	}
	/* groups in the order of -g, each sorted by value; the total last */
	n = json_array_size(order);
	keys = lh_malloc(n * sizeof *keys);
	for (k = 0; k < n; k++)
		keys[k] = json_array_get(order, k);
	if (n)
		qsort(keys, n, sizeof *keys, by_key);
	for (i = 0; i <= nby; i++)
		for (k = 0; k < n; k++) {
			const char *key = json_string_value(keys[k]);
			const char *name = i < nby ? by[i] : "total";
			char *s;

			if (strncmp(key, name, strlen(name)) || key[strlen(name)] != '\t')
				continue;
			j = json_object_get(groups, key);
			if (table) {
				row(j);
				continue;
			}
			s = json_dumps(j, JSON_COMPACT | JSON_REAL_PRECISION(10));
			puts(s);
			free(s);
		}
	free(keys);
	json_decref(groups);
	json_decref(order);
	lh_close_stdout();
	return bad;
}
