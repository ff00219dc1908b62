/* land-train: the merge train. Commits that their workers verified on
 * their own base wait in a queue on the board; whoever holds the landing
 * turn (board-turn's queue push-BRANCH) drives the train: it stacks up
 * to n queued commits on the tip of the branch, runs the gate once on
 * the top of the stack, and lands the whole stack with one push. A red
 * stack is bisected: the longest prefix that passes lands, and the first
 * entry whose addition turns the gate red is the culprit, sent back to
 * its worker with the gate's output. No daemon: every worker whose
 * commit is queued waits for the turn and, meanwhile, for its entry's
 * outcome; the one that gets the turn drives for everything queued.
 *
 * The board keeps (longhaul-board(5)), under BOARD/train/NAME/:
 *	queue/TICKET-RANDOM     an entry: {"id","token","commit",...}, created
 *	                        with link(), so never half written; TICKET is
 *	                        the time of queueing in microseconds: FIFO
 *	outcome/TICKET-RANDOM   what became of the entry (created with link:
 *	                        the first decision stands)
 *	state.json              what is being tested, on which base, by whom
 *	                        (rewritten by rename)
 *
 * Guarantees, and why they hold:
 * - Every commit at the tip after a landing passed the gate as part of
 *   the stack that landed: the driver pushes only the top of a prefix of
 *   the stack that it ran the gate on, built on the tip it read, and the
 *   push is a fast-forward that never forces: it lands onto that tip or
 *   not at all (ref updates are compare-and-swap on the old value). A
 *   driver that lost its turn and pushes late is refused, not merged.
 * - None lands twice: an entry whose task's trailer (Longhaul-Task: ID)
 *   is on the branch is never stacked; the stack is built on the tip that
 *   was searched; a stack holds one entry per task; the pre-receive hook
 *   refuses a second commit of a task and one whose token is not the
 *   task's claim.
 * - None is lost: an entry is removed only after its outcome is written;
 *   a driver killed anywhere leaves the entries queued for the next one,
 *   and a push that landed before its driver died is found from the
 *   branch (the trailers), never from the board.
 * - A task is done exactly when its commit is on the branch: the outcome
 *   "landed" is written only after the trailer is read back from the
 *   branch, and the waiting worker reads the branch itself before it
 *   says landed; the task is marked done by its worker (it holds the
 *   token), or by the next claimant or board-reap -R.
 * - The task's own verification ran on the worker's side before it
 *   queued (longhaul-worker does that, on its own base).
 * Entries are data: ids, tokens and SHAs are checked before use, and git
 * runs as a child process with an argv, never through a shell. Agents do
 * not see the board (the sandbox hides it).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] =
    "land-train [-v] [-b board] -r repo [-B branch] [-q name] [-d dir] [-t dir] [-g gate] [-n max] [-p parallel] [-w secs] [-l lease] [-o file] land ID TOKEN COMMIT | drive | show";
static const char manual[] =
"usage: land-train [-v] [-b board] -r repo [-B branch] [-q name] [-d dir] [-t dir]\n"
"                  [-g gate] [-n max] [-p parallel] [-w secs] [-l lease] [-o file]\n"
"                  land ID TOKEN COMMIT\n"
"       land-train [-v] [-b board] -r repo [-B branch] [-q name] [-d dir] [-t dir]\n"
"                  [-g gate] [-n max] [-p parallel] [-w secs] drive\n"
"       land-train [-b board] [-B branch] [-q name] show\n"
"The merge train: queue a verified commit and wait for it to land, driving\n"
"the train whenever this process holds the landing turn.\n"
"  land        queue COMMIT (task ID, claim TOKEN; pushed to the remote as\n"
"              refs/longhaul/queue/ID-TOKEN) and wait for its outcome\n"
"  drive       take the turn and drive until the queue is empty\n"
"  show        the train's state and queue, one JSON record a line\n"
"  -r repo     the git repository to work in (its remote origin is the\n"
"              shared one)\n"
"  -B branch   the branch (default main)\n"
"  -q name     the turn and train name (default push-BRANCH)\n"
"  -d dir      where the driver checks out stacks for the gate\n"
"              (default REPO/../train-tree)\n"
"  -t dir      the host's train directory: the drivers of this host share\n"
"              one repository and one set of gate trees there, kept between\n"
"              them (one at a time; one that cannot have it uses -r and -d)\n"
"  -g gate     the gate, a shell command run in the sandbox on the top of\n"
"              each stack (may be given up to 16 times; none: always green)\n"
"  -n max      at most this many entries in a stack (default\n"
"              $LONGHAUL_TRAIN_MAX, else 16)\n"
"  -p parallel stacks tested at once, each in a tree of its own (default\n"
"              $LONGHAUL_TRAIN_PARALLEL, else 1); with parallel >= max, every\n"
"              prefix of a stack is tested at once and a red one needs no\n"
"              second round to find its culprit\n"
"  -w secs     a short queue still growing may form a batch for at most\n"
"              this long (default $LONGHAUL_TRAIN_WAIT, else 5)\n"
"  -v          a line a round to stderr: stacked, gate runs, landed, times\n"
"  -l lease    the turn's lease (default $LONGHAUL_TURN_LEASE, else 60)\n"
"  -o file     land: the feedback for the agent (gate output, conflict)\n"
"Exit status of land: 0 landed (the commit on the branch is printed),\n"
"1 the gate failed, 3 conflict, 4 the token is not the task's claim,\n"
"7 the change is already on the branch; 2 usage, 5 bad board, 6 error.\n";

#define MAXGATES 16
#define SHA_LEN 40

struct entry {
	char name[64];
	char id[LH_ID_MAX + 1];
	long token;
	char commit[SHA_LEN + 1];
	char stacked[SHA_LEN + 1];   /* its commit rebuilt on the stack below */
};

static struct lh_board board;
static const char *repo, *branch = "main", *feedback_file;
static const char *gates[MAXGATES];
static int ngates, max_batch = 16, parallel = 1;
static double lease = 60, gate_timeout = 1800;
static char name[LH_ID_MAX + 8], treedir[4096];
static char traindir[4200], queuedir[4300], outcomedir[4300], statepath[4300], turndir[4200];
static char held[4600];          /* the admitted turn entry, "" if none */
static long gate_runs;
static sigset_t landing_signals;
static int verbose;              /* a line a round to stderr (-v) */
static const char *pooldir;      /* -t: the host's train directory */
static char pool[3900], pool_repo[4000], pool_tree[4000], own_treedir[4096];
static const char *own_repo;
static int pool_fd = -1;
static double git_timeout = 600;
static double batch_wait = 5;    /* -w: how long a short queue may form */
static double t_stack, t_trees;  /* this round's time stacking, making trees */

/* ---- child processes ---- */

/* Run argv (in dir when not NULL) with stdin from in (NULL: /dev/null),
 * stdout into *out (NULL: to errfile or /dev/null), stderr to errfile
 * (NULL: /dev/null; may be the same as stdout's). env: NAME=VALUE pairs
 * to add. Returns the exit status, 128+signal, or -1. */
