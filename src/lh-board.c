/* lh-board.c: the board protocol.
 *
 * A task is a directory of immutable JSON records, one per version:
 *
 *	tasks/SHARD/ID/000001.json, 000002.json, ...
 *
 * Versions are contiguous from 1 and the highest is the task's state; a
 * file whose number does not continue that run is a stray, never a
 * version (so one file named 2000000000.json costs nothing). A write is
 * a compare-and-swap: the writer read version N, writes its record to
 * tmp/, and link()s it to version N+1. link() fails when N+1 exists, so
 * of two writers that read the same N exactly one wins, on a local
 * filesystem and on NFS, and no lock exists that a dead process could
 * hold. Since NFS may report failure for a link that succeeded (a
 * retransmitted request), and sshfs reports EPERM for one that lost, a
 * failed link is judged by looking: the destination is ours when it has
 * our temp file's inode, somebody else's when it exists with another,
 * and the error is real only when it does not exist. Once the link is
 * made the change has happened and is reported as made, even when the
 * fsync of the directory after it fails (said in a warning).
 *
 * A claim is such a write, and the claim's version is its fencing token:
 * a later write by the owner must find the task still claimed with that
 * token, so an owner whose lease expired and whose task went to somebody
 * else is refused.
 *
 * Leases are judged by the file server's clock alone: a heartbeat
 * touches the current version's file (its mtime is set by the server),
 * and the reaper compares that mtime with the mtime of a file it has just
 * touched itself. No two machines' clocks are ever compared.
 *
 * Finding work must not cost more as the board grows, so empty files
 * named after tasks serve as indexes, sharded by a hash of the id:
 *
 *	ready/KIND/PRIORITY/SHARD/ID@V  claimable (dependencies done)
 *	waiting/ID@V                    ready but waiting for dependencies
 *	claimed/ID@T                    claimed with token T; the reaper
 *	                                looks only here
 *
 * where V is the version the hint was made for. The record is the truth
 * and a hint only a pointer to it, and each hint's name is unique to one
 * version (or one claim), which is what makes the following hold.
 *
 * Invariant: every task whose current record is claimed has its hint
 * claimed/ID@T, T its token; and every ready task has a hint in one of the
 * three indexes, each of which somebody scans (claimants ready/, promote
 * waiting/, the reaper claimed/). Why:
 *   - A claimant makes claimed/ID@(N+1) before the link that makes
 *     version N+1; racing claimants of N make the same name, which is
 *     right for whichever wins.
 *   - A hint is removed only by a process that has read a current
 *     version at or past the hint's number, whose record wants another
 *     hint, and only after making that hint (lh_task_mend, reindex). A
 *     hint numbered past the current version (a claim in flight) is never
 *     removed. Versions only grow and no later version can take back a
 *     token, so a hint so judged can never be wanted again: no removal
 *     races a claim, and a writer killed between any two steps leaves an
 *     extra hint, never a task without one.
 * Every transition writes the record first, then adds the new hint, then
 * removes the old one (one rename where it can).
 *
 * A hint's mtime is when it was last made (made again where it exists,
 * not just found), so the hint of a claim or publish in flight is as old
 * as its tool's pause between two system calls: one older than an hour,
 * by the file server's clock, is a dead tool's (board-reap -f, board-fsck).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "longhaul.h"

unsigned
lh_shard(const char *id)
{
	uint32_t h = 2166136261u;

	while (*id)
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return h & 0xff;
}

const char *
lh_name_check(const char *s)
{
	const char *p;

	if (!*s)
		return "empty";
	if (strlen(s) > LH_ID_MAX)
		return "longer than 64 bytes";
	if (s[0] == '.' || s[0] == '-')
		return "may not start with '.' or '-'";
	if (strstr(s, ".."))
		return "may not contain '..'";
	for (p = s; *p; p++)
		if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') ||
		    (*p >= '0' && *p <= '9') || *p == '-' || *p == '_' || *p == '.'))
			return "may hold only letters, digits, '-', '_' and '.'";
	return NULL;
}

const char *
lh_id_check(const char *id)
{
	static char why[96];
	const char *w = lh_name_check(id);

	if (!w)
		return NULL;
	if (!strcmp(w, "empty"))
		return "empty task id";
	snprintf(why, sizeof why, "task id %s", w);
	return why;
}

const char *
lh_field_check(const char *s, size_t max)
{
	size_t n = strlen(s);

	if (n > max)
		return "too long";
	if (!lh_utf8_valid(s, n))
		return "not valid UTF-8";
	return NULL;
}

static void
task_dir(struct lh_board *b, const char *id, char *buf, size_t size)
{
	lh_path(buf, size, "%s/tasks/%02x/%s", b->dir, lh_shard(id), id);
}

static void
version_path(struct lh_board *b, const char *id, int v, char *buf, size_t size)
{
	lh_path(buf, size, "%s/tasks/%02x/%s/%06d.json", b->dir, lh_shard(id), id, v);
}

static int
fsync_path(const char *path)
{
	int fd, r;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return -1;
	r = fsync(fd);
	close(fd);
	return r;
}

/* create an empty file if absent, and set its mtime to the server's now
 * if not: a hint's age is the time since it was last made, so that one a
 * claimant has just made again before its link is never judged old */
