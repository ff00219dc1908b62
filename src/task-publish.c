/* task-publish: put new tasks on the board.
 *
 * One task from the options, or with -j one per line of JSON on stdin
 * (options then give the defaults), the new ids printed one per line.
 * A record appears whole or not at all: it is written to tmp/ and linked
 * into place as version 1 (see lh-board.c). Its hint is made before that
 * link, so that no task exists which no index shows, whenever we die.
 *
 * Guard rails for planners are here, not in a prompt: a task with the
 * same title in the same area as one not failed is refused (the name is
 * taken by an exclusive link in names/ before the task is written);
 * LONGHAUL_AREA confines publishing to one area and what is under it;
 * LONGHAUL_PUBLISH_MAX caps what one agent publishes in one cycle;
 * LONGHAUL_NO_PLAN refuses planning tasks (a planner at the maximum depth
 * of sub-planning); LONGHAUL_PARENT is the default parent (the plan task
 * a planner works on).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] =
    "task-publish [-b board] [-k kind] [-p priority] [-P parent] [-a area] "
    "[-d dep]... [-v command]... [-m max-attempts] [-i id] [-f body-file] [-D] "
    "(title | -j)";
static const char manual[] =
"usage: task-publish [options] title\n"
"       task-publish [options] -j < tasks.jsonl\n"
"Publish a task and print its id. With -j, publish one task per line of\n"
"JSON on stdin ({\"title\", \"body\", \"kind\", \"priority\", \"parent\", \"area\",\n"
"\"deps\", \"verify\", \"max_attempts\", \"id\", \"limits\": {\"steps\", \"seconds\",\n"
"\"tokens\", \"usd\"}}); options give defaults.\n"
"  -b board        the board (default $LONGHAUL_BOARD, else .longhaul)\n"
"  -k kind         work (default) or plan\n"
"  -p priority     0..9, higher is claimed first (default 5)\n"
"  -P parent       the task this one was planned under (default\n"
"                  $LONGHAUL_PARENT)\n"
"  -a area         an area label, such as src/parser\n"
"  -d dep          a task that must be done first (repeatable)\n"
"  -v command      a verification command the result must pass (repeatable)\n"
"  -m max          attempts before the task fails for good (default 3)\n"
"  -i id           the id to use instead of a new one\n"
"  -f file         read the body from file (- for stdin)\n"
"  -D              allow a duplicate title in the same area\n"
"LONGHAUL_AREA confines tasks to an area, LONGHAUL_PUBLISH_MAX caps tasks\n"
"per agent per cycle, LONGHAUL_NO_PLAN=1 refuses -k plan.\n"
"Exit status: 0 published, 2 bad input, 3 duplicate, id taken or refused\n"
"by a limit, 4 parent or dependency missing, 5 bad board, 6 system error.\n";

static struct lh_board board;
static int allow_duplicate;

/* an option's argument as a JSON string; json_string() refuses bad UTF-8 */
static json_t *
option_string(int opt, const char *arg)
{
	json_t *s = json_string(arg);

	if (!s)
		lh_die(LH_USAGE, "-%c: argument is not valid UTF-8", opt);
	return s;
}

static json_t *
string_or_null(json_t *in, const char *key, const char *dflt)
{
	const char *s = json_string_value(json_object_get(in, key));

	return s ? json_string(s) : dflt ? json_string(dflt) : json_null();
}

static json_int_t
integer_or(json_t *in, const char *key, json_int_t dflt)
{
	json_t *v = json_object_get(in, key);

	return json_is_integer(v) ? json_integer_value(v) : dflt;
}

static json_t *
array_or_empty(json_t *in, const char *key)
{
	json_t *v = json_object_get(in, key);

	return json_is_array(v) ? json_deep_copy(v) : json_array();
}

