/* board-fsck: check every invariant of a board (and of the branch its
 * workers land on), say what is wrong, and repair what is safe to repair.
 *
 * It reads everything once: the task directories (every version), the
 * index hints, the names, tmp/, the usage logs, and with -R the branch's
 * history in one `git log`. The cost is linear in what the board holds
 * (a sort of the ids aside). Tools keep working while it runs, so the
 * picture it took may be a moment old: a finding about a task is checked
 * again against a fresh read of its record before it is reported, and a
 * task whose version changed since the picture is in a live tool's hands
 * and left to it.
 *
 * A repair is only ever what a tool itself would do, under the same
 * discipline, so it is safe to run next to live claimants and workers,
 * and running it twice is running it once:
 * - a new version is a compare-and-swap (lh_task_cas) on the version
 *   read just before; if anybody wrote first, nothing changes and the
 *   finding says so. Version files are never rewritten or removed. A
 *   damaged current version N is followed by a copy of N-1 only when the
 *   tools refuse N too (a claim in N-1 comes back as ready, as a requeue).
 * - the index follows the library's rules (lh-board.c): a hint is named
 *   after the version it was made for, ID@VERSION or claimed/ID@TOKEN. A
 *   missing hint is made (a hint too many is only a hint). A stale one,
 *   numbered at or below the current version, is mended by lh_task_mend,
 *   which makes the wanted hint first and never removes one numbered past
 *   the version read, so no removal races a claim. A hint numbered past
 *   the version (ID@1 for no task) is a claim or a publish in flight,
 *   made before its link, and no problem until it is an hour old by the
 *   server's clock (a hint's mtime is when it was last made); then its
 *   tool died, and it is removed as board-reap -f removes it, and the
 *   record read again so that a claim that linked meanwhile gets its hint.
 *   A hint that disagrees with a version written in the last minute (or
 *   a waiting hint of a task whose dependency was) is left to the tool
 *   between its link and its hint: the next run says it if that tool
 *   died. A claimed task is never so excused: a claim makes its hint
 *   first.
 * - names/ holds the generations of each title, HASH, HASH.2, ...: from 1
 *   without a gap, and only the highest live, judged by lh_title_live as
 *   the publishers judge it; a generation is never removed.
 * - a record marked done because its commit is on the branch is a CAS
 *   from a ready or failed version, or from a claimed one whose lease ran
 *   out by the file server's clock (what board-reap would requeue);
 *   a live claim is never taken from its owner.
 * - only temporary files older than an hour by the server's clock are
 *   removed, as board-reap -f does.
 * What cannot be repaired without a person (a gap in the versions, a
 * damaged old version, a trailer twice on the branch) is reported only.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] = "board-fsck [-b board] [-n] [-q] [-j] [-R repo [-B branch]]";
static const char manual[] =
"usage: board-fsck [-b board] [-n] [-q] [-j] [-R repo [-B branch]]\n"
"Check every invariant of the board's files (and, with -R, of the branch\n"
"the workers land on), print one line per problem on stdout,\n"
"  board-fsck: OBJECT: problem (repaired | not repaired)\n"
"and repair what is safe to repair while the board is in use.\n"
"  -n          check only: repair nothing\n"
"  -q          print only the problems, not the summary line\n"
"  -j          one JSON object per problem: {object, problem, repaired}\n"
"  -R repo     also check the branch of this git repository (bare or not)\n"
"  -B branch   that branch (default main)\n"
"Exit status: 0 no problem, 1 problems found and all repaired, 2 usage,\n"
"3 problems left unrepaired, 5 not a board, 6 system error.\n";

#define WRITE_MIN_AGE 60         /* a write in flight is younger than this */

struct landing {                /* a commit on the branch with a task's trailer */
	char *id, commit[41];
	long token;                 /* 0: no Longhaul-Token trailer */
	size_t order;               /* 0 is the newest */
};

struct task {
	char *id;
	int version;                /* the current version */
	json_t *rec;                /* its record; NULL when damaged */
	int damaged;                /* a version anomaly: leave it to a person */
	int hinted;                 /* the hint its record wants was found */
	int repaired;               /* its current version is ours */
};

static struct lh_board board;
static struct task *tasks;
static size_t ntasks, nversions;
static struct landing *landings;
static size_t nlandings;
static char **branch_commits;   /* sorted, for lookups */
static size_t ncommits;
static double server_now;
static int dry_run, quiet, json_out;
static int found, unrepaired, syserr;
static const char *repo, *branch = "main";

enum outcome { REPAIRED, NOT_REPAIRED, REPAIRABLE };