static int
runv(char *const argv[], const char *in, char **out, const char *errfile,
    char *const env[], int session)
{
	int po[2] = {-1, -1}, pi[2] = {-1, -1}, st;
	pid_t pid;
	size_t len = 0, cap = 0;
	char *buf = NULL;

	if (out && pipe(po) < 0)
		return -1;
	if (in && pipe(pi) < 0)
		return -1;
	if ((pid = fork()) < 0)
		return -1;
	if (pid == 0) {
		int fd;

		sigprocmask(SIG_UNBLOCK, &landing_signals, NULL);
		/* what the driver starts dies with it (timeout passes the
		 * TERM on to the gate) */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		if (session)
			setsid();
		if (in) {
			dup2(pi[0], 0);
			close(pi[0]);
			close(pi[1]);
		} else if ((fd = open("/dev/null", O_RDONLY)) >= 0)
			dup2(fd, 0);
		fd = errfile ? open(errfile, O_WRONLY | O_CREAT | O_APPEND, 0644) :
		    open("/dev/null", O_WRONLY);
		if (fd >= 0) {
			dup2(fd, 2);
			if (!out)
				dup2(fd, 1);
		}
		if (out) {
			dup2(po[1], 1);
			close(po[0]);
			close(po[1]);
		}
		for (; env && *env; env++)
			putenv(*env);
		execvp(argv[0], argv);
		_exit(127);
	}
	if (in) {
		size_t n = strlen(in), k = 0;
		ssize_t w;

		close(pi[0]);
		signal(SIGPIPE, SIG_IGN);
		while (k < n && (w = write(pi[1], in + k, n - k)) > 0)
			k += (size_t)w;
		close(pi[1]);
	}
	if (out) {
		ssize_t r;

		close(po[1]);
		for (;;) {
			if (len + 4097 > cap)
				buf = lh_realloc(buf, cap = cap * 2 + 8192);
			if ((r = read(po[0], buf + len, cap - len - 1)) <= 0) {
				if (r < 0 && errno == EINTR)
					continue;
				break;
			}
			len += (size_t)r;
		}
		close(po[0]);
		buf[len] = 0;
		*out = buf;
	}
	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* git -C REPO ARGS... (NULL-terminated); stdout into *out when given */
static int
git(char **out, ...)
{
	char *argv[32];
	va_list ap;
	int n = 0;

	argv[n++] = "git";
	argv[n++] = "-C";
	argv[n++] = (char *)repo;
	va_start(ap, out);
	while (n < 31 && (argv[n] = va_arg(ap, char *)))
		n++;
	va_end(ap);
	argv[n] = NULL;
	return runv(argv, NULL, out, NULL, NULL, 0);
}

/* the first line of s, cut; s itself */
static char *
chomp(char *s)
{
	s[strcspn(s, "\n")] = 0;
	return s;
}

static int
sha_ok(const char *s)
{
	size_t i;

	for (i = 0; i < SHA_LEN; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return s[SHA_LEN] == 0;
}

/* the remote's tip of the branch into tip; 0, or -1 (said) */
static int
read_tip(char tip[SHA_LEN + 1])
{
	char spec[300], ref[300], *out = NULL;
	int r;

	snprintf(spec, sizeof spec, "+refs/heads/%s:refs/remotes/origin/%s", branch, branch);
	snprintf(ref, sizeof ref, "refs/remotes/origin/%s^{commit}", branch);
	if (git(NULL, "fetch", "-q", "origin", spec, (char *)NULL) != 0) {
		lh_warn("%s: cannot fetch %s", repo, branch);
		return -1;
	}
	r = git(&out, "rev-parse", "-q", "--verify", ref, (char *)NULL);
	if (r != 0 || !sha_ok(chomp(out))) {
		lh_warn("%s: cannot read %s", repo, branch);
		free(out);
		return -1;
	}
	memcpy(tip, out, SHA_LEN + 1);
	free(out);
	return 0;
}

/* The tasks whose trailer (Longhaul-Task: ID) is on the commits of a
 * range, read with one git log: a round reads the whole branch once, not
 * once an entry (a week's branch has tens of thousands of commits). */
struct landed {
	char *text;             /* git log's output, cut into lines */
	char **line;            /* "SHA ID", sorted by ID */
	size_t n;
};

static int
by_id(const void *a, const void *b)
{
	return strcmp(*(char *const *)a + SHA_LEN + 1, *(char *const *)b + SHA_LEN + 1);
}

/* l: the trailers of range (a commit, or A..B); 0, or -1 */
static int
landed_read(struct landed *l, const char *range)
{
	char *line, *save;
	size_t cap = 0;

	memset(l, 0, sizeof *l);
	if (git(&l->text, "log", "-F", "--grep=Longhaul-Task: ",
	    "--format=%H %(trailers:key=Longhaul-Task,valueonly,separator=%x20)",
	    range, "--", (char *)NULL) != 0) {
		free(l->text);
		l->text = NULL;
		return -1;
	}
	for (line = strtok_r(l->text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		if (strlen(line) <= SHA_LEN + 1 || line[SHA_LEN] != ' ')
			continue;
		if (l->n == cap)
			l->line = lh_realloc(l->line, (cap = cap * 2 + 256) * sizeof *l->line);
		l->line[l->n++] = line;
	}
	if (l->n)
		qsort(l->line, l->n, sizeof *l->line, by_id);
	return 0;
}

/* the commit of l that holds task id into found: 1 found, 0 not (of
 * two, either: a second is refused by the hook and never stacked) */
static int
landed_has(const struct landed *l, const char *id, char found[SHA_LEN + 1])
{
	size_t lo = 0, hi = l->n;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		int c = strcmp(l->line[mid] + SHA_LEN + 1, id);

		if (!c) {
			memcpy(found, l->line[mid], SHA_LEN);
			found[SHA_LEN] = 0;
			return 1;
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static void
landed_free(struct landed *l)
{
	free(l->text);
	free(l->line);
	memset(l, 0, sizeof *l);
}

/* the commit on the branch at tip that holds task id (its trailer) into
 * found: 1 found, 0 not, -1 error */
static int
landed_for(const char *id, const char *tip, char found[SHA_LEN + 1])
{
	struct landed l;
	int r;

	if (landed_read(&l, tip) < 0)
		return -1;
	r = landed_has(&l, id, found);
	landed_free(&l);
	return r;
}

/* ---- the board side ---- */

static void
paths(void)
{
	lh_path(traindir, sizeof traindir, "%s/train/%s", board.dir, name);
	lh_path(queuedir, sizeof queuedir, "%s/queue", traindir);
	lh_path(outcomedir, sizeof outcomedir, "%s/outcome", traindir);
	lh_path(statepath, sizeof statepath, "%s/state.json", traindir);
	lh_path(turndir, sizeof turndir, "%s/turns/%s", board.dir, name);
	if (lh_mkdirs(queuedir) < 0 || lh_mkdirs(outcomedir) < 0)
		lh_die_errno(LH_SYSERR, "%s", traindir);
}

/* Read the entry called e->name: 0, or -1 when it is gone or not one
 * (a malformed entry is said once and removed: nothing can land it) */
static int
entry_read(struct entry *e)
{
	char path[4400];
	json_t *j, *v;
	json_error_t err;
	const char *s;

	lh_path(path, sizeof path, "%s/%s", queuedir, e->name);
	if (!(j = json_load_file(path, 0, &err)))
		return -1;
	s = json_string_value(json_object_get(j, "id"));
	v = json_object_get(j, "token");
	if (!s || lh_id_check(s) || !json_is_integer(v) || json_integer_value(v) < 1 ||
	    !json_string_value(json_object_get(j, "commit")) ||
	    !sha_ok(json_string_value(json_object_get(j, "commit")))) {
		lh_warn("%s: not a train entry: removed", path);
		unlink(path);
		json_decref(j);
		return -1;
	}
	snprintf(e->id, sizeof e->id, "%s", s);
	e->token = (long)json_integer_value(v);
	snprintf(e->commit, sizeof e->commit, "%s", json_string_value(json_object_get(j, "commit")));
	json_decref(j);
	return 0;
}

static int
by_name(const void *a, const void *b)
{
	return strcmp(((const struct entry *)a)->name, ((const struct entry *)b)->name);
}

static int
entry_name_ok(const char *s)
{
	size_t n = strlen(s);

	return n >= 18 && n < 64 && s[16] == '-' && strspn(s, "0123456789") == 16 &&
	    strspn(s + 17, "0123456789abcdefghijklmnopqrstuvwxyz") == n - 17;
}

/* The entries of the queue, oldest first */
static struct entry *
entries(size_t *n)
{
	DIR *d;
	struct dirent *de;
	struct entry *e = NULL;
	size_t cap = 0;

	*n = 0;
	if (!(d = opendir(queuedir)))
		return NULL;
	while ((de = readdir(d))) {
		if (!entry_name_ok(de->d_name))
			continue;
		if (*n == cap)
			e = lh_realloc(e, (cap = cap * 2 + 32) * sizeof *e);
		memset(&e[*n], 0, sizeof *e);
		snprintf(e[*n].name, sizeof e[*n].name, "%.63s", de->d_name);
		(*n)++;
	}
	closedir(d);
	if (*n)
		qsort(e, *n, sizeof *e, by_name);
	return e;
}

/* Is the entry decided? Its outcome record, or NULL */
static json_t *
outcome_read(const char *entry)
{
	char path[4400];
	json_error_t err;

	lh_path(path, sizeof path, "%s/%s", outcomedir, entry);
	return json_load_file(path, 0, &err);
}

/* Decide an entry: its outcome (the first decision stands), then the
 * entry removed */
static void
decide(struct entry *e, const char *outcome, const char *commit, const char *output)
{
	char path[4400], iso[32], *text;
	json_t *j;

	lh_iso_time(lh_now(), iso, sizeof iso);
	j = json_pack("{s:s, s:s, s:I, s:s, s:s, s:o}", "outcome", outcome, "id", e->id,
	    "token", (json_int_t)e->token, "queued", e->commit, "decided", iso,
	    "by", lh_whoami());
	if (commit)
		json_object_set_new(j, "commit", json_string(commit));
	if (output) {
		size_t n = strlen(output);

		/* the gate's output as text the board takes: cut, valid UTF-8 */
		if (n > 48000)
			n = 48000;
		while (n && !lh_utf8_valid(output, n))
			n--;
		json_object_set_new(j, "output", json_stringn(output, n));
	}
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	lh_path(path, sizeof path, "%s/%s", outcomedir, e->name);
	lh_create_exclusive(&board, path, text);
	free(text);
	lh_path(path, sizeof path, "%s/%s", queuedir, e->name);
	unlink(path);
	lh_board_ring(&board);
	fprintf(stderr, "land-train: %s: %s%s%s\n", e->id, outcome, commit ? " " : "", commit ? commit : "");
}

/* state.json: who drives, on which base, what is tested (by rename) */
static void
state_write(const char *what, const char *base, struct entry *stack, size_t n, size_t upto)
{
	char tmp[4400], iso[32], *text;
	json_t *j, *a;
	size_t i;
	FILE *f;

	lh_iso_time(lh_now(), iso, sizeof iso);
	a = json_array();
	for (i = 0; i < n; i++)
		json_array_append_new(a, json_pack("{s:s, s:I, s:s, s:s}", "id", stack[i].id,
		    "token", (json_int_t)stack[i].token, "commit", stack[i].commit,
		    "stacked", stack[i].stacked));
	j = json_pack("{s:s, s:s, s:s, s:o, s:o, s:I, s:I}", "state", what, "since", iso,
	    "base", base ? base : "", "driver", lh_whoami(), "stack", a,
	    "testing", (json_int_t)upto, "gate_runs", (json_int_t)gate_runs);
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	lh_path(tmp, sizeof tmp, "%s/.state.%ld", traindir, (long)getpid());
	if (!(f = fopen(tmp, "w")) || fprintf(f, "%s\n", text) < 0 || fclose(f) != 0 ||
	    rename(tmp, statepath) != 0) {
		lh_warn_errno("%s", statepath);
		unlink(tmp);
	}
	free(text);
}

/* the task's claim is still this token? 1 yes, 0 no, -1 cannot read */
static int
token_current(const struct entry *e)
{
	json_t *rec;
	int v, st;
	const char *state;
	long token;

	if (!(rec = lh_task_read(&board, e->id, &v, &st, 0)))
		return st == LH_NOTFOUND ? 0 : -1;
	state = json_string_value(json_object_get(rec, "state"));
	token = (long)json_integer_value(json_object_get(json_object_get(rec, "lease"), "token"));
	v = state && !strcmp(state, "claimed") && token == e->token;
	json_decref(rec);
	return v;
}

/* have the entry's commit here (fetched from its queue ref when not),
 * and it names its task: 1, or 0 */
static int
commit_ok(const struct entry *e)
{
	char spec[300], obj[64], *out = NULL;
	char want[LH_ID_MAX + 64];
	int r;

	snprintf(obj, sizeof obj, "%s^{commit}", e->commit);
	if (git(NULL, "cat-file", "-e", obj, (char *)NULL) != 0) {
		snprintf(spec, sizeof spec, "refs/longhaul/queue/%s-%ld", e->id, e->token);
		git(NULL, "fetch", "-q", "origin", spec, (char *)NULL);
		if (git(NULL, "cat-file", "-e", obj, (char *)NULL) != 0)
			return 0;
	}
	r = git(&out, "show", "-s",
	    "--format=%(trailers:key=Longhaul-Task,valueonly,separator=%x20) %(trailers:key=Longhaul-Token,valueonly,separator=%x20)",
	    e->commit, (char *)NULL);
	snprintf(want, sizeof want, "%s %ld", e->id, e->token);
	r = r == 0 && !strcmp(chomp(out), want);
	free(out);
	return r;
}

/* Stack e's commit on top: e->stacked. 0, 1 conflict (the text in
 * *why), 2 its change is already there, -1 error */
static int
stack_one(const char *top, struct entry *e, char **why)
{
	char *out = NULL, *msg = NULL, *who = NULL, tree[SHA_LEN + 1], toptree[SHA_LEN + 1];
	char obj[64], an[512], ae[512], ad[128], *env[4];
	char *argv[] = {"git", "-C", (char *)repo, "commit-tree", tree, "-p", (char *)top, NULL};
	int r;

	*why = NULL;
	snprintf(obj, sizeof obj, "%s^", e->commit);
	if (git(&out, "rev-parse", "-q", "--verify", obj, (char *)NULL) == 0 &&
	    !strcmp(chomp(out), top)) {
		free(out);
		memcpy(e->stacked, e->commit, SHA_LEN + 1);
		return 0;
	}
	free(out);
	out = NULL;
	/* the worker's rebase: a three-way merge of the commit onto top, its
	 * parent (an older tip, an ancestor of top) the base */
	r = git(&out, "merge-tree", "--write-tree", "--name-only", top, e->commit, (char *)NULL);
	if (r == 1) {
		*why = out;
		return 1;
	}
	if (r != 0 || !sha_ok(chomp(out))) {
		free(out);
		return -1;
	}
	memcpy(tree, out, SHA_LEN + 1);
	free(out);
	snprintf(obj, sizeof obj, "%s^{tree}", top);
	out = NULL;
	if (git(&out, "rev-parse", obj, (char *)NULL) != 0 || !sha_ok(chomp(out))) {
		free(out);
		return -1;
	}
	memcpy(toptree, out, SHA_LEN + 1);
	free(out);
	if (!strcmp(tree, toptree))
		return 2;
	if (git(&msg, "show", "-s", "--format=%B", e->commit, (char *)NULL) != 0 ||
	    git(&who, "show", "-s", "--format=%an%n%ae%n%ad", "--date=raw", e->commit, (char *)NULL) != 0) {
		free(msg);
		free(who);
		return -1;
	}
	{
		char *p = who, *a = strsep(&p, "\n"), *m = p ? strsep(&p, "\n") : NULL,
		    *d = p ? strsep(&p, "\n") : NULL;

		snprintf(an, sizeof an, "GIT_AUTHOR_NAME=%s", a ? a : "");
		snprintf(ae, sizeof ae, "GIT_AUTHOR_EMAIL=%s", m ? m : "");
		snprintf(ad, sizeof ad, "GIT_AUTHOR_DATE=%s", d ? d : "");
	}
	env[0] = an, env[1] = ae, env[2] = ad, env[3] = NULL;
	out = NULL;
	r = runv(argv, msg, &out, NULL, env, 0);
	free(msg);
	free(who);
	if (r != 0 || !sha_ok(chomp(out))) {
		free(out);
		return -1;
	}
	memcpy(e->stacked, out, SHA_LEN + 1);
	free(out);
	return 0;
}

/* ---- the host's train directory ----
 *
 * A driver stacks commits in a repository and checks stacks out in gate
 * trees. Made afresh by each driver, the trees cost a checkout of the
 * whole project each, every round (the turn passes at every round). With
 * -t, the drivers of one host share one repository and one set of trees,
 * POOL = DIR/HOST-NAME (repo.git, tree, tree-2, ...), kept between them.
 * What holds:
 * - at most one driver uses the pool: its user holds an exclusive flock
 *   on POOL/lock from before it looks at the pool until it gives the
 *   turn back; the descriptor is inherited by every process it starts
 *   (no close-on-exec), git and its children, timeout, sandbox-run, so
 *   the kernel lets the lock go only when the driver and every one of
 *   them is gone, whenever and however it died; a driver that cannot
 *   have it at once (a driver whose turn lapsed, still alive, or what it
 *   left running) uses its own repository and trees (-r, -d), as
 *   without -t, and says so once;
 * - the one kind of process of an earlier user that may outlive the
 *   lock is what runs in a sandbox: sandbox-run closes every descriptor
 *   above 2 before it starts bwrap, but only after it has entered the
 *   tree, so every such process has its cwd in the tree from its start,
 *   and the next user kills, before it checks a tree out, every process
 *   whose cwd, root or an open file is in POOL;
 * - a gate leaves nothing the next stack is made of: the git directory
 *   of its tree is read-only in its sandbox (LONGHAUL_SANDBOX_GIT=ro),
 *   and the tree is cleaned, checked out with -f and cleaned again
 *   before every gate (cleaned first: git reads the attributes of a path
 *   the index lacks from the work tree, and a .gitattributes the last
 *   gate left would re-encode what the checkout writes, t/0715), and
 *   of the FIFOs and sockets git clean leaves (the next gate would wait
 *   on one and fail an innocent stack, t/0716);
 * - nothing a killed git left blocks the next driver: once the pool is
 *   ours and cleared, every git lock file in its repository is a dead
 *   process's and is removed, and so is a tree's registration still
 *   locked by its worktree add (t/1612).
 * The repository borrows the objects of the -r one's alternates and has
 * its origin; the commits it stacks are pushed from it. */

/* is path dir or under it? */
static int
under(const char *path, const char *dir)
{
	size_t n = strlen(dir);

	return !strncmp(path, dir, n) && (path[n] == 0 || path[n] == '/');
}

/* is path in the pool's repository or trees (tree, tree-2, ...)? Not
 * its lock: a driver that tries for the pool has it open a moment */
static int
in_pool(const char *path)
{
	size_t n = strlen(pool_tree);

	return under(path, pool_repo) ||
	    (!strncmp(path, pool_tree, n) && (path[n] == 0 || path[n] == '/' || path[n] == '-'));
}

/* a process whose cwd, root or an open file is in the pool? */
static int
holds(const char *pid)
{
	char path[300], link[4200];
	const char *what[] = {"cwd", "root"};
	ssize_t n;
	size_t i;
	DIR *d;
	struct dirent *de;
	int hit = 0;

	for (i = 0; i < 2; i++) {
		snprintf(path, sizeof path, "/proc/%s/%s", pid, what[i]);
		if ((n = readlink(path, link, sizeof link - 1)) > 0) {
			link[n] = 0;
			if (in_pool(link))
				return 1;
		}
	}
	snprintf(path, sizeof path, "/proc/%s/fd", pid);
	if (!(d = opendir(path)))
		return 0;
	while (!hit && (de = readdir(d))) {
		char fd[600];

		if (de->d_name[0] == '.')
			continue;
		snprintf(fd, sizeof fd, "%s/%s", path, de->d_name);
		if ((n = readlink(fd, link, sizeof link - 1)) > 0) {
			link[n] = 0;
			hit = in_pool(link);
		}
	}
	closedir(d);
	return hit;
}

/* kill every process in the pool but us, and wait until none is left:
 * 0, or -1 (said) */
static int
clear_pool(void)
{
	int round, left;

	for (round = 0; round < 100; round++) {
		DIR *d = opendir("/proc");
		struct dirent *de;

		if (!d)
			return -1;
		left = 0;
		while ((de = readdir(d))) {
			long pid;
			char *end;

			pid = strtol(de->d_name, &end, 10);
			if (*end || pid <= 1 || pid == (long)getpid() || !holds(de->d_name))
				continue;
			kill((pid_t)pid, SIGKILL);
			left++;
		}
		closedir(d);
		if (!left)
			return 0;
		if (!round)
			lh_warn("%s: killing what an earlier driver left running there", pool);
		poll(NULL, 0, 50);
	}
	lh_warn("%s: processes there will not die", pool);
	return -1;
}

/* git's lock files under dir (of the pool's repository: not its
 * objects): once the pool is ours and cleared, they are a killed
 * process's, and each would fail every later fetch or checkout of the
 * host's drivers */
static void
stale_locks(const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char path[4600];

	if (depth > 8 || !(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name);

		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path ||
		    lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (depth || strcmp(de->d_name, "objects"))
				stale_locks(path, depth + 1);
		} else if (n > 5 && !strcmp(de->d_name + n - 5, ".lock")) {
			if (unlink(path) == 0)
				lh_warn("%s: left by a killed git: removed", path);
		}
	}
	closedir(d);
}

/* A worktree add writes worktrees/NAME/locked first and removes it
 * last; nobody locks the pool's trees. A registration still locked is
 * an add that was killed: its HEAD may name no object (every fetch
 * then fails its connectivity check) and its path stays refused. It is
 * removed; its tree, whose .git names it no more, is made again. */
static void
half_made_trees(void)
{
	char dir[4200], path[4600];
	DIR *d;
	struct dirent *de;

	lh_path(dir, sizeof dir, "%s/worktrees", pool_repo);
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		char *rm[] = {"rm", "-rf", path, NULL};

		if (de->d_name[0] == '.')
			continue;
		lh_path(path, sizeof path, "%s/%s/locked", dir, de->d_name);
		if (access(path, F_OK) != 0)
			continue;
		lh_path(path, sizeof path, "%s/%s", dir, de->d_name);
		lh_warn("%s: left half made by a killed git: removed", path);
		runv(rm, NULL, NULL, NULL, NULL, 0);
	}
	closedir(d);
}

/* POOL/repo.git made, its origin and alternates the -r repository's */
static int
pool_repo_ready(void)
{
	char path[4700], *url = NULL, *cur = NULL;
	struct stat st;

	lh_path(path, sizeof path, "%s/objects", pool_repo);
	if (stat(path, &st) != 0) {
		char tmp[4600];
		char *rm[] = {"rm", "-rf", tmp, NULL};

		lh_path(tmp, sizeof tmp, "%s.new", pool_repo);
		runv(rm, NULL, NULL, NULL, NULL, 0);
		{
			char *init[] = {"git", "init", "-q", "--bare", tmp, NULL};

			if (runv(init, NULL, NULL, NULL, NULL, 0) != 0)
				return -1;
		}
		{
			char *cf[] = {"git", "-C", tmp, "config", "gc.auto", "0", NULL};
			char *cm[] = {"git", "-C", tmp, "config", "maintenance.auto", "false", NULL};
			char *cn[] = {"git", "-C", tmp, "config", "user.name", "longhaul train", NULL};
			char *ce[] = {"git", "-C", tmp, "config", "user.email", "train@longhaul.invalid", NULL};

			if (runv(cf, NULL, NULL, NULL, NULL, 0) || runv(cm, NULL, NULL, NULL, NULL, 0) ||
			    runv(cn, NULL, NULL, NULL, NULL, 0) || runv(ce, NULL, NULL, NULL, NULL, 0))
				return -1;
		}
		if (rename(tmp, pool_repo) != 0) {
			runv(rm, NULL, NULL, NULL, NULL, 0);
			return -1;
		}
	}
	/* the objects it borrows: what the -r repository borrows, every line
	 * (not the -r repository's own objects, which its agents write) */
	{
		char own[4700], *w, *h;

		lh_path(own, sizeof own, "%s/objects/info/alternates", own_repo);
		lh_path(path, sizeof path, "%s/objects/info/alternates", pool_repo);
		w = lh_read_file(own, NULL);
		h = lh_read_file(path, NULL);
		if (!w || !*w)
			unlink(path);
		else if (!h || strcmp(h, w)) {
			char tmp[4800];
			FILE *f;

			lh_path(tmp, sizeof tmp, "%s.%ld", path, (long)getpid());
			if (!(f = fopen(tmp, "w")) || fputs(w, f) < 0 || fclose(f) != 0 ||
			    rename(tmp, path) != 0) {
				unlink(tmp);
				free(w);
				free(h);
				return -1;
			}
		}
		free(w);
		free(h);
	}
	/* its origin the -r one's */
	{
		char *gu[] = {"git", "-C", (char *)own_repo, "config", "--get", "remote.origin.url", NULL};
		char *gp[] = {"git", "-C", pool_repo, "config", "--get", "remote.origin.url", NULL};
		int r = 0;

		if (runv(gu, NULL, &url, NULL, NULL, 0) != 0 || !*chomp(url)) {
			free(url);
			return -1;
		}
		runv(gp, NULL, &cur, NULL, NULL, 0);
		if (!cur || strcmp(chomp(cur), url)) {
			char *su[] = {"git", "-C", pool_repo, "config", "remote.origin.url", url, NULL};

			r = runv(su, NULL, NULL, NULL, NULL, 0);
		}
		free(url);
		free(cur);
		if (r != 0)
			return -1;
	}
	return 0;
}

/* the pool ours, when no other process of this host has it: repo and
 * treedir its own, and nothing left running in it */
static void
pool_take(void)
{
	int fd;
	char path[4600];

	if (!pooldir || pool_fd >= 0)
		return;
	if (lh_mkdirs(pool) < 0)
		return;
	lh_path(path, sizeof path, "%s/lock", pool);
	/* inherited by all we start, on purpose (see above) */
	if ((fd = open(path, O_RDWR | O_CREAT, 0600)) < 0)
		return;
	if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
		static int said;

		if (!said++)
			lh_warn("%s: in use by another process of this host: this driver's own trees instead", pool);
		close(fd);
		return;
	}
	if (clear_pool() < 0) {
		lh_warn("%s: the host's train directory is not usable: %s's own trees instead", pool, repo);
		close(fd);
		return;
	}
	half_made_trees();
	stale_locks(pool_repo, 0);
	if (pool_repo_ready() < 0) {
		lh_warn("%s: the host's train directory is not usable: %s's own trees instead", pool, repo);
		close(fd);
		return;
	}
	pool_fd = fd;
	repo = pool_repo;
	snprintf(treedir, sizeof treedir, "%s", pool_tree);
}

static void
pool_give(void)
{
	if (pool_fd < 0)
		return;
	close(pool_fd);
	pool_fd = -1;
	repo = own_repo;
	snprintf(treedir, sizeof treedir, "%s", own_treedir);
}

/* ---- the turn ---- */

static void
touch_turn(void)
{
	if (held[0])
		lh_turn_touch(held);
}

static void
give_turn(void)
{
	pool_give();
	if (held[0])
		lh_turn_give(held);
	held[0] = 0;
}

/* ---- the gate ---- */

/* Remove from the tree at dir what git clean leaves: it takes only
 * files, links and directories, and a FIFO or socket a gate made would
 * be in the next stack's tree (a gate that reads it waits for good, and
 * its stack is red), or, named .gitattributes, hold the checkout until
 * its time is up. 0, or -1 when one cannot be removed. */
static int
odd_files(const char *dir, int depth)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char path[4600];
	int r = 0;

	if (depth > 256 || !(d = opendir(dir)))
		return depth > 256 ? -1 : 0;
	while ((de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, ".."))
			continue;
		if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path) {
			r = -1;
			continue;
		}
		if (lstat(path, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			if (odd_files(path, depth + 1) < 0)
				r = -1;
		} else if (!S_ISREG(st.st_mode) && !S_ISLNK(st.st_mode) && unlink(path) != 0)
			r = -1;
	}
	closedir(d);
	return r;
}