static int
touch(const char *path)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644);

	if (fd < 0)
		return -1;
	if (futimens(fd, NULL) != 0) {
		int e = errno;

		close(fd);
		errno = e;
		return -1;
	}
	return close(fd);
}

static const char *board_subdirs[] = { "tasks", "tmp", "ready", "waiting", "claimed", "names", NULL };

int
lh_board_init(const char *dir)
{
	char path[PATH_MAX], *old;
	const char **sub;
	int fd;

	if (lh_mkdirs(dir) != 0) {
		lh_warn_errno("%s", dir);
		return LH_SYSERR;
	}
	for (sub = board_subdirs; *sub; sub++) {
		lh_path(path, sizeof path, "%s/%s", dir, *sub);
		if (mkdir(path, 0777) != 0 && errno != EEXIST) {
			lh_warn_errno("%s", path);
			return LH_SYSERR;
		}
	}
	lh_path(path, sizeof path, "%s/format", dir);
	if ((old = lh_read_file(path, NULL))) {
		free(old);
		return LH_OK;
	}
	/* written last: a board without its format file is not a board yet */
	lh_path(path, sizeof path, "%s/tmp/format.%d", dir, (int)getpid());
	if ((fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    dprintf(fd, "longhaul-board %d\n", LH_BOARD_FORMAT) < 0 ||
	    fsync(fd) != 0 || close(fd) != 0) {
		lh_warn_errno("%s", path);
		return LH_SYSERR;
	}
	{
		char final[PATH_MAX];

		lh_path(final, sizeof final, "%s/format", dir);
		if (rename(path, final) != 0) {
			lh_warn_errno("%s", final);
			return LH_SYSERR;
		}
	}
	fsync_path(dir);
	return LH_OK;
}

void
lh_board_open(struct lh_board *b, const char *dir)
{
	char path[PATH_MAX], *text, *env;
	int format;

	if (!dir || !*dir)
		dir = getenv("LONGHAUL_BOARD");
	if (!dir || !*dir)
		dir = ".longhaul";
	lh_path(b->dir, sizeof b->dir, "%s", dir);
	env = getenv("LONGHAUL_FSYNC");
	b->fsync = !(env && (!strcmp(env, "0") || !strcmp(env, "no") || !strcmp(env, "off")));
	lh_path(path, sizeof path, "%s/format", b->dir);
	if (!(text = lh_read_file(path, NULL))) {
		if (errno == ENOENT)
			lh_die(LH_BADBOARD, "%s: not a board (no format file; see board-init)", b->dir);
		lh_die_errno(LH_SYSERR, "%s", path);
	}
	if (sscanf(text, "longhaul-board %d", &format) != 1)
		lh_die(LH_BADBOARD, "%s: not a longhaul board format file", path);
	free(text);
	if (format > LH_BOARD_FORMAT)
		lh_die(LH_BADBOARD, "%s: written by a newer longhaul (board format %d; this one knows %d)",
		    b->dir, format, LH_BOARD_FORMAT);
}

/* The number of a version file's name, or 0 when name is not one:
 * digits and ".json", from 1 to 999999999 (no overflow past v + 1). */
static int
version_of(const char *name)
{
	long n = 0;
	const char *p;

	for (p = name; *p >= '0' && *p <= '9'; p++)
		if ((n = n * 10 + (*p - '0')) > 999999999L)
			return 0;
	return p > name && !strcmp(p, ".json") ? (int)n : 0;
}

/* The current version: versions are contiguous from 1, so it is the end
 * of the run 1, 2, ... that the listing holds (a file past a gap is a
 * stray, whatever its number), then looked up one past it, since a
 * directory listing on NFS may be older than the lookups that follow. */
static int
current_version(struct lh_board *b, const char *id, int *status)
{
	char dir[PATH_MAX], path[PATH_MAX];
	unsigned char *seen = NULL;
	size_t cap = 0, nums = 0, i;
	int *num = NULL, v = 0, n, e;
	struct dirent *d;
	DIR *dp;

	task_dir(b, id, dir, sizeof dir);
	if (!(dp = opendir(dir))) {
		*status = errno == ENOENT ? LH_NOTFOUND : LH_SYSERR;
		return -1;
	}
	errno = 0;
	while ((d = readdir(dp))) {
		if (!(n = version_of(d->d_name)))
			continue;
		if (nums == cap)
			num = lh_realloc(num, (cap = cap ? 2 * cap : 16) * sizeof *num);
		num[nums++] = n;
	}
	e = errno;
	closedir(dp);
	if (e) {
		free(num);
		errno = e;
		*status = LH_SYSERR;
		return -1;
	}
	/* a run from 1 of nums files ends at nums at most */
	seen = lh_malloc(nums + 2);
	memset(seen, 0, nums + 2);
	for (i = 0; i < nums; i++)
		if ((size_t)num[i] <= nums)
			seen[num[i]] = 1;
	while ((size_t)v < nums && seen[v + 1])
		v++;
	free(seen);
	free(num);
	while (v < 999999999) {
		version_path(b, id, v + 1, path, sizeof path);
		if (access(path, F_OK) != 0)
			break;
		v++;
	}
	if (v == 0) {
		*status = LH_NOTFOUND;      /* a publisher died before its link */
		return -1;
	}
	return v;
}

static const char *states[] = { "ready", "claimed", "done", "failed", NULL };

const char *
lh_record_check(json_t *rec, const char *id, int v)
{
	const char **s, *state, *kind;
	json_t *x;

	if (!json_is_object(rec))
		return "not a JSON object";
	if (!json_is_integer(x = json_object_get(rec, "format")))
		return "no format";
	if (json_integer_value(x) > LH_RECORD_FORMAT)
		return "written by a newer longhaul";
	if (!json_is_string(x = json_object_get(rec, "id")) || strcmp(json_string_value(x), id))
		return "id does not match its directory";
	if (!json_is_integer(x = json_object_get(rec, "version")) || json_integer_value(x) != v)
		return "version does not match its file name";
	if (!(state = json_string_value(json_object_get(rec, "state"))))
		return "no state";
	for (s = states; *s && strcmp(*s, state); s++)
		;
	if (!*s)
		return "unknown state";
	if (!json_is_string(json_object_get(rec, "title")))
		return "no title";
	/* the kind names a directory of ready/: only these two, never a path */
	if (!(kind = json_string_value(json_object_get(rec, "kind"))) ||
	    (strcmp(kind, "work") && strcmp(kind, "plan")))
		return "kind is not work or plan";
	/* the token is the version the claim made: this one or an older */
	if (!strcmp(state, "claimed") &&
	    (!json_is_integer(x = json_object_get(json_object_get(rec, "lease"), "token")) ||
	    json_integer_value(x) < 1 || json_integer_value(x) > v))
		return "claimed without a valid lease token";
	return NULL;
}

static json_t *
read_version(struct lh_board *b, const char *id, int v, int *status, int complain)
{
	char path[PATH_MAX], *text;
	const char *why;
	json_error_t err;
	json_t *rec;
	size_t len;

	version_path(b, id, v, path, sizeof path);
	if (!(text = lh_read_file(path, &len))) {
		/* versions are never removed: this is the system's error */
		if (complain)
			lh_warn_errno("task %s: version %d: %s", id, v, path);
		*status = LH_SYSERR;
		return NULL;
	}
	rec = json_loadb(text, len, JSON_REJECT_DUPLICATES, &err);
	free(text);
	if (!rec) {
		if (complain)
			lh_warn("task %s: version %d: corrupt record: %s (line %d)", id, v, err.text, err.line);
		*status = LH_BADBOARD;
		return NULL;
	}
	if ((why = lh_record_check(rec, id, v))) {
		if (complain)
			lh_warn("task %s: version %d: corrupt record: %s", id, v, why);
		json_decref(rec);
		*status = LH_BADBOARD;
		return NULL;
	}
	return rec;
}

json_t *
lh_task_read(struct lh_board *b, const char *id, int *version, int *status, int complain)
{
	const char *why;
	int v;

	if ((why = lh_id_check(id))) {
		if (complain)
			lh_warn("task %.80s: %s", id, why);
		*status = LH_USAGE;
		return NULL;
	}
	if ((v = current_version(b, id, status)) < 0) {
		if (complain == 1 && *status == LH_NOTFOUND)
			lh_warn("task %s: no such task", id);
		else if (*status == LH_NOTFOUND)
			;
		else if (complain)
			lh_warn_errno("task %s", id);
		return NULL;
	}
	if (version)
		*version = v;
	return read_version(b, id, v, status, complain);
}

json_t *
lh_task_history(struct lh_board *b, const char *id, int *status)
{
	json_t *all, *rec;
	int v, last, st;

	if ((last = current_version(b, id, status)) < 0) {
		if (*status == LH_SYSERR)
			lh_warn_errno("task %s", id);
		return NULL;
	}
	*status = LH_OK;
	all = json_array();
	for (v = 1; v <= last; v++) {
		/* a damaged old version is reported; the rest still shows */
		if ((rec = read_version(b, id, v, &st, 1)))
			json_array_append_new(all, rec);
		else
			*status = st;
	}
	return all;
}

static int
write_tmp(struct lh_board *b, const char *text, size_t len, char *tmp, size_t size)
{
	char name[16];
	ssize_t w;
	size_t off = 0;
	int fd;

	lh_random_name(name, sizeof name);
	lh_path(tmp, size, "%s/tmp/%s.%d.%s", b->dir, lh_hostname(), (int)getpid(), name);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return -1;
	while (off < len) {
		if ((w = write(fd, text + off, len - off)) < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		off += w;
	}
	if (b->fsync && fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return 0;
fail:
	{
		int e = errno;

		if (fd >= 0)
			close(fd);
		unlink(tmp);
		errno = e;
	}
	return -1;
}

int
lh_create_exclusive(struct lh_board *b, const char *dest, const char *text)
{
	char tmp[PATH_MAX];
	struct stat ts, ds;
	int r, e;

	if (write_tmp(b, text, strlen(text), tmp, sizeof tmp) != 0) {
		lh_warn_errno("%s: writing %s", dest, tmp);
		return LH_SYSERR;
	}
	r = link(tmp, dest);
	e = errno;
	if (r != 0) {
		/* judge by looking: NFS may fail a link that happened, and
		 * sshfs says EPERM, not EEXIST, for one that lost */
		if (stat(dest, &ds) == 0)
			r = stat(tmp, &ts) == 0 && ts.st_ino == ds.st_ino &&
			    ts.st_dev == ds.st_dev ? 0 : 1;
		else if (e == EEXIST)
			r = 1;          /* there, but not for our lookup cache */
		else
			r = -1;
	}
	unlink(tmp);    /* one left behind is removed by board-reap -f */
	if (r == 0)
		return LH_OK;
	if (r > 0)
		return LH_CONFLICT;
	errno = e;
	lh_warn_errno("%s", dest);
	return LH_SYSERR;
}

/* fsync a directory after a link into it has been made. The change has
 * happened whatever this says, so a failure is a warning, not an error:
 * the caller must be able to tell from the exit status whether the state
 * changed. No retry: after a failed fsync a second one may succeed for
 * data the kernel has already dropped. */
static void
sync_after_link(const char *id, int v, const char *dir)
{
	/* EINVAL: a filesystem that cannot sync a directory (some FUSE
	 * ones); nothing to warn about on each write */
	if (fsync_path(dir) != 0 && errno != EINVAL && errno != ENOTSUP)
		lh_warn_errno("task %s: version %d written, but fsync of %s failed "
		    "(the change is made; a crash of the machine may lose it)", id, v, dir);
}

int
lh_task_cas(struct lh_board *b, const char *id, int expected, json_t *rec)
{
	char dir[PATH_MAX], dest[PATH_MAX], when[32];
	char *text;
	int r;

	json_object_set_new(rec, "version", json_integer(expected + 1));
	lh_iso_time(lh_now(), when, sizeof when);
	json_object_set_new(rec, "updated", json_string(when));
	if (!(text = json_dumps(rec, JSON_COMPACT | JSON_PRESERVE_ORDER))) {
		lh_warn("task %s: cannot encode the record", id);
		return LH_SYSERR;
	}
	task_dir(b, id, dir, sizeof dir);
	if (expected == 0 && lh_mkdirs(dir) != 0) {
		lh_warn_errno("task %s: %s", id, dir);
		free(text);
		return LH_SYSERR;
	}
	version_path(b, id, expected + 1, dest, sizeof dest);
	text = lh_realloc(text, strlen(text) + 2);
	strcat(text, "\n");
	r = lh_create_exclusive(b, dest, text);
	free(text);
	if (r == LH_OK && b->fsync) {
		sync_after_link(id, expected + 1, dir);
		if (expected == 0) {
			/* a new task's own directory entry, and its shard's */
			*strrchr(dir, '/') = 0;
			sync_after_link(id, 1, dir);
			*strrchr(dir, '/') = 0;
			sync_after_link(id, 1, dir);
		}
	}
	return r;
}

int
lh_task_deps_done(struct lh_board *b, json_t *rec)
{
	const char *state;
	json_t *dep, *d;
	size_t i;
	int st, done;

	json_array_foreach(json_object_get(rec, "deps"), i, dep) {
		if (!json_is_string(dep))
			return 0;
		if (!(d = lh_task_read(b, json_string_value(dep), NULL, &st, 0)))
			return 0;
		state = json_string_value(json_object_get(d, "state"));
		done = state && !strcmp(state, "done");
		json_decref(d);
		if (!done)
			return 0;
	}
	return 1;
}

const char *
lh_task_deps_failed(struct lh_board *b, json_t *rec)
{
	const char *state, *id;
	json_t *dep, *d;
	size_t i;
	int st, failed;

	json_array_foreach(json_object_get(rec, "deps"), i, dep) {
		if (!(id = json_string_value(dep)) || !(d = lh_task_read(b, id, NULL, &st, 0)))
			continue;
		state = json_string_value(json_object_get(d, "state"));
		failed = state && !strcmp(state, "failed");
		json_decref(d);
		if (failed)
			return id;
	}
	return NULL;
}

int
lh_hint_parse(const char *name, char *id, size_t size, int *number)
{
	const char *at = strrchr(name, '@');
	size_t n = at ? (size_t)(at - name) : strlen(name);
	long v = 0;
	const char *p;

	/* ID without @: a hint of board format 1, older than any version */
	if (n >= size || n == 0)
		return -1;
	memcpy(id, name, n);
	id[n] = 0;
	if (lh_id_check(id))
		return -1;
	if (at) {
		for (p = at + 1; *p >= '0' && *p <= '9'; p++)
			if ((v = v * 10 + (*p - '0')) > 999999999L)
				return -1;
		if (p == at + 1 || *p || v == 0)
			return -1;
	}
	*number = (int)v;
	return 0;
}

/* Where the hint of rec lives, or "" when its state has none: named
 * ID@VERSION, or ID@TOKEN in claimed/. */
void
lh_hint_path(struct lh_board *b, json_t *rec, int deps_done, char *buf, size_t size)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	const char *state = json_string_value(json_object_get(rec, "state"));
	const char *kind = json_string_value(json_object_get(rec, "kind"));
	int prio = (int)json_integer_value(json_object_get(rec, "priority"));
	int v = (int)json_integer_value(json_object_get(rec, "version"));

	buf[0] = 0;
	if (!id || !state)
		return;
	if (!strcmp(state, "claimed"))
		lh_path(buf, size, "%s/claimed/%s@%d", b->dir, id,
		    (int)json_integer_value(json_object_get(json_object_get(rec, "lease"), "token")));
	else if (!strcmp(state, "ready") && !deps_done)
		lh_path(buf, size, "%s/waiting/%s@%d", b->dir, id, v);
	else if (!strcmp(state, "ready"))
		lh_path(buf, size, "%s/ready/%s/%d/%02x/%s@%d", b->dir, kind ? kind : "work",
		    prio, lh_shard(id), id, v);
}

static int
add_hint(const char *path)
{
	char dir[PATH_MAX], *slash;
	int tries;

	/* claimants remove the shard and priority directories they find
	 * empty, between any two of our mkdirs and our create: make them
	 * again until the create wins (a claimant removes only empty ones) */
	for (tries = 0; tries < 1000; tries++) {
		if (touch(path) == 0)
			return 0;
		if (errno != ENOENT)
			break;
		lh_path(dir, sizeof dir, "%s", path);
		if ((slash = strrchr(dir, '/')))
			*slash = 0;
		if (lh_mkdirs(dir) != 0 && errno != ENOENT)
			break;
	}
	lh_warn_errno("%s", path);
	return -1;
}

static void
wanted_hint(struct lh_board *b, json_t *rec, char *buf, size_t size)
{
	const char *state = json_string_value(json_object_get(rec, "state"));

	lh_hint_path(b, rec, state && !strcmp(state, "ready") ? lh_task_deps_done(b, rec) : 1,
	    buf, size);
}

int
lh_hint_make(struct lh_board *b, json_t *rec)
{
	char to[PATH_MAX];

	wanted_hint(b, rec, to, sizeof to);
	return !to[0] || add_hint(to) == 0 ? LH_OK : LH_SYSERR;
}

/* May the hint at path go, now that rec (whose hint is not path) was read
 * as current? Only when it was made for this version or an older one: a
 * number past it is a claim in flight. */
static int
superseded(const char *path, json_t *rec)
{
	const char *slash = strrchr(path, '/');
	char id[LH_ID_MAX + 1];
	int n;

	if (lh_hint_parse(slash ? slash + 1 : path, id, sizeof id, &n) != 0)
		return 0;
	return n <= json_integer_value(json_object_get(rec, "version"));
}

void
lh_task_reindex(struct lh_board *b, json_t *old, json_t *rec)
{
	char from[2][PATH_MAX], to[PATH_MAX];
	int i, made = 0;

	wanted_hint(b, rec, to, sizeof to);
	from[0][0] = from[1][0] = 0;
	if (old) {
		/* the old record's deps were judged then: it may be in either */
		lh_hint_path(b, old, 1, from[0], sizeof from[0]);
		lh_hint_path(b, old, 0, from[1], sizeof from[1]);
	}
	/* moving the hint is one rename, and there is never a moment
	 * without one; where it fails (no old hint, no directory yet) the
	 * new one is made, and the old removed only once it is */
	for (i = 0; i < 2 && to[0] && !made; i++)
		if (from[i][0] && strcmp(from[i], to))
			made = rename(from[i], to) == 0;
	if (to[0] && !made && add_hint(to) != 0)
		return;
	lh_bell_note(b, to);
	for (i = 0; i < 2; i++)
		if (from[i][0] && strcmp(from[i], to))
			unlink(from[i]);
}

int
lh_task_mend(struct lh_board *b, json_t *rec, const char *found)
{
	char to[PATH_MAX];
	int changed = 0;

	wanted_hint(b, rec, to, sizeof to);
	if (to[0] && (!found || strcmp(found, to)) && access(to, F_OK) != 0) {
		if (add_hint(to) != 0)
			return 0;
		lh_bell_note(b, to);
		changed = 1;
	}
	if (found && strcmp(found, to) && superseded(found, rec) && unlink(found) == 0)
		changed = 1;
	return changed;
}

/* Fail rec for good because its dependency dep failed. */
static int
fail_dependent(struct lh_board *b, json_t *rec, int v, const char *dep)
{
	const char *id = json_string_value(json_object_get(rec, "id"));
	char reason[LH_ID_MAX + 32];
	json_t *new = json_deep_copy(rec);
	int st;

	snprintf(reason, sizeof reason, "dependency %s failed", dep);
	json_object_set_new(new, "state", json_string("failed"));
	json_object_set_new(new, "event", json_string("fail"));
	json_object_set_new(new, "by", lh_whoami());
	json_object_set_new(new, "owner", json_null());
	json_object_set_new(new, "lease", json_null());
	json_object_set_new(new, "reason", json_string(reason));
	if ((st = lh_task_cas(b, id, v, new)) == LH_OK)
		lh_task_reindex(b, rec, new);
	json_decref(new);
	return st;
}

/* One pass over waiting/: 1 when a task failed, so that its own
 * dependents are looked at again. */
static int
promote_once(struct lh_board *b, int *moved)
{
	char dir[PATH_MAX], path[PATH_MAX], id[LH_ID_MAX + 1];
	const char *dep;
	struct dirent *d;
	json_t *rec;
	DIR *dp;
	int st, v, n, failed = 0;

	lh_path(dir, sizeof dir, "%s/waiting", b->dir);
	if (!(dp = opendir(dir)))
		return 0;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.' || lh_hint_parse(d->d_name, id, sizeof id, &n) != 0)
			continue;
		lh_path(path, sizeof path, "%s/%s", dir, d->d_name);
		if (!(rec = lh_task_read(b, id, &v, &st, 0)))
			continue;       /* NOTFOUND: a publish in flight */
		if (!strcmp(json_string_value(json_object_get(rec, "state")), "ready") &&
		    (dep = lh_task_deps_failed(b, rec))) {
			if (fail_dependent(b, rec, v, dep) == LH_OK)
				failed = *moved = 1;
		} else if ((strcmp(json_string_value(json_object_get(rec, "state")), "ready") ||
		    n != v || lh_task_deps_done(b, rec)) && lh_task_mend(b, rec, path)) {
			*moved = 1;     /* only then: a bell for nothing makes waiters spin */
		}
		json_decref(rec);
	}
	closedir(dp);
	return failed;
}

void
lh_board_promote(struct lh_board *b)
{
	int moved = 0, rounds;

	/* a chain of dependents fails one link per pass */
	for (rounds = 0; rounds < 1000 && promote_once(b, &moved); rounds++)
		;
	if (moved)
		lh_board_ring(b);
}

double
lh_board_clock(struct lh_board *b)
{
	char path[PATH_MAX];

	lh_path(path, sizeof path, "%s/clock", b->dir);
	return lh_file_clock(path);
}

double
lh_task_age(struct lh_board *b, const char *id, int v, double now)
{
	char path[PATH_MAX];
	struct stat st;

	version_path(b, id, v, path, sizeof path);
	if (stat(path, &st) != 0)
		return -1;
	return now - (st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9);
}

int
lh_task_touch(struct lh_board *b, const char *id, int v)
{
	char path[PATH_MAX];

	version_path(b, id, v, path, sizeof path);
	if (utimensat(AT_FDCWD, path, NULL, 0) != 0) {
		lh_warn_errno("task %s: %s", id, path);
		return LH_SYSERR;
	}
	/* the reaper may have moved on meanwhile: then the touch was moot */
	version_path(b, id, v + 1, path, sizeof path);
	if (access(path, F_OK) == 0)
		return LH_CONFLICT;
	return LH_OK;
}

int
lh_board_each(struct lh_board *b, int (*fn)(const char *id, void *arg), void *arg)
{
	char dir[PATH_MAX];
	struct dirent *d;
	DIR *dp;
	int shard, r = 0;

	for (shard = 0; shard < 256 && !r; shard++) {
		lh_path(dir, sizeof dir, "%s/tasks/%02x", b->dir, shard);
		if (!(dp = opendir(dir)))
			continue;
		while (!r && (d = readdir(dp)))
			if (d->d_name[0] != '.')
				r = fn(d->d_name, arg);
		closedir(dp);
	}
	return r;
}

struct id_list {
	char **v;
	size_t n, cap;
};

static int
collect_id(const char *id, void *arg)
{
	struct id_list *ids = arg;

	if (ids->n == ids->cap)
		ids->v = lh_realloc(ids->v, (ids->cap = ids->cap ? 2 * ids->cap : 256) * sizeof *ids->v);
	ids->v[ids->n++] = lh_strdup(id);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

char **
lh_board_ids(struct lh_board *b, size_t *n)
{
	struct id_list ids = { 0 };

	lh_board_each(b, collect_id, &ids);
	if (ids.n)
		qsort(ids.v, ids.n, sizeof *ids.v, by_name);
	*n = ids.n;
	return ids.v;
}

json_t *
lh_whoami(void)
{
	const char *agent = getenv("LONGHAUL_AGENT");

	if (!agent || !*agent)
		agent = getenv("USER");
	return json_pack("{s:s, s:I, s:s}", "host", lh_hostname(),
	    "pid", (json_int_t)lh_owner_pid(),
	    "agent", agent && *agent ? agent : "unknown");
}

long
lh_owner_pid(void)
{
	const char *pid = getenv("LONGHAUL_PID");

	/* the tool itself is gone in a moment: the process that matters is
	 * the one that ran it, or the one named in LONGHAUL_PID */
	return pid && *pid ? atol(pid) : (long)getppid();
}

static int
bad(const char *where, const char *what, const char *why)
{
	lh_warn("%s%s: %s", where, what, why);
	return LH_USAGE;
}

static int
has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 1;
	return 0;
}

static int
check_string(const char *where, const char *name, json_t *v, size_t max, int need)
{
	const char *why;

	if (!v || json_is_null(v))
		return need ? bad(where, name, "missing") : 0;
	if (!json_is_string(v))
		return bad(where, name, "not a string");
	if ((why = lh_field_check(json_string_value(v), max)))
		return bad(where, name, why);
	return 0;
}

static int
check_task_ref(struct lh_board *b, const char *where, const char *name, json_t *v)
{
	const char *id = json_string_value(v);
	json_t *rec;
	int st;

	if (!id)
		return bad(where, name, "not a task id");
	if (lh_id_check(id))
		return bad(where, name, lh_id_check(id));
	if (!(rec = lh_task_read(b, id, NULL, &st, 0))) {
		lh_warn("%s%s %s: %s", where, name, id,
		    st == LH_NOTFOUND ? "no such task" : "unreadable record");
		return st;
	}
	json_decref(rec);
	return 0;
}

static int
check_integer(const char *where, const char *name, json_t *v, long min, long max)
{
	char why[64];

	if (!v || json_is_null(v))
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max) {
		snprintf(why, sizeof why, "must be an integer from %ld to %ld", min, max);
		return bad(where, name, why);
	}
	return 0;
}