static void
finding(const char *object, enum outcome how, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void
finding(const char *object, enum outcome how, const char *fmt, ...)
{
	static const char *said[] = { "repaired", "not repaired", "not repaired: -n" };
	char problem[2048], name[PATH_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(problem, sizeof problem, fmt, ap);
	va_end(ap);
	/* names on the board are anybody's: one line per finding, whatever
	 * bytes a stray file's name holds */
	snprintf(name, sizeof name, "%s", object);
	lh_printable(name);
	lh_printable(problem);
	object = name;
	found++;
	if (how != REPAIRED)
		unrepaired++;
	if (json_out) {
		json_t *j = json_pack("{s:s, s:s, s:b}", "object", object, "problem", problem,
		    "repaired", how == REPAIRED);
		char *text = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

		printf("%s\n", text);
		free(text);
		json_decref(j);
	} else {
		printf("%s: %s: %s (%s)\n", lh_prog, object, problem, said[how]);
	}
	fflush(stdout);
}

static void
sys_warn(const char *what)
{
	lh_warn_errno("%s", what);
	syserr = 1;
}

static int
by_id(const void *a, const void *b)
{
	return strcmp(((const struct task *)a)->id, ((const struct task *)b)->id);
}

static struct task *
task_find(const char *id)
{
	struct task key = { .id = (char *)id };

	return ntasks ? bsearch(&key, tasks, ntasks, sizeof *tasks, by_id) : NULL;
}

static const char *
state_of(json_t *rec)
{
	return json_string_value(json_object_get(rec, "state"));
}

/* ---- the records ---- */

static json_t *
load_version(const char *path, const char *id, int v, char *why, size_t size)
{
	json_error_t err;
	const char *problem;
	json_t *rec;

	if (!(rec = json_load_file(path, JSON_REJECT_DUPLICATES, &err))) {
		snprintf(why, size, "%s", err.text);
		return NULL;
	}
	if ((problem = lh_record_check(rec, id, v))) {
		snprintf(why, size, "%s", problem);
		json_decref(rec);
		return NULL;
	}
	return rec;
}

static int
by_number(const void *a, const void *b)
{
	long x = *(const long *)a, y = *(const long *)b;

	return (x > y) - (x < y);
}

/* A version's name is exactly %06d.json of a number from 1 to INT_MAX. */
static long
version_number(const char *name)
{
	char canonical[32], *end;
	long n;

	if (name[0] < '0' || name[0] > '9')
		return 0;
	errno = 0;
	n = strtol(name, &end, 10);
	if (errno || n < 1 || n > INT_MAX || strcmp(end, ".json"))
		return 0;
	snprintf(canonical, sizeof canonical, "%06ld.json", n);
	return strcmp(canonical, name) ? 0 : n;
}

/* The current version N is corrupt and N-1 is sound: write N+1 from N-1,
 * as longhaul-board(5) tells a person to do. A claim in N-1 is not handed
 * back to an owner who may be gone: it becomes ready, as the reaper would
 * make it, and the owner's token no longer fits. */
static void
repair_current(struct task *t, const char *object, int n, json_t *previous, const char *why)
{
	char reason[512];
	json_t *new, *now;
	int st, v;

	/* what the tools still read is theirs to judge, not ours to undo */
	if ((now = lh_task_read(&board, t->id, &v, &st, 0)) || st != LH_BADBOARD) {
		finding(object, NOT_REPAIRED, "corrupt current record: %s%s", why,
		    now && v != n ? "; somebody wrote a new version meanwhile" :
		    now ? " (the tools read it all the same)" : "");
		json_decref(now);
		return;
	}
	if (dry_run) {
		finding(object, REPAIRABLE, "corrupt current record: %s", why);
		return;
	}
	new = json_deep_copy(previous);
	snprintf(reason, sizeof reason, "board-fsck: version %d was corrupt (%s); restored from version %d",
	    n, why, n - 1);
	if (!strcmp(state_of(previous), "claimed")) {
		json_object_set_new(new, "state", json_string("ready"));
		json_object_set_new(new, "owner", json_null());
		json_object_set_new(new, "lease", json_null());
	}
	json_object_set_new(new, "event", json_string("repair"));
	json_object_set_new(new, "by", lh_whoami());
	json_object_set_new(new, "reason", json_string(reason));
	if ((st = lh_task_cas(&board, t->id, n, new)) == LH_OK) {
		finding(object, REPAIRED, "corrupt current record: %s; version %d restores version %d",
		    why, n + 1, n - 1);
		t->rec = new;
		t->version = n + 1;
		t->repaired = 1;
		return;
	}
	json_decref(new);
	if (st == LH_SYSERR)
		syserr = 1;
	finding(object, NOT_REPAIRED, "corrupt current record: %s%s", why,
	    st == LH_CONFLICT ? "; somebody wrote a new version meanwhile" : "");
}

static struct task *
task_new(const char *id)
{
	struct task *t;

	if (ntasks % 256 == 0)
		tasks = lh_realloc(tasks, (ntasks + 256) * sizeof *tasks);
	t = &tasks[ntasks++];
	memset(t, 0, sizeof *t);
	t->id = lh_strdup(id);
	return t;
}

/* tasks/SHARD/ID: versions 1..N and nothing else, each a sound record. */
static void
check_task(const char *shard, const char *id)
{
	char dir[PATH_MAX], path[PATH_MAX], object[PATH_MAX], why[256], pending[256];
	struct dirent *d;
	struct task *t;
	long *numbers = NULL, v;
	size_t n = 0, cap = 0, i, last;
	json_t *rec, *previous = NULL;
	DIR *dp;

	lh_path(dir, sizeof dir, "%s/tasks/%s/%s", board.dir, shard, id);
	if (!(dp = opendir(dir))) {
		lh_path(object, sizeof object, "tasks/%s/%s", shard, id);
		if (errno == ENOTDIR)
			finding(object, NOT_REPAIRED, "stray file, not a task directory");
		else
			sys_warn(dir);
		return;
	}
	t = task_new(id);
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		if (!(v = version_number(d->d_name))) {
			lh_path(object, sizeof object, "tasks/%s/%s/%s", shard, id, d->d_name);
			finding(object, NOT_REPAIRED, "stray file, not a version");
			t->damaged = 1;
			continue;
		}
		if (n == cap)
			numbers = lh_realloc(numbers, (cap = cap ? 2 * cap : 16) * sizeof *numbers);
		numbers[n++] = v;
	}
	closedir(dp);
	/* counted, never probed one by one: a stray 2000000000.json costs
	 * what any file costs */
	if (n)
		qsort(numbers, n, sizeof *numbers, by_number);
	for (last = 0; last < n && numbers[last] == (long)last + 1; last++)
		;
	for (i = last; i < n; i++) {
		lh_path(object, sizeof object, "tasks/%s/%s/%06ld.json", shard, id, numbers[i]);
		/* the tools read only the run from 1, but would run into it */
		finding(object, NOT_REPAIRED, "not a version: the versions run from 1 to %zu, and "
		    "the task's next versions would run into it", last);
	}
	free(numbers);
	/* a directory no tool can find is no task: its hints are stale */
	lh_path(object, sizeof object, "tasks/%s/%s", shard, id);
	if (lh_id_check(id) || strtoul(shard, NULL, 16) != lh_shard(id)) {
		if (lh_id_check(id))
			finding(object, NOT_REPAIRED, "%s", lh_id_check(id));
		else
			finding(object, NOT_REPAIRED, "in the wrong shard (it belongs in tasks/%02x/): "
			    "no tool sees it", lh_shard(id));
		free(t->id);
		ntasks--;
		return;
	}
	/* oldest first; a corrupt old version is history, reported unless the
	 * version after it is a repair */
	pending[0] = 0;
	for (i = 1; i <= last; i++) {
		lh_path(path, sizeof path, "%s/%06zu.json", dir, i);
		nversions++;
		rec = load_version(path, id, (int)i, why, sizeof why);
		if (pending[0]) {
			const char *event = json_string_value(json_object_get(rec, "event"));

			if (!event || strcmp(event, "repair")) {
				lh_path(object, sizeof object, "tasks/%s/%s/%06zu.json", shard, id, i - 1);
				finding(object, NOT_REPAIRED, "corrupt record: %s", pending);
			}
			pending[0] = 0;
		}
		lh_path(object, sizeof object, "tasks/%s/%s/%06zu.json", shard, id, i);
		if (!rec && i < last)
			snprintf(pending, sizeof pending, "%s", why);
		else if (!rec && previous && !t->damaged)
			repair_current(t, object, (int)i, previous, why);
		else if (!rec)
			finding(object, NOT_REPAIRED, "corrupt current record: %s", why);
		json_decref(previous);
		previous = rec;
	}
	if (previous) {
		t->rec = previous;
		t->version = (int)last;
	}
	if (!t->rec && !t->damaged && last == 0) {
		/* a publisher died before its link: no task at all */
		free(t->id);
		ntasks--;
	} else if (!t->rec) {
		t->damaged = 1;         /* repair_current may have set t->rec */
	}
}

static int
by_string(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* The names in dir but those starting with '.', sorted so that what is
 * said comes in an order a person (and a test) can follow. NULL with
 * errno when dir cannot be read. */
static char **
entries(const char *dir, size_t *n)
{
	struct dirent *d;
	char **v = NULL;
	size_t cap = 0;
	DIR *dp;

	*n = 0;
	if (!(dp = opendir(dir)))
		return NULL;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		if (*n == cap)
			v = lh_realloc(v, (cap = cap ? 2 * cap : 64) * sizeof *v);
		v[(*n)++] = lh_strdup(d->d_name);
	}
	closedir(dp);
	if (*n)
		qsort(v, *n, sizeof *v, by_string);
	else if (!v)
		v = lh_malloc(sizeof *v);
	return v;
}

static void
entries_free(char **v, size_t n)
{
	while (n)
		free(v[--n]);
	free(v);
}

static int
is_hex(const char *s, size_t len)
{
	return strlen(s) == len && strspn(s, "0123456789abcdef") == len;
}

static void
check_tasks(void)
{
	char dir[PATH_MAX], object[PATH_MAX];
	char **shards, **ids;
	size_t nshards, nids, i, j;
	struct stat st;

	lh_path(dir, sizeof dir, "%s/tasks", board.dir);
	if (!(shards = entries(dir, &nshards))) {
		if (errno != ENOENT)    /* said by check_layout */
			sys_warn(dir);
		return;
	}
	for (i = 0; i < nshards; i++) {
		lh_path(dir, sizeof dir, "%s/tasks/%s", board.dir, shards[i]);
		lh_path(object, sizeof object, "tasks/%s", shards[i]);
		if (!is_hex(shards[i], 2)) {
			finding(object, NOT_REPAIRED, "stray entry, not a shard");
			continue;
		}
		if (!(ids = entries(dir, &nids))) {
			if (stat(dir, &st) == 0 && !S_ISDIR(st.st_mode))
				finding(object, NOT_REPAIRED, "stray file, not a shard");
			else
				sys_warn(dir);
			continue;
		}
		for (j = 0; j < nids; j++)
			check_task(shards[i], ids[j]);
		entries_free(ids, nids);
	}
	entries_free(shards, nshards);
	if (ntasks)
		qsort(tasks, ntasks, sizeof *tasks, by_id);
}

/* ---- the index hints ---- */

/* The hint rec's state wants, relative to the board, or "" for none. */
static void
hint_of(json_t *rec, int deps_done, char *buf, size_t size)
{
	char path[PATH_MAX];
	size_t n = strlen(board.dir);

	lh_hint_path(&board, rec, deps_done, path, sizeof path);
	snprintf(buf, size, "%s", path[0] ? path + n + 1 : "");
}

/* deps done by the records read at the start */
static int
deps_done_read(json_t *rec)
{
	struct task *dep;
	json_t *x;
	size_t i;

	json_array_foreach(json_object_get(rec, "deps"), i, x) {
		if (!json_is_string(x) || !(dep = task_find(json_string_value(x))) || !dep->rec ||
		    strcmp(state_of(dep->rec), "done"))
			return 0;
	}
	return 1;
}

/* What a task is, in the words of task-ls: waiting is ready with a
 * dependency not done. */
static const char *
shown_state(json_t *rec, int deps_done)
{
	return !strcmp(state_of(rec), "ready") && !deps_done ? "waiting" : state_of(rec);
}

static int
exists(const char *relative)
{
	char path[PATH_MAX];

	lh_path(path, sizeof path, "%s/%s", board.dir, relative);
	return access(path, F_OK) == 0;
}

static int made_ready;

/* Was version v of id written (or touched) in the last minute, by the
 * server's clock? Then its writer may be between its link and its hints. */
static int
young(const char *id, int v)
{
	return server_now >= 0 && lh_task_age(&board, id, v, server_now) <= WRITE_MIN_AGE;
}

/* Is rec, read as version v, in a live tool's hands? Every transition
 * writes its record, then moves its hint; and a dependency done, then
 * promotes its dependents out of waiting/. A hint that disagrees with a
 * record so young is left to that tool (a crashed one's is said by the
 * next run); but a claimed record's missing hint never is (missing 1):
 * a claim makes its hint first. */
static int
in_transition(json_t *rec, int v, int missing)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	struct task *t = task_find(id);
	json_t *dep, *d;
	size_t i;
	int dv, st, moving = 0;

	if ((t && t->repaired && t->version == v) || (missing && !strcmp(state_of(rec), "claimed")))
		return 0;
	if (young(id, v))
		return 1;
	if (strcmp(state_of(rec), "ready"))
		return 0;
	json_array_foreach(json_object_get(rec, "deps"), i, dep) {
		if (!json_is_string(dep) || !(d = lh_task_read(&board, json_string_value(dep), &dv, &st, 0)))
			continue;
		moving |= young(json_string_value(dep), dv);
		json_decref(d);
	}
	return moving;
}