/* The driver's tree at dir checked out at sha (made when missing or
 * broken), every git bounded in time (a tree a gate left unreadable is
 * made again); 0, or -1 said. What a gate left in the tree is removed
 * before the checkout, not only after: git takes the attributes of a
 * path the index does not hold from the work tree, so an untracked
 * .gitattributes would re-encode (working-tree-encoding, eol, ident)
 * every file the checkout writes; FIFOs and sockets, which git clean
 * leaves, are removed first (odd_files). git runs there only when dir/.git is
 * a file (a worktree's): a tree without one would have git look for a
 * repository above it. A tree that cannot be removed is an error, never
 * a tree to run the gate in. */
static int
tree_at(const char *dir, const char *sha)
{
	struct stat st;
	char secs[32], dotgit[4200];
	char *rm[] = {"rm", "-rf", (char *)dir, NULL};

	snprintf(secs, sizeof secs, "%g", git_timeout);
	lh_path(dotgit, sizeof dotgit, "%s/.git", dir);
	if (lstat(dir, &st) == 0) {
		char *co[] = {"timeout", "-k", "5", secs, "git", "-C", (char *)dir, "checkout", "-q",
		    "--detach", "-f", (char *)sha, NULL};
		char *cl[] = {"timeout", "-k", "5", secs, "git", "-C", (char *)dir, "clean", "-qffdx", NULL};

		if (lstat(dotgit, &st) != 0 || !S_ISREG(st.st_mode) || odd_files(dir, 0) < 0 ||
		    runv(cl, NULL, NULL, NULL, NULL, 0) != 0 || runv(co, NULL, NULL, NULL, NULL, 0) != 0 ||
		    runv(cl, NULL, NULL, NULL, NULL, 0) != 0) {
			runv(rm, NULL, NULL, NULL, NULL, 0);
			if (lstat(dir, &st) == 0) {
				lh_warn("%s: cannot remove it to check %s out afresh", dir, sha);
				return -1;
			}
			git(NULL, "worktree", "prune", (char *)NULL);
		}
	}
	if (lstat(dir, &st) != 0) {
		/* -f twice: a registration an add killed half way left
		 * locked ("initializing") is this path's, and nobody's */
		char *add[] = {"timeout", "-k", "5", secs, "git", "-C", (char *)repo, "worktree", "add",
		    "-q", "--detach", "-f", "-f", (char *)dir, (char *)sha, NULL};

		if (runv(add, NULL, NULL, NULL, NULL, 0) != 0) {
			lh_warn("%s: cannot check out %s", dir, sha);
			runv(rm, NULL, NULL, NULL, NULL, 0);
			return -1;
		}
	}
	return 0;
}

