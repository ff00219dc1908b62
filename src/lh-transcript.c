/* lh-transcript.c: an agent's transcript, as agent-step(1) writes it and
 * engine-run(1) writes it from an agent CLI's events, so that one reader
 * (the live view, the report, stuck detection) reads both: a file of
 * JSON lines, append-only, each an object with a "type" (system, user,
 * assistant, tool, run, usage, engine) and a "time".
 *
 * What holds:
 * - one agent at a time appends (an exclusive flock for as long as the
 *   file is open: a second one is refused, not interleaved);
 * - a line is written whole, with one write(2), and synced before the
 *   caller goes on (unless told not to): a crash leaves at most one cut
 *   line at the end, which the next open drops and cuts off, so every
 *   line read is one that was written whole;
 * - text that came from outside (command output, a CLI's events, files)
 *   is made valid UTF-8 without NULs before it goes in, so that every
 *   line is valid JSON for every reader.
 * Also here: the worktree's hash that stuck detection compares, and the
 * rule itself, and the task's first message.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "longhaul.h"

int
lh_transcript_parse(char *text, size_t len, json_t *into, size_t *keep, char *err, size_t errsize)
{
	json_error_t jerr;
	char *line, *end;
	long n = 0;
	json_t *o;

	*keep = len;
	for (line = text; line < text + len; line = end + 1) {
		n++;
		if (!(end = memchr(line, '\n', text + len - line))) {
			*keep = line - text;
			snprintf(err, errsize, "line %ld: incomplete, dropped", n);
			return 0;
		}
		if (!(o = json_loadb(line, end - line, 0, &jerr)) || !json_is_object(o)) {
			snprintf(err, errsize, "line %ld: %s", n, o ? "not an object" : jerr.text);
			json_decref(o);
			return -1;
		}
		json_array_append_new(into, o);
	}
	return 0;
}

int
lh_transcript_open(const char *path, json_t **lines, int status)
{
	char err[300] = "", *text;
	size_t len, keep;
	int fd;
	FILE *f;

	fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (fd < 0)
		lh_die_errno(status, "%s", path);
	if (flock(fd, LOCK_EX | LOCK_NB) < 0)
		lh_die_errno(status, "%s: in use by another agent", path);
	if (!(f = fdopen(dup(fd), "r")) || !(text = lh_read_stream(f, &len)))
		lh_die_errno(status, "%s", path);
	fclose(f);
	*lines = json_array();
	if (lh_transcript_parse(text, len, *lines, &keep, err, sizeof err) < 0)
		lh_die(status, "%s: %s", path, err);
	free(text);
	if (keep < len) {
		/* a line cut by a crash mid-write: it never happened */
		lh_warn("%s: %s", path, err);
		if (ftruncate(fd, keep) < 0)
			lh_die_errno(status, "%s", path);
	}
	return fd;
}

void
lh_transcript_append(int fd, const char *path, int sync, json_t *lines, const char *type,
    json_t *o, int status)
{
	char *s;
	size_t n;

	json_object_set_new(o, "type", json_string(type));
	if (!json_object_get(o, "time"))
		json_object_set_new(o, "time", json_real(lh_now()));
	if (!(s = json_dumps(o, JSON_COMPACT)))
		lh_die(status, "%s: cannot encode a line", path);
	n = strlen(s);
	s = lh_realloc(s, n + 2);
	s[n++] = '\n';
	if (write(fd, s, n) != (ssize_t)n || (sync && fsync(fd) < 0))
		lh_die_errno(status, "%s", path);
	free(s);
	json_array_append_new(lines, o);
}

const char *
lh_json_str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

int
lh_line_is(json_t *o, const char *type)
{
	return !strcmp(lh_json_str(o, "type"), type);
}

int
lh_line_fresh_user(json_t *o)
{
	return lh_line_is(o, "user") && !json_is_true(json_object_get(o, "observation")) &&
	    !json_is_true(json_object_get(o, "format_error"));
}

/* ---- text ---- */

char *
lh_text_clean(const char *s, size_t n)
{
	char *out = lh_malloc(3 * n + 1), *p = out;
	size_t i = 0, k;
	unsigned char c;

	while (i < n) {
		c = s[i];
		k = c < 0x80 ? 1 : (c >> 5) == 6 ? 2 : (c >> 4) == 14 ? 3 : (c >> 3) == 30 ? 4 : 0;
		if (c && k && i + k <= n && lh_utf8_valid(s + i, k)) {
			memcpy(p, s + i, k);
			p += k;
			i += k;
		} else {
			memcpy(p, "\xef\xbf\xbd", 3);
			p += 3;
			i++;
		}
	}
	*p = 0;
	return out;
}

char *
lh_text_read(const char *path, int status)
{
	char *s, *c;
	size_t n;

	s = !strcmp(path, "-") ? lh_read_stream(stdin, &n) : lh_read_file(path, &n);
	if (!s)
		lh_die_errno(status, "%s", path);
	c = lh_text_clean(s, n);
	free(s);
	return c;
}