/* Is the file at relative older than board-reap -f's hour, by the file
 * server's clock? A hint's mtime is when it was last made (lh-board.c). */
static int
old_file(const char *relative)
{
	char path[PATH_MAX];
	struct stat sb;

	lh_path(path, sizeof path, "%s/%s", board.dir, relative);
	return server_now >= 0 && lstat(path, &sb) == 0 &&
	    server_now - (sb.st_mtim.tv_sec + sb.st_mtim.tv_nsec / 1e9) > LH_STALE_SECONDS;
}

/* A hint numbered number (0 for a hint of board format 1) for a task at
 * version (0 for none) is a claim or a publish in flight, made before its
 * link: numbered past the version, or ID@1 for no task; until it is an
 * hour old by the server's clock, as board-reap -f judges it. */
static int
in_flight(const char *relative, int number, int version)
{
	if (version ? number <= version : number != 1)
		return 0;
	return !old_file(relative);
}

/* A hint that disagrees with the record read at the start: read the
 * record again, and if the hint is still wrong, have the library mend the
 * index, which removes a hint only once the one the record wants exists
 * and never one numbered past its version. One numbered past it, or one
 * for no task, is left only by a claim or a publish that died before its
 * link more than an hour ago: it is removed, as board-reap -f removes it,
 * and the record read once more, so that a claim that linked meanwhile
 * gets its hint. id is NULL when the name is no hint's. */