/* Run the gate in the driver's tree (checked out by tree_at); 0 green,
 * 1 red (the feedback in *output), -1 error */
static int
gate(char **output)
{
	char log[4200];
	int i, s;

	*output = NULL;
	lh_path(log, sizeof log, "%s.out", treedir);
	for (i = 0; i < ngates; i++) {
		char secs[32];
		char *argv[] = {"timeout", "-k", "5", secs, "sandbox-run", "-d", treedir,
		    "-e", "TERM=dumb", "bash", "-c", (char *)gates[i], NULL};
		pid_t pid;
		int fd, wst;
		double last = lh_monotonic();

		snprintf(secs, sizeof secs, "%g", gate_timeout);
		unlink(log);
		/* the gate can take minutes: the turn is touched meanwhile */
		if ((pid = fork()) < 0)
			return -1;
		if (pid == 0) {
			sigprocmask(SIG_UNBLOCK, &landing_signals, NULL);
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			/* the tree's git directory read-only in the sandbox: the
			 * next stack is checked out there from its index and
			 * objects, which the code under test must not write */
			setenv("LONGHAUL_SANDBOX_GIT", "ro", 1);
			if ((fd = open("/dev/null", O_RDONLY)) >= 0)
				dup2(fd, 0);
			if ((fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644)) >= 0) {
				dup2(fd, 1);
				dup2(fd, 2);
			}
			execvp(argv[0], argv);
			_exit(127);
		}
		for (;;) {
			pid_t w = waitpid(pid, &wst, WNOHANG);

			if (w == pid)
				break;
			if (w < 0 && errno != EINTR)
				return -1;
			if (lh_monotonic() - last > lease / 3) {
				touch_turn();
				last = lh_monotonic();
			}
			poll(NULL, 0, 100);
		}
		s = WIFEXITED(wst) ? WEXITSTATUS(wst) : 128 + WTERMSIG(wst);
		if (s != 0) {
			size_t len = 0;
			char *text = lh_read_file(log, &len), *fb;
			size_t cap;

			if (!text)
				text = lh_strdup("");
			cap = strlen(text) + strlen(gates[i]) + 512;
			fb = lh_malloc(cap);
			if (len > 8000)
				snprintf(fb, cap, "The merge train stacked your commit on %s with others "
				    "and ran the gate `%s` on it, and it failed (status %d).\n"
				    "Its output (head and tail):\n%.3000s\n[...]\n%s\n"
				    "Fix it, run the command yourself, then submit again.\n",
				    branch, gates[i], s, text, text + len - 5000);
			else
				snprintf(fb, cap, "The merge train stacked your commit on %s with others "
				    "and ran the gate `%s` on it, and it failed (status %d).\n"
				    "Its output:\n%s\n"
				    "Fix it, run the command yourself, then submit again.\n",
				    branch, gates[i], s, text);
			free(text);
			*output = fb;
			return 1;
		}
	}
	return 0;
}

