/* jsonfile-board: the baseline of the scaling benchmark, a stand-in for
 * task-claim and task-update that keeps every task in one shared JSON
 * file (an array of task records, as task-ls -j prints them) and does
 * each operation as a read-modify-write of the whole file under an
 * exclusive flock: lock FILE.lock, read and parse FILE, change one
 * record, write FILE.tmp (fsync it unless LONGHAUL_FSYNC=0), rename it
 * over FILE, unlock.  The lock is held for that and nothing more.
 *
 * Called by the names of the tools it replaces (links in a directory put
 * first in PATH), with the subset of their interface that the worker
 * uses; the file is $LONGHAUL_JSONFILE:
 *
 *	task-claim [-j] [-k kind] [-a area] [-l lease] [-w wait]
 *	task-update -t TOKEN [-c COMMIT] [-m NOTE | -F FILE] [-r REASON]
 *	    heartbeat|done|fail|release ID
 *	task-show [-f FIELD] ID     (reads under a shared flock)
 *
 * task-claim takes the first ready task of the kind, prints its record
 * (-j) or its id and token, and with -w polls the file (backing off from
 * 0.05 s to LONGHAUL_POLL_MAX, 5 s, like task-claim; -w 0 waits for
 * ever).  Exit statuses as the real tools: 0, 1 nothing to claim, 2
 * usage, 3 stale token, 4 no such task, 6 system error.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <time.h>
#include <unistd.h>

static const char *file;
static char lockpath[4096], tmppath[4096];
static int sync_on = 1;

static void
die(int code, const char *what, const char *why)
{
	fprintf(stderr, "jsonfile-board: %s: %s\n", what, why);
	exit(code);
}

static int
lock(void)
{
	int fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644);

	if (fd < 0 || flock(fd, LOCK_EX) != 0)
		die(6, lockpath, strerror(errno));
	return fd;
}

static json_t *
load(void)
{
	json_error_t err;
	json_t *all = json_load_file(file, 0, &err);

	if (!all || !json_is_array(all))
		die(6, file, all ? "not an array" : err.text);
	return all;
}

static void
save(json_t *all)
{
	int fd;
	FILE *f;

	if ((fd = open(tmppath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0 ||
	    !(f = fdopen(fd, "w")))
		die(6, tmppath, strerror(errno));
	if (json_dumpf(all, f, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0 || fflush(f) != 0 ||
	    (sync_on && fsync(fd) != 0) || fclose(f) != 0 || rename(tmppath, file) != 0)
		die(6, file, strerror(errno));
}

static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));
	return s ? s : "";
}

static void
set_lease(json_t *task, long token, long seconds)
{
	char when[32];
	time_t t = time(NULL) + seconds;

	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	json_object_set_new(task, "lease", json_pack("{s:I, s:I, s:s}",
	    "token", (json_int_t)token, "seconds", (json_int_t)seconds, "expires", when));
}

/* one claim under the lock: the record claimed, or NULL */
static json_t *
claim_once(const char *kind, const char *area, long lease)
{
	json_t *all, *task, *got = NULL;
	const char *agent = getenv("LONGHAUL_AGENT");
	char host[256] = "";
	long token;
	size_t i;
	int fd = lock();

	all = load();
	json_array_foreach(all, i, task)
		if (!strcmp(str(task, "state"), "ready") && !strcmp(str(task, "kind"), kind) &&
		    (!area || !strcmp(str(task, "area"), area))) {
			got = task;
			break;
		}
	if (got) {
		token = (long)json_integer_value(json_object_get(got, "version")) + 1;
		gethostname(host, sizeof host - 1);
		json_object_set_new(got, "state", json_string("claimed"));
		json_object_set_new(got, "version", json_integer(token));
		json_object_set_new(got, "attempts",
		    json_integer(json_integer_value(json_object_get(got, "attempts")) + 1));
		json_object_set_new(got, "owner", json_pack("{s:s, s:i, s:s}", "host", host,
		    "pid", (int)getppid(), "agent", agent ? agent : "unknown"));
		set_lease(got, token, lease);
		json_incref(got);
		save(all);
	}
	json_decref(all);
	close(fd);
	return got;
}