/* Turn what the user gave into a full version-1 record, or say why not. */
static json_t *
make_record(json_t *in, const char *where, int *status)
{
	char when[32];
	json_t *rec;

	if ((*status = lh_task_fields_check(&board, in, where, 1)))
		return NULL;
	lh_iso_time(lh_now(), when, sizeof when);
	rec = json_object();
	json_object_set_new(rec, "format", json_integer(LH_RECORD_FORMAT));
	json_object_set_new(rec, "id", string_or_null(in, "id", NULL));
	json_object_set_new(rec, "version", json_integer(1));
	json_object_set_new(rec, "state", json_string("ready"));
	json_object_set_new(rec, "kind", string_or_null(in, "kind", "work"));
	json_object_set_new(rec, "title", string_or_null(in, "title", NULL));
	json_object_set_new(rec, "body", string_or_null(in, "body", ""));
	json_object_set_new(rec, "priority", json_integer(integer_or(in, "priority", 5)));
	json_object_set_new(rec, "parent", string_or_null(in, "parent", NULL));
	json_object_set_new(rec, "area", string_or_null(in, "area", ""));
	json_object_set_new(rec, "deps", array_or_empty(in, "deps"));
	json_object_set_new(rec, "verify", array_or_empty(in, "verify"));
	json_object_set_new(rec, "max_attempts", json_integer(integer_or(in, "max_attempts", 3)));
	json_object_set_new(rec, "limits", json_is_object(json_object_get(in, "limits")) ?
	    json_deep_copy(json_object_get(in, "limits")) : json_null());
	json_object_set_new(rec, "attempts", json_integer(0));
	json_object_set_new(rec, "cycle", getenv("LONGHAUL_CYCLE") ?
	    json_string(getenv("LONGHAUL_CYCLE")) : json_null());
	json_object_set_new(rec, "created", json_string(when));
	json_object_set_new(rec, "event", json_string("publish"));
	json_object_set_new(rec, "by", lh_whoami());
	json_object_set_new(rec, "owner", json_null());
	json_object_set_new(rec, "lease", json_null());
	json_object_set_new(rec, "result", json_null());
	json_object_set_new(rec, "reason", json_null());
	return rec;
}

/* Count this agent's publications in this cycle by exclusive links
 * quota/CYCLE/AGENT/N, so concurrent publishers cannot overrun the cap. */
static int
take_quota(const char *where)
{
	char dir[PATH_MAX], slot[PATH_MAX];
	const char *max = getenv("LONGHAUL_PUBLISH_MAX");
	const char *cycle = getenv("LONGHAUL_CYCLE");
	const char *agent = getenv("LONGHAUL_AGENT");
	long n, cap;
	int r = LH_CONFLICT;

	if (!max || !*max)
		return 0;
	cap = atol(max);
	lh_path(dir, sizeof dir, "%s/quota/%s", board.dir,
	    cycle && *cycle && !lh_id_check(cycle) ? cycle : "0");
	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		lh_path(slot, sizeof slot, "%s/quota", board.dir);
		mkdir(slot, 0777);
		mkdir(dir, 0777);
	}
	for (n = 1; n <= cap; n++) {
		lh_path(slot, sizeof slot, "%s/%s.%ld", dir,
		    agent && *agent && !lh_id_check(agent) ? agent : "unknown", n);
		if ((r = lh_create_exclusive(&board, slot, "")) != LH_CONFLICT)
			return r;
	}
	lh_warn("%spublish limit reached: %ld tasks this cycle (LONGHAUL_PUBLISH_MAX)", where, cap);
	return LH_CONFLICT;
}

static int
publish(json_t *in, const char *where)
{
	char gen[LH_ID_MAX + 1], when[32], rnd[8];
	const char *id, *no_plan;
	json_t *rec;
	int status, tries, generated = 0;

	if (!(rec = make_record(in, where, &status)))
		return status;
	if ((no_plan = getenv("LONGHAUL_NO_PLAN")) && *no_plan && strcmp(no_plan, "0") &&
	    !strcmp(json_string_value(json_object_get(rec, "kind")), "plan")) {
		lh_warn("%skind plan: no sub-planning at this depth (LONGHAUL_NO_PLAN)", where);
		status = LH_CONFLICT;
		goto out;
	}
	for (tries = 0; tries < 10; tries++) {
		if (!(id = json_string_value(json_object_get(rec, "id")))) {
			lh_iso_time(lh_now(), when, sizeof when);
			lh_random_name(rnd, sizeof rnd);
			/* 2026-11-27T19:46:55Z -> 20261127-194655-xxxxxx: sorts by age */
			snprintf(gen, sizeof gen, "%.4s%.2s%.2s-%.2s%.2s%.2s-%s", when, when + 5,
			    when + 8, when + 11, when + 14, when + 17, rnd);
			json_object_set_new(rec, "id", json_string(gen));
			id = gen;
			generated = 1;
		}
		if (!allow_duplicate && (status = lh_title_take(&board, rec, where)))
			goto out;
		/* the quota after the title: a refused duplicate costs no slot */
		if (tries == 0 && (status = take_quota(where))) {
			if (!allow_duplicate)
				lh_title_drop(&board, rec);
			goto out;
		}
		/* the hint first, like a claim's: a task never exists that
		 * no index shows, whenever we die */
		if ((status = lh_hint_make(&board, rec)) == LH_OK)
			status = lh_task_cas(&board, id, 0, rec);
		if (status == LH_OK)
			break;
		if (!allow_duplicate)
			lh_title_drop(&board, rec);
		if (status != LH_CONFLICT || !generated) {
			if (status == LH_CONFLICT)
				lh_warn("%stask %s: already exists", where, id);
			goto out;
		}
		json_object_del(rec, "id");     /* generated id taken: draw again */
	}
	lh_task_reindex(&board, NULL, rec);
	printf("%s\n", id);
	if (fflush(stdout) != 0)
		lh_die_errno(LH_SYSERR, "stdout");
out:
	json_decref(rec);
	return status;
}