/* Run the gate on the k commits shas at once, each in a tree of its own
 * (the driver's tree, then TREE-2, TREE-3...), each in a child process;
 * the turn is touched meanwhile. results[i]: 0 green, 1 red (its
 * feedback in outputs[i]), -1 error. */
static void
gate_stacks(char *const shas[], int k, int results[], char *outputs[])
{
	char base[4096], fb[4200];
	pid_t pids[64];
	int i, st;
	double last = lh_monotonic();

	double t0 = lh_monotonic();

	snprintf(base, sizeof base, "%s", treedir);
	gate_runs += k;
	/* the trees one after another, here: git's worktree add and prune
	 * beside each other in one repository can fail (an add found its
	 * new entry gone); the gates then run at the same time */
	git(NULL, "worktree", "prune", (char *)NULL);
	for (i = 0; i < k; i++) {
		char dir[4200];

		if (i > 0)
			lh_path(dir, sizeof dir, "%s-%d", base, i + 1);
		else
			lh_path(dir, sizeof dir, "%s", base);
		pids[i] = tree_at(dir, shas[i]) < 0 ? -2 : 0;
	}
	t_trees += lh_monotonic() - t0;
	for (i = 0; i < k; i++) {
		outputs[i] = NULL;
		if (pids[i] == -2) {
			results[i] = -1;
			pids[i] = -1;
			continue;
		}
		if ((pids[i] = fork()) < 0) {
			results[i] = -1;
			continue;
		}
		if (pids[i] == 0) {
			char *out;
			int r;
			FILE *f;

			held[0] = 0;     /* the parent holds the turn */
			prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (i > 0)
				lh_path(treedir, sizeof treedir, "%s-%d", base, i + 1);
			lh_path(fb, sizeof fb, "%s.feedback", treedir);
			r = gate(&out);
			if (r == 1 && (!(f = fopen(fb, "w")) || fputs(out, f) < 0 || fclose(f) != 0))
				r = -1;
			_exit(r == 0 ? 0 : r == 1 ? 1 : 2);
		}
	}
	for (i = 0; i < k; i++) {
		if (pids[i] < 0)
			continue;
		for (;;) {
			pid_t w = waitpid(pids[i], &st, WNOHANG);

			if (w == pids[i])
				break;
			if (w < 0 && errno != EINTR) {
				st = 2 << 8;
				break;
			}
			if (lh_monotonic() - last > lease / 3) {
				touch_turn();
				last = lh_monotonic();
			}
			poll(NULL, 0, 100);
		}
		results[i] = WIFEXITED(st) && WEXITSTATUS(st) < 2 ? WEXITSTATUS(st) : -1;
		if (results[i] == 1) {
			if (i > 0)
				lh_path(fb, sizeof fb, "%s-%d.feedback", base, i + 1);
			else
				lh_path(fb, sizeof fb, "%s.feedback", base);
			if (!(outputs[i] = lh_read_file(fb, NULL)))
				outputs[i] = lh_strdup("(the gate's output is lost)\n");
		}
	}
}