static int
claim(int argc, char **argv)
{
	const char *kind = "work", *area = NULL, *env;
	double wait = -1, backoff = 0.05, max_backoff, waited = 0;
	long lease = 600;
	int c, json = 0;
	json_t *got;
	char *text;
	struct timespec ts;

	if ((env = getenv("LONGHAUL_LEASE")) && *env)
		lease = atol(env);
	while ((c = getopt(argc, argv, "jk:a:l:w:")) != -1)
		switch (c) {
		case 'j': json = 1; break;
		case 'k': kind = optarg; break;
		case 'a': area = optarg; break;
		case 'l': lease = atol(optarg); break;
		case 'w': wait = atof(optarg); break;
		default: return 2;
		}
	max_backoff = (env = getenv("LONGHAUL_POLL_MAX")) && *env ? atof(env) : 5;
	while (!(got = claim_once(kind, area, lease))) {
		if (wait < 0 || (wait > 0 && waited >= wait))
			return 1;
		ts.tv_sec = (time_t)backoff;
		ts.tv_nsec = (long)((backoff - ts.tv_sec) * 1e9);
		nanosleep(&ts, NULL);
		waited += backoff;
		backoff = backoff * 2 > max_backoff ? max_backoff : backoff * 2;
	}
	if (json) {
		text = json_dumps(got, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(text);
		free(text);
	} else
		printf("%s\n%lld\n", str(got, "id"),
		    (long long)json_integer_value(json_object_get(json_object_get(got, "lease"), "token")));
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 6;
}

static int
update(int argc, char **argv)
{
	const char *commit = NULL, *note = NULL, *note_file = NULL, *reason = NULL, *action, *id;
	long token = -1, lease, max_attempts, attempts;
	json_t *all, *task, *got = NULL;
	size_t i, len;
	char *text = NULL;
	FILE *f;
	int c, fd, st = 0;

	while ((c = getopt(argc, argv, "t:c:m:F:r:")) != -1)
		switch (c) {
		case 't': token = atol(optarg); break;
		case 'c': commit = optarg; break;
		case 'm': note = optarg; break;
		case 'F': note_file = optarg; break;
		case 'r': reason = optarg; break;
		default: return 2;
		}
	if (optind + 2 != argc || token < 0)
		return 2;
	action = argv[optind];
	id = argv[optind + 1];
	if (note_file && (f = fopen(note_file, "r"))) {
		text = malloc(65536);
		len = fread(text, 1, 65535, f);
		text[len] = 0;
		fclose(f);
		note = text;
	}
	fd = lock();
	all = load();
	json_array_foreach(all, i, task)
		if (!strcmp(str(task, "id"), id)) {
			got = task;
			break;
		}
	if (!got)
		st = 4;
	else if (strcmp(str(got, "state"), "claimed") ||
	    json_integer_value(json_object_get(json_object_get(got, "lease"), "token")) != token)
		st = 3;
	else {
		json_object_set_new(got, "version",
		    json_integer(json_integer_value(json_object_get(got, "version")) + 1));
		lease = (long)json_integer_value(json_object_get(json_object_get(got, "lease"), "seconds"));
		if (!strcmp(action, "heartbeat"))
			set_lease(got, token, lease);
		else if (!strcmp(action, "done")) {
			json_object_set_new(got, "state", json_string("done"));
			json_object_set_new(got, "result", json_pack("{s:s?, s:s?}",
			    "commit", commit, "note", note));
		} else if (!strcmp(action, "release") || !strcmp(action, "fail")) {
			max_attempts = (long)json_integer_value(json_object_get(got, "max_attempts"));
			attempts = (long)json_integer_value(json_object_get(got, "attempts"));
			if (!strcmp(action, "release"))
				json_object_set_new(got, "attempts", json_integer(attempts - 1));
			json_object_set_new(got, "state", json_string(
			    !strcmp(action, "fail") && attempts >= max_attempts ? "failed" : "ready"));
			json_object_set_new(got, "reason", reason ? json_string(reason) : json_null());
		} else
			st = 2;
		if (!st)
			save(all);
	}
	json_decref(all);
	close(fd);
	free(text);
	return st;
}

static void
plain(json_t *v)
{
	char *text;

	if (json_is_string(v))
		puts(json_string_value(v));
	else if (v && !json_is_null(v)) {
		text = json_dumps(v, JSON_COMPACT | JSON_PRESERVE_ORDER | JSON_ENCODE_ANY);
		puts(text);
		free(text);
	}
}

static int
show(int argc, char **argv)
{
	const char *field = NULL;
	json_t *all, *task, *got = NULL, *v;
	size_t i;
	int c, fd;

	while ((c = getopt(argc, argv, "f:")) != -1)
		switch (c) {
		case 'f': field = optarg; break;
		default: return 2;
		}
	if (optind + 1 != argc)
		return 2;
	if ((fd = open(lockpath, O_RDWR | O_CREAT | O_CLOEXEC, 0644)) < 0 || flock(fd, LOCK_SH) != 0)
		die(6, lockpath, strerror(errno));
	all = load();
	close(fd);
	json_array_foreach(all, i, task)
		if (!strcmp(str(task, "id"), argv[optind])) {
			got = task;
			break;
		}
	if (!got) {
		json_decref(all);
		return 4;
	}
	if (!field)
		plain(got);
	else if (json_is_array(v = json_object_get(got, field)))
		json_array_foreach(json_object_get(got, field), i, v)
			plain(v);
	else
		plain(v);
	json_decref(all);
	return fflush(stdout) == 0 && !ferror(stdout) ? 0 : 6;
}

int
main(int argc, char **argv)
{
	const char *name = strrchr(argv[0], '/'), *env;

	name = name ? name + 1 : argv[0];
	if (!(file = getenv("LONGHAUL_JSONFILE")) || !*file)
		die(2, "LONGHAUL_JSONFILE", "not set");
	if ((env = getenv("LONGHAUL_FSYNC")) && !strcmp(env, "0"))
		sync_on = 0;
	snprintf(lockpath, sizeof lockpath, "%s.lock", file);
	snprintf(tmppath, sizeof tmppath, "%s.tmp", file);
	if (!strcmp(name, "task-claim"))
		return claim(argc, argv);
	if (!strcmp(name, "task-update"))
		return update(argc, argv);
	if (!strcmp(name, "task-show"))
		return show(argc, argv);
	die(2, name, "call me as task-claim, task-update or task-show");
	return 2;
}
