/* task-show: print tasks' records as JSON, one line each; with -H every
 * version of each, oldest first: the task's history; with -f one field of
 * each, plain, for shell scripts that would otherwise start jq. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] = "task-show [-b board] [-H] [-f field] [id...]";
static const char manual[] =
"usage: task-show [-b board] [-H] [-f field] [id...]\n"
"Print the current record of each task as one line of JSON (ids from the\n"
"operands, else one per line on stdin). -H prints every version instead,\n"
"oldest first, one per line. -f prints one field of the record (a dotted\n"
"path: lease.token) plainly: a string as it is, a list one item a line,\n"
"an object as JSON, a missing field as nothing.\n"
"Exit status: 0 all shown, 2 bad id, 4 a task missing, 5 bad board or\n"
"corrupt record, 6 system error. A failure on one id does not stop the rest.\n";

static struct lh_board board;
static int history;
static const char *field;

static void
print_plain(json_t *v)
{
	char *text;

	if (json_is_string(v)) {
		fwrite(json_string_value(v), 1, json_string_length(v), stdout);
		putchar('\n');
	} else if (v && !json_is_null(v)) {
		text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		puts(text);
		free(text);
	}
}

/* -f: the field at a dotted path of rec, plainly */
static void
print_field(json_t *rec)
{
	char path[256], *p, *dot;
	size_t i;

	snprintf(path, sizeof path, "%s", field);
	for (p = path; rec && p; p = dot) {
		if ((dot = strchr(p, '.')))
			*dot++ = 0;
		rec = json_object_get(rec, p);
	}
	if (json_is_array(rec))
		for (i = 0; i < json_array_size(rec); i++)
			print_plain(json_array_get(rec, i));
	else
		print_plain(rec);
}

static int
show(const char *id)
{
	json_t *j;
	size_t i;
	char *text;
	int st;

	if (lh_id_check(id)) {
		lh_warn("task %.80s: %s", id, lh_id_check(id));
		return LH_USAGE;
	}
	st = LH_OK;
	j = history ? lh_task_history(&board, id, &st) : lh_task_read(&board, id, NULL, &st, 1);
	if (!j) {
		if (history && st == LH_NOTFOUND)
			lh_warn("task %s: no such task", id);
		return st;
	}
	if (!history)
		j = json_pack("[o]", j);
	for (i = 0; i < json_array_size(j); i++) {
		if (field) {
			print_field(json_array_get(j, i));
			continue;
		}
		text = json_dumps(json_array_get(j, i), JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(text);
		free(text);
	}
	json_decref(j);
	return st;     /* with -H, a version that could not be read */
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	int c, r, status = 0;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "b:f:H")) != -1)
		switch (c) {
		case 'b': dir = optarg; break;
		case 'f': field = optarg; break;
		case 'H': history = 1; break;
		default: lh_usage(usage);
		}
	lh_board_open(&board, dir);
	if (optind < argc) {
		for (; optind < argc; optind++)
			if ((r = show(argv[optind])) && !status)
				status = r;
	} else {
		while ((n = getline(&line, &cap, stdin)) > 0) {
			if (line[n - 1] == '\n')
				line[n - 1] = 0;
			if (*line && (r = show(line)) && !status)
				status = r;
		}
		free(line);
	}
	lh_close_stdout();
	return status;
}