/* ---- driving ---- */

/* push sha onto the branch (a fast-forward of the tip the stack was
 * built on: it lands there or not at all); signals held meanwhile */
static int
push(const char *sha)
{
	char spec[300];
	char *argv[] = {"git", "-C", (char *)repo, "push", "-q", "origin", spec, NULL};

	snprintf(spec, sizeof spec, "%s:refs/heads/%s", sha, branch);
	return runv(argv, NULL, NULL, NULL, NULL, 1);
}

/* Outcomes that no worker read (its worker died first) stay in
 * outcome/: once a driver process, those older than a day by the file
 * server's clock are removed. A waiting worker reads its outcome within
 * a second of its writing; one stopped for a day and then finding none
 * exits 6, and its worker reads the branch before it lets the task go
 * (longhaul-worker(1)), so nothing is lost. */
static void
outcomes_sweep(void)
{
	static int swept;
	double now = lh_board_clock(&board);
	struct dirent *de;
	struct stat st;
	DIR *d;

	if (swept++ || now < 0 || !(d = opendir(outcomedir)))
		return;
	while ((de = readdir(d))) {
		char path[4400];

		if (!entry_name_ok(de->d_name))
			continue;
		lh_path(path, sizeof path, "%s/%s", outcomedir, de->d_name);
		if (lstat(path, &st) == 0 && S_ISREG(st.st_mode) && now - (double)st.st_mtime > 86400)
			unlink(path);
	}
	closedir(d);
}

/* A short queue that is still growing is given a moment to form a
 * batch: a round costs a gate's time whatever its size, so a round of
 * the first two entries of a burst holds the rest for a whole gate. The
 * driver waits while entries keep coming, until a second passes with
 * none, the queue holds max_batch, or batch_wait seconds have passed. */
static void
batch_form(void)
{
	struct entry *e;
	size_t n, last;
	double start = lh_monotonic(), quiet = start, touched = start;

	e = entries(&last);
	free(e);
	while (last > 0 && last < (size_t)max_batch && lh_monotonic() - start < batch_wait) {
		/* the turn stays ours meanwhile, however short its lease */
		if (lh_monotonic() - touched > lease / 3) {
			touch_turn();
			touched = lh_monotonic();
		}
		lh_wait_bell(&board, 0.25);
		e = entries(&n);
		free(e);
		if (n != last) {
			last = n;
			quiet = lh_monotonic();
		} else if (lh_monotonic() - quiet >= 1)
			break;
	}
}

/* One round of the train: up to max_batch entries, oldest first.
 * 1 when something was decided or landed, 0 when the queue is empty, -1
 * on an error (said) */
static int
round_once(void)
{
	char tip[SHA_LEN + 1], found[SHA_LEN + 1], newtip[SHA_LEN + 1];
	struct entry *all, *stack;
	size_t n, i, nstack = 0, npending = 0, good, culprit = (size_t)-1;
	char *red = NULL;
	int progress = 0, r;
	json_t *o;
	struct landed on_tip;
	double t0 = lh_monotonic(), t1;
	size_t nlanded = 0, nruns = (size_t)gate_runs;

	touch_turn();
	t_stack = t_trees = 0;
	outcomes_sweep();
	batch_form();
	if (read_tip(tip) < 0)
		return -1;
	if (landed_read(&on_tip, tip) < 0) {
		lh_warn("%s: cannot read %s's history", repo, branch);
		return -1;
	}
	all = entries(&n);
	stack = lh_malloc((n ? n : 1) * sizeof *stack);
	for (i = 0; i < n && npending < (size_t)max_batch; i++) {
		struct entry *e = &all[i];
		size_t k;

		if (entry_read(e) < 0)
			continue;
		if ((o = outcome_read(e->name))) {
			/* decided by a driver that died before removing it */
			char path[4400];

			json_decref(o);
			lh_path(path, sizeof path, "%s/%s", queuedir, e->name);
			unlink(path);
			continue;
		}
		if (landed_has(&on_tip, e->id, found)) {
			decide(e, "landed", found, NULL);
			progress = 1;
			continue;
		}
		/* a second entry of a task already in the stack waits */
		for (k = 0; k < npending; k++)
			if (!strcmp(stack[k].id, e->id))
				break;
		if (k < npending)
			continue;
		if ((r = token_current(e)) < 0)
			goto fail;
		if (!r) {
			decide(e, "stale", NULL, "Its token is no longer the task's claim.");
			progress = 1;
			continue;
		}
		if (!commit_ok(e)) {
			decide(e, "missing", NULL, "Its commit cannot be read, or names another task.");
			progress = 1;
			continue;
		}
		stack[npending++] = *e;
	}
	/* stack them, each on the one below */
	{
		char top[SHA_LEN + 1], *why;

		memcpy(top, tip, sizeof top);
		for (i = 0; i < npending; i++) {
			struct entry *e = &stack[i];

			r = stack_one(top, e, &why);
			if (r == 1 && i > 0 && strcmp(top, tip)) {
				/* it conflicts with an entry below it, not with
				 * the branch: it waits for that one's outcome (its
				 * agent resolves against what landed, not against
				 * what may not land) */
				struct entry alone = *e;
				char *why2;
				int r2 = stack_one(tip, &alone, &why2);

				free(why2);
				if (r2 == 0) {
					free(why);
					continue;
				}
			}
			if (r == 1) {
				char *fb = lh_malloc(strlen(why) + 512);

				sprintf(fb, "The merge train could not stack your commit on %s "
				    "with the commits queued before it: it conflicts in\n%s\n",
				    branch, strchr(why, '\n') ? strchr(why, '\n') + 1 : why);
				decide(e, "conflict", NULL, fb);
				free(fb);
				free(why);
				progress = 1;
				continue;
			}
			if (r == 2) {
				decide(e, "empty", NULL, "Its change is already on the branch.");
				progress = 1;
				continue;
			}
			if (r < 0) {
				lh_warn("%s: cannot stack %s on %s", e->id, e->commit, top);
				goto fail;
			}
			memcpy(top, e->stacked, sizeof top);
			stack[nstack++] = *e;
		}
	}
	free(all);
	all = NULL;
	landed_free(&on_tip);
	t_stack = lh_monotonic() - t0;
	if (!nstack) {
		free(stack);
		return progress;
	}
	/* the gate on the top and, with parallel > 1, on prefixes spread
	 * below it at the same time (speculation: a red top needs no second
	 * wait to know where to look); then bisect: prefix lo passes, hi
	 * fails, up to parallel prefixes between them tested at once (a red
	 * stack stays red with more on top: the search is monotone) */
	state_write("testing", tip, stack, nstack, nstack);
	good = 0;
	{
		size_t k = nstack < (size_t)parallel ? nstack : (size_t)parallel, j, at[64];
		char *shas[64], *outs[64];
		int res[64], err = 0, anyred = 0;
		size_t lo = 0, hi = nstack;

		for (j = 0; j < k; j++) {
			at[j] = (j + 1) * nstack / k;
			shas[j] = stack[at[j] - 1].stacked;
		}
		gate_stacks(shas, (int)k, res, outs);
		for (j = 0; j < k; j++)
			if (res[j] < 0)
				err = 1;
		for (j = 0; !err && j < k; j++) {
			if (res[j] == 0)
				lo = at[j];
			else {
				hi = at[j];
				red = outs[j];
				outs[j] = NULL;
				anyred = 1;
				break;
			}
		}
		for (j = 0; j < k; j++)
			free(outs[j]);
		if (err)
			goto fail;
		r = anyred;
		if (!anyred)
			good = nstack;
		else
			good = lo, culprit = hi;    /* narrowed below */
	}
	if (r != 0) {
		size_t lo = good, hi = culprit;

		while (hi - lo > 1) {
			size_t span = hi - lo - 1, k = span < (size_t)parallel ? span : (size_t)parallel, j;
			size_t at[64];
			char *shas[64], *outs[64];
			int res[64], err = 0;

			for (j = 0; j < k; j++) {
				at[j] = lo + 1 + (j + 1) * (span + 1) / (k + 1) - 1;
				if (j && at[j] <= at[j - 1])
					at[j] = at[j - 1] + 1;
				shas[j] = stack[at[j] - 1].stacked;
			}
			touch_turn();
			state_write("bisecting", tip, stack, nstack, at[0]);
			gate_stacks(shas, (int)k, res, outs);
			for (j = 0; j < k; j++)
				if (res[j] < 0)
					err = 1;
			/* the last green below the first red */
			for (j = 0; !err && j < k; j++) {
				if (res[j] == 0 && at[j] > lo && at[j] < hi)
					lo = at[j];
				else if (res[j] == 1 && at[j] < hi) {
					hi = at[j];
					free(red);
					red = outs[j];
					outs[j] = NULL;
					break;
				}
			}
			for (j = 0; j < k; j++)
				free(outs[j]);
			if (err)
				goto fail;
		}
		good = lo;
		culprit = hi - 1;
	}
	if (good > 0) {
		state_write("pushing", tip, stack, good, good);
		/* from the push to the outcomes, a signal waits */
		sigprocmask(SIG_BLOCK, &landing_signals, NULL);
		push(stack[good - 1].stacked);
		/* whatever the push said, the branch says what landed: the
		 * commits it gained since the tip the stack was built on (no
		 * entry stacked was on that tip) */
		{
			struct landed gained;
			char range[2 * SHA_LEN + 4];

			if (read_tip(newtip) < 0) {
				sigprocmask(SIG_UNBLOCK, &landing_signals, NULL);
				goto fail;
			}
			snprintf(range, sizeof range, "%s..%s", tip, newtip);
			if (landed_read(&gained, range) < 0) {
				sigprocmask(SIG_UNBLOCK, &landing_signals, NULL);
				lh_warn("%s: cannot read %s's history", repo, branch);
				goto fail;
			}
			for (i = 0; i < good; i++)
				if (landed_has(&gained, stack[i].id, found)) {
					decide(&stack[i], "landed", found, NULL);
					progress = 1;
					nlanded++;
				} else
					culprit = (size_t)-1;   /* judged on a stack that did not land */
			landed_free(&gained);
		}
		sigprocmask(SIG_UNBLOCK, &landing_signals, NULL);
	}
	if (culprit != (size_t)-1) {
		decide(&stack[culprit], "gate failed", NULL, red);
		progress = 1;
	}
	t1 = lh_monotonic();
	if (verbose)
		fprintf(stderr, "land-train: round: %zu stacked on %.12s, %ld gate runs, %zu landed%s; "
		    "%.1f s (stacking %.1f s, trees %.1f s)\n", nstack, tip, gate_runs - (long)nruns,
		    nlanded, culprit != (size_t)-1 ? ", 1 gate failed" : "", t1 - t0, t_stack, t_trees);
	free(red);
	free(stack);
	state_write("idle", tip, NULL, 0, 0);
	return progress ? 1 : -1;
fail:
	landed_free(&on_tip);
	free(red);
	free(all);
	free(stack);
	state_write("idle", tip, NULL, 0, 0);
	return -1;
}