static void
stale_hint(const char *relative, const char *id, int number, int scanned)
{
	char path[PATH_MAX], want[PATH_MAX], problem[2 * PATH_MAX];
	json_t *rec = NULL;
	int st = LH_NOTFOUND, deps = 1, v = 0, past;

	lh_path(path, sizeof path, "%s/%s", board.dir, relative);
	if (id && !(rec = lh_task_read(&board, id, &v, &st, 0)) && st != LH_NOTFOUND)
		return;         /* a damaged record, reported with the task */
	want[0] = 0;
	if (rec) {
		deps = lh_task_deps_done(&board, rec);
		hint_of(rec, deps, want, sizeof want);
	}
	/* a task that moved on since it was read is in a live tool's hands,
	 * which makes its hints next */
	if (v != scanned || !strcmp(want, relative) || !exists(relative) ||
	    (id && in_flight(relative, number, v)) || (rec && number <= v && in_transition(rec, v, 0))) {
		json_decref(rec);
		return;
	}
	past = rec && number > v;
	if (!id)
		snprintf(problem, sizeof problem, "not a hint's name");
	else if (!rec)
		snprintf(problem, sizeof problem, "hint for no task%s",
		    number == 1 ? " (a publish that died before its link, over an hour ago)" : "");
	else if (past)
		snprintf(problem, sizeof problem, "hint for version %d, which was never written: the task "
		    "is at version %d (a claim that died before its link, over an hour ago)", number, v);
	else if (!want[0])
		snprintf(problem, sizeof problem, "stale hint%s: the task is %s",
		    number ? "" : " of board format 1", state_of(rec));
	else
		snprintf(problem, sizeof problem, "stale hint%s: the task is %s (its hint is %s)",
		    number ? "" : " of board format 1", shown_state(rec, deps), want);
	if (dry_run) {
		finding(relative, REPAIRABLE, "%s", problem);
		json_decref(rec);
		return;
	}
	if (rec && !past) {
		lh_task_mend(&board, rec, path);
	} else if (unlink(path) != 0 && errno != ENOENT) {
		sys_warn(path);
	} else if (id) {
		json_decref(rec);
		if ((rec = lh_task_read(&board, id, NULL, &st, 0)))
			lh_task_mend(&board, rec, NULL);
	}
	made_ready |= rec && !strcmp(state_of(rec), "ready");
	json_decref(rec);
	finding(relative, exists(relative) ? NOT_REPAIRED : REPAIRED, "%s", problem);
}

static void
missing_hint(struct task *t)
{
	char want[PATH_MAX], object[LH_ID_MAX + 8], problem[PATH_MAX + 128];
	json_t *rec;
	int st, deps, v, now, repaired;

	if (!(rec = lh_task_read(&board, t->id, &v, &st, 0)))
		return;
	deps = lh_task_deps_done(&board, rec);
	hint_of(rec, deps, want, sizeof want);
	if (v != t->version || !want[0] || exists(want) || in_transition(rec, v, 1)) {
		json_decref(rec);
		return;
	}
	snprintf(object, sizeof object, "task %s", t->id);
	snprintf(problem, sizeof problem, "%s, but no hint %s%s", shown_state(rec, deps), want,
	    !strcmp(state_of(rec), "claimed") ? " (the reaper looks only there)" :
	    deps ? " (no claimant looks for it)" : " (it is never promoted)");
	if (dry_run) {
		finding(object, REPAIRABLE, "%s", problem);
		json_decref(rec);
		return;
	}
	lh_task_mend(&board, rec, NULL);
	made_ready |= !strcmp(state_of(rec), "ready");
	json_decref(rec);
	/* made, or the task moved on and its tool made the next one */
	repaired = exists(want);
	if (!repaired && (rec = lh_task_read(&board, t->id, &now, &st, 0))) {
		repaired = now != v;
		json_decref(rec);
	}
	finding(object, repaired ? REPAIRED : NOT_REPAIRED, "%s", problem);
}

struct hint {
	char *relative;
	char id[LH_ID_MAX + 1];         /* "" when the name is no hint's */
	int number;                     /* its version or token, 0 for format 1 */
};
static struct hint *hints;
static size_t nhints;

