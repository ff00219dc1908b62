/* task-update: change a task, always as a compare-and-swap.
 *
 * The owner's actions (heartbeat, done, fail, release) present the fencing
 * token that task-claim printed: the task must still be claimed under that
 * token, so an owner whose lease expired and whose task was claimed again
 * is refused. A planner's actions (edit, cancel) present the version they
 * read (-V). Either way the write is a link to the next version, which
 * fails when anyone else wrote first; then nothing has changed and the
 * exit status is 3.
 *
 * A heartbeat writes no version: it touches the current version's file,
 * whose mtime (set by the file server) is what the reaper judges.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] =
    "task-update [-b board] [-t token | -V version] [-c commit] [-m note | -F file] "
    "[-r reason] [-e json] action id";
static const char manual[] =
"usage: task-update [-b board] [-t token | -V version] [options] action id\n"
"Actions of the owner, with -t TOKEN from task-claim:\n"
"  heartbeat   extend the lease by another lease period\n"
"  done        the task is done: -c COMMIT, -m NOTE or -F FILE (handoff note)\n"
"  fail        it could not be done: -r REASON (not empty); requeued\n"
"              until max_attempts, then failed for good\n"
"  release     give it back unworked (-r REASON optional, not empty)\n"
"Actions of a planner, with -V VERSION as read (task-show):\n"
"  edit        set fields from a JSON object on stdin (or -e JSON): title,\n"
"              body, priority, area, deps, verify, max_attempts, parent\n"
"  cancel      fail it for good now: -r REASON (not empty)\n"
"Exit status: 0 done, 2 bad input, 3 stale token or version (nothing\n"
"changed), 4 no such task, 5 bad board or record, 6 system error.\n";

enum action { HEARTBEAT, DONE, FAIL, RELEASE, EDIT, CANCEL };
static const char *actions[] = { "heartbeat", "done", "fail", "release", "edit", "cancel", NULL };

static struct lh_board board;

static json_t *
text_field(const char *what, const char *s, size_t max)
{
	const char *why;

	if (!s)
		return json_null();
	if ((why = lh_field_check(s, max)))
		lh_die(LH_USAGE, "%s: %s", what, why);
	return json_string(s);
}

/* The new record for an action on rec, or NULL with the reason said. */
static json_t *
apply(enum action a, const char *id, json_t *rec, json_t *fields, json_t *commit,
    json_t *note, json_t *reason)
{
	json_t *new = json_deep_copy(rec);
	json_int_t attempts = json_integer_value(json_object_get(rec, "attempts"));
	json_int_t max = json_integer_value(json_object_get(rec, "max_attempts"));

	if (max <= 0)
		max = 3;        /* the default, for a record without it */

	json_object_set_new(new, "event", json_string(actions[a]));
	json_object_set_new(new, "by", lh_whoami());
	switch (a) {
	case DONE:
		json_object_set_new(new, "state", json_string("done"));
		json_object_set_new(new, "result", json_pack("{s:O, s:O}", "commit", commit, "note", note));
		json_object_set_new(new, "lease", json_null());
		json_object_set_new(new, "reason", json_null());
		break;
	case FAIL:
		json_object_set_new(new, "state", json_string(attempts >= max ? "failed" : "ready"));
		json_object_set_new(new, "owner", json_null());
		json_object_set_new(new, "lease", json_null());
		json_object_set_new(new, "reason", json_incref(reason));
		break;
	case RELEASE:
		json_object_set_new(new, "state", json_string("ready"));
		json_object_set_new(new, "attempts", json_integer(attempts > 0 ? attempts - 1 : 0));
		json_object_set_new(new, "owner", json_null());
		json_object_set_new(new, "lease", json_null());
		json_object_set_new(new, "reason", json_incref(reason));
		break;
	case CANCEL:
		if (!strcmp(json_string_value(json_object_get(rec, "state")), "done")) {
			lh_warn("task %s: done already, cannot cancel", id);
			json_decref(new);
			return NULL;
		}
		json_object_set_new(new, "state", json_string("failed"));
		json_object_set_new(new, "lease", json_null());
		json_object_set_new(new, "reason", json_incref(reason));
		break;
	case EDIT:
		json_object_update(new, fields);
		break;
	case HEARTBEAT:
		break;
	}
	return new;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *id, *note_file = NULL, *edit_text = NULL, *limit;
	json_t *commit = json_null(), *note = json_null(), *reason = json_null();
	json_t *fields = NULL, *rec, *new;
	long token = -1, want = -1;
	char *end, *text;
	json_error_t err;
	const char **ap;
	enum action a;
	int c, v, st, tries, renamed;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "b:c:e:F:m:r:t:V:")) != -1)
		switch (c) {
		case 'b': dir = optarg; break;
		case 'c':
			if (!*optarg || strlen(optarg) > 64 || strspn(optarg, "0123456789abcdef") != strlen(optarg))
				lh_die(LH_USAGE, "commit '%.70s': not a hexadecimal commit id", optarg);
			commit = json_string(optarg);
			break;
		case 'e': edit_text = optarg; break;
		case 'F': note_file = optarg; break;
		case 'm': note = text_field("note", optarg, LH_NOTE_MAX); break;
		case 'r': reason = text_field("reason", optarg, 4096); break;
		case 't':
			token = strtol(optarg, &end, 10);
			if (*end || token <= 0)
				lh_die(LH_USAGE, "token '%.30s': not a positive number", optarg);
			break;
		case 'V':
			want = strtol(optarg, &end, 10);
			if (*end || want <= 0)
				lh_die(LH_USAGE, "version '%.30s': not a positive number", optarg);
			break;
		default: lh_usage(usage);
		}
	if (argc - optind != 2)
		lh_usage(usage);
	for (ap = actions; *ap && strcmp(*ap, argv[optind]); ap++)
		;
	if (!*ap)
		lh_die(LH_USAGE, "action '%.30s': not one of heartbeat, done, fail, release, edit, cancel",
		    argv[optind]);
	a = (enum action)(ap - actions);
	id = argv[optind + 1];
	if (lh_id_check(id))
		lh_die(LH_USAGE, "task %.80s: %s", id, lh_id_check(id));
	if (a <= RELEASE && token < 0)
		lh_die(LH_USAGE, "%s: needs the fencing token (-t) from task-claim", actions[a]);
	if (a >= EDIT && want < 0)
		lh_die(LH_USAGE, "%s: needs the version read (-V) from task-show", actions[a]);
	if ((a == FAIL || a == CANCEL) && json_is_null(reason))
		lh_die(LH_USAGE, "%s: needs a reason (-r)", actions[a]);
	/* a record that says "released: " tells nobody anything */
	if ((a == FAIL || a == RELEASE || a == CANCEL) && json_is_string(reason) &&
	    !*json_string_value(reason))
		lh_die(LH_USAGE, "%s: the reason (-r) is empty", actions[a]);
	if (note_file) {
		size_t len;

		if (!(text = !strcmp(note_file, "-") ? lh_read_stream(stdin, &len) : lh_read_file(note_file, &len)))
			lh_die_errno(LH_USAGE, "%s", note_file);
		if (len > LH_NOTE_MAX || !lh_utf8_valid(text, len))
			lh_die(LH_USAGE, "%s: note longer than 64 KiB or not valid UTF-8", note_file);
		json_decref(note);
		note = json_string(text);
		free(text);
	}
	lh_board_open(&board, dir);
	if (a == EDIT) {
		fields = edit_text ? json_loads(edit_text, JSON_REJECT_DUPLICATES, &err)
		    : json_loadf(stdin, JSON_REJECT_DUPLICATES, &err);
		if (!fields)
			lh_die(LH_USAGE, "edit: invalid JSON: %s", err.text);
		if (json_object_get(fields, "id"))
			lh_die(LH_USAGE, "edit: id: cannot be changed");
		if ((st = lh_task_fields_check(&board, fields, "edit: ", 0)))
			return st;
		/* a planner's bounds hold for edits as for publishing: the depth
		 * of planning is counted by parents, so a planner that could
		 * move a task (to the root) or make one a plan at the deepest
		 * level would plan without end */
		if ((limit = getenv("LONGHAUL_PARENT")) && *limit && json_object_get(fields, "parent")) {
			lh_warn("edit: parent: a planner's tasks stay under its plan (LONGHAUL_PARENT)");
			return LH_CONFLICT;
		}
		if ((limit = getenv("LONGHAUL_NO_PLAN")) && *limit && strcmp(limit, "0") &&
		    json_is_string(json_object_get(fields, "kind")) &&
		    !strcmp(json_string_value(json_object_get(fields, "kind")), "plan")) {
			lh_warn("edit: kind plan: no sub-planning at this depth (LONGHAUL_NO_PLAN)");
			return LH_CONFLICT;
		}
	}
	/* an owner's write may race with a planner's edit: then read again */
	for (tries = 0; tries < 5; tries++) {
		if (!(rec = lh_task_read(&board, id, &v, &st, 1)))
			return st;
		if (want > 0 && v != want) {
			lh_warn("task %s: version %ld is stale (now %d)", id, want, v);
			return LH_CONFLICT;
		}
		if (token > 0) {
			const char *state = json_string_value(json_object_get(rec, "state"));
			json_int_t holder = json_integer_value(json_object_get(json_object_get(rec, "lease"), "token"));

			if (strcmp(state, "claimed") || holder != token) {
				lh_warn("task %s: token %ld is stale (the task is %s%s)", id, token, state,
				    strcmp(state, "claimed") ? "" : " under another token");
				return LH_CONFLICT;
			}
		}
		/* a planner confined to an area (LONGHAUL_AREA) edits and
		 * cancels only the tasks that are in it */
		if (a == EDIT || a == CANCEL) {
			const char *area = json_string_value(json_object_get(rec, "area"));
			json_t *where = json_pack("{s:s}", "area", area ? area : "");

			st = lh_task_fields_check(&board, where, a == EDIT ? "edit: " : "cancel: ", 0);
			json_decref(where);
			if (st) {
				json_decref(rec);
				return st;
			}
		}
		if (a == HEARTBEAT) {
			if ((st = lh_task_touch(&board, id, v)) == LH_CONFLICT)
				continue;
			return st;
		}
		if (!(new = apply(a, id, rec, fields, commit, note, reason)))
			return LH_CONFLICT;
		/* an edit that renames the task moves its duplicate guard */
		renamed = a == EDIT && (json_object_get(fields, "title") || json_object_get(fields, "area")) &&
		    (!json_equal(json_object_get(rec, "title"), json_object_get(new, "title")) ||
		    !json_equal(json_object_get(rec, "area"), json_object_get(new, "area")));
		if (renamed && (st = lh_title_take(&board, new, "edit: "))) {
			json_decref(new);
			json_decref(rec);
			return st;
		}
		st = lh_task_cas(&board, id, v, new);
		if (renamed)
			lh_title_drop(&board, st == LH_OK ? rec : new);
		if (st == LH_OK) {
			lh_task_reindex(&board, rec, new);
			/* dependents wait for a done task and fail with a failed
			 * one; if we die first, claimants and the reaper do it */
			if (a == DONE || !strcmp(json_string_value(json_object_get(new, "state")), "failed"))
				lh_board_promote(&board);
			lh_board_ring(&board);
			return 0;
		}
		json_decref(new);
		json_decref(rec);
		if (st != LH_CONFLICT || want > 0)
			break;
	}
	if (st == LH_CONFLICT)
		lh_warn("task %s: changed while being written; nothing done", id);
	return st;
}