/* ---- waiting for the turn ---- */

static pid_t taker;
static int taker_fd = -1;

/* start a child that waits for the turn for us; it writes the admitted
 * entry's path to a pipe */
static int
take_start(void)
{
	int p[2];
	pid_t owner = getpid();

	if (pipe(p) < 0)
		return -1;
	if ((taker = fork()) < 0)
		return -1;
	if (taker == 0) {
		char path[4600];
		int r;

		close(p[0]);
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		if (getppid() != owner)
			_exit(1);
		r = lh_turn_take_for(turndir, 1, lease, 0, (long)getpid(), (long)owner,
		    path, sizeof path);
		if (r == 0 && write(p[1], path, strlen(path)) != (ssize_t)strlen(path))
			_exit(1);
		_exit(r == 0 ? 0 : 1);
	}
	close(p[1]);
	taker_fd = p[0];
	return 0;
}

/* 1 the turn is ours (held), 0 not yet, -1 the taker failed */
static int
take_poll(void)
{
	int st;
	pid_t w = waitpid(taker, &st, WNOHANG);
	ssize_t r;

	if (w == 0)
		return 0;
	taker = 0;
	r = read(taker_fd, held, sizeof held - 1);
	close(taker_fd);
	taker_fd = -1;
	if (w < 0 || !WIFEXITED(st) || WEXITSTATUS(st) != 0 || r <= 0) {
		held[0] = 0;
		return -1;
	}
	held[r] = 0;
	return 1;
}

static void
take_stop(void)
{
	if (taker > 0) {
		kill(taker, SIGKILL);
		waitpid(taker, NULL, 0);
		taker = 0;
	}
	if (taker_fd >= 0)
		close(taker_fd);
	taker_fd = -1;
	give_turn();
	/* an admission the taker made before it could tell us */
	lh_turn_drop(turndir, (long)getpid());
}