static void
hint_add(const char *relative)
{
	struct hint *h;

	if (nhints % 256 == 0)
		hints = lh_realloc(hints, (nhints + 256) * sizeof *hints);
	h = &hints[nhints++];
	h->relative = lh_strdup(relative);
	if (lh_hint_parse(strrchr(relative, '/') + 1, h->id, sizeof h->id, &h->number) != 0)
		h->id[0] = 0;
}

/* Collect the hints under relative, which holds depth levels of
 * directories above them; a file at another depth is not a hint. */
static void
collect_hints(const char *relative, int depth)
{
	char dir[PATH_MAX], below[PATH_MAX];
	struct stat st;
	char **names;
	size_t n, i;

	lh_path(dir, sizeof dir, "%s/%s", board.dir, relative);
	if (!(names = entries(dir, &n))) {
		/* claimants remove the empty directories of ready/ */
		if (errno != ENOENT)
			sys_warn(dir);
		return;
	}
	for (i = 0; i < n; i++) {
		lh_path(below, sizeof below, "%s/%s", relative, names[i]);
		lh_path(dir, sizeof dir, "%s/%s", board.dir, below);
		if (lstat(dir, &st) != 0)
			continue;       /* gone meanwhile: a claimant's rename */
		if (depth > 0 && S_ISDIR(st.st_mode))
			collect_hints(below, depth - 1);
		else if (depth == 0 && S_ISREG(st.st_mode))
			hint_add(below);
		else if (depth > 0 && !dry_run && unlink(dir) == 0)
			finding(below, REPAIRED, "stray file in the index, not a directory");
		else
			finding(below, dry_run && depth > 0 ? REPAIRABLE : NOT_REPAIRED,
			    "stray %s in the index", S_ISDIR(st.st_mode) ? "directory" : "file");
	}
	entries_free(names, n);
}

static void
check_hints(void)
{
	char want[PATH_MAX];
	struct hint *h;
	struct task *t;
	size_t i;

	collect_hints("ready", 3);
	collect_hints("waiting", 0);
	collect_hints("claimed", 0);
	for (i = 0; i < nhints; i++) {
		h = &hints[i];
		t = h->id[0] ? task_find(h->id) : NULL;
		if (t && t->damaged)
			continue;       /* the record is in doubt: leave its hints */
		if (t) {
			hint_of(t->rec, deps_done_read(t->rec), want, sizeof want);
			if (!strcmp(want, h->relative)) {
				t->hinted = 1;
				continue;
			}
		}
		if (h->id[0] && in_flight(h->relative, h->number, t ? t->version : 0))
			continue;
		stale_hint(h->relative, h->id[0] ? h->id : NULL, h->number, t ? t->version : 0);
	}
	for (i = 0; i < ntasks; i++) {
		t = &tasks[i];
		if (t->damaged || t->hinted)
			continue;
		hint_of(t->rec, deps_done_read(t->rec), want, sizeof want);
		if (want[0])
			missing_hint(t);
	}
	if (made_ready)
		lh_board_ring(&board);
}

/* ---- names, tmp, usage ---- */

/* A name's file: names/HASH, HASH.G (G from 2) or either with .dropped.
 * 0 and *gen the generation, or -1 when it is not one. */
static int
name_parse(const char *name, uint64_t *hash, int *gen, int *dropped)
{
	char canonical[64];
	const char *p = name + 16;
	long g = 1;

	if (strlen(name) < 16 || strspn(name, "0123456789abcdef") < 16)
		return -1;
	if (*p == '.' && p[1] >= '1' && p[1] <= '9') {
		g = strtol(p + 1, (char **)&p, 10);
		if (g < 2 || g > 99999)
			return -1;
	}
	*dropped = !strcmp(p, ".dropped");
	if (*p && !*dropped)
		return -1;
	snprintf(canonical, sizeof canonical, "%.16s", name);
	*hash = strtoull(canonical, NULL, 16);
	*gen = (int)g;
	return 0;
}

/* The generations of one title: 1 to top with no gap (a file past a gap
 * is one no tool reads: lh_title_take counts up from 1), and only the
 * highest can be live, since a generation is taken only when the one
 * below it is dead. */
static void
check_title(uint64_t hash, char **names, size_t n)
{
	char path[PATH_MAX], object[PATH_MAX], owner[LH_ID_MAX + 2], top_owner[LH_ID_MAX + 2];
	char *text, *nl;
	struct task *t;
	uint64_t h;
	int top, gen, dropped;
	size_t i;

	for (top = 0; top < 99999; top++) {
		lh_title_path(&board, hash, top + 1, "", path, sizeof path);
		if (access(path, F_OK) != 0)
			break;
	}
	for (i = 0; i < n; i++) {
		if (name_parse(names[i], &h, &gen, &dropped) != 0 || h != hash || gen <= top)
			continue;
		lh_path(object, sizeof object, "names/%s", names[i]);
		finding(object, NOT_REPAIRED, "not a generation: this title's run from 1 ends at %d, "
		    "and no tool reads past it", top);
	}
	top_owner[0] = 0;
	for (gen = top; gen >= 1; gen--) {
		lh_title_path(&board, hash, gen, "", path, sizeof path);
		snprintf(object, sizeof object, "%s", path + strlen(board.dir) + 1);
		if (!(text = lh_read_file(path, NULL))) {
			sys_warn(path);
			continue;
		}
		if ((nl = strchr(text, '\n')) && !nl[1])
			*nl = 0;
		if (lh_id_check(text)) {
			finding(object, NOT_REPAIRED, "does not hold a task id: %s", gen == top ?
			    "its title can never be published" : "a generation is never anything else");
			free(text);
			continue;
		}
		if (gen == top)
			snprintf(top_owner, sizeof top_owner, "%s", text);
		t = task_find(text);
		free(text);
		/* a task failed for good may be retried, or renamed back: then
		 * two tasks hold one title (one unreadable is said as such) */
		if (gen < top && t && !t->damaged &&
		    lh_title_live(&board, hash, gen, owner, sizeof owner) == 1)
			finding(object, NOT_REPAIRED, "task %s holds this title below generation %d "
			    "(task %s): two tasks may have one title", owner, top, top_owner);
	}
}