int
main(int argc, char **argv)
{
	json_t *defaults = json_object(), *deps = json_array(), *verify = json_array();
	const char *dir = NULL, *body_file = NULL;
	char *line = NULL, *body, where[64];
	size_t cap = 0, len;
	ssize_t n;
	json_error_t err;
	json_t *in;
	int c, batch = 0, status = 0, r;
	long lineno = 0;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "a:b:Dd:f:i:jk:m:P:p:v:")) != -1)
		switch (c) {
		case 'a': json_object_set_new(defaults, "area", option_string(c, optarg)); break;
		case 'b': dir = optarg; break;
		case 'D': allow_duplicate = 1; break;
		case 'd': json_array_append_new(deps, option_string(c, optarg)); break;
		case 'f': body_file = optarg; break;
		case 'i': json_object_set_new(defaults, "id", option_string(c, optarg)); break;
		case 'j': batch = 1; break;
		case 'k': json_object_set_new(defaults, "kind", option_string(c, optarg)); break;
		case 'm': json_object_set_new(defaults, "max_attempts", json_integer(atoi(optarg))); break;
		case 'P': json_object_set_new(defaults, "parent", option_string(c, optarg)); break;
		case 'p':
			if (!*optarg || strspn(optarg, "0123456789") != strlen(optarg))
				lh_die(LH_USAGE, "priority '%s': must be an integer from 0 to 9", optarg);
			json_object_set_new(defaults, "priority", json_integer(atoi(optarg)));
			break;
		case 'v': json_array_append_new(verify, option_string(c, optarg)); break;
		default: lh_usage(usage);
		}
	if (json_array_size(deps))
		json_object_set(defaults, "deps", deps);
	if (json_array_size(verify))
		json_object_set(defaults, "verify", verify);
	if (batch ? optind != argc : optind != argc - 1)
		lh_usage(usage);
	if (batch && body_file && !strcmp(body_file, "-"))
		lh_die(LH_USAGE, "-f -: stdin carries the tasks with -j");
	if (!json_object_get(defaults, "parent") && getenv("LONGHAUL_PARENT") && *getenv("LONGHAUL_PARENT"))
		json_object_set_new(defaults, "parent", option_string('P', getenv("LONGHAUL_PARENT")));
	lh_board_open(&board, dir);
	if (body_file) {
		body = !strcmp(body_file, "-") ? lh_read_stream(stdin, &len) : lh_read_file(body_file, &len);
		if (!body)
			lh_die_errno(LH_USAGE, "%s", body_file);
		if (len > LH_BODY_MAX)
			lh_die(LH_USAGE, "%s: body too long (more than %d bytes)", body_file, LH_BODY_MAX);
		if (!lh_utf8_valid(body, len))
			lh_die(LH_USAGE, "%s: body is not valid UTF-8", body_file);
		json_object_set_new(defaults, "body", json_string(body));
		free(body);
	}
	if (!batch) {
		if (!lh_utf8_valid(argv[optind], strlen(argv[optind])))
			lh_die(LH_USAGE, "title: not valid UTF-8");
		json_object_set_new(defaults, "title", json_string(argv[optind]));
		status = publish(defaults, "");
	} else {
		while ((n = getline(&line, &cap, stdin)) > 0) {
			lineno++;
			snprintf(where, sizeof where, "line %ld: ", lineno);
			if (strspn(line, " \t\r\n") == (size_t)n)
				continue;
			if (!lh_utf8_valid(line, n)) {
				lh_warn("%stask: not valid UTF-8", where);
				r = LH_USAGE;
			} else if (!(in = json_loads(line, JSON_REJECT_DUPLICATES, &err))) {
				lh_warn("%stask: invalid JSON: %s", where, err.text);
				r = LH_USAGE;
			} else {
				if (json_is_object(in))
					json_object_update_missing(in, defaults);
				r = publish(in, where);
				json_decref(in);
			}
			if (r && !status)
				status = r;
		}
		free(line);
		if (ferror(stdin))
			lh_die_errno(LH_SYSERR, "stdin");
	}
	lh_board_ring(&board);
	json_decref(defaults);
	json_decref(deps);
	json_decref(verify);
	lh_close_stdout();
	return status;
}