static void
on_signal(int sig)
{
	if (taker > 0)
		kill(taker, SIGKILL);
	if (held[0])
		unlink(held);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* ---- the tools ---- */

static int
enqueue(const char *id, long token, const char *commit, char *entry, size_t size)
{
	char path[4400], rnd[9], *text;
	json_t *j;
	int r;

	lh_random_name(rnd, sizeof rnd);
	snprintf(entry, size, "%016lld-%s", (long long)(lh_board_clock(&board) * 1e6), rnd);
	j = json_pack("{s:s, s:I, s:s, s:o}", "id", id, "token", (json_int_t)token,
	    "commit", commit, "owner", lh_whoami());
	text = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	lh_path(path, sizeof path, "%s/%s", queuedir, entry);
	r = lh_create_exclusive(&board, path, text);
	free(text);
	if (r == LH_OK)
		lh_board_ring(&board);
	return r;
}

static void
write_feedback(const char *text)
{
	FILE *f;

	if (!feedback_file)
		return;
	if (!(f = fopen(feedback_file, "w")) || fputs(text ? text : "", f) < 0 || fclose(f) != 0)
		lh_warn_errno("%s", feedback_file);
}

static int
land(const char *id, long token, const char *commit)
{
	char entry[64], path[4400], tip[SHA_LEN + 1], found[SHA_LEN + 1];
	json_t *o = NULL;
	char what[64];
	int r, drove_idle = 0, failed = 0;

	if ((r = enqueue(id, token, commit, entry, sizeof entry)) != LH_OK)
		return r;
	if (take_start() < 0)
		lh_die_errno(LH_SYSERR, "fork");
	for (;;) {
		if ((o = outcome_read(entry)))
			break;
		lh_path(path, sizeof path, "%s/%s", queuedir, entry);
		if (access(path, F_OK) != 0 && !(o = outcome_read(entry))) {
			take_stop();
			lh_die(LH_SYSERR, "%s: the entry is gone with no outcome", entry);
		}
		if (o)
			break;
		if (!held[0]) {
			r = take_poll();
			if (r < 0) {
				take_stop();
				if (take_start() < 0)
					lh_die_errno(LH_SYSERR, "fork");
			}
			if (r <= 0) {
				lh_wait_bell(&board, 0.25);
				continue;
			}
		}
		/* ours: drive (in the host's trees, when no other has them) */
		pool_take();
		r = round_once();
		if (r == 0) {
			/* nothing for the train, and our entry is not decided:
			 * look again soon, but never spin */
			if (++drove_idle > 3)
				lh_wait_bell(&board, 0.25);
		} else if (r < 0) {
			/* a branch that cannot be read, a push refused again
			 * and again: give the turn to another, and say so */
			if (++failed >= 10) {
				take_stop();
				lh_die(LH_SYSERR, "%s: the train failed 10 rounds in a row", entry);
			}
			lh_wait_bell(&board, 1);
		} else
			drove_idle = failed = 0;
	}
	take_stop();
	snprintf(what, sizeof what, "%s", json_string_value(json_object_get(o, "outcome")) ?
	    json_string_value(json_object_get(o, "outcome")) : "");
	write_feedback(json_string_value(json_object_get(o, "output")));
	lh_path(path, sizeof path, "%s/%s", outcomedir, entry);
	if (!strcmp(what, "landed")) {
		/* the branch says so, or it did not land */
		if (read_tip(tip) < 0 || landed_for(id, tip, found) != 1) {
			json_decref(o);
			lh_die(LH_SYSERR, "%s: the train said landed, but %s does not hold it", id, branch);
		}
		unlink(path);
		json_decref(o);
		puts(found);
		lh_close_stdout();
		return 0;
	}
	unlink(path);
	json_decref(o);
	if (!strcmp(what, "gate failed"))
		return 1;
	if (!strcmp(what, "conflict"))
		return 3;
	if (!strcmp(what, "stale"))
		return 4;
	if (!strcmp(what, "empty"))
		return 7;
	lh_warn("%s: %s", id, what);
	return LH_SYSERR;
}

static int
drive(void)
{
	size_t n;
	struct entry *e;
	int r, fails = 0;

	if (take_start() < 0)
		lh_die_errno(LH_SYSERR, "fork");
	while ((r = take_poll()) == 0)
		poll(NULL, 0, 100);
	if (r < 0)
		lh_die(LH_SYSERR, "%s: cannot take the turn", turndir);
	pool_take();
	for (;;) {
		r = round_once();
		if (r == 0 && (e = entries(&n), free(e), n == 0))
			break;
		if (r < 0 && ++fails > 5)
			break;
	}
	take_stop();
	return r < 0 ? LH_SYSERR : 0;
}

static int
show(void)
{
	size_t n, i;
	struct entry *e = entries(&n);
	char *text;

	if ((text = lh_read_file(statepath, NULL)))
		fputs(text, stdout);
	free(text);
	for (i = 0; i < n; i++) {
		json_t *j;

		if (entry_read(&e[i]) < 0)
			continue;
		j = json_pack("{s:s, s:s, s:I, s:s}", "queued", e[i].name, "id", e[i].id,
		    "token", (json_int_t)e[i].token, "commit", e[i].commit);
		text = json_dumps(j, JSON_COMPACT);
		printf("%s\n", text);
		free(text);
		json_decref(j);
	}
	free(e);
	lh_close_stdout();
	return 0;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *op, *env;
	char *end;
	int c;

	lh_std_options(argc, argv, manual);
	if ((env = getenv("LONGHAUL_TRAIN_MAX")) && *env)
		max_batch = atoi(env);
	if ((env = getenv("LONGHAUL_TURN_LEASE")) && *env)
		lease = atof(env);
	if ((env = getenv("LONGHAUL_VERIFY_TIMEOUT")) && *env)
		gate_timeout = atof(env);
	if ((env = getenv("LONGHAUL_TRAIN_PARALLEL")) && *env)
		parallel = atoi(env);
	if ((env = getenv("LONGHAUL_TRAIN_VERBOSE")) && *env && strcmp(env, "0"))
		verbose = 1;
	if ((env = getenv("LONGHAUL_GIT_TIMEOUT")) && *env && atof(env) > 0)
		git_timeout = atof(env);
	if ((env = getenv("LONGHAUL_TRAIN_WAIT")) && *env && atof(env) >= 0)
		batch_wait = atof(env);
	while ((c = getopt(argc, argv, "+b:r:B:q:d:g:n:l:o:p:t:vw:")) != -1)
		switch (c) {
		case 'b': dir = optarg; break;
		case 'r': repo = optarg; break;
		case 'B': branch = optarg; break;
		case 'q': snprintf(name, sizeof name, "%s", optarg); break;
		case 'd': snprintf(treedir, sizeof treedir, "%s", optarg); break;
		case 'g':
			if (ngates == MAXGATES)
				lh_die(LH_USAGE, "-g: at most %d gates", MAXGATES);
			gates[ngates++] = optarg;
			break;
		case 'n':
			max_batch = (int)strtol(optarg, &end, 10);
			if (*end || max_batch < 1 || max_batch > 1024)
				lh_die(LH_USAGE, "max '%s': not a number from 1 to 1024", optarg);
			break;
		case 'l':
			lease = strtod(optarg, &end);
			if (*end || lease <= 0)
				lh_die(LH_USAGE, "lease '%s': not a number of seconds", optarg);
			break;
		case 'o': feedback_file = optarg; break;
		case 't': pooldir = optarg; break;
		case 'v': verbose = 1; break;
		case 'w':
			batch_wait = strtod(optarg, &end);
			if (*end || batch_wait < 0)
				lh_die(LH_USAGE, "wait '%s': not a number of seconds", optarg);
			break;
		case 'p':
			parallel = (int)strtol(optarg, &end, 10);
			if (*end || parallel < 1 || parallel > 64)
				lh_die(LH_USAGE, "parallel '%s': not a number from 1 to 64", optarg);
			break;
		default: lh_usage(usage);
		}
	if (max_batch < 1 || max_batch > 1024)
		max_batch = 16;
	if (parallel < 1 || parallel > 64)
		parallel = 1;
	if (optind >= argc)
		lh_usage(usage);
	op = argv[optind];
	if (lh_name_check(branch) || strlen(branch) > 58)
		lh_die(LH_USAGE, "branch '%s': not one the train takes", branch);
	if (!name[0])
		snprintf(name, sizeof name, "push-%s", branch);
	if (lh_name_check(name))
		lh_die(LH_USAGE, "name '%s': %s", name, lh_name_check(name));
	if (!strcmp(op, "land")) {
		if (argc - optind != 4)
			lh_usage(usage);
		if (lh_id_check(argv[optind + 1]))
			lh_die(LH_USAGE, "%s: %s", argv[optind + 1], lh_id_check(argv[optind + 1]));
		strtol(argv[optind + 2], &end, 10);
		if (*end || !*argv[optind + 2] || argv[optind + 2][0] == '-' || argv[optind + 2][0] == '0')
			lh_die(LH_USAGE, "token '%s': not a claim's token", argv[optind + 2]);
		if (!sha_ok(argv[optind + 3]))
			lh_die(LH_USAGE, "commit '%s': not a full SHA-1", argv[optind + 3]);
	}
	lh_board_open(&board, dir);
	paths();
	if (!strcmp(op, "show")) {
		if (argc - optind != 1)
			lh_usage(usage);
		return show();
	}
	if (!repo)
		lh_usage(usage);
	if (!treedir[0]) {
		char *r = realpath(repo, NULL);

		if (!r)
			lh_die_errno(LH_USAGE, "%s", repo);
		snprintf(treedir, sizeof treedir, "%s/../train-tree", r);
		free(r);
	}
	own_repo = repo;
	snprintf(own_treedir, sizeof own_treedir, "%s", treedir);
	if (pooldir) {
		char *p;

		if (lh_mkdirs(pooldir) < 0 || !(p = realpath(pooldir, NULL)))
			lh_die_errno(LH_USAGE, "%s", pooldir);
		lh_path(pool, sizeof pool, "%s/%s-%s", p, lh_hostname(), name);
		lh_path(pool_repo, sizeof pool_repo, "%s/repo.git", pool);
		lh_path(pool_tree, sizeof pool_tree, "%s/tree", pool);
		free(p);
	}
	sigemptyset(&landing_signals);
	sigaddset(&landing_signals, SIGINT);
	sigaddset(&landing_signals, SIGTERM);
	sigaddset(&landing_signals, SIGHUP);
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	lh_die_with_parent();
	if (!strcmp(op, "drive")) {
		if (argc - optind != 1)
			lh_usage(usage);
		return drive();
	}
	if (!strcmp(op, "land")) {
		const char *id, *commit;
		long token;

		if (argc - optind != 4)
			lh_usage(usage);
		id = argv[optind + 1];
		if (lh_id_check(id))
			lh_die(LH_USAGE, "%s: %s", id, lh_id_check(id));
		token = strtol(argv[optind + 2], &end, 10);
		if (*end || token < 1)
			lh_die(LH_USAGE, "token '%s': not a claim's token", argv[optind + 2]);
		commit = argv[optind + 3];
		if (!sha_ok(commit))
			lh_die(LH_USAGE, "commit '%s': not a full SHA-1", commit);
		return land(id, token, commit);
	}
	lh_die(LH_USAGE, "'%s': not land, drive or show", op);
}
