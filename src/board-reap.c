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
 * A task whose attempts are used up fails for good instead, and so do the
 * waiting tasks that depend on a task failed for good (lh_board_promote).
 *
 * Every claimed task has its hint claimed/ID@TOKEN (made before the claim;
 * see lh-board.c), so reading claimed/ finds them all. A hint there that
 * is not its task's current claim is mended, unless it is numbered past
 * the current version: a claim in flight, left alone.
 *
 * A task's attempts may run out after its change landed (its worker died
 * between the push and the done, again and again): with -R REPO the
 * reaper reads REPO's branch before it fails a task for good, and a task
 * whose Longhaul-Task trailer is there is marked done with that commit
 * instead. The branch is the truth of what landed; when it cannot be
 * read, the task is left as it is for the next reap, not failed.
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

static const char usage[] = "board-reap [-b board] [-f] [-n] [-R repo [-B branch]]";
static const char manual[] =
"usage: board-reap [-b board] [-f] [-n] [-R repo [-B branch]]\n"
"Requeue the claimed tasks whose lease expired (or fail them for good when\n"
"their attempts are used up), promote tasks whose dependencies are done,\n"
"and print the id of each task it requeued or failed.\n"
"  -f   full: also rebuild the indexes from every record and remove stale\n"
"       temporary files (after a crash; costs what the board holds)\n"
"  -n   dry run: print what expired, change nothing\n"
"  -R repo    before failing a task for good, look for its Longhaul-Task\n"
"             trailer on the branch of this repository: a task whose change\n"
"             landed is marked done with that commit instead\n"
"  -B branch  that branch (default main)\n"
"Run it from cron, a loop, or the cycle runner; several at once are safe.\n"
"Exit status: 0 fine, 2 usage (or -R not a repository with that branch),\n"
"5 bad board, 6 system error; unreadable records are\n"
"reported and skipped.\n";

static struct lh_board board;
static double server_now;
static int dry_run, status, requeued;
static const char *repo, *branch = "main";

/* The commit of the branch whose Longhaul-Task trailer is id, into commit
 * (41 bytes): 1 found, 0 not there, -1 the branch could not be read. */
