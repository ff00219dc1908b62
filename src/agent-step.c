/* agent-step: one step of a bash-only coding agent.
 *
 * The transcript is a file of JSON lines, append-only, holding exactly
 * what the model saw: a "system" line, "user" lines (the task, feedback),
 * "assistant" lines (the reply, its usage and cost, and the "action"
 * taken from it), "tool" lines (observations) and "run" lines (the
 * process group of a command being run).  One invocation checks the
 * limits, asks the model (through llm-call -C -j, a subprocess) for the
 * next action, runs it and appends the observation.
 *
 * Invariants:
 * - the assistant line is written (and synced) before its command runs,
 *   the observation after; a transcript whose last action has no
 *   observation was interrupted: the action is not run again, an
 *   observation saying so is appended instead (and the command's process
 *   group, if still alive and ours, is killed);
 * - every tool call of the model gets exactly one tool line, so the
 *   conversation stays valid for both wire formats;
 * - commands run in a fresh `bash -c`, in their own process group, with
 *   an environment built from an allow-list (never the model's keys),
 *   stdin /dev/null, and the whole group is killed when they end or time
 *   out.
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "longhaul.h"

#ifndef LH_SHAREDIR
#define LH_SHAREDIR "/usr/local/share/longhaul"
#endif

enum {
	STEPPED = 0, SUBMITTED = 1, USAGE = 2, LIMIT = 3, FORMAT = 4,
	STUCK = 5, UNAVAILABLE = 6, BUDGET = 7, ERROR = 8,
};

#define HEAD_MAX 5000
#define TAIL_MAX 5000

static const char manual[] =
"usage: agent-step [-AsF] -T transcript [-t task.json] [-d dir] [-r role] [-p prompt]\n"
"                  [-m model] [-x tools.json] [-e NAME[=VALUE]] [-n steps] [-W seconds]\n"
"                  [-K tokens] [-D dollars] [-o timeout] [-R repeats] [-M steps]\n"
"       agent-step -T transcript -u file\n"
"       agent-step -T transcript -N\n"
"Take one step of a coding agent: ask the model for its next action,\n"
"run it in dir, and append it and its result to the transcript.\n"
"  -A          take steps until one ends otherwise than 0 (stepped): the\n"
"              whole run in one process\n"
"  -T file     the transcript (JSON lines, created with -t on the first step)\n"
"  -t file     the task record (JSON, as task-show prints it)\n"
"  -d dir      run commands in this directory (default .)\n"
"  -r role     the model's role (default worker)\n"
"  -p file     the system prompt (default share/prompts/ROLE.md)\n"
"  -m model    the model, passed to llm-call -m\n"
"  -x file     the tools offered: a JSON array replacing bash and submit\n"
"  -F          offer no tools: the model answers with one ```bash block\n"
"  -e NAME     pass this variable (or NAME=VALUE) to the commands\n"
"  -s          run commands under bwrap: no network, only dir and /tmp writable\n"
"  -n steps    at most this many model calls ($LONGHAUL_MAX_STEPS, 50)\n"
"  -W seconds  at most this much wall time ($LONGHAUL_MAX_SECONDS, 3600)\n"
"  -K tokens   at most this many tokens ($LONGHAUL_MAX_TOKENS)\n"
"  -D dollars  at most this much spent ($LONGHAUL_MAX_USD)\n"
"  An option (the worker's, for all its tasks) wins over the task record's\n"
"  \"limits\" (one task's), which win over the environment (the run's).\n"
"  -o seconds  kill a command after this long ($LONGHAUL_CMD_TIMEOUT, 300)\n"
"  -R n        stuck after the same command or error n times in a row (3)\n"
"  -M n        stuck after n commands that left dir unchanged (30; 0: off)\n"
"  -u file     append file (- for stdin) as a user message and exit\n"
"  -N          print the handoff note of the last submit\n"
"Exit: 0 stepped, 1 submitted, 2 usage, 3 limit reached, 4 format errors,\n"
"5 stuck, 6 model unavailable (try later), 7 budget spent, 8 error.\n"
"When it ends the task (1, 3-8) it prints the reason on stdout.\n";

static const char *transcript_path, *task_path, *dir = ".", *role = "worker";
static const char *prompt_path, *model, *tools_path, *feedback_path;
static long max_steps = -1, max_seconds = -1, cmd_timeout = -1;
static long stuck_repeats = 3, stuck_unchanged = 30;
static double max_tokens = -1, max_usd = -1;
static int sandbox, text_only, fsync_on = 1;
static char **pass_env;
static size_t npass_env;

static volatile sig_atomic_t child_group; /* the running command's group */
static json_t *lines;           /* the transcript, one object per line */
static int tfd = -1;
static char run_token[17];

/* ---- the transcript ---- */

/* Parse text[0..len) into lines: an incomplete last line (a crash
 * mid-write) is dropped, *keep says where the whole lines end. 0, or -1
 * with the reason (line number and what is wrong) in err. */
static int
parse_transcript(char *text, size_t len, json_t *into, size_t *keep, char *err, size_t errsize)
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

