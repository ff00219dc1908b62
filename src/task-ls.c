/* task-ls: list the board's tasks, oldest first, as a table or as JSON
 * lines. It reads every task's current record: a listing costs what the
 * board holds, which claiming does not. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] = "task-ls [-b board] [-s state] [-k kind] [-a area] [-P parent] [-j]";
static const char manual[] =
"usage: task-ls [-b board] [-s state] [-k kind] [-a area] [-P parent] [-j]\n"
"List tasks, oldest first, one per line: id, state, kind, priority,\n"
"attempts/max, area, title. States: ready, waiting (ready, but a\n"
"dependency is not done), claimed, done, failed.\n"
"  -s state    only this state (a comma-separated list is fine)\n"
"  -k kind     only this kind      -a area    only this area and below\n"
"  -P parent   only tasks planned under this one\n"
"  -j          print each record as a line of JSON, with \"shown_state\"\n"
"Exit status: 0 listed (even nothing), 2 usage, 5 bad board, 6 system\n"
"error; an unreadable record is reported, skipped and makes the status 5.\n";

static struct lh_board board;
static const char *want_state, *want_kind, *want_area, *want_parent;
static int json, status;

static int
in_list(const char *list, const char *word)
{
	size_t n = strlen(word);
	const char *p = list;

	while ((p = strstr(p, word))) {
		if ((p == list || p[-1] == ',') && (p[n] == ',' || !p[n]))
			return 1;
		p += n;
	}
	return 0;
}

/* s padded to width, with control characters as \n, \t or \xHH: a row
 * is one line whatever a record holds (tools refuse them in titles and
 * areas, but a record may come from elsewhere) */
static void
print_one_line(const char *s, int width)
{
	int n = 0;

	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (c == '\n')
			n += printf("\\n");
		else if (c == '\t')
			n += printf("\\t");
		else if (c < 0x20 || c == 0x7f)
			n += printf("\\x%02x", c);
		else if (c == '\\')
			n += printf("\\\\");
		else
			n += putchar(c) != EOF;
	}
	for (; n < width; n++)
		putchar(' ');
}

/* every word of the -s list is a state */
static void
check_states(const char *list)
{
	static const char *const states[] = { "ready", "waiting", "claimed", "done", "failed" };
	const char *p = list;
	size_t n, i;

	for (;;) {
		n = strcspn(p, ",");
		for (i = 0; i < sizeof states / sizeof *states; i++)
			if (strlen(states[i]) == n && !strncmp(p, states[i], n))
				break;
		if (i == sizeof states / sizeof *states)
			lh_die(LH_USAGE, "-s %s: no state %.*s (ready, waiting, claimed, done, failed)", list, (int)n, p);
		if (!p[n])
			return;
		p += n + 1;
	}
}

static void
list(const char *id)
{
	const char *state, *area, *parent;
	char *text;
	json_t *rec;
	int st;
	size_t n;

	if (!(rec = lh_task_read(&board, id, NULL, &st, 2))) {
		if (st != LH_NOTFOUND)      /* a publisher died mid-way: not a task */
			status = st;
		return;
	}
	state = json_string_value(json_object_get(rec, "state"));
	if (!strcmp(state, "ready") && !lh_task_deps_done(&board, rec))
		state = "waiting";
	/* any valid record: only id, version, state, title and kind are sure */
	if (!(area = json_string_value(json_object_get(rec, "area"))))
		area = "";
	parent = json_string_value(json_object_get(rec, "parent"));
	n = want_area ? strlen(want_area) : 0;
	if ((want_state && !in_list(want_state, state)) ||
	    (want_kind && strcmp(want_kind, json_string_value(json_object_get(rec, "kind")))) ||
	    (want_area && strcmp(area, want_area) && !(strncmp(area, want_area, n) == 0 && area[n] == '/')) ||
	    (want_parent && (!parent || strcmp(parent, want_parent)))) {
		json_decref(rec);
		return;
	}
	if (json) {
		json_object_set_new(rec, "shown_state", json_string(state));
		text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(text);
		free(text);
	} else {
		printf("%-24s %-8s %-4s %d %lld/%lld ", id, state,
		    json_string_value(json_object_get(rec, "kind")),
		    (int)json_integer_value(json_object_get(rec, "priority")),
		    (long long)json_integer_value(json_object_get(rec, "attempts")),
		    (long long)json_integer_value(json_object_get(rec, "max_attempts")));
		print_one_line(*area ? area : "-", 12);
		putchar(' ');
		print_one_line(json_string_value(json_object_get(rec, "title")), 0);
		putchar('\n');
	}
	json_decref(rec);
}

int
main(int argc, char **argv)
{
	char **ids;
	size_t n;
	const char *dir = NULL;
	size_t i;
	int c;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "a:b:jk:P:s:")) != -1)
		switch (c) {
		case 'a': want_area = optarg; break;
		case 'b': dir = optarg; break;
		case 'j': json = 1; break;
		case 'k': want_kind = optarg; break;
		case 'P': want_parent = optarg; break;
		case 's': check_states(want_state = optarg); break;
		default: lh_usage(usage);
		}
	if (optind != argc)
		lh_usage(usage);
	lh_board_open(&board, dir);
	ids = lh_board_ids(&board, &n);
	for (i = 0; i < n; i++) {
		list(ids[i]);
		free(ids[i]);
	}
	free(ids);
	lh_close_stdout();
	return status;
}