static void
check_names(void)
{
	char dir[PATH_MAX], object[PATH_MAX];
	uint64_t hash, last = 0;
	char **names;
	size_t n, i, j;
	int gen, dropped, any = 0;

	lh_path(dir, sizeof dir, "%s/names", board.dir);
	if (!(names = entries(dir, &n))) {
		if (errno != ENOENT)    /* said by check_layout */
			sys_warn(dir);
		return;
	}
	/* sorted: the files of one title are next to each other */
	for (i = 0; i < n; i++) {
		if (name_parse(names[i], &hash, &gen, &dropped) != 0) {
			lh_path(object, sizeof object, "names/%s", names[i]);
			finding(object, NOT_REPAIRED, "stray file, not a name");
			continue;
		}
		if (any && hash == last)
			continue;
		for (j = i + 1; j < n && !strncmp(names[j], names[i], 16); j++)
			;
		check_title(hash, names + i, j - i);
		any = 1;
		last = hash;
	}
	entries_free(names, n);
}

static void
check_tmp(void)
{
	char dir[PATH_MAX], path[PATH_MAX], object[PATH_MAX], when[32];
	struct stat st;
	char **names;
	size_t n, i;
	double age;

	lh_path(dir, sizeof dir, "%s/tmp", board.dir);
	if (server_now < 0 || !(names = entries(dir, &n)))
		return;
	for (i = 0; i < n; i++) {
		lh_path(object, sizeof object, "tmp/%s", names[i]);
		lh_path(path, sizeof path, "%s/%s", board.dir, object);
		if (lstat(path, &st) != 0 ||
		    (age = server_now - (st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9)) <= LH_STALE_SECONDS)
			continue;       /* in flight, or linked and removed */
		lh_iso_time((double)st.st_mtim.tv_sec, when, sizeof when);
		if (S_ISDIR(st.st_mode))
			finding(object, NOT_REPAIRED, "a directory, not written since %s", when);
		else if (dry_run)
			finding(object, REPAIRABLE, "temporary file not written since %s", when);
		else if (unlink(path) == 0 || errno == ENOENT)
			finding(object, REPAIRED, "temporary file not written since %s", when);
		else {
			sys_warn(path);
			finding(object, NOT_REPAIRED, "temporary file not written since %s", when);
		}
	}
	entries_free(names, n);
}

static void
check_usage_log(const char *name)
{
	char path[PATH_MAX], object[PATH_MAX], *line = NULL;
	json_error_t err;
	size_t cap = 0, number = 0;
	struct stat sb;
	ssize_t len;
	json_t *j;
	FILE *f;

	lh_path(path, sizeof path, "%s/usage/%s", board.dir, name);
	if (!(f = fopen(path, "r"))) {
		if (errno != ENOENT)
			sys_warn(path);
		return;
	}
	while ((len = getline(&line, &cap, f)) > 0) {
		number++;
		lh_path(object, sizeof object, "usage/%s:%zu", name, number);
		if (line[len - 1] != '\n') {
			/* or one being appended right now */
			if (fstat(fileno(f), &sb) == 0 && server_now - sb.st_mtime > WRITE_MIN_AGE)
				finding(object, NOT_REPAIRED, "incomplete last line");
			break;
		}
		line[len - 1] = 0;
		if (!(j = json_loads(line, JSON_REJECT_DUPLICATES, &err)))
			finding(object, NOT_REPAIRED, "not JSON: %s", err.text);
		else if (!json_is_object(j))
			finding(object, NOT_REPAIRED, "not a JSON object");
		json_decref(j);
	}
	if (ferror(f))
		sys_warn(path);
	free(line);
	fclose(f);
}

static void
check_usage(void)
{
	char dir[PATH_MAX];
	char **names;
	size_t n, i, len;

	lh_path(dir, sizeof dir, "%s/usage", board.dir);
	if (!(names = entries(dir, &n))) {
		if (errno != ENOENT)
			sys_warn(dir);
		return;
	}
	for (i = 0; i < n; i++)
		if ((len = strlen(names[i])) > 6 && !strcmp(names[i] + len - 6, ".jsonl"))
			check_usage_log(names[i]);
	entries_free(names, n);
}

/* ---- the branch ---- */

static int
by_landing(const void *a, const void *b)
{
	const struct landing *x = a, *y = b;
	int c = strcmp(x->id, y->id);

	/* oldest first within a task */
	return c ? c : (x->order < y->order) - (x->order > y->order);
}

static void
landing_add(const char *id, const char *commit, long token, size_t order)
{
	struct landing *l;

	if (nlandings % 256 == 0)
		landings = lh_realloc(landings, (nlandings + 256) * sizeof *landings);
	l = &landings[nlandings++];
	l->id = lh_strdup(id);
	snprintf(l->commit, sizeof l->commit, "%s", commit);
	l->token = token;
	l->order = order;
}

/* the trailers of one commit: "id1,id2" and "token1,token2" */
static void
parse_trailers(const char *commit, char *ids, char *tokens, size_t order)
{
	char *id, *token, *save_id, *save_token, *end;
	long t;

	for (id = strtok_r(ids, ",", &save_id), token = strtok_r(tokens, ",", &save_token); id;
	    id = strtok_r(NULL, ",", &save_id), token = token ? strtok_r(NULL, ",", &save_token) : NULL) {
		id += strspn(id, " \t");
		id[strcspn(id, " \t")] = 0;
		t = token ? strtol(token, &end, 10) : 0;
		if (!lh_id_check(id))
			landing_add(id, commit, t > 0 ? t : 0, order);
	}
}