static int
landed(const char *id, char *commit)
{
	char grep[LH_ID_MAX + 32], rev[300], *line = NULL, *values, *v;
	const char *args[] = { "log", "--no-color", "-F", grep,
		"--format=%H %(trailers:key=Longhaul-Task,valueonly,separator=%x2c)", rev, "--", NULL };
	size_t cap = 0;
	ssize_t len;
	int found = 0;
	FILE *out = NULL;
	pid_t pid;

	snprintf(grep, sizeof grep, "--grep=Longhaul-Task: %s", id);
	snprintf(rev, sizeof rev, "refs/heads/%s", branch);
	if ((pid = lh_git_start(repo, args, &out, 1)) < 0)
		return -1;
	while ((len = getline(&line, &cap, out)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (found || len < 41 || line[40] != ' ')
			continue;
		line[40] = 0;
		for (values = line + 41; (v = strsep(&values, ","));)
			if (!strcmp(v, id)) {
				memcpy(commit, line, 41);
				found = 1;
				break;
			}
	}
	free(line);
	fclose(out);
	return lh_git_wait(pid) == 0 ? found : -1;
}

/* One hint of claimed/, the file path named name. */
static void
reap(const char *path, const char *name)
{
	char id[LH_ID_MAX + 1], reason[160];
	json_t *rec, *new;
	const char *state;
	const char *agent;
	json_int_t max;
	double age;
	long seconds;
	int v, n, st, spent;

	if (lh_hint_parse(name, id, sizeof id, &n) != 0)
		return;
	if (!(rec = lh_task_read(&board, id, &v, &st, 2))) {
		if (st != LH_NOTFOUND && !status)       /* NOTFOUND: no claim's */
			status = st;
		return;
	}
	state = json_string_value(json_object_get(rec, "state"));
	if (strcmp(state, "claimed") ||
	    json_integer_value(json_object_get(json_object_get(rec, "lease"), "token")) != n) {
		/* not this claim's: mended only if made for this version or an
		 * older one; one past it is a claim in flight, left alone */
		if (!dry_run)
			lh_task_mend(&board, rec, path);
		if (strcmp(state, "claimed")) {
			json_decref(rec);
			return;
		}
	}
	if ((seconds = (long)json_integer_value(json_object_get(json_object_get(rec, "lease"), "seconds"))) <= 0)
		seconds = 600;  /* the default lease, for a record without one */
	age = lh_task_age(&board, id, v, server_now);
	if (age < 0 || age <= seconds) {
		json_decref(rec);
		return;
	}
	/* any valid record: a field the tools write may be missing */
	max = json_integer_value(json_object_get(rec, "max_attempts"));
	spent = json_integer_value(json_object_get(rec, "attempts")) >= (max > 0 ? max : 3);
	agent = json_string_value(json_object_get(json_object_get(rec, "owner"), "agent"));
	snprintf(reason, sizeof reason, "lease of %s expired (%.0f s without a heartbeat)",
	    agent ? agent : "unknown", age);
	if (dry_run) {
		printf("%s\n", id);
		json_decref(rec);
		return;
	}
	new = json_deep_copy(rec);
	if (spent && repo) {
		char commit[41], note[200];
		int found = landed(id, commit);

		if (found < 0) {
			lh_warn("%s: %s: cannot read the branch; task %s is not failed", repo, branch, id);
			if (!status)
				status = LH_SYSERR;
			json_decref(new);
			json_decref(rec);
			return;
		}
		if (found) {
			/* as task-update done writes it: the change is on the branch */
			snprintf(note, sizeof note, "its change landed as %s (found on %s by board-reap)",
			    commit, branch);
			json_object_set_new(new, "state", json_string("done"));
			json_object_set_new(new, "event", json_string("done"));
			json_object_set_new(new, "by", lh_whoami());
			json_object_set_new(new, "result", json_pack("{s:s, s:s}", "commit", commit, "note", note));
			json_object_set_new(new, "lease", json_null());
			json_object_set_new(new, "reason", json_null());
			spent = -1;
		}
	}
	if (spent >= 0) {
		json_object_set_new(new, "state", json_string(spent ? "failed" : "ready"));
		json_object_set_new(new, "event", json_string("requeue"));
		json_object_set_new(new, "by", lh_whoami());
		json_object_set_new(new, "owner", json_null());
		json_object_set_new(new, "lease", json_null());
		json_object_set_new(new, "reason", json_string(reason));
	}
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
	char path[PATH_MAX], id[LH_ID_MAX + 1];
	struct dirent *d;
	struct stat sb;
	json_t *rec;
	DIR *dp;
	int st, n;

	if (!(dp = opendir(dir)))
		return;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		lh_path(path, sizeof path, "%s/%s", dir, d->d_name);
		if (depth > 0) {
			sweep(path, depth - 1);
			rmdir(path);    /* only when empty */
		} else if (lh_hint_parse(d->d_name, id, sizeof id, &n) != 0) {
			unlink(path);   /* not a hint at all */
		} else if ((rec = lh_task_read(&board, id, NULL, &st, 0))) {
			lh_task_mend(&board, rec, path);
			json_decref(rec);
		} else if (st == LH_NOTFOUND && (n != 1 || (lstat(path, &sb) == 0 &&
		    server_now - sb.st_mtime > LH_STALE_SECONDS))) {
			/* only a publish makes a hint before its task exists,
			 * ID@1: one that died before its link an hour ago (one
			 * slower than that has its task indexed again by the
			 * next board-reap -f) */
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
		if (lstat(path, &st) == 0 && server_now - st.st_mtime > LH_STALE_SECONDS)
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
	while ((c = getopt(argc, argv, "b:B:fnR:")) != -1)
		switch (c) {
		case 'b': dir = optarg; break;
		case 'B': branch = optarg; break;
		case 'R': repo = optarg; break;
		case 'f': full = 1; break;
		case 'n': dry_run = 1; break;
		default: lh_usage(usage);
		}
	if (optind != argc)
		lh_usage(usage);
	if (repo) {
		char rev[300];
		const char *verify[] = { "rev-parse", "--verify", "-q", rev, NULL };
		int st;

		if (snprintf(rev, sizeof rev, "refs/heads/%s^{commit}", branch) >= (int)sizeof rev)
			lh_die(LH_USAGE, "-B %.80s: too long", branch);
		if ((st = lh_git_run(repo, verify, 1)) == 127 || st < 0)
			lh_die(LH_SYSERR, "%s: cannot run git", repo);
		if (st != 0)
			lh_die(LH_USAGE, "%s: no branch %s, or not a git repository", repo, branch);
	}
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
		if (d->d_name[0] != '.') {
			char path[PATH_MAX];

			lh_path(path, sizeof path, "%s/%s", claimed, d->d_name);
			reap(path, d->d_name);
		}
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