static void
load_transcript(void)
{
	char err[300] = "", *text;
	size_t len, keep;
	FILE *f;

	tfd = open(transcript_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (tfd < 0)
		lh_die_errno(ERROR, "%s", transcript_path);
	if (flock(tfd, LOCK_EX | LOCK_NB) < 0)
		lh_die_errno(ERROR, "%s: in use by another agent-step", transcript_path);
	if (!(f = fdopen(dup(tfd), "r")) || !(text = lh_read_stream(f, &len)))
		lh_die_errno(ERROR, "%s", transcript_path);
	fclose(f);
	lines = json_array();
	if (parse_transcript(text, len, lines, &keep, err, sizeof err) < 0)
		lh_die(ERROR, "%s: %s", transcript_path, err);
	free(text);
	if (keep < len) {
		/* a line cut by a crash mid-write: it never happened */
		lh_warn("%s: %s", transcript_path, err);
		if (ftruncate(tfd, keep) < 0)
			lh_die_errno(ERROR, "%s", transcript_path);
	}
}

static void
append(const char *type, json_t *o)
{
	char *s;
	size_t n;

	json_object_set_new(o, "type", json_string(type));
	if (!json_object_get(o, "time"))
		json_object_set_new(o, "time", json_real(lh_now()));
	if (!(s = json_dumps(o, JSON_COMPACT)))
		lh_die(ERROR, "%s: cannot encode a line", transcript_path);
	n = strlen(s);
	s = lh_realloc(s, n + 2);
	s[n++] = '\n';
	if (write(tfd, s, n) != (ssize_t)n || (fsync_on && fsync(tfd) < 0))
		lh_die_errno(ERROR, "%s", transcript_path);
	free(s);
	json_array_append_new(lines, o);
}

static const char *
type_of(json_t *o)
{
	const char *t = json_string_value(json_object_get(o, "type"));

	return t ? t : "";
}

/* the string value of o[key], "" when there is none */
static const char *
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int
is(json_t *o, const char *type)
{
	return !strcmp(type_of(o), type);
}

/* Feedback and the task start a new stretch for stuck detection. */
static int
is_fresh_user(json_t *o)
{
	return is(o, "user") && !json_is_true(json_object_get(o, "observation")) &&
	    !json_is_true(json_object_get(o, "format_error"));
}

/* ---- text ---- */

/* A copy of s[0..n) that is valid UTF-8 without NULs: each bad byte
 * becomes U+FFFD. */
static char *
clean_utf8(const char *s, size_t n)
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

static char *
read_all(const char *path)
{
	char *s, *c;
	size_t n;

	s = !strcmp(path, "-") ? lh_read_stream(stdin, &n) : lh_read_file(path, &n);
	if (!s)
		lh_die_errno(USAGE, "%s", path);
	c = clean_utf8(s, n);
	free(s);
	return c;
}

/* ---- the commands' world ---- */

static int
allowed(const char *entry)
{
	static const char *names[] = {
		"PATH", "HOME", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE",
		"TZ", "TMPDIR", "LONGHAUL_TASK", "LONGHAUL_AGENT", "LONGHAUL_CYCLE",
		"GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL", "GIT_COMMITTER_NAME",
		"GIT_COMMITTER_EMAIL", NULL,
	};
	const char **n;
	size_t i, len = strcspn(entry, "=");

	for (n = names; *n; n++)
		if (strlen(*n) == len && !strncmp(*n, entry, len))
			return 1;
	for (i = 0; i < npass_env; i++)
		if (!strchr(pass_env[i], '=') && strlen(pass_env[i]) == len &&
		    !strncmp(pass_env[i], entry, len))
			return 1;
	return 0;
}

static char **
command_env(void)
{
	extern char **environ;
	static const char *fixed[] = {
		"TERM=dumb", "PAGER=cat", "GIT_PAGER=cat", "MANPAGER=cat",
		"EDITOR=true", "VISUAL=true", "GIT_EDITOR=true",
		"GIT_SEQUENCE_EDITOR=true", "GIT_TERMINAL_PROMPT=0", "NO_COLOR=1",
		"DEBIAN_FRONTEND=noninteractive", NULL,
	};
	static char token[64];
	size_t n = 0, i;
	char **env, **e;

	for (e = environ; *e; e++)
		n++;
	env = lh_malloc((n + npass_env + 16) * sizeof *env);
	n = 0;
	for (e = environ; *e; e++)
		if (allowed(*e))
			env[n++] = *e;
	for (i = 0; fixed[i]; i++)
		env[n++] = (char *)fixed[i];
	for (i = 0; i < npass_env; i++)
		if (strchr(pass_env[i], '='))
			env[n++] = pass_env[i];
	snprintf(token, sizeof token, "LONGHAUL_RUN=%s", run_token);
	env[n++] = token;
	env[n] = NULL;
	return env;
}

static char *
find_program(const char *name)
{
	const char *path = getenv("PATH"), *p, *q;
	char buf[4096];

	for (p = path ? path : "/usr/bin:/bin"; *p; p = *q ? q + 1 : q) {
		q = p + strcspn(p, ":");
		snprintf(buf, sizeof buf, "%.*s/%s", (int)(q - p), p, name);
		if (access(buf, X_OK) == 0)
			return lh_strdup(buf);
	}
	return NULL;
}

static char *
git_common_dir(void)
{
	char cmd[4200], buf[4096];
	FILE *p;
	size_t n;

	snprintf(cmd, sizeof cmd, "cd '%s' 2>/dev/null && git rev-parse --path-format=absolute --git-common-dir 2>/dev/null", dir);
	if (strchr(dir, '\'') || !(p = popen(cmd, "r")))
		return NULL;
	n = fread(buf, 1, sizeof buf - 1, p);
	pclose(p);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return n && buf[0] == '/' ? lh_strdup(buf) : NULL;
}

/* argv to run cmd: bash -c, or bwrap ... bash -c */
static char **
command_argv(const char *cmd)
{
	static char *bash, *bwrap, *gitdir, *realdir;
	char **av = lh_malloc(40 * sizeof *av);
	int n = 0;

	if (!bash && !(bash = find_program("bash")))
		bash = "/bin/bash";
	if (sandbox) {
		if (!bwrap && !(bwrap = find_program("bwrap")))
			lh_die(ERROR, "-s: bwrap not found");
		if (!realdir && !(realdir = realpath(dir, NULL)))
			lh_die_errno(ERROR, "%s", dir);
		if (!gitdir)
			gitdir = git_common_dir();
		av[n++] = bwrap;
		av[n++] = "--ro-bind"; av[n++] = "/"; av[n++] = "/";
		av[n++] = "--dev"; av[n++] = "/dev";
		av[n++] = "--proc"; av[n++] = "/proc";
		av[n++] = "--tmpfs"; av[n++] = "/tmp";
		av[n++] = "--bind"; av[n++] = realdir; av[n++] = realdir;
		if (gitdir) {
			av[n++] = "--bind"; av[n++] = gitdir; av[n++] = gitdir;
		}
		av[n++] = "--unshare-net";
		av[n++] = "--unshare-pid";
		av[n++] = "--die-with-parent";
		av[n++] = "--chdir"; av[n++] = realdir;
		av[n++] = "--";
	}
	av[n++] = bash;
	av[n++] = "-c";
	av[n++] = (char *)cmd;
	av[n] = NULL;
	return av;
}

/* output kept as head and tail */
struct output {
	char head[HEAD_MAX], tail[TAIL_MAX];
	size_t nhead, total;
};

static void
keep(struct output *o, const char *s, size_t n)
{
	size_t k;

	o->total += n;
	k = HEAD_MAX - o->nhead < n ? HEAD_MAX - o->nhead : n;
	memcpy(o->head + o->nhead, s, k);
	o->nhead += k;
	for (s += k, n -= k; n > 0; s++, n--) {
		/* the tail is a ring indexed by the byte's position */
		o->tail[(o->total - n) % TAIL_MAX] = *s;
	}
}

static char *
observation(struct output *o, const char *status)
{
	size_t ntail = o->total - o->nhead, start, i;
	char *raw = lh_malloc(HEAD_MAX + TAIL_MAX + 512), *p = raw, *clean;

	memcpy(p, o->head, o->nhead);
	p += o->nhead;
	if (ntail > TAIL_MAX) {
		p += sprintf(p, "\n[... %zu bytes elided ...]\n", ntail - TAIL_MAX);
		ntail = TAIL_MAX;
	}
	start = o->total - ntail;
	for (i = 0; i < ntail; i++)
		*p++ = o->tail[(start + i) % TAIL_MAX];
	if (o->total && p[-1] != '\n')
		*p++ = '\n';
	p += sprintf(p, "%s", status);
	clean = clean_utf8(raw, p - raw);
	free(raw);
	return clean;
}

/* Run one command; return the observation text, set *code (-1: timeout). */
static char *
run(const char *cmd, const char *call_id, json_t *input, int *code)
{
	int pfd[2], in, st = 0, r, timed_out = 0, done = 0;
	char **env = command_env(), **av, buf[8192], status[200];
	struct output *out = lh_malloc(sizeof *out);
	double deadline;
	struct pollfd pf;
	ssize_t n;
	pid_t pid;
	json_t *runline;
	char *text;

	av = command_argv(cmd);
	out->nhead = out->total = 0;
	if (pipe(pfd) < 0)
		lh_die_errno(ERROR, "pipe");
	fflush(NULL);
	if ((pid = fork()) < 0)
		lh_die_errno(ERROR, "fork");
	if (pid == 0) {
		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		close(pfd[0]);
		if (chdir(dir) < 0) {
			dprintf(pfd[1], "agent-step: %s: %s\n", dir, strerror(errno));
			_exit(126);
		}
		in = open("/dev/null", O_RDONLY);
		if (input) {
			/* another tool: its arguments on stdin, as JSON */
			char tmp[] = "/tmp/agent-step.XXXXXX";
			char *s = json_dumps(input, JSON_COMPACT);
			int fd = mkstemp(tmp);
			if (fd >= 0 && s && write(fd, s, strlen(s)) >= 0) {
				unlink(tmp);
				lseek(fd, 0, SEEK_SET);
				close(in);
				in = fd;
			}
		}
		dup2(in, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		if (pfd[1] > 2)
			close(pfd[1]);
		execve(av[0], av, env);
		dprintf(2, "agent-step: %s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	setpgid(pid, pid);
	child_group = pid;
	close(pfd[1]);
	runline = json_pack("{s:I,s:s}", "pgid", (json_int_t)pid, "run", run_token);
	if (call_id)
		json_object_set_new(runline, "tool_call_id", json_string(call_id));
	append("run", runline);
	deadline = lh_monotonic() + cmd_timeout;
	pf.fd = pfd[0];
	pf.events = POLLIN;
	for (;;) {
		double left = deadline - lh_monotonic();
		if (left <= 0) {
			kill(-pid, SIGKILL);
			timed_out = 1;
			break;
		}
		r = poll(&pf, 1, left > 1 ? 1000 : (int)(left * 1000) + 1);
		if (r < 0 && errno != EINTR)
			lh_die_errno(ERROR, "poll");
		if (r > 0) {
			n = read(pfd[0], buf, sizeof buf);
			if (n < 0 && errno != EINTR)
				lh_die_errno(ERROR, "read");
			if (n == 0)
				break;
			if (n > 0)
				keep(out, buf, n);
		}
		/* the command ended: its leftovers in the background go too */
		if (!done && waitpid(pid, &st, WNOHANG) == pid) {
			done = 1;
			kill(-pid, SIGKILL);
		}
	}
	close(pfd[0]);
	if (!done)
		waitpid(pid, &st, 0);
	kill(-pid, SIGKILL);
	child_group = 0;
	if (timed_out) {
		snprintf(status, sizeof status, "[killed after %ld seconds: timeout]", cmd_timeout);
		*code = -1;
	} else if (WIFSIGNALED(st)) {
		snprintf(status, sizeof status, "[killed by signal %d]", WTERMSIG(st));
		*code = 128 + WTERMSIG(st);
	} else {
		*code = WEXITSTATUS(st);
		snprintf(status, sizeof status, "[exit status %d]", *code);
	}
	text = observation(out, status);
	free(out);
	free(av);
	free(env);
	return text;
}

static unsigned long long
fnv(unsigned long long h, const char *p, size_t n)
{
	while (n--)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

/* 64-bit FNV-1a of what git sees in dir: HEAD, the index and the
 * contents of every changed or untracked file.  One git process (status
 * names HEAD, the staged blobs and the paths) and no shell: this runs
 * after every command, and forks are most of an agent's CPU. */
static char *
tree_hash(void)
{
	static char hex[17];
	char *argv[] = { "git", "status", "--porcelain=v2", "-z", "-uall", "--branch",
	    "--no-ahead-behind", "--no-renames", NULL };
	unsigned long long h = 1469598103934665603ULL;
	char *out = NULL, *e, *end, *path, *content, link[4096], full[8192];
	size_t len = 0, cap = 0, n;
	int fds[2], st, fd, fields;
	ssize_t r;
	struct stat sb;
	pid_t pid;

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
		execvp("git", argv);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
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
		} else if (S_ISREG(sb.st_mode) && (content = lh_read_file(full, &n))) {
			h = fnv(h, content, n);
			free(content);
		}
	}
	free(out);
	snprintf(hex, sizeof hex, "%016llx", h);
	return hex;
}

static void
add_tree(json_t *o)
{
	const char *h;

	if (stuck_unchanged > 0 && (h = tree_hash()))
		json_object_set_new(o, "tree", json_string(h));
}

/* ---- the model ---- */

static json_t *
default_tools(void)
{
	return json_pack("[{s:s,s:s,s:{s:s,s:{s:{s:s,s:s}},s:[s]}},"
	    "{s:s,s:s,s:{s:s,s:{s:{s:s,s:s}},s:[s]}}]",
	    "name", "bash",
	    "description", "Run one bash command in the working directory (a fresh "
	    "non-interactive shell each time; stdout and stderr merged; long output "
	    "keeps its head and tail). Returns the output and the exit status.",
	    "parameters", "type", "object", "properties", "command", "type", "string",
	    "description", "the command", "required", "command",
	    "name", "submit",
	    "description", "End your work and hand it over, with a note for whoever "
	    "reads it next: what you did, what you did not do, and what you noticed.",
	    "parameters", "type", "object", "properties", "note", "type", "string",
	    "description", "the handoff note", "required", "note");
}

static json_t *
conversation(void)
{
	json_t *conv = json_object(), *msgs = json_array(), *o, *m, *tools;
	json_error_t jerr;
	size_t i;

	json_array_foreach(lines, i, o) {
		const char *t = type_of(o);
		if (!strcmp(t, "system")) {
			json_object_set(conv, "system", json_object_get(o, "content"));
			continue;
		}
		if (!strcmp(t, "user") || !strcmp(t, "assistant") || !strcmp(t, "tool")) {
			m = json_pack("{s:s,s:O}", "role", t, "content", json_object_get(o, "content"));
			if (json_array_size(json_object_get(o, "tool_calls")))
				json_object_set(m, "tool_calls", json_object_get(o, "tool_calls"));
			if (json_object_get(o, "tool_call_id"))
				json_object_set(m, "tool_call_id", json_object_get(o, "tool_call_id"));
			json_array_append_new(msgs, m);
		}
	}
	json_object_set_new(conv, "messages", msgs);
	if (!text_only) {
		if (tools_path) {
			if (!(tools = json_load_file(tools_path, 0, &jerr)) || !json_is_array(tools))
				lh_die(USAGE, "%s: %s", tools_path, tools ? "not a JSON array" : jerr.text);
		} else
			tools = default_tools();
		json_object_set_new(conv, "tools", tools);
	}
	return conv;
}

/* Ask the model for the next reply, through the model client in this
 * process (lh_llm_call), or through the program $LONGHAUL_LLM_CALL (which
 * speaks llm-call -C -j) when that is set. NULL with *status the exit
 * status of llm-call. */
static json_t *
call_model(json_t *conv, int *status)
{
	const char *prog = getenv("LONGHAUL_LLM_CALL");
	struct lh_llm_options o = { .stream = 1 };
	char *av[10], *req, *resp;
	int in[2], outp[2], st, n = 0;
	json_error_t jerr;
	json_t *r;
	size_t len;
	FILE *f;
	pid_t pid;

	if (!prog || !*prog) {
		/* not a second process that loads libcurl again: it is most
		 * of the CPU a step costs */
		o.role = role;
		o.model = model;
		if ((*status = lh_llm_call(&o, conv, &r)) != 0) {
			if (json_object_get(r, "error"))
				lh_warn("%s", json_string_value(json_object_get(r, "error")));
			json_decref(r);
			return NULL;
		}
		return r;
	}
	av[n++] = (char *)prog;
	av[n++] = "-C";
	av[n++] = "-j";
	av[n++] = "-r";
	av[n++] = (char *)role;
	if (model) {
		av[n++] = "-m";
		av[n++] = (char *)model;
	}
	av[n] = NULL;
	if (!(req = json_dumps(conv, JSON_COMPACT)))
		lh_die(ERROR, "cannot encode the conversation");
	if (pipe(in) < 0 || pipe(outp) < 0)
		lh_die_errno(ERROR, "pipe");
	fflush(NULL);
	if ((pid = fork()) < 0)
		lh_die_errno(ERROR, "fork");
	if (pid == 0) {
		dup2(in[0], 0);
		dup2(outp[1], 1);
		close(in[0]); close(in[1]); close(outp[0]); close(outp[1]);
		execvp(av[0], av);
		lh_warn_errno("%s", av[0]);
		_exit(127);
	}
	close(in[0]);
	close(outp[1]);
	/* llm-call reads its whole stdin before it writes anything */
	len = strlen(req);
	if (write(in[1], req, len) != (ssize_t)len)
		lh_warn_errno("writing to %s", av[0]);
	close(in[1]);
	free(req);
	f = fdopen(outp[0], "r");
	resp = f ? lh_read_stream(f, &len) : NULL;
	if (f)
		fclose(f);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	*status = WIFEXITED(st) ? WEXITSTATUS(st) : 1;
	if (*status != 0 || !resp) {
		free(resp);
		return NULL;
	}
	r = json_loads(resp, 0, &jerr);
	free(resp);
	if (!r || !json_is_object(r)) {
		lh_warn("%s: bad reply: %s", av[0], jerr.text);
		*status = 4;
		return NULL;
	}
	return r;
}

/* The action in a reply without tool calls: one ```bash block, or a
 * ```submit block holding the note. */
static json_t *
text_action(const char *text)
{
	const char *p, *body, *end, *found = NULL, *found_end = NULL;
	int nbash = 0;

	for (p = text; (p = strstr(p, "```")); p = end + 3) {
		body = p + 3;
		end = strstr(body + strcspn(body, "\n"), "```");
		if (!end)
			break;
		if (!strncmp(body, "bash\n", 5) || !strncmp(body, "sh\n", 3) ||
		    !strncmp(body, "submit\n", 7)) {
			nbash++;
			found = body;
			found_end = end;
		}
	}
	if (nbash != 1)
		return json_pack("{s:s}", "error", nbash ? "Format error: your reply "
		    "holds more than one ```bash block; give exactly one command per reply."
		    : "Format error: your reply holds no command. Call the bash tool (or "
		    "reply with exactly one ```bash block), or submit when you are done.");
	body = found + strcspn(found, "\n") + 1;
	return json_pack("{s:s,s:s#}", "tool", !strncmp(found, "submit", 6) ? "submit" : "bash",
	    !strncmp(found, "submit", 6) ? "note" : "command", body,
	    (int)(found_end - body));
}

static json_t *
action_of(json_t *resp)
{
	json_t *calls = json_object_get(resp, "tool_calls"), *c, *args, *a;
	const char *name, *text;

	if (!json_array_size(calls)) {
		text = json_string_value(json_object_get(resp, "text"));
		return text_action(text ? text : "");
	}
	c = json_array_get(calls, 0);
	name = json_string_value(json_object_get(c, "name"));
	args = json_object_get(c, "arguments");
	if (!name)
		name = "";
	a = json_pack("{s:s,s:O?}", "tool", name, "id", json_object_get(c, "id"));
	if (!strcmp(name, "bash")) {
		if (!json_is_string(json_object_get(args, "command")) ||
		    !*json_string_value(json_object_get(args, "command")))
			json_object_set_new(a, "error", json_string("Format error: bash needs "
			    "{\"command\": \"...\"}, a non-empty string."));
		else
			json_object_set(a, "command", json_object_get(args, "command"));
	} else if (!strcmp(name, "submit")) {
		json_t *note = json_object_get(args, "note");
		json_object_set_new(a, "note", json_is_string(note) ? json_incref(note) : json_string(""));
	} else if (tools_path && json_is_object(args)) {
		json_object_set(a, "input", args);
	} else {
		json_object_set_new(a, "error", json_string("Format error: unknown tool; "
		    "the tools are bash and submit."));
	}
	return a;
}

/* ---- the state of the transcript ---- */

static json_t *
last_assistant(size_t *at)
{
	size_t i = json_array_size(lines);

	while (i-- > 0)
		if (is(json_array_get(lines, i), "assistant")) {
			if (at)
				*at = i;
			return json_array_get(lines, i);
		}
	return NULL;
}

/* Append what an interrupted step never wrote: the observations of its
 * tool calls, so that nothing runs twice and the conversation is valid. */
static void
recover(void)
{
	json_t *a, *act, *calls, *call, *o;
	size_t at, i, j, k;
	const char *id;
	json_int_t pgid = 0;
	int answered, has_obs = 0;

	if (!(a = last_assistant(&at)))
		return;
	act = json_object_get(a, "action");
	calls = json_object_get(a, "tool_calls");
	for (j = at + 1; j < json_array_size(lines); j++) {
		o = json_array_get(lines, j);
		if (is(o, "run"))
			pgid = json_integer_value(json_object_get(o, "pgid"));
		if (is(o, "user") || is(o, "tool"))
			has_obs = 1;
	}
	/* a process group id is a pid_t: a bigger number would be cut
	 * down to some other group's, or to -1 (every process) */
	if (pgid > 1 && pgid <= INT_MAX) {
		/* kill what the dead step left running, if it is ours */
		char path[64], *env;
		size_t n;
		const char *tok = NULL;
		for (j = at + 1; j < json_array_size(lines); j++)
			if (is(json_array_get(lines, j), "run"))
				tok = json_string_value(json_object_get(json_array_get(lines, j), "run"));
		snprintf(path, sizeof path, "/proc/%lld/environ", (long long)pgid);
		if (tok && (env = lh_read_file(path, &n))) {
			for (k = 0; k + 1 < n; k++)
				if (!strncmp(env + k, "LONGHAUL_RUN=", 13) && !strcmp(env + k + 13, tok))
					kill(-(pid_t)pgid, SIGKILL);
			free(env);
		}
	}
	json_array_foreach(calls, i, call) {
		id = json_string_value(json_object_get(call, "id"));
		answered = 0;
		for (j = at + 1; j < json_array_size(lines); j++) {
			o = json_array_get(lines, j);
			if (is(o, "tool") && id && !strcmp(id, str(o, "tool_call_id")))
				answered = 1;
		}
		if (answered)
			continue;
		o = json_pack("{s:s?}", "tool_call_id", id);
		if (i > 0)
			json_object_set_new(o, "content", json_string("Not run: one tool call per reply."));
		else if (!strcmp(str(act, "tool"), "submit") &&
		    !json_object_get(act, "error"))
			json_object_set_new(o, "content", json_string("Submitted."));
		else if (json_object_get(act, "error"))
			json_object_set_new(o, "content", json_incref(json_object_get(act, "error"))),
			json_object_set_new(o, "format_error", json_true());
		else {
			json_object_set_new(o, "content", json_string("[interrupted: this command was "
			    "started but the agent was stopped before it finished; it may have partly "
			    "happened. Check the state before you run it again.]"));
			json_object_set_new(o, "interrupted", json_true());
		}
		append("tool", o);
	}
	if (!json_array_size(calls) && !has_obs && act) {
		/* a text reply: its observation is a user message */
		if (json_object_get(act, "error"))
			o = json_pack("{s:O,s:b}", "content", json_object_get(act, "error"), "format_error", 1);
		else if (!strcmp(str(act, "tool"), "bash"))
			o = json_pack("{s:s,s:b,s:b}", "content", "[interrupted: this command was started "
			    "but the agent was stopped before it finished; it may have partly happened. "
			    "Check the state before you run it again.]", "observation", 1, "interrupted", 1);
		else
			return;
		append("user", o);
	}
}

struct state {
	long steps, format_errors;
	double tokens, usd, start;
	int submitted;
	const char *note;
};

static void
survey(struct state *s)
{
	json_t *o, *u, *act;
	size_t i;
	const char *k;

	memset(s, 0, sizeof *s);
	s->start = -1;
	json_array_foreach(lines, i, o) {
		if (s->start < 0 && json_is_number(json_object_get(o, "time")))
			s->start = json_number_value(json_object_get(o, "time"));
		if (is_fresh_user(o)) {
			s->submitted = 0;
			s->format_errors = 0;
		}
		if (!is(o, "assistant"))
			continue;
		s->steps++;
		u = json_object_get(o, "usage");
		s->tokens += json_number_value(json_object_get(u, "input_tokens")) +
		    json_number_value(json_object_get(u, "output_tokens")) +
		    json_number_value(json_object_get(u, "cache_read_tokens")) +
		    json_number_value(json_object_get(u, "cache_write_tokens"));
		s->usd += json_number_value(json_object_get(o, "cost_usd"));
		act = json_object_get(o, "action");
		k = json_string_value(json_object_get(act, "tool"));
		if (json_object_get(act, "error")) {
			s->format_errors++;
			s->submitted = 0;
		} else {
			s->format_errors = 0;
			s->submitted = k && !strcmp(k, "submit");
			if (s->submitted)
				s->note = json_string_value(json_object_get(act, "note"));
		}
	}
	if (s->start < 0)
		s->start = lh_now();
}

static int
same_json(json_t *a, json_t *b)
{
	return a && b && json_equal(a, b);
}

/* Stuck: the same command, or the same failing output, stuck_repeats
 * times in a row since the last fresh user message; or stuck_unchanged
 * observations in a row that left the worktree as it was. */
static int
stuck(char *why, size_t size)
{
	json_t *o, *first_cmd = NULL, *first_out = NULL, *prev_tree = NULL, *t;
	long same_cmd = 0, same_out = 0, unchanged = 0;
	size_t i = json_array_size(lines);
	int cmd_run = 1, out_run = 1;

	while (i-- > 0 && (cmd_run || out_run)) {
		o = json_array_get(lines, i);
		if (is_fresh_user(o))
			break;
		if (is(o, "assistant") && cmd_run) {
			t = json_object_get(json_object_get(o, "action"), "command");
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
	if (stuck_repeats > 0 && same_cmd >= stuck_repeats) {
		snprintf(why, size, "stuck: the same command %ld times in a row", same_cmd);
		return 1;
	}
	if (stuck_repeats > 0 && same_out >= stuck_repeats) {
		snprintf(why, size, "stuck: the same error %ld times in a row", same_out);
		return 1;
	}
	if (stuck_unchanged <= 0)
		return 0;
	json_array_foreach(lines, i, o) {
		if (!(t = json_object_get(o, "tree")))
			continue;
		if (is_fresh_user(o) || !same_json(t, prev_tree))
			unchanged = 0;
		else
			unchanged++;
		prev_tree = t;
	}
	if (unchanged >= stuck_unchanged) {
		snprintf(why, size, "stuck: %ld commands without a change in the worktree", unchanged);
		return 1;
	}
	return 0;
}

static int
finish(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	lh_close_stdout();
	return status;
}

static int
check_end(struct state *s, int limits)
{
	char why[200];
	double now = lh_now();

	if (s->submitted)
		return finish(SUBMITTED, "submitted");
	if (s->format_errors >= 3)
		return finish(FORMAT, "format errors: %ld replies in a row without a valid action",
		    s->format_errors);
	if (stuck(why, sizeof why))
		return finish(STUCK, "%s", why);
	if (!limits)
		return -1;
	if (max_steps > 0 && s->steps >= max_steps)
		return finish(LIMIT, "limit reached: %ld steps", s->steps);
	if (max_seconds > 0 && now - s->start >= max_seconds)
		return finish(LIMIT, "limit reached: %.0f seconds", now - s->start);
	if (max_tokens > 0 && s->tokens >= max_tokens)
		return finish(LIMIT, "limit reached: %.0f tokens", s->tokens);
	if (max_usd > 0 && s->usd >= max_usd)
		return finish(LIMIT, "limit reached: $%.4f spent", s->usd);
	return -1;
}

/* ---- the first step ---- */

/* The task as the first user message. Every field comes from a record
 * anyone with the board can write: the text grows as it is written,
 * nothing is sized in advance from some fields but not others. */
static char *
task_message(json_t *task)
{
	json_t *verify = json_object_get(task, "verify"), *v;
	char *msg = NULL;
	size_t i, len = 0;
	FILE *f;

	if (!(f = open_memstream(&msg, &len)))
		lh_die_errno(ERROR, "task message");
	fprintf(f, "# Task %s: %s\n\n%s\n", str(task, "id"), str(task, "title"), str(task, "body"));
	if (json_array_size(verify)) {
		fprintf(f, "\n## Verification\nYour work is accepted only when these "
		    "commands pass in the working directory:\n");
		json_array_foreach(verify, i, v)
			fprintf(f, "    %s\n", json_is_string(v) ? json_string_value(v) : "");
	}
	fprintf(f, "\nThe working directory is a git worktree of the project on its own branch.\n");
	if (fclose(f) != 0)
		lh_die_errno(ERROR, "task message");
	return msg;
}

static void
start(void)
{
	json_t *task, *v;
	json_error_t jerr;
	char path[4096], *prompt, *msg;
	const char *share = getenv("LONGHAUL_SHARE");

	if (!task_path)
		lh_die(USAGE, "%s: empty transcript: give the task with -t", transcript_path);
	if (!(task = json_load_file(task_path, 0, &jerr)) || !json_is_object(task)) {
		const char *why = task ? "not a JSON object" : jerr.text;

		json_decref(task);
		lh_die(USAGE, "%s: %s", task_path, why);
	}
	if (!prompt_path) {
		lh_path(path, sizeof path, "%s/prompts/%s.md", share && *share ? share : LH_SHAREDIR, role);
		prompt_path = path;
	}
	prompt = read_all(prompt_path);
	append("system", json_pack("{s:s}", "content", prompt));
	free(prompt);
	msg = task_message(task);
	v = json_pack("{s:s,s:O?}", "content", msg, "task", json_object_get(task, "id"));
	add_tree(v);
	append("user", v);
	free(msg);
	json_decref(task);
}

/* ---- one step ---- */

static int
step(void)
{
	struct state s;
	json_t *resp, *conv, *a, *act, *o, *calls;
	int status, code, end;
	const char *tool, *id;
	char *text;

	survey(&s);
	if ((end = check_end(&s, 1)) >= 0)
		return end;
	conv = conversation();
	resp = call_model(conv, &status);
	json_decref(conv);
	if (!resp) {
		if (status == 5)
			return finish(BUDGET, "budget spent (llm-call exit 5)");
		if (status == 1 || status == 4)
			return finish(UNAVAILABLE, "model unavailable (llm-call exit %d): try later", status);
		return finish(ERROR, "model error (llm-call exit %d)", status);
	}
	act = action_of(resp);
	calls = json_object_get(resp, "tool_calls");
	a = json_pack("{s:s,s:O?,s:O?,s:O?,s:O?,s:O?,s:I}",
	    "content", str(resp, "text"),
	    "tool_calls", calls,
	    "usage", json_object_get(resp, "usage"),
	    "cost_usd", json_object_get(resp, "cost_usd"),
	    "model", json_object_get(resp, "model"),
	    "stop_reason", json_object_get(resp, "stop_reason"),
	    "step", (json_int_t)s.steps + 1);
	json_object_set_new(a, "action", act);
	append("assistant", a);
	tool = json_string_value(json_object_get(act, "tool"));
	id = json_string_value(json_object_get(act, "id"));
	if (!json_object_get(act, "error") && tool && strcmp(tool, "submit")) {
		json_t *input = json_object_get(act, "input");
		text = run(input ? tool : json_string_value(json_object_get(act, "command")),
		    id, input, &code);
		o = json_pack("{s:s,s:i}", "content", text, "exit", code);
		free(text);
		add_tree(o);
		if (id) {
			json_object_set_new(o, "tool_call_id", json_string(id));
			append("tool", o);
		} else {
			json_object_set_new(o, "observation", json_true());
			append("user", o);
		}
	}
	/* the format error, the submit's result, the extra calls */
	recover();
	json_decref(resp);
	survey(&s);
	if ((end = check_end(&s, 0)) >= 0)
		return end;
	return STEPPED;
}

/* Stopped mid-command: take the command's group along.  The transcript
 * then shows the action without its observation: interrupted. */
static void
on_signal(int sig)
{
	if (child_group > 1)
		kill(-child_group, SIGKILL);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* A count limit as a long: a number too big for one (1e300 in a task
 * record, "inf" in an option) is as good as no limit, not a cast that C
 * leaves undefined. */
static long
whole(double v)
{
	return v >= 1e15 ? 1000000000000000L : v < 0 ? -1 : (long)v;
}

static void
parse_number(const char *s, double *d, long *l)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || v < 0)
		lh_die(USAGE, "%s: not a number >= 0", s);
	if (d)
		*d = v;
	if (l)
		*l = whole(v);
}

static void
from_env(const char *name, double *d, long *l)
{
	const char *v = getenv(name);

	if ((d && *d < 0) || (l && *l < 0)) {
		if (v && *v)
			parse_number(v, d, l);
	}
}

/* the task's own limits (its record's "limits"), where no option set one */
static void
from_task(void)
{
	json_t *task, *limits, *v;

	if (!task_path || !(task = json_load_file(task_path, 0, NULL)))
		return;
	limits = json_object_get(task, "limits");
	if (max_steps < 0 && json_is_number(v = json_object_get(limits, "steps")))
		max_steps = whole(json_number_value(v));
	if (max_seconds < 0 && json_is_number(v = json_object_get(limits, "seconds")))
		max_seconds = whole(json_number_value(v));
	if (max_tokens < 0 && json_is_number(v = json_object_get(limits, "tokens")))
		max_tokens = json_number_value(v);
	if (max_usd < 0 && json_is_number(v = json_object_get(limits, "usd")))
		max_usd = json_number_value(v);
	json_decref(task);
}

int
main(int argc, char **argv)
{
	int c, print_note = 0, all = 0, r;
	const char *v;
	struct state s;

	lh_help(argc, argv, manual);
	while ((c = getopt(argc, argv, "AT:t:d:r:p:m:x:Fe:sn:W:K:D:o:R:M:u:N")) != -1)
		switch (c) {
		case 'A': all = 1; break;
		case 'T': transcript_path = optarg; break;
		case 't': task_path = optarg; break;
		case 'd': dir = optarg; break;
		case 'r': role = optarg; break;
		case 'p': prompt_path = optarg; break;
		case 'm': model = optarg; break;
		case 'x': tools_path = optarg; break;
		case 'F': text_only = 1; break;
		case 'e':
			pass_env = lh_realloc(pass_env, (npass_env + 1) * sizeof *pass_env);
			pass_env[npass_env++] = optarg;
			break;
		case 's': sandbox = 1; break;
		case 'n': parse_number(optarg, NULL, &max_steps); break;
		case 'W': parse_number(optarg, NULL, &max_seconds); break;
		case 'K': parse_number(optarg, &max_tokens, NULL); break;
		case 'D': parse_number(optarg, &max_usd, NULL); break;
		case 'o': parse_number(optarg, NULL, &cmd_timeout); break;
		case 'R': parse_number(optarg, NULL, &stuck_repeats); break;
		case 'M': parse_number(optarg, NULL, &stuck_unchanged); break;
		case 'u': feedback_path = optarg; break;
		case 'N': print_note = 1; break;
		default:
			lh_usage("agent-step [-AsF] -T transcript [-t task] [-d dir] [-r role] [-p prompt] [options]");
		}
	if (!transcript_path || optind != argc)
		lh_usage("agent-step [-AsF] -T transcript [-t task] [-d dir] [-r role] [-p prompt] [options]");
	from_task();
	from_env("LONGHAUL_MAX_STEPS", NULL, &max_steps);
	from_env("LONGHAUL_MAX_SECONDS", NULL, &max_seconds);
	from_env("LONGHAUL_MAX_TOKENS", &max_tokens, NULL);
	from_env("LONGHAUL_MAX_USD", &max_usd, NULL);
	from_env("LONGHAUL_CMD_TIMEOUT", NULL, &cmd_timeout);
	if (max_steps < 0)
		max_steps = 50;
	if (max_seconds < 0)
		max_seconds = 3600;
	if (cmd_timeout <= 0)
		cmd_timeout = 300;
	if ((v = getenv("LONGHAUL_FSYNC")) && !strcmp(v, "0"))
		fsync_on = 0;
	lh_random_name(run_token, sizeof run_token);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);

	load_transcript();
	if (print_note) {
		survey(&s);
		if (!s.note)
			lh_die(1, "%s: no submit yet", transcript_path);
		printf("%s\n", s.note);
		lh_close_stdout();
		return 0;
	}
	if (json_array_size(lines) == 0)
		start();
	recover();
	if (feedback_path) {
		char *text = read_all(feedback_path);
		json_t *o = json_pack("{s:s,s:b}", "content", text, "feedback", 1);
		free(text);
		add_tree(o);
		append("user", o);
		return 0;
	}
	/* -A: the same steps, without starting a process (which loads
	 * libcurl and reads the transcript again) for each */
	while ((r = step()) == STEPPED && all)
		;
	return r;
}