int
lh_task_fields_check(struct lh_board *b, json_t *in, const char *where, int need_title)
{
	static const char *known[] = { "id", "title", "body", "kind", "priority", "parent",
		"area", "deps", "verify", "max_attempts", "limits", NULL };
	static const char *limit_keys[] = { "steps", "seconds", "tokens", "usd", NULL };
	const char *key, *kind, *area, *limit, **k;
	json_t *v, *x;
	size_t i;
	int r;

	if (!json_is_object(in))
		return bad(where, "task", "not a JSON object");
	json_object_foreach(in, key, v) {
		for (k = known; *k && strcmp(*k, key); k++)
			;
		if (!*k)
			return bad(where, key, "not a task field one may set");
	}
	if ((r = check_string(where, "title", json_object_get(in, "title"), LH_TITLE_MAX, need_title)) ||
	    (r = check_string(where, "body", json_object_get(in, "body"), LH_BODY_MAX, 0)) ||
	    (r = check_string(where, "area", json_object_get(in, "area"), LH_AREA_MAX, 0)) ||
	    (r = check_string(where, "kind", json_object_get(in, "kind"), 16, 0)) ||
	    (r = check_string(where, "id", json_object_get(in, "id"), LH_ID_MAX, 0)) ||
	    (r = check_integer(where, "priority", json_object_get(in, "priority"), 0, 9)) ||
	    (r = check_integer(where, "max_attempts", json_object_get(in, "max_attempts"), 1, 1000)))
		return r;
	if ((v = json_object_get(in, "title")) && json_is_string(v) && !*json_string_value(v))
		return bad(where, "title", "empty");
	/* one line each: task-ls prints them in rows that planners read */
	if ((v = json_object_get(in, "title")) && json_is_string(v) && has_control(json_string_value(v)))
		return bad(where, "title", "contains a control character (a newline, a tab, ...)");
	if ((v = json_object_get(in, "area")) && json_is_string(v) && has_control(json_string_value(v)))
		return bad(where, "area", "contains a control character (a newline, a tab, ...)");
	if ((v = json_object_get(in, "id")) && json_is_string(v) && lh_id_check(json_string_value(v)))
		return bad(where, "id", lh_id_check(json_string_value(v)));
	if ((kind = json_string_value(json_object_get(in, "kind"))) &&
	    strcmp(kind, "work") && strcmp(kind, "plan"))
		return bad(where, "kind", "must be work or plan");
	area = json_string_value(json_object_get(in, "area"));
	limit = getenv("LONGHAUL_AREA");
	if (limit && *limit && (area || need_title)) {
		if (!area)
			area = "";
		if (strcmp(area, limit) && !(strncmp(area, limit, strlen(limit)) == 0 &&
		    area[strlen(limit)] == '/')) {
			lh_warn("%sarea '%s': outside this planner's area '%s'", where, area, limit);
			return LH_CONFLICT;
		}
	}
	if ((v = json_object_get(in, "parent")) && !json_is_null(v) &&
	    (r = check_task_ref(b, where, "parent", v)))
		return r;
	if ((v = json_object_get(in, "deps")) && !json_is_null(v)) {
		if (!json_is_array(v))
			return bad(where, "deps", "not an array of task ids");
		json_array_foreach(v, i, x)
			if ((r = check_task_ref(b, where, "dep", x)))
				return r;
	}
	if ((v = json_object_get(in, "limits")) && !json_is_null(v)) {
		if (!json_is_object(v))
			return bad(where, "limits", "not an object");
		json_object_foreach(v, key, x) {
			for (k = limit_keys; *k && strcmp(*k, key); k++)
				;
			if (!*k)
				return bad(where, "limits", "only steps, seconds, tokens and usd");
			if (!json_is_number(x) || json_number_value(x) < 0)
				return bad(where, "limits", "each a number >= 0");
		}
	}
	if ((v = json_object_get(in, "verify")) && !json_is_null(v)) {
		if (!json_is_array(v) || json_array_size(v) > LH_VERIFY_MAX)
			return bad(where, "verify", "not an array of at most 32 commands");
		json_array_foreach(v, i, x)
			if ((r = check_string(where, "verify", x, LH_COMMAND_MAX, 1)))
				return r;
	}
	return LH_OK;
}

