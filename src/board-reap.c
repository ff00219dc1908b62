/* board-reap: requeue the tasks whose lease expired, and mend the indexes.
 *
 * Expiry is judged by the file server's clock alone: "now" is the mtime
 * of a file the reaper has just touched, and a lease is the mtime of the
 * current version's file (written at the claim, touched by heartbeats).
 * So reapers and workers on machines whose clocks disagree still agree on
 * which leases ran out.
 *
 * Requeuing is a compare-and-swap like any other write: of several
 * reapers, or of a reaper and the late owner's "done", exactly one wins.
 * A task whose attempts are used up fails for good instead.
 *
 * -f also walks every task: it rebuilds the index hints from the records
 * (after a crash, or an administrator's hand edit), and removes temporary
 * files older than an hour.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] = "board-reap [-b board] [-f] [-n]";
static const char manual[] =
"usage: board-reap [-b board] [-f] [-n]\n"
"Requeue the claimed tasks whose lease expired (or fail them for good when\n"
"their attempts are used up), promote tasks whose dependencies are done,\n"
"and print the id of each task it requeued or failed.\n"
"  -f   full: also rebuild the indexes from every record and remove stale\n"
"       temporary files (after a crash; costs what the board holds)\n"
"  -n   dry run: print what expired, change nothing\n"
"Run it from cron, a loop, or the cycle runner; several at once are safe.\n"
"Exit status: 0 fine, 5 bad board, 6 system error; unreadable records are\n"
"reported and skipped.\n";

static struct lh_board board;
static double server_now;
static int dry_run, status, requeued;

static void
reap(const char *id)
{
	json_t *rec, *new;
	const char *state;
	double age;
	long seconds;
	int v, st, spent;
	char reason[160];

	if (!(rec = lh_task_read(&board, id, &v, &st, 1))) {
		if (st == LH_NOTFOUND) {
			char hint[PATH_MAX];

			lh_path(hint, sizeof hint, "%s/claimed/%s", board.dir, id);
			unlink(hint);
		} else if (!status)
			status = st;
		return;
	}
	state = json_string_value(json_object_get(rec, "state"));
	if (strcmp(state, "claimed")) {
		char hint[PATH_MAX];

		lh_path(hint, sizeof hint, "%s/claimed/%s", board.dir, id);
		lh_task_mend(&board, rec, hint);
		json_decref(rec);
		return;
	}
	seconds = (long)json_integer_value(json_object_get(json_object_get(rec, "lease"), "seconds"));
	age = lh_task_age(&board, id, v, server_now);
	if (age < 0 || age <= seconds) {
		json_decref(rec);
		return;
	}
	spent = json_integer_value(json_object_get(rec, "attempts")) >=
	    json_integer_value(json_object_get(rec, "max_attempts"));
	snprintf(reason, sizeof reason, "lease of %s expired (%.0f s without a heartbeat)",
	    json_string_value(json_object_get(json_object_get(rec, "owner"), "agent")), age);
	if (dry_run) {
		printf("%s\n", id);
		json_decref(rec);
		return;
	}
	new = json_deep_copy(rec);
	json_object_set_new(new, "state", json_string(spent ? "failed" : "ready"));
	json_object_set_new(new, "event", json_string("requeue"));
	json_object_set_new(new, "by", lh_whoami());
	json_object_set_new(new, "owner", json_null());
	json_object_set_new(new, "lease", json_null());
	json_object_set_new(new, "reason", json_string(reason));
	if ((st = lh_task_cas(&board, id, v, new)) == LH_OK) {
		lh_task_reindex(&board, rec, new);
		printf("%s\n", id);
		requeued = 1;
	} else if (st != LH_CONFLICT && !status) {
		status = st;        /* a conflict: the owner or another reaper won */
	}
	json_decref(new);
	json_decref(rec);
}

static int
mend(const char *id, void *arg)
{
	json_t *rec;
	int st;

	(void)arg;
	if ((rec = lh_task_read(&board, id, NULL, &st, 1))) {
		lh_task_mend(&board, rec, NULL);
		json_decref(rec);
	} else if (st != LH_NOTFOUND && !status) {
		status = st;    /* NOTFOUND: a publisher died before its link */
	}
	return 0;
}

/* Remove the hints under dir (depth levels of directories above them)
 * that their records disagree with. */
static void
sweep(const char *dir, int depth)
{
	char path[PATH_MAX];
	struct dirent *d;
	json_t *rec;
	DIR *dp;
	int st;

	if (!(dp = opendir(dir)))
		return;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		lh_path(path, sizeof path, "%s/%s", dir, d->d_name);
		if (depth > 0) {
			sweep(path, depth - 1);
			rmdir(path);    /* only when empty */
		} else if ((rec = lh_task_read(&board, d->d_name, NULL, &st, 0))) {
			lh_task_mend(&board, rec, path);
			json_decref(rec);
		} else if (st == LH_NOTFOUND || st == LH_USAGE) {
			unlink(path);
		}
	}
	closedir(dp);
}

static void
clean_tmp(void)
{
	char dir[PATH_MAX], path[PATH_MAX];
	struct dirent *d;
	struct stat st;
	DIR *dp;

	lh_path(dir, sizeof dir, "%s/tmp", board.dir);
	if (!(dp = opendir(dir)))
		return;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		lh_path(path, sizeof path, "%s/%s", dir, d->d_name);
		if (lstat(path, &st) == 0 && server_now - st.st_mtime > 3600)
			unlink(path);
	}
	closedir(dp);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	char claimed[PATH_MAX];
	struct dirent *d;
	DIR *dp;
	int c, full = 0;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "b:fn")) != -1)
		switch (c) {
		case 'b': dir = optarg; break;
		case 'f': full = 1; break;
		case 'n': dry_run = 1; break;
		default: lh_usage(usage);
		}
	if (optind != argc)
		lh_usage(usage);
	lh_board_open(&board, dir);
	if ((server_now = lh_board_clock(&board)) < 0)
		lh_die_errno(LH_SYSERR, "%s/clock", board.dir);
	if (full && !dry_run) {
		lh_path(claimed, sizeof claimed, "%s/ready", board.dir);
		sweep(claimed, 3);
		lh_path(claimed, sizeof claimed, "%s/waiting", board.dir);
		sweep(claimed, 0);
		lh_path(claimed, sizeof claimed, "%s/claimed", board.dir);
		sweep(claimed, 0);
		lh_board_each(&board, mend, NULL);
		clean_tmp();
	}
	lh_path(claimed, sizeof claimed, "%s/claimed", board.dir);
	if (!(dp = opendir(claimed)))
		lh_die_errno(LH_BADBOARD, "%s", claimed);
	while ((d = readdir(dp)))
		if (d->d_name[0] != '.' && !lh_id_check(d->d_name))
			reap(d->d_name);
	closedir(dp);
	if (!dry_run) {
		/* promote rings when it moved a task; a reap that found
		 * nothing must not wake the waiters, or two callers on one
		 * board (each woken by the other's bell) spin */
		lh_board_promote(&board);
		if (requeued)
			lh_board_ring(&board);
	}
	lh_close_stdout();
	return status;
}