static void
read_branch(void)
{
	char rev[256], *line = NULL, *ids, *tokens;
	const char *verify[] = { "rev-parse", "--verify", "-q", rev, NULL };
	const char *log[] = { "log", "--no-color",
		"--format=%H%x1f%(trailers:key=Longhaul-Task,valueonly,separator=%x2c)"
		"%x1f%(trailers:key=Longhaul-Token,valueonly,separator=%x2c)", branch, "--", NULL };
	size_t cap = 0, cap_commits = 0;
	ssize_t len;
	FILE *out;
	pid_t pid;
	int st;

	snprintf(rev, sizeof rev, "%s^{commit}", branch);
	if ((st = lh_git_run(repo, verify, 1)) != 0)
		lh_die(st == 127 || st < 0 ? LH_SYSERR : LH_USAGE, "%s: %s", repo,
		    st == 127 || st < 0 ? "cannot run git" : "no such branch, or not a git repository");
	if ((pid = lh_git_start(repo, log, &out, 0)) < 0)
		lh_die_errno(LH_SYSERR, "%s: git log", repo);
	while ((len = getline(&line, &cap, out)) > 0) {
		if (line[len - 1] == '\n')
			line[--len] = 0;
		if (!(ids = strchr(line, '\x1f')) || !(tokens = strchr(ids + 1, '\x1f')))
			continue;
		*ids++ = 0;
		*tokens++ = 0;
		if (strlen(line) != 40 || !is_hex(line, 40))
			continue;
		if (ncommits == cap_commits)
			branch_commits = lh_realloc(branch_commits,
			    (cap_commits = cap_commits ? 2 * cap_commits : 1024) * sizeof *branch_commits);
		branch_commits[ncommits] = lh_strdup(line);
		parse_trailers(line, ids, tokens, ncommits);
		ncommits++;
	}
	free(line);
	fclose(out);
	if (lh_git_wait(pid) != 0)
		lh_die(LH_SYSERR, "%s: git log %s failed", repo, branch);
	if (ncommits)
		qsort(branch_commits, ncommits, sizeof *branch_commits, by_string);
	if (nlandings)
		qsort(landings, nlandings, sizeof *landings, by_landing);
}

/* Is commit (full or a prefix of at least 4 digits) on the branch? The
 * full id in full when it is. */