/* The duplicate guard. names/HASH is the first claim on the title (area,
 * title), names/HASH.2, .3, ... the later ones, each holding the id of its
 * task: a generation is taken by an exclusive link, only when the one
 * before it is dead, so of two racing publishers one wins. A generation is
 * never removed (a hole would let two live ones exist); its task gives it
 * back with a marker, names/HASH.G.dropped. It is dead when so marked,
 * when its task failed for good, or when its task does not exist or no
 * longer has the title and the name is older than LH_NAME_ABANDON seconds
 * by the file server's clock: a publisher between its name and its record
 * is never overtaken, however slow. */
#define LH_NAME_ABANDON 600

uint64_t
lh_title_hash(json_t *rec)
{
	const char *s;
	uint64_t h = 14695981039346656037ull;

	for (s = json_string_value(json_object_get(rec, "area")); s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	h = (h ^ 0xff) * 1099511628211ull;
	for (s = json_string_value(json_object_get(rec, "title")); s && *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return h;
}

void
lh_title_path(struct lh_board *b, uint64_t h, int gen, const char *suffix, char *buf, size_t size)
{
	if (gen == 1)
		lh_path(buf, size, "%s/names/%016llx%s", b->dir, (unsigned long long)h, suffix);
	else
		lh_path(buf, size, "%s/names/%016llx.%d%s", b->dir, (unsigned long long)h, gen, suffix);
}

/* The highest generation present, 0 for none. */
static int
name_top(struct lh_board *b, uint64_t h)
{
	char path[PATH_MAX];
	int gen;

	for (gen = 1; gen < 100000; gen++) {
		lh_title_path(b, h, gen, "", path, sizeof path);
		if (access(path, F_OK) != 0)
			break;
	}
	return gen - 1;
}

/* The owner of generation gen (NUL-terminated into owner), and whether the
 * generation still holds the title: 1 live, 0 dead, -1 system error. */
int
lh_title_live(struct lh_board *b, uint64_t h, int gen, char *owner, size_t size)
{
	char path[PATH_MAX], *text, *nl;
	const char *state;
	struct stat st;
	json_t *them;
	double now;
	int status, mine;

	lh_title_path(b, h, gen, "", path, sizeof path);
	if (!(text = lh_read_file(path, NULL))) {
		lh_warn_errno("%s", path);
		return -1;
	}
	if ((nl = strchr(text, '\n')))
		*nl = 0;
	snprintf(owner, size, "%s", text);
	free(text);
	lh_title_path(b, h, gen, ".dropped", path, sizeof path);
	if (access(path, F_OK) == 0)
		return 0;
	lh_title_path(b, h, gen, "", path, sizeof path);
	them = lh_task_read(b, owner, NULL, &status, 0);
	if (!them && status != LH_NOTFOUND)
		return 1;       /* unreadable: keep the title rather than guess */
	state = them ? json_string_value(json_object_get(them, "state")) : NULL;
	if (state && !strcmp(state, "failed")) {
		json_decref(them);
		return 0;
	}
	mine = them && lh_title_hash(them) == h;
	json_decref(them);
	if (mine)
		return 1;
	/* not written yet, or renamed by an edit not finished: abandoned
	 * only by age, on the file server's clock */
	if (stat(path, &st) != 0 || (now = lh_board_clock(b)) < 0) {
		lh_warn_errno("%s", path);
		return -1;
	}
	return now - st.st_mtime <= LH_NAME_ABANDON;
}

int
lh_title_take(struct lh_board *b, json_t *rec, const char *where)
{
	char path[PATH_MAX], text[LH_ID_MAX + 2], owner[LH_ID_MAX + 2];
	const char *id = json_string_value(json_object_get(rec, "id"));
	uint64_t h = lh_title_hash(rec);
	int tries, gen, live, st;

	snprintf(text, sizeof text, "%s\n", id);
	for (tries = 0; tries < 100; tries++) {
		if ((gen = name_top(b, h)) > 0) {
			if ((live = lh_title_live(b, h, gen, owner, sizeof owner)) < 0)
				return LH_SYSERR;
			if (live && !strcmp(owner, id))
				return LH_OK;
			if (live) {
				lh_warn("%stitle '%s': duplicate of task %s in area '%s'", where,
				    json_string_value(json_object_get(rec, "title")), owner,
				    json_string_value(json_object_get(rec, "area")));
				return LH_CONFLICT;
			}
		}
		lh_title_path(b, h, gen + 1, "", path, sizeof path);
		if ((st = lh_create_exclusive(b, path, text)) != LH_CONFLICT)
			return st;
		/* another publisher took that generation first: judge it */
	}
	lh_warn("%stitle '%s': its name changes hands too fast", where,
	    json_string_value(json_object_get(rec, "title")));
	return LH_CONFLICT;
}

void
lh_title_drop(struct lh_board *b, json_t *rec)
{
	char path[PATH_MAX], *text, *nl;
	const char *id = json_string_value(json_object_get(rec, "id"));
	uint64_t h = lh_title_hash(rec);
	int gen;

	if (!id)
		return;
	/* ours is the highest generation, unless ours was given up */
	for (gen = name_top(b, h); gen > 0; gen--) {
		lh_title_path(b, h, gen, "", path, sizeof path);
		if (!(text = lh_read_file(path, NULL)))
			continue;
		if ((nl = strchr(text, '\n')))
			*nl = 0;
		if (!strcmp(text, id)) {
			lh_title_path(b, h, gen, ".dropped", path, sizeof path);
			if (touch(path) != 0)
				lh_warn_errno("%s", path);
			free(text);
			return;
		}
		free(text);
	}
}