/* ---- the worktree's hash ---- */

static unsigned long long
fnv(unsigned long long h, const char *p, size_t n)
{
	while (n--)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

#define TREE_FILE_MAX (16L << 20)   /* bigger files: hashed by size and mtime */

/* How long our own git on the agent's tree may take:
 * $LONGHAUL_GIT_TIMEOUT seconds, else 600 */
static double
git_timeout(void)
{
	const char *v = getenv("LONGHAUL_GIT_TIMEOUT");
	double t = v && *v ? atof(v) : 0;

	return t > 0 ? t : 600;
}

/* One git process (status names HEAD, the staged blobs and the paths)
 * and no shell: this runs after every command, and forks are most of an
 * agent's CPU. */
const char *
lh_tree_hash(const char *dir)
{
	static char hex[17];
	/* on a tree the agent wrote: none of its config that runs programs,
	 * none of our environment, and no git run in a repository of its
	 * own inside the tree (a gitlink's: status would run git there,
	 * with that repository's config, and .gitmodules can say "ignore =
	 * none": only the command line beats it) */
	char *argv[] = { "git", "-c", "core.hooksPath=/dev/null", "-c", "core.fsmonitor=false",
	    "-c", "core.untrackedCache=false", "status", "--porcelain=v2", "-z", "-uall", "--branch",
	    "--no-ahead-behind", "--no-renames", "--ignore-submodules=all", NULL };
	static char *git_env_extra[] = { "GIT_CEILING_DIRECTORIES", "GIT_CONFIG_NOSYSTEM",
	    "GIT_CONFIG_GLOBAL", NULL };
	static char **git_env, *git;
	unsigned long long h = 1469598103934665603ULL;
	char *out = NULL, *e, *end, *path, *content, link[4096], full[8192];
	size_t len = 0, cap = 0, n;
	int fds[2], st, fd, fields, timed_out = 0;
	double deadline;
	struct pollfd pf;
	ssize_t r;
	struct stat sb;
	pid_t pid;

	if (!git_env) {
		git_env = lh_sandbox_env(LH_SANDBOX_OFF, git_env_extra, 3);
		if (!(git = lh_find_program("git")))
			git = "git";
	}
	if (pipe(fds) < 0)
		return NULL;
	if ((pid = fork()) < 0) {
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		if (chdir(dir) < 0 || dup2(fds[1], 1) < 0)
			_exit(127);
		close(fds[0]);
		close(fds[1]);
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			dup2(fd, 2);
		}
		execve(git, argv, git_env);
		_exit(127);
	}
	close(fds[1]);
	/* bounded: the git directory is the agent's to write, and a FIFO
	 * for its HEAD or index blocks git's open() for ever; then the tree
	 * has no hash this time (and the wait is the agent's time) */
	deadline = lh_monotonic() + git_timeout();
	pf.fd = fds[0];
	pf.events = POLLIN;
	for (;;) {
		double left = deadline - lh_monotonic();
		if (left <= 0) {
			kill(pid, SIGKILL);
			timed_out = 1;
			break;
		}
		if (poll(&pf, 1, left > 1 ? 1000 : (int)(left * 1000) + 1) <= 0)
			continue;
		if (len + 4096 > cap)
			out = lh_realloc(out, cap = 2 * cap + 8192);
		if ((r = read(fds[0], out + len, cap - len)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			break;
		len += r;
	}
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (timed_out) {
		lh_warn("%s: git status did not end in %.0f seconds: the tree is not looked at",
		    dir, git_timeout());
		free(out);
		return NULL;
	}
	h = fnv(h, out ? out : "", len);
	h = fnv(h, (char *)&st, sizeof st);
	/* entries end with NUL: "1 XY sub mH mI mW hH hI PATH", "u XY sub
	 * m1 m2 m3 mW h1 h2 h3 PATH", "? PATH"; hash what is in PATH now */
	for (e = out; e && e < out + len; e = end + 1) {
		if (!(end = memchr(e, 0, out + len - e)))
			break;
		fields = *e == '1' ? 8 : *e == 'u' ? 10 : *e == '?' ? 1 : 0;
		for (path = e; fields > 0 && (path = strchr(path, ' ')); fields--)
			path++;
		if (!path || path == e ||
		    (size_t)snprintf(full, sizeof full, "%s/%s", dir, path) >= sizeof full ||
		    lstat(full, &sb) < 0)
			continue;
		if (S_ISLNK(sb.st_mode)) {
			if ((r = readlink(full, link, sizeof link)) > 0)
				h = fnv(h, link, r);
		} else if (S_ISREG(sb.st_mode) && sb.st_size > TREE_FILE_MAX) {
			/* not read whole into our memory (a sparse file of
			 * terabytes costs the agent nothing): its size and times */
			h = fnv(h, (char *)&sb.st_size, sizeof sb.st_size);
			h = fnv(h, (char *)&sb.st_mtim, sizeof sb.st_mtim);
		} else if (S_ISREG(sb.st_mode) && (content = lh_read_file(full, &n))) {
			h = fnv(h, content, n);
			free(content);
		}
	}
	free(out);
	snprintf(hex, sizeof hex, "%016llx", h);
	return hex;
}

/* ---- stuck ---- */

static int
same_json(json_t *a, json_t *b)
{
	return a && b && json_equal(a, b);
}

int
lh_transcript_stuck(json_t *lines, long repeats, long unchanged_max, int text_breaks,
    char *why, size_t size)
{
	json_t *o, *first_cmd = NULL, *first_out = NULL, *prev_tree = NULL, *t;
	long same_cmd = 0, same_out = 0, unchanged = 0;
	size_t i = json_array_size(lines);
	int cmd_run = 1, out_run = 1;

	while (i-- > 0 && (cmd_run || out_run)) {
		o = json_array_get(lines, i);
		if (lh_line_fresh_user(o))
			break;
		if (lh_line_is(o, "assistant") && cmd_run) {
			t = json_object_get(json_object_get(o, "action"), "command");
			if (!t && !text_breaks)
				continue;
			if (!first_cmd)
				first_cmd = t;
			if (t && same_json(t, first_cmd))
				same_cmd++;
			else
				cmd_run = 0;
		}
		if (json_is_integer(json_object_get(o, "exit")) && out_run) {
			t = json_object_get(o, "content");
			if (!first_out)
				first_out = t;
			if (json_integer_value(json_object_get(o, "exit")) != 0 && same_json(t, first_out))
				same_out++;
			else
				out_run = 0;
		}
	}
	if (repeats > 0 && same_cmd >= repeats) {
		snprintf(why, size, "stuck: the same command %ld times in a row", same_cmd);
		return 1;
	}
	if (repeats > 0 && same_out >= repeats) {
		snprintf(why, size, "stuck: the same error %ld times in a row", same_out);
		return 1;
	}
	if (unchanged_max <= 0)
		return 0;
	json_array_foreach(lines, i, o) {
		if (!(t = json_object_get(o, "tree")))
			continue;
		if (lh_line_fresh_user(o) || !same_json(t, prev_tree))
			unchanged = 0;
		else
			unchanged++;
		prev_tree = t;
	}
	if (unchanged >= unchanged_max) {
		snprintf(why, size, "stuck: %ld commands without a change in the worktree", unchanged);
		return 1;
	}
	return 0;
}

/* ---- the task ---- */

/* Every field comes from a record anyone with the board can write: the
 * text grows as it is written, nothing is sized in advance from some
 * fields but not others. */
char *
lh_task_message(json_t *task)
{
	json_t *verify = json_object_get(task, "verify"), *v;
	char *msg = NULL;
	size_t i, len = 0;
	FILE *f;

	if (!(f = open_memstream(&msg, &len)))
		return NULL;
	fprintf(f, "# Task %s: %s\n\n%s\n", lh_json_str(task, "id"), lh_json_str(task, "title"),
	    lh_json_str(task, "body"));
	if (json_array_size(verify)) {
		fprintf(f, "\n## Verification\nYour work is accepted only when these "
		    "commands pass in the working directory:\n");
		json_array_foreach(verify, i, v)
			fprintf(f, "    %s\n", json_is_string(v) ? json_string_value(v) : "");
	}
	fprintf(f, "\nThe working directory is a git worktree of the project on its own branch.\n");
	if (fclose(f) != 0) {
		free(msg);
		return NULL;
	}
	return msg;
}

/* ---- the limits of a run ---- */

long
lh_limit_whole(double v)
{
	/* a number too big for a long (1e300 in a task) is no limit, not
	 * undefined behaviour */
	return v >= 1e15 ? 1000000000000000L : v < 0 ? -1 : (long)v;
}

int
lh_limit_parse(const char *s, double *d, long *l)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0)
		return -1;
	if (d)
		*d = v;
	if (l)
		*l = lh_limit_whole(v);
	return 0;
}

void
lh_task_limits(const char *task_path, long *steps, long *seconds, double *tokens, double *usd)
{
	json_t *task, *limits, *v;

	if (!task_path || !(task = json_load_file(task_path, 0, NULL)))
		return;
	limits = json_object_get(task, "limits");
	if (*steps < 0 && json_is_number(v = json_object_get(limits, "steps")))
		*steps = lh_limit_whole(json_number_value(v));
	if (*seconds < 0 && json_is_number(v = json_object_get(limits, "seconds")))
		*seconds = lh_limit_whole(json_number_value(v));
	if (*tokens < 0 && json_is_number(v = json_object_get(limits, "tokens")))
		*tokens = json_number_value(v);
	if (*usd < 0 && json_is_number(v = json_object_get(limits, "usd")))
		*usd = json_number_value(v);
	json_decref(task);
}