static const char *
on_branch(const char *commit)
{
	size_t lo = 0, hi = ncommits, mid, len = strlen(commit);

	if (len < 4)
		return NULL;
	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (strcmp(branch_commits[mid], commit) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	if (lo < ncommits && !strncmp(branch_commits[lo], commit, len) &&
	    (lo + 1 == ncommits || strncmp(branch_commits[lo + 1], commit, len)))
		return branch_commits[lo];
	return NULL;
}

/* the landings of id: the first, oldest, and how many */
static struct landing *
landings_of(const char *id, size_t *n)
{
	size_t lo = 0, hi = nlandings, mid;

	while (lo < hi) {
		mid = (lo + hi) / 2;
		if (strcmp(landings[mid].id, id) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (*n = 0; lo + *n < nlandings && !strcmp(landings[lo + *n].id, id); (*n)++)
		;
	return *n ? &landings[lo] : NULL;
}

static void
short_id(const char *commit, char *buf)
{
	snprintf(buf, 13, "%.12s", commit);
}

/* A task whose change is on the branch but whose record is not done.
 * Ready or failed: mark it done with the commit, a CAS on the version just
 * read, so that a claim racing it either comes first (and we leave it) or
 * is refused. Claimed: take it from its owner only when the lease ran
 * out, as the reaper would; a live owner whose token the commit carries
 * is about to say done itself. */
static void
land(struct task *t, struct landing *first)
{
	char object[LH_ID_MAX + 8], note[256], commit[16], what[160];
	json_t *rec, *new, *lease;
	double age, now;
	long token;
	int v, st, tries;

	snprintf(object, sizeof object, "task %s", t->id);
	short_id(first->commit, commit);
	for (tries = 0; tries < 5; tries++) {
		if (!(rec = lh_task_read(&board, t->id, &v, &st, 0)))
			return;
		if (!strcmp(state_of(rec), "done")) {
			json_decref(rec);
			return;
		}
		snprintf(what, sizeof what, "%s", state_of(rec));
		if (!strcmp(state_of(rec), "claimed")) {
			lease = json_object_get(rec, "lease");
			token = (long)json_integer_value(json_object_get(lease, "token"));
			now = lh_board_clock(&board);
			age = now < 0 ? -1 : lh_task_age(&board, t->id, v, now);
			if (age < 0 || age <= json_integer_value(json_object_get(lease, "seconds"))) {
				char theirs[32] = "without a token";

				if (first->token)
					snprintf(theirs, sizeof theirs, "token %ld", first->token);
				if (token != first->token)
					finding(object, NOT_REPAIRED, "claimed again under token %ld, but commit %s "
					    "on %s carries its trailer (%s): the new owner is doing it twice",
					    token, commit, branch, theirs);
				json_decref(rec);
				return;
			}
			snprintf(what, sizeof what, "claimed, its lease expired");
		}
		if (dry_run) {
			finding(object, REPAIRABLE, "%s, but commit %s on %s carries its trailer", what,
			    commit, branch);
			json_decref(rec);
			return;
		}
		snprintf(note, sizeof note, "board-fsck: commit %s on %s carries this task's trailer",
		    first->commit, branch);
		new = json_deep_copy(rec);
		json_object_set_new(new, "state", json_string("done"));
		json_object_set_new(new, "event", json_string("repair"));
		json_object_set_new(new, "by", lh_whoami());
		json_object_set_new(new, "lease", json_null());
		json_object_set_new(new, "reason", json_null());
		json_object_set_new(new, "result", json_pack("{s:s, s:s}", "commit", first->commit,
		    "note", note));
		st = lh_task_cas(&board, t->id, v, new);
		if (st == LH_OK) {
			lh_task_reindex(&board, rec, new);
			lh_board_promote(&board);
			lh_board_ring(&board);
			finding(object, REPAIRED, "%s, but commit %s on %s carries its trailer: marked done",
			    what, commit, branch);
		}
		json_decref(new);
		json_decref(rec);
		if (st == LH_OK)
			return;
		if (st != LH_CONFLICT) {
			syserr = 1;
			break;
		}
	}
	finding(object, NOT_REPAIRED, "commit %s on %s carries its trailer, but the task %s",
	    commit, branch, st == LH_CONFLICT ? "kept changing while being marked done" :
	    "could not be marked done");
}

static void
check_done(struct task *t, struct landing *first, size_t n)
{
	char object[LH_ID_MAX + 8], mine[16], theirs[16];
	const char *commit = json_string_value(json_object_get(json_object_get(t->rec, "result"), "commit"));
	const char *full;
	size_t i;

	if (!commit || !*commit)
		return;         /* a task done without a commit (a plan, a no-op) */
	snprintf(object, sizeof object, "task %s", t->id);
	short_id(commit, mine);
	if (!(full = on_branch(commit))) {
		char rev[80];
		const char *exists[] = { "cat-file", "-e", rev, NULL };

		snprintf(rev, sizeof rev, "%.64s^{commit}", commit);
		if (first)
			short_id(first->commit, theirs);
		finding(object, NOT_REPAIRED, "done with commit %s, which is not on %s%s%s%s", mine, branch,
		    lh_git_run(repo, exists, 1) != 0 ? " (nor in the repository)" : "",
		    first ? "; its trailer is on commit " : "", first ? theirs : "");
		return;
	}
	for (i = 0; i < n; i++)
		if (!strcmp(first[i].commit, full))
			return;
	if (first) {
		short_id(first->commit, theirs);
		finding(object, NOT_REPAIRED, "done with commit %s, but commit %s on %s carries its trailer",
		    mine, theirs, branch);
	}
}

static void
check_branch(void)
{
	char object[LH_ID_MAX + 8], list[1024], commit[16];
	struct landing *first;
	struct task *t;
	size_t i, j, n, used;

	read_branch();
	/* a trailer twice: the same task landed twice */
	for (i = 0; i < nlandings; i += n) {
		first = landings_of(landings[i].id, &n);
		if (n < 2)
			continue;
		used = 0;
		for (j = 0; j < n && used < sizeof list - 64; j++) {
			short_id(first[j].commit, commit);
			if (first[j].token)
				used += snprintf(list + used, sizeof list - used, "%s%s (token %ld)",
				    j ? ", " : "", commit, first[j].token);
			else
				used += snprintf(list + used, sizeof list - used, "%s%s (no token)",
				    j ? ", " : "", commit);
		}
		snprintf(object, sizeof object, "task %s", first->id);
		finding(object, NOT_REPAIRED, "its trailer is on %zu commits on %s: %s", n, branch, list);
	}
	for (i = 0; i < ntasks; i++) {
		t = &tasks[i];
		if (t->damaged)
			continue;
		first = landings_of(t->id, &n);
		if (!strcmp(state_of(t->rec), "done"))
			check_done(t, first, n);
		else if (first)
			land(t, first);
	}
}

/* ---- the board itself ---- */

static void
check_layout(void)
{
	static const char *subdirs[] = { "tasks", "tmp", "ready", "waiting", "claimed", "names", NULL };
	char path[PATH_MAX], want[64], *text;
	const char **sub;
	struct stat st;

	lh_path(path, sizeof path, "%s/format", board.dir);
	snprintf(want, sizeof want, "longhaul-board %d\n", LH_BOARD_FORMAT);
	/* a board of format 1 is used as it is: its hints are mended */
	if (!(text = lh_read_file(path, NULL)))
		sys_warn(path);
	else if (strcmp(text, want) && strcmp(text, "longhaul-board 1\n"))
		finding("format", NOT_REPAIRED, "does not hold exactly \"longhaul-board %d\" (or 1) and a newline",
		    LH_BOARD_FORMAT);
	free(text);
	for (sub = subdirs; *sub; sub++) {
		lh_path(path, sizeof path, "%s/%s", board.dir, *sub);
		if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
			continue;
		if (errno != ENOENT || stat(path, &st) == 0)
			finding(*sub, NOT_REPAIRED, "not a directory");
		else if (dry_run)
			finding(*sub, REPAIRABLE, "missing");
		else if (mkdir(path, 0777) == 0 || errno == EEXIST)
			finding(*sub, REPAIRED, "missing");
		else {
			sys_warn(path);
			finding(*sub, NOT_REPAIRED, "missing");
		}
	}
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	int c;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "b:B:jnqR:")) != -1)
		switch (c) {
		case 'b': dir = optarg; break;
		case 'B': branch = optarg; break;
		case 'j': json_out = 1; break;
		case 'n': dry_run = 1; break;
		case 'q': quiet = 1; break;
		case 'R': repo = optarg; break;
		default: lh_usage(usage);
		}
	if (optind != argc)
		lh_usage(usage);
	if (!*branch || branch[0] == '-' || strlen(branch) > 200)
		lh_die(LH_USAGE, "branch '%.40s': not a branch name", branch);
	lh_board_open(&board, dir);
	/* the file server's now, to judge the age of what is left in tmp/ */
	if ((server_now = lh_board_clock(&board)) < 0)
		lh_warn_errno("%s/clock: cannot read the server's clock; tmp/ is not checked", board.dir);
	check_layout();
	check_tasks();
	check_hints();
	check_names();
	check_tmp();
	check_usage();
	if (repo)
		check_branch();
	if (!quiet && !json_out) {
		printf("%s: %zu task%s, %zu version%s", lh_prog, ntasks, ntasks == 1 ? "" : "s",
		    nversions, nversions == 1 ? "" : "s");
		if (repo)
			printf(", %zu commit%s on %s", ncommits, ncommits == 1 ? "" : "s", branch);
		if (found)
			printf(": %d problem%s, %d repaired\n", found, found == 1 ? "" : "s", found - unrepaired);
		else
			printf(": no problems\n");
	}
	lh_close_stdout();
	return syserr ? LH_SYSERR : unrepaired ? 3 : found ? 1 : 0;
}
