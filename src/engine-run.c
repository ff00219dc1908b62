/* engine-run: an existing agent CLI (Claude Code, Codex) as the engine of
 * one longhaul agent, in place of agent-step -A.
 *
 * The CLI runs headless in the task's worktree, inside bwrap (its own PID
 * and network namespaces, the worktree and its git directory writable,
 * everything else read-only, no board, no home, an environment built
 * from an allow-list).  It talks to its provider through llm-forward,
 * which runs out here, holds the real key and lends the CLI a token that
 * is worth nothing elsewhere; inside the sandbox, llm-forward -R carries
 * the CLI's connections from 127.0.0.1 to the forwarder's unix socket.
 *
 * The CLI's event stream (JSON lines on its stdout) is read as it arrives
 * and becomes the transcript, in agent-step's format (agent-step(1)):
 * "assistant" lines with the action taken (so stuck detection, the live
 * view and the report read one format), "tool" lines with the
 * observation and the worktree's hash, "usage" lines with each model
 * call as the forwarder recorded it, "engine" lines with the CLI's
 * session, and the final result as a submit whose note is the handoff
 * note.  Feedback appended with agent-step -u goes back to the same
 * session (the CLI's resume), or to a new one given the task again when
 * there is none.
 *
 * Invariants:
 * - a run is submitted only on the CLI's own final event (Claude's
 *   "result", Codex's "turn.completed"); a stream that ends without it
 *   is a failed attempt, with the reason on stdout;
 * - every limit the CLI lacks is enforced from here: the engine's whole
 *   process tree (the sandbox) is killed when wall time, steps, tokens or
 *   dollars run out, or when it is stuck; the forwarder refuses calls
 *   past the session's tokens and dollars even before that;
 * - the sandbox dies with this process (--die-with-parent) and the
 *   forwarder too (PR_SET_PDEATHSIG): nothing of a run outlives it.
 *
 * Adding a CLI: an adapter below (struct adapter) says how to start it
 * (argv for a new session and for a resume), which provider it speaks,
 * and how one line of its stream maps onto transcript lines; see
 * doc/engines.md.
 */
#include <dirent.h>
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
#include <sys/prctl.h>
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

#define RELAY_PORT 8417
#define OUT_MAX 10000

static const char manual[] =
"usage: engine-run -E engine [-A] -T transcript [-t task.json] [-d dir] [-r role] [-p prompt]\n"
"                  [-m model] [-e NAME[=VALUE]] [-n steps] [-W seconds] [-K tokens]\n"
"                  [-D dollars] [-R repeats] [-M steps]\n"
"       engine-run -T transcript -u file\n"
"       engine-run -T transcript -N\n"
"Run an agent CLI (claude, codex) headless on one task, in a sandbox, with\n"
"the model client's key lent through llm-forward, and write its events as\n"
"an agent-step transcript. Exit statuses and output as agent-step -A.\n"
"  -E engine   claude or codex ($LONGHAUL_ENGINE)\n"
"  -A          accepted for agent-step's callers: a run is always whole\n"
"  -T file     the transcript (JSON lines, created with -t on the first run)\n"
"  -t file     the task record (JSON, as task-show prints it)\n"
"  -d dir      the worktree (default .)\n"
"  -r role     the role: its prompt and its model (default worker)\n"
"  -p file     the role prompt (default share/prompts/ROLE.md)\n"
"  -m model    the model (alias or provider:model), as llm-call -m\n"
"  -e NAME     pass this variable (or NAME=VALUE) to the engine\n"
"  -n steps    at most this many steps: tool calls and replies ($LONGHAUL_MAX_STEPS, 50)\n"
"  -W seconds  at most this much wall time ($LONGHAUL_MAX_SECONDS, 3600)\n"
"  -K tokens   at most this many tokens ($LONGHAUL_MAX_TOKENS)\n"
"  -D dollars  at most this much spent ($LONGHAUL_MAX_USD)\n"
"  -R n        stuck after the same command or error n times in a row (3)\n"
"  -M n        stuck after n commands that left dir unchanged (30; 0: off)\n"
"  -s, -o      accepted for agent-step's callers (always sandboxed)\n"
"  -u file     append file (- for stdin) as a user message and exit\n"
"  -N          print the handoff note of the last submit\n"
"Exit: 1 submitted, 2 usage, 3 limit reached, 5 stuck, 6 model unavailable,\n"
"7 budget spent, 8 error (the engine failed, or its stream ended without\n"
"its final event). It prints the reason on stdout.\n";

static const char *transcript_path, *task_path, *dir = ".", *role = "worker";
static const char *prompt_path, *model, *feedback_path, *engine_name;
static long max_steps = -1, max_seconds = -1, stuck_repeats = 3, stuck_unchanged = 30;
static double max_tokens = -1, max_usd = -1;
static char **pass_env;
static size_t npass_env;
static int fsync_on = 1;

static json_t *lines;
static int tfd = -1;

/* ---- the transcript (agent-step's format) ---- */

static void
load_transcript(void)
{
	json_error_t jerr;
	char *text, *line, *end;
	size_t len;
	FILE *f;
	int n = 0;
	json_t *o;

	tfd = open(transcript_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0666);
	if (tfd < 0)
		lh_die_errno(ERROR, "%s", transcript_path);
	if (flock(tfd, LOCK_EX | LOCK_NB) < 0)
		lh_die_errno(ERROR, "%s: in use by another agent", transcript_path);
	if (!(f = fdopen(dup(tfd), "r")) || !(text = lh_read_stream(f, &len)))
		lh_die_errno(ERROR, "%s", transcript_path);
	fclose(f);
	lines = json_array();
	for (line = text; line < text + len; line = end + 1) {
		n++;
		if (!(end = memchr(line, '\n', text + len - line))) {
			lh_warn("%s: line %d: incomplete, dropped", transcript_path, n);
			if (ftruncate(tfd, line - text) < 0)
				lh_die_errno(ERROR, "%s", transcript_path);
			break;
		}
		*end = 0;
		if (!(o = json_loads(line, 0, &jerr)) || !json_is_object(o))
			lh_die(ERROR, "%s: line %d: %s", transcript_path, n, o ? "not an object" : jerr.text);
		json_array_append_new(lines, o);
	}
	free(text);
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
str(json_t *o, const char *key)
{
	const char *s = json_string_value(json_object_get(o, key));

	return s ? s : "";
}

static int
is(json_t *o, const char *type)
{
	return !strcmp(str(o, "type"), type);
}

static int
is_fresh_user(json_t *o)
{
	return is(o, "user") && !json_is_true(json_object_get(o, "observation")) &&
	    !json_is_true(json_object_get(o, "format_error"));
}

/* valid UTF-8 without NULs; each bad byte becomes U+FFFD */
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

/* ---- the worktree's hash, for "no change in N steps" ---- */

static unsigned long long
fnv(unsigned long long h, const char *p, size_t n)
{
	while (n--)
		h = (h ^ (unsigned char)*p++) * 1099511628211ULL;
	return h;
}

/* 64-bit FNV-1a of what git sees in dir (as agent-step computes it):
 * HEAD, the index, the contents of changed and untracked files. */
static const char *
tree_hash(void)
{
	static char hex[17];
	char *argv[] = { "git", "-c", "core.fsmonitor=false", "status", "--porcelain=v2", "-z",
	    "-uall", "--branch", "--no-ahead-behind", "--no-renames", "--ignore-submodules=all", NULL };
	unsigned long long h = 1469598103934665603ULL;
	char *out = NULL, *e, *end, *path, *content, link[4096], full[8192];
	size_t len = 0, cap = 0, n;
	int fds[2], st, fd, fields;
	ssize_t r;
	struct stat sb;
	pid_t pid;

	if (stuck_unchanged <= 0 || pipe(fds) < 0)
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
	const char *h = tree_hash();

	if (h)
		json_object_set_new(o, "tree", json_string(h));
}

/* ---- the state of the transcript ---- */

struct state {
	long steps;
	double tokens, usd, start;
	const char *note, *session;
	int submitted;          /* the last run ended in a submit, and no user line since */
	json_t *feedback;       /* user lines since the last submit */
};

static void
survey(struct state *s)
{
	json_t *o, *u;
	size_t i;

	memset(s, 0, sizeof *s);
	s->start = -1;
	s->feedback = json_array();
	json_array_foreach(lines, i, o) {
		if (s->start < 0 && json_is_number(json_object_get(o, "time")))
			s->start = json_number_value(json_object_get(o, "time"));
		if (is(o, "engine") && json_is_string(json_object_get(o, "session")) &&
		    !strcmp(str(o, "engine"), engine_name ? engine_name : ""))
			s->session = str(o, "session");
		if (is(o, "usage")) {
			u = json_object_get(o, "usage");
			s->tokens += json_number_value(json_object_get(u, "input_tokens")) +
			    json_number_value(json_object_get(u, "output_tokens")) +
			    json_number_value(json_object_get(u, "cache_read_tokens")) +
			    json_number_value(json_object_get(u, "cache_write_tokens"));
			s->usd += json_number_value(json_object_get(o, "cost_usd"));
		}
		if (is_fresh_user(o) && json_is_true(json_object_get(o, "feedback"))) {
			json_array_append(s->feedback, o);
			s->submitted = 0;
		}
		if (!is(o, "assistant"))
			continue;
		s->steps++;
		if (!strcmp(str(json_object_get(o, "action"), "tool"), "submit")) {
			s->submitted = 1;
			s->note = str(json_object_get(o, "action"), "note");
			json_array_clear(s->feedback);
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

/* agent-step's rule: the same command, or the same failing output,
 * stuck_repeats times in a row since the last fresh user message; or
 * stuck_unchanged observations in a row that left the worktree as it was */
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
			if (!t)
				continue;
			if (!first_cmd)
				first_cmd = t;
			if (same_json(t, first_cmd))
				same_cmd++;
			else
				cmd_run = 0;
		}
		if (is(o, "tool") && json_is_integer(json_object_get(o, "exit")) && out_run) {
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

/* ---- adapters: one per CLI ---- */

struct run {
	char reason[600];
	int status;             /* the exit status once decided; -1 while running */
	int final;              /* the CLI's final event was seen */
	char *last_text;        /* the CLI's last reply text: the note */
	json_t *pending;        /* tool calls waiting for their result, by id */
	long steps_at_start;
};

struct adapter {
	const char *name;
	const char *provider;   /* what it speaks: anthropic, openai */
	const char *program;    /* found in PATH, or $LONGHAUL_<NAME> */
	/* argv after the program, for a new session (session NULL) or a resume */
	void (*args)(char **av, int *n, const char *session, const char *prompt,
	    const char *system, const char *model, long turns, double usd);
	/* environment for its provider settings, inside the sandbox */
	void (*env)(char **av, int *n, const char *token);
	/* one event of its stream */
	void (*event)(struct run *r, json_t *ev);
};

static char *
take_text(char *old, const char *s)
{
	free(old);
	return lh_strdup(s);
}

static void
step_line(struct run *r, const char *text, json_t *calls, json_t *action, const char *model_name)
{
	json_t *a = json_pack("{s:s}", "content", text ? text : "");

	(void)r;
	if (calls)
		json_object_set_new(a, "tool_calls", calls);
	if (action)
		json_object_set_new(a, "action", action);
	if (model_name)
		json_object_set_new(a, "model", json_string(model_name));
	append("assistant", a);
}

static void
tool_line(const char *id, const char *text, int code)
{
	json_t *o;
	size_t n = strlen(text);
	char *c;

	if (n > OUT_MAX) {
		/* head and tail, as agent-step keeps them */
		char *cut = lh_malloc(OUT_MAX + 64);
		snprintf(cut, OUT_MAX + 64, "%.*s\n[... %zu bytes elided ...]\n%s", OUT_MAX / 2, text,
		    n - OUT_MAX, text + n - OUT_MAX / 2);
		c = clean_utf8(cut, strlen(cut));
		free(cut);
	} else
		c = clean_utf8(text, n);
	o = json_pack("{s:s,s:i}", "content", c, "exit", code);
	free(c);
	if (id)
		json_object_set_new(o, "tool_call_id", json_string(id));
	add_tree(o);
	append("tool", o);
}

static void
engine_line(const char *key, json_t *value)
{
	json_t *o = json_pack("{s:s}", "engine", engine_name);

	json_object_set_new(o, key, value);
	append("engine", o);
}

/* Claude Code: claude -p --output-format stream-json --verbose */

static void
claude_args(char **av, int *n, const char *session, const char *prompt, const char *system,
    const char *model_name, long turns, double usd)
{
	static char turns_s[32], usd_s[32];

	av[(*n)++] = "-p";
	av[(*n)++] = "--output-format";
	av[(*n)++] = "stream-json";
	av[(*n)++] = "--verbose";
	/* the sandbox is ours: the CLI asks for no permission */
	av[(*n)++] = "--permission-mode";
	av[(*n)++] = "bypassPermissions";
	av[(*n)++] = "--model";
	av[(*n)++] = (char *)model_name;
	if (turns > 0) {
		snprintf(turns_s, sizeof turns_s, "%ld", turns);
		av[(*n)++] = "--max-turns";
		av[(*n)++] = turns_s;
	}
	if (usd > 0) {
		snprintf(usd_s, sizeof usd_s, "%.4f", usd);
		av[(*n)++] = "--max-budget-usd";
		av[(*n)++] = usd_s;
	}
	if (session) {
		av[(*n)++] = "--resume";
		av[(*n)++] = (char *)session;
	} else if (system) {
		av[(*n)++] = "--append-system-prompt";
		av[(*n)++] = (char *)system;
	}
	av[(*n)++] = "--";
	av[(*n)++] = (char *)prompt;
}

static void
claude_env(char **av, int *n, const char *token)
{
	static char url[64];

	snprintf(url, sizeof url, "http://127.0.0.1:%d", RELAY_PORT);
	av[(*n)++] = "ANTHROPIC_BASE_URL";
	av[(*n)++] = url;
	av[(*n)++] = "ANTHROPIC_API_KEY";
	av[(*n)++] = (char *)token;
	/* it refuses bypassPermissions as root unless told it is sandboxed */
	av[(*n)++] = "IS_SANDBOX";
	av[(*n)++] = "1";
	av[(*n)++] = "CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC";
	av[(*n)++] = "1";
	av[(*n)++] = "DISABLE_AUTOUPDATER";
	av[(*n)++] = "1";
}

static char *
action_command(const char *name, json_t *input)
{
	json_t *c = json_object_get(input, "command");
	char *s, *out;
	size_t n;

	if (json_is_string(c))
		return lh_strdup(json_string_value(c));
	s = json_dumps(input ? input : json_object(), JSON_COMPACT | JSON_SORT_KEYS);
	n = strlen(name) + strlen(s ? s : "") + 2;
	out = lh_malloc(n);
	snprintf(out, n, "%s %s", name, s ? s : "");
	free(s);
	return out;
}

static void
claude_event(struct run *r, json_t *ev)
{
	const char *type = str(ev, "type"), *sub = str(ev, "subtype");
	json_t *msg = json_object_get(ev, "message"), *b, *content;
	size_t i;

	if (!strcmp(type, "system") && !strcmp(sub, "init")) {
		engine_line("session", json_string(str(ev, "session_id")));
		return;
	}
	if (!strcmp(type, "system") && !strcmp(sub, "api_retry")) {
		engine_line("retry", json_pack("{s:O?,s:O?}", "attempt", json_object_get(ev, "attempt"),
		    "error_status", json_object_get(ev, "error_status")));
		return;
	}
	if (!strcmp(type, "assistant")) {
		json_array_foreach(json_object_get(msg, "content"), i, b) {
			const char *bt = str(b, "type");

			if (!strcmp(bt, "text") && *str(b, "text")) {
				r->last_text = take_text(r->last_text, str(b, "text"));
				step_line(r, str(b, "text"), NULL, NULL, str(msg, "model"));
			} else if (!strcmp(bt, "tool_use")) {
				char *cmd = action_command(str(b, "name"), json_object_get(b, "input"));

				step_line(r, "", json_pack("[{s:s,s:s,s:O}]", "id", str(b, "id"), "name",
				    str(b, "name"), "arguments", json_object_get(b, "input")),
				    json_pack("{s:s,s:s,s:s}", "tool", str(b, "name"), "id", str(b, "id"),
				    "command", cmd), str(msg, "model"));
				free(cmd);
			}
		}
		return;
	}
	if (!strcmp(type, "user")) {
		json_array_foreach(json_object_get(msg, "content"), i, b) {
			json_t *c = json_object_get(b, "content"), *x;
			size_t k;
			char *text = NULL;

			if (strcmp(str(b, "type"), "tool_result"))
				continue;
			if (json_is_string(c))
				text = lh_strdup(json_string_value(c));
			else {
				struct { char *s; size_t n; } acc = { lh_strdup(""), 0 };
				json_array_foreach(c, k, x) {
					const char *t = str(x, "text");
					acc.s = lh_realloc(acc.s, acc.n + strlen(t) + 1);
					memcpy(acc.s + acc.n, t, strlen(t) + 1);
					acc.n += strlen(t);
				}
				text = acc.s;
			}
			tool_line(str(b, "tool_use_id"), text, json_is_true(json_object_get(b, "is_error")));
			free(text);
		}
		return;
	}
	if (!strcmp(type, "result")) {
		r->final = 1;
		content = json_object_get(ev, "result");
		if (!json_is_true(json_object_get(ev, "is_error")) && !strcmp(sub, "success")) {
			step_line(r, json_is_string(content) ? json_string_value(content) : "", NULL,
			    json_pack("{s:s,s:s}", "tool", "submit", "note",
			    json_is_string(content) ? json_string_value(content) : ""), NULL);
			r->status = SUBMITTED;
			snprintf(r->reason, sizeof r->reason, "submitted");
		} else if (!strcmp(sub, "error_max_turns")) {
			r->status = LIMIT;
			snprintf(r->reason, sizeof r->reason, "limit reached: %lld turns (the engine's --max-turns)",
			    (long long)json_integer_value(json_object_get(ev, "num_turns")));
		} else if (!strcmp(sub, "error_max_budget_usd")) {
			r->status = LIMIT;
			snprintf(r->reason, sizeof r->reason, "limit reached: $%.4f spent (the engine's --max-budget-usd)",
			    json_number_value(json_object_get(ev, "total_cost_usd")));
		} else {
			json_int_t http = json_integer_value(json_object_get(ev, "api_error_status"));

			r->status = http == 429 || http >= 500 ? UNAVAILABLE : ERROR;
			snprintf(r->reason, sizeof r->reason, "engine error: %s%s%.300s", sub,
			    json_is_string(content) ? ": " : "", json_is_string(content) ? json_string_value(content) : "");
		}
		engine_line("result", json_pack("{s:s,s:O?,s:O?,s:O?}", "subtype", sub,
		    "num_turns", json_object_get(ev, "num_turns"),
		    "total_cost_usd", json_object_get(ev, "total_cost_usd"),
		    "usage", json_object_get(ev, "usage")));
	}
}

/* Codex: codex exec --json */

static char codex_provider[600];

static void
codex_args(char **av, int *n, const char *session, const char *prompt, const char *system,
    const char *model_name, long turns, double usd)
{
	(void)turns;
	(void)usd;
	av[(*n)++] = "exec";
	if (session)
		av[(*n)++] = "resume";
	av[(*n)++] = "--json";
	av[(*n)++] = "--skip-git-repo-check";
	/* the sandbox is ours (its own needs namespaces bwrap took already) */
	av[(*n)++] = "--dangerously-bypass-approvals-and-sandbox";
	av[(*n)++] = "-m";
	av[(*n)++] = (char *)model_name;
	snprintf(codex_provider, sizeof codex_provider,
	    "model_providers.longhaul={name=\"longhaul\",base_url=\"http://127.0.0.1:%d/v1\","
	    "env_key=\"OPENAI_API_KEY\",wire_api=\"responses\"}", RELAY_PORT);
	av[(*n)++] = "-c";
	av[(*n)++] = "model_provider=\"longhaul\"";
	/* a login shell's profile would reset the PATH we gave it */
	av[(*n)++] = "-c";
	av[(*n)++] = "allow_login_shell=false";
	av[(*n)++] = "-c";
	av[(*n)++] = codex_provider;
	if (session) {
		av[(*n)++] = (char *)session;
		av[(*n)++] = (char *)prompt;
	} else {
		/* no option for a system prompt: the role's goes first in the
		 * task's message */
		char *both = lh_malloc(strlen(prompt) + (system ? strlen(system) : 0) + 64);

		sprintf(both, "%s%s%s", system ? system : "", system ? "\n\n---\n\n" : "", prompt);
		av[(*n)++] = "--";
		av[(*n)++] = both;
	}
}

static void
codex_env(char **av, int *n, const char *token)
{
	av[(*n)++] = "OPENAI_API_KEY";
	av[(*n)++] = (char *)token;
}

static void
codex_event(struct run *r, json_t *ev)
{
	const char *type = str(ev, "type");
	json_t *item = json_object_get(ev, "item"), *u;
	const char *it = str(item, "type");

	if (!strcmp(type, "thread.started")) {
		engine_line("session", json_string(str(ev, "thread_id")));
	} else if (!strcmp(type, "item.started") && !strcmp(it, "command_execution")) {
		step_line(r, "", json_pack("[{s:s,s:s,s:{s:s}}]", "id", str(item, "id"), "name", "shell",
		    "arguments", "command", str(item, "command")), json_pack("{s:s,s:s,s:s}", "tool", "shell",
		    "id", str(item, "id"), "command", str(item, "command")), NULL);
	} else if (!strcmp(type, "item.completed") && !strcmp(it, "command_execution")) {
		json_t *code = json_object_get(item, "exit_code");

		tool_line(str(item, "id"), str(item, "aggregated_output"),
		    json_is_integer(code) ? (int)json_integer_value(code) : -1);
	} else if (!strcmp(type, "item.completed") && !strcmp(it, "file_change")) {
		char *cmd = action_command("file_change", json_object_get(item, "changes"));

		step_line(r, "", NULL, json_pack("{s:s,s:s,s:s}", "tool", "file_change", "id",
		    str(item, "id"), "command", cmd), NULL);
		free(cmd);
		tool_line(str(item, "id"), str(item, "status"), strcmp(str(item, "status"), "completed") != 0);
	} else if (!strcmp(type, "item.completed") && !strcmp(it, "agent_message")) {
		r->last_text = take_text(r->last_text, str(item, "text"));
		step_line(r, str(item, "text"), NULL, NULL, NULL);
	} else if (!strcmp(type, "turn.completed")) {
		r->final = 1;
		r->status = SUBMITTED;
		snprintf(r->reason, sizeof r->reason, "submitted");
		step_line(r, "", NULL, json_pack("{s:s,s:s}", "tool", "submit", "note",
		    r->last_text ? r->last_text : ""), NULL);
		u = json_object_get(ev, "usage");
		engine_line("result", json_pack("{s:s,s:O?}", "subtype", "turn.completed", "usage", u));
	} else if (!strcmp(type, "turn.failed")) {
		const char *m = str(json_object_get(ev, "error"), "message");

		r->final = 1;
		r->status = strstr(m, "429") || strstr(m, "overloaded") || strstr(m, "5") ? UNAVAILABLE : ERROR;
		snprintf(r->reason, sizeof r->reason, "engine error: turn failed: %.400s", m);
		engine_line("result", json_pack("{s:s,s:s}", "subtype", "turn.failed", "error", m));
	} else if (!strcmp(type, "error")) {
		engine_line("error", json_string(str(ev, "message")));
	}
}

static const struct adapter adapters[] = {
	{ "claude", "anthropic", "claude", claude_args, claude_env, claude_event },
	{ "codex", "openai", "codex", codex_args, codex_env, codex_event },
};

/* ---- the first run: system and task lines, as agent-step writes them ---- */

static const char engine_note[] =
"\n\n## Tools in this run\n"
"You run with your own tools (a shell, file edits) in the working directory; "
"there is no \"submit\" tool. When you are done, end with a reply that is your "
"handoff note for whoever reads it next: what you did, what you did not do, "
"and what you noticed. That final reply is taken as your submit.\n";

static void
start(void)
{
	json_t *task, *v, *verify;
	json_error_t jerr;
	char path[4096], *prompt, *msg, *p, *sys;
	const char *share = getenv("LONGHAUL_SHARE");
	size_t i, len;

	if (!task_path)
		lh_die(USAGE, "%s: empty transcript: give the task with -t", transcript_path);
	if (!(task = json_load_file(task_path, 0, &jerr)) || !json_is_object(task))
		lh_die(USAGE, "%s: %s", task_path, task ? "not a JSON object" : jerr.text);
	if (!prompt_path) {
		lh_path(path, sizeof path, "%s/prompts/%s.md", share && *share ? share : LH_SHAREDIR, role);
		prompt_path = path;
	}
	prompt = read_all(prompt_path);
	sys = lh_malloc(strlen(prompt) + sizeof engine_note);
	strcpy(sys, prompt);
	strcat(sys, engine_note);
	append("system", json_pack("{s:s}", "content", sys));
	free(prompt);
	free(sys);
	verify = json_object_get(task, "verify");
	len = 4096 + json_string_length(json_object_get(task, "title")) +
	    json_string_length(json_object_get(task, "body"));
	json_array_foreach(verify, i, v)
		len += json_string_length(v) + 8;
	msg = p = lh_malloc(len);
	p += sprintf(p, "# Task %s: %s\n\n%s\n", str(task, "id"), str(task, "title"), str(task, "body"));
	if (json_array_size(verify)) {
		p += sprintf(p, "\n## Verification\nYour work is accepted only when these "
		    "commands pass in the working directory:\n");
		json_array_foreach(verify, i, v)
			p += sprintf(p, "    %s\n", json_is_string(v) ? json_string_value(v) : "");
	}
	p += sprintf(p, "\nThe working directory is a git worktree of the project on its own branch.\n");
	v = json_pack("{s:s,s:O?}", "content", msg, "task", json_object_get(task, "id"));
	add_tree(v);
	append("user", v);
	free(msg);
	json_decref(task);
}

/* ---- running it ---- */

static char *
find_program(const char *name)
{
	const char *path = getenv("PATH"), *p, *q;
	char buf[4096];

	for (p = path ? path : "/usr/bin:/bin"; *p; p = *q ? q + 1 : q) {
		q = p + strcspn(p, ":");
		snprintf(buf, sizeof buf, "%.*s/%s", (int)(q - p), p, name);
		if (access(buf, X_OK) == 0)
			return realpath(buf, NULL);
	}
	return NULL;
}

static char *
git_common_dir(void)
{
	char *argv[] = { "git", "rev-parse", "--path-format=absolute", "--git-common-dir", NULL };
	char buf[4096];
	int fds[2], st;
	ssize_t n = 0, r;
	pid_t pid;

	if (pipe(fds) < 0 || (pid = fork()) < 0)
		return NULL;
	if (pid == 0) {
		if (chdir(dir) < 0)
			_exit(1);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		close(2);
		execvp("git", argv);
		_exit(127);
	}
	close(fds[1]);
	while ((r = read(fds[0], buf + n, sizeof buf - 1 - n)) > 0)
		n += r;
	close(fds[0]);
	waitpid(pid, &st, 0);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	return n && buf[0] == '/' ? lh_strdup(buf) : NULL;
}

static int
allowed(const char *entry)
{
	static const char *names[] = {
		"PATH", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE", "TZ",
		"LONGHAUL_TASK", "LONGHAUL_AGENT", "LONGHAUL_CYCLE",
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

/* NAME was passed to the engine with -e */
static int
passed(const char *name)
{
	size_t i, len = strlen(name);

	for (i = 0; i < npass_env; i++)
		if (!strncmp(pass_env[i], name, len) && (!pass_env[i][len] || pass_env[i][len] == '='))
			return 1;
	return 0;
}

/* hide a path that exists: a directory under an empty tmpfs, a file
 * under /dev/null */
static void
hide(char **av, int *n, const char *path)
{
	struct stat st;
	char *real;

	if (!path || !*path || stat(path, &st) < 0 || !(real = realpath(path, NULL)))
		return;
	if (!strcmp(real, "/")) {
		free(real);
		return;
	}
	if (S_ISDIR(st.st_mode)) {
		av[(*n)++] = "--tmpfs";
		av[(*n)++] = real;
	} else {
		av[(*n)++] = "--ro-bind";
		av[(*n)++] = "/dev/null";
		av[(*n)++] = real;
	}
}

static pid_t forwarder, engine;

static void
kill_all(void)
{
	if (engine > 0)
		kill(-engine, SIGKILL);
	if (forwarder > 0)
		kill(forwarder, SIGTERM);
}

static void
on_signal(int sig)
{
	kill_all();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Start llm-forward on a unix socket in sockdir; read its "ready" line
 * for the provider and the model. */
static void
start_forwarder(const char *sock, const char *token, const char *log, char *provider,
    char *model_name, size_t size, double tokens_left, double usd_left)
{
	char *av[20], line[600], ktok[64], kusd[64], *prog, *sp;
	int fds[2], n = 0;
	ssize_t r, len = 0;

	if (!(prog = find_program("llm-forward")))
		lh_die(ERROR, "llm-forward: not found in PATH");
	av[n++] = prog;
	av[n++] = "-r";
	av[n++] = (char *)role;
	if (model) {
		av[n++] = "-m";
		av[n++] = (char *)model;
	}
	if (tokens_left >= 0) {
		snprintf(ktok, sizeof ktok, "%.0f", tokens_left);
		av[n++] = "-K";
		av[n++] = ktok;
	}
	if (usd_left >= 0) {
		snprintf(kusd, sizeof kusd, "%.6f", usd_left);
		av[n++] = "-D";
		av[n++] = kusd;
	}
	av[n++] = "-L";
	av[n++] = (char *)log;
	av[n++] = "-s";
	av[n++] = (char *)sock;
	av[n] = NULL;
	if (pipe(fds) < 0)
		lh_die_errno(ERROR, "pipe");
	if ((forwarder = fork()) < 0)
		lh_die_errno(ERROR, "fork");
	if (forwarder == 0) {
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		setenv("LONGHAUL_FORWARD_TOKEN", token, 1);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execv(prog, av);
		lh_die_errno(127, "%s", prog);
	}
	close(fds[1]);
	while (len < (ssize_t)sizeof line - 1 && (r = read(fds[0], line + len, sizeof line - 1 - len)) != 0) {
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			break;
		len += r;
		if (memchr(line, '\n', len))
			break;
	}
	close(fds[0]);
	line[len] = 0;
	line[strcspn(line, "\n")] = 0;
	if (strncmp(line, "ready ", 6) || !(sp = strchr(line + 6, ' ')))
		lh_die(ERROR, "llm-forward did not start (see its message above)");
	*sp = 0;
	snprintf(provider, 16, "%.15s", line + 6);
	snprintf(model_name, size, "%s", sp + 1);
	free(prog);
}

/* New lines of the forwarder's session log, as "usage" lines. */
static void
read_usage(const char *log, off_t *off)
{
	char *s, *p, *nl;
	size_t n;
	json_t *j;

	if (!(s = lh_read_file(log, &n)) || (off_t)n <= *off) {
		free(s);
		return;
	}
	for (p = s + *off; (nl = memchr(p, '\n', s + n - p)); p = nl + 1) {
		if ((j = json_loadb(p, nl - p, 0, NULL))) {
			json_object_del(j, "time");
			append("usage", j);
		}
		*off = nl + 1 - s;
	}
	free(s);
}

/* the fleet's budget (LONGHAUL_BUDGET_USD, LONGHAUL_BUDGET_TOKENS) over
 * the usage log, as llm-call judges it */
static int
budget_spent(char *why, size_t size)
{
	const char *u = getenv("LONGHAUL_BUDGET_USD"), *t = getenv("LONGHAUL_BUDGET_TOKENS");
	char dir[4096];
	uint64_t tokens;
	double usd;

	if ((!u || !*u) && (!t || !*t))
		return 0;
	if (lh_llm_usage_dir(dir, sizeof dir) < 0 || lh_llm_usage_total(dir, &tokens, &usd) < 0)
		return 0;
	if (u && *u && usd >= atof(u)) {
		snprintf(why, size, "budget spent: $%.4f of $%.4f", usd, atof(u));
		return 1;
	}
	if (t && *t && tokens >= strtod(t, NULL)) {
		snprintf(why, size, "budget spent: %llu of %s tokens", (unsigned long long)tokens, t);
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

/* the last line of the CLI's stderr, to say why it failed */
static const char *
last_line(int fd, const char *path)
{
	static char line[400];
	char *s, *e;
	size_t n;

	(void)fd;
	if (!(s = lh_read_file(path, &n)))
		return NULL;
	while (n && (s[n - 1] == '\n' || s[n - 1] == '\r'))
		n--;
	s[n] = 0;
	e = strrchr(s, '\n');
	snprintf(line, sizeof line, "%s", e ? e + 1 : s);
	free(s);
	return *line ? line : NULL;
}

static int
run_engine(const struct adapter *ad)
{
	struct state s;
	struct run r = { .status = -1 };
	char token[33], sockdir[] = "/tmp/longhaul-forward.XXXXXX", sock[600], log[700];
	char provider[16], model_name[256], home[4200], home_real[PATH_MAX], why[300], *prompt, *system = NULL;
	char *av[520], *program, *relay, *realdir, *gitdir, *buf = NULL, *bwrap;
	char *bwrap_env[] = { "PATH=/usr/bin:/bin", NULL };
	const char *session;
	size_t cap = 0, len = 0, i;
	int n = 0, fds[2], st = 0, killed = 0, errfd;
	char errlog[4200];
	double deadline, tokens_left = -1, usd_left = -1;
	long turns_left = 0;
	off_t usage_off = 0;
	struct pollfd pf;
	extern char **environ;
	char **e;
	json_t *o;

	survey(&s);
	if (budget_spent(why, sizeof why))
		return finish(BUDGET, "%s", why);
	deadline = s.start + max_seconds;
	if (lh_now() >= deadline)
		return finish(LIMIT, "limit reached: %.0f seconds", lh_now() - s.start);
	if (max_steps > 0 && s.steps >= max_steps)
		return finish(LIMIT, "limit reached: %ld steps", s.steps);
	if (max_tokens >= 0 && (tokens_left = max_tokens - s.tokens) <= 0)
		return finish(LIMIT, "limit reached: %.0f tokens", s.tokens);
	if (max_usd >= 0 && (usd_left = max_usd - s.usd) <= 0)
		return finish(LIMIT, "limit reached: $%.4f spent", s.usd);
	turns_left = max_steps > 0 ? max_steps - s.steps : 0;

	/* what to say: the feedback to the same session, or the task to a new
	 * one (with the feedback after it, when the session is gone) */
	session = s.session;
	if (json_array_size(s.feedback) && session) {
		size_t total = 1;
		json_array_foreach(s.feedback, i, o)
			total += strlen(str(o, "content")) + 2;
		prompt = lh_malloc(total);
		prompt[0] = 0;
		json_array_foreach(s.feedback, i, o) {
			strcat(prompt, str(o, "content"));
			strcat(prompt, "\n\n");
		}
	} else if (session && !s.submitted) {
		prompt = lh_strdup("Your last run was interrupted before it ended. Look at the state "
		    "of the working directory, then go on with the task.");
	} else {
		size_t total = 1;
		json_array_foreach(lines, i, o)
			if (is_fresh_user(o) && (i == 1 || json_is_true(json_object_get(o, "feedback"))))
				total += strlen(str(o, "content")) + 2;
		prompt = lh_malloc(total);
		prompt[0] = 0;
		json_array_foreach(lines, i, o)
			if (is_fresh_user(o) && (i == 1 || json_is_true(json_object_get(o, "feedback")))) {
				strcat(prompt, str(o, "content"));
				strcat(prompt, "\n\n");
			}
		session = NULL;
	}
	json_array_foreach(lines, i, o)
		if (is(o, "system")) {
			/* a transcript agent-step began (the planner's) lacks the note */
			const char *c = str(o, "content");
			system = lh_malloc(strlen(c) + sizeof engine_note);
			strcpy(system, c);
			if (!strstr(c, "## Tools in this run"))
				strcat(system, engine_note);
			break;
		}

	lh_random_name(token, sizeof token);
	if (!mkdtemp(sockdir))
		lh_die_errno(ERROR, "%s", sockdir);
	lh_path(sock, sizeof sock, "%s/sock", sockdir);
	lh_path(log, sizeof log, "%s.usage", transcript_path);
	{
		struct stat lst;
		usage_off = stat(log, &lst) == 0 ? lst.st_size : 0;
	}
	start_forwarder(sock, token, log, provider, model_name, sizeof model_name, tokens_left, usd_left);
	if (strcmp(provider, ad->provider)) {
		kill_all();
		return finish(USAGE, "engine %s speaks %s; the %s's model is %s:%s", ad->name, ad->provider,
		    role, provider, model_name);
	}

	/* the sandbox */
	lh_path(home, sizeof home, "%s.home", transcript_path);
	if (lh_mkdirs(home) < 0 || !realpath(home, home_real))
		lh_die_errno(ERROR, "%s", home);
	snprintf(home, sizeof home, "%s", home_real);
	{
		char env_prog[64], *v;
		size_t k;

		snprintf(env_prog, sizeof env_prog, "LONGHAUL_%s", ad->name);
		for (k = 9; env_prog[k]; k++)
			env_prog[k] = env_prog[k] >= 'a' && env_prog[k] <= 'z' ? env_prog[k] - 32 : env_prog[k];
		v = getenv(env_prog);
		program = v && *v ? realpath(v, NULL) : find_program(ad->program);
	}
	if (!program) {
		kill_all();
		return finish(ERROR, "engine %s: %s not found in PATH (mk/engines installs it)", ad->name, ad->program);
	}
	if (!(relay = find_program("llm-forward")) || !(realdir = realpath(dir, NULL)))
		lh_die_errno(ERROR, "%s", dir);
	gitdir = git_common_dir();
	if (!(bwrap = find_program("bwrap")))
		return finish(ERROR, "engine %s: bwrap not found: an engine runs only in a sandbox", ad->name);
	av[n++] = "bwrap";
	av[n++] = "--die-with-parent";
	av[n++] = "--new-session";
	av[n++] = "--unshare-pid";
	av[n++] = "--unshare-net";
	av[n++] = "--unshare-ipc";
	av[n++] = "--ro-bind"; av[n++] = "/"; av[n++] = "/";
	av[n++] = "--dev"; av[n++] = "/dev";
	av[n++] = "--proc"; av[n++] = "/proc";
	av[n++] = "--tmpfs"; av[n++] = "/tmp";
	/* what holds keys or the board: the real home, the config, the board */
	hide(av, &n, getenv("HOME"));
	hide(av, &n, getenv("LONGHAUL_CONFIG"));
	if (!passed("LONGHAUL_BOARD"))
		hide(av, &n, getenv("LONGHAUL_BOARD"));
	hide(av, &n, getenv("LONGHAUL_STATE"));
	{
		/* the other transcripts, next to this one */
		char *tdir = realpath(transcript_path, NULL), *slash;
		if (tdir && (slash = strrchr(tdir, '/')) && slash != tdir) {
			*slash = 0;
			hide(av, &n, tdir);
		}
		free(tdir);
	}
	{
		/* the engine's installation (an npm tree, often under the home
		 * just hidden), read-only */
		char *top = lh_strdup(program), *nm = strstr(top, "/node_modules/"), *slash;

		if (nm)
			nm[13] = 0;
		else if ((slash = strrchr(top, '/')) && slash != top)
			*slash = 0;
		av[n++] = "--ro-bind"; av[n++] = top; av[n++] = top;
	}
	{
		/* the programs of PATH under /tmp, which the tmpfs above hid
		 * (the relay and the tools may be built there), each alone: such
		 * a directory may hold much else (a checkout, its test boards) */
		const char *path = getenv("PATH"), *p, *q;
		char d[4096], file[8192], *real;
		struct dirent *de;
		struct stat st;
		DIR *dp;

		for (p = path ? path : ""; *p; p = *q ? q + 1 : q) {
			q = p + strcspn(p, ":");
			if ((size_t)(q - p) >= sizeof d)
				continue;
			snprintf(d, sizeof d, "%.*s", (int)(q - p), p);
			if (!(real = realpath(d, NULL)) || strncmp(real, "/tmp/", 5) || !(dp = opendir(real))) {
				free(real);
				continue;
			}
			while ((de = readdir(dp)) && n < 340)
				if (de->d_name[0] != '.' &&
				    (size_t)snprintf(file, sizeof file, "%s/%s", real, de->d_name) < sizeof file &&
				    stat(file, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 0111)) {
					char *bound = lh_strdup(file);

					av[n++] = "--ro-bind"; av[n++] = bound; av[n++] = bound;
				}
			closedir(dp);
			free(real);
		}
	}
	av[n++] = "--bind"; av[n++] = realdir; av[n++] = realdir;
	if (gitdir) {
		av[n++] = "--bind"; av[n++] = gitdir; av[n++] = gitdir;
	}
	if (passed("LONGHAUL_BOARD") && getenv("LONGHAUL_BOARD") && *getenv("LONGHAUL_BOARD")) {
		/* a planner publishes: the board it was given with -e */
		av[n++] = "--bind"; av[n++] = getenv("LONGHAUL_BOARD"); av[n++] = getenv("LONGHAUL_BOARD");
	}
	av[n++] = "--bind"; av[n++] = home; av[n++] = home;
	av[n++] = "--bind"; av[n++] = sockdir; av[n++] = sockdir;
	av[n++] = "--clearenv";
	for (e = environ; *e && n < 400; e++)
		if (allowed(*e)) {
			char *c = lh_strdup(*e), *eq = strchr(c, '=');
			*eq = 0;
			av[n++] = "--setenv"; av[n++] = c; av[n++] = eq + 1;
		}
	for (i = 0; i < npass_env && n < 400; i++)
		if (strchr(pass_env[i], '=')) {
			char *c = lh_strdup(pass_env[i]), *eq = strchr(c, '=');
			*eq = 0;
			av[n++] = "--setenv"; av[n++] = c; av[n++] = eq + 1;
		}
	av[n++] = "--setenv"; av[n++] = "HOME"; av[n++] = home;
	av[n++] = "--setenv"; av[n++] = "TERM"; av[n++] = "dumb";
	av[n++] = "--setenv"; av[n++] = "NO_COLOR"; av[n++] = "1";
	av[n++] = "--setenv"; av[n++] = "GIT_PAGER"; av[n++] = "cat";
	av[n++] = "--setenv"; av[n++] = "PAGER"; av[n++] = "cat";
	av[n++] = "--setenv"; av[n++] = "GIT_EDITOR"; av[n++] = "true";
	av[n++] = "--setenv"; av[n++] = "GIT_TERMINAL_PROMPT"; av[n++] = "0";
	{
		char *pe[20];
		int np = 0, k;

		ad->env(pe, &np, token);
		for (k = 0; k + 1 < np; k += 2) {
			av[n++] = "--setenv"; av[n++] = pe[k]; av[n++] = pe[k + 1];
		}
	}
	av[n++] = "--chdir"; av[n++] = realdir;
	av[n++] = "--";
	av[n++] = relay;
	av[n++] = "-R"; av[n++] = sock;
	{
		static char port[16];
		snprintf(port, sizeof port, "%d", RELAY_PORT);
		av[n++] = "-p"; av[n++] = port;
	}
	av[n++] = "--";
	av[n++] = program;
	ad->args(av, &n, session, prompt, system, model_name, turns_left, usd_left);
	av[n] = NULL;

	engine_line("start", json_pack("{s:s,s:s,s:s?,s:b}", "model", model_name,
	    "provider", provider, "resume", session, "feedback", json_array_size(s.feedback) > 0));
	r.steps_at_start = s.steps;
	/* the CLI's own messages, for whoever looks into a failure */
	lh_path(errlog, sizeof errlog, "%s.stderr", transcript_path);
	errfd = open(errlog, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (pipe(fds) < 0)
		lh_die_errno(ERROR, "pipe");
	fflush(NULL);
	if ((engine = fork()) < 0)
		lh_die_errno(ERROR, "fork");
	if (engine == 0) {
		int null = open("/dev/null", O_RDONLY);

		setpgid(0, 0);
		signal(SIGPIPE, SIG_DFL);
		dup2(null, 0);
		dup2(fds[1], 1);
		if (errfd >= 0)
			dup2(errfd, 2);
		close(fds[0]);
		close(fds[1]);
		/* bwrap's own process in the sandbox (its PID 1) keeps the
		 * environment it was started with, readable in /proc/1/environ:
		 * start it with nothing of ours, the engine's comes by --setenv */
		lh_sandbox_close_fds(LH_SANDBOX_ON);
		execve(bwrap, av, bwrap_env);
		lh_die_errno(127, "%s", bwrap);
	}
	setpgid(engine, engine);
	close(fds[1]);
	pf.fd = fds[0];
	pf.events = POLLIN;
	for (;;) {
		double left = deadline - lh_now();
		ssize_t got;
		char *nl, *p;
		int pr;

		if (left <= 0) {
			snprintf(r.reason, sizeof r.reason, "limit reached: %.0f seconds", lh_now() - s.start);
			r.status = LIMIT;
			killed = 1;
			break;
		}
		pr = poll(&pf, 1, left > 1 ? 1000 : (int)(left * 1000) + 1);
		if (pr < 0 && errno != EINTR)
			lh_die_errno(ERROR, "poll");
		read_usage(log, &usage_off);
		if (pr <= 0)
			continue;
		if (len + 65536 > cap)
			buf = lh_realloc(buf, cap = 2 * cap + 65536);
		if ((got = read(fds[0], buf + len, cap - len)) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (got == 0)
			break;
		len += got;
		for (p = buf; (nl = memchr(p, '\n', buf + len - p)); p = nl + 1) {
			json_t *ev = json_loadb(p, nl - p, 0, NULL);

			if (ev) {
				ad->event(&r, ev);
				json_decref(ev);
			}
		}
		memmove(buf, p, buf + len - p);
		len = buf + len - p;
		if (r.final)
			break;
		survey(&s);
		if (stuck(why, sizeof why)) {
			snprintf(r.reason, sizeof r.reason, "%s", why);
			r.status = STUCK;
			killed = 1;
			break;
		}
		if (max_steps > 0 && s.steps >= max_steps) {
			snprintf(r.reason, sizeof r.reason, "limit reached: %ld steps", s.steps);
			r.status = LIMIT;
			killed = 1;
			break;
		}
		if ((max_tokens >= 0 && s.tokens >= max_tokens) || (max_usd >= 0 && s.usd >= max_usd)) {
			if (max_usd >= 0 && s.usd >= max_usd)
				snprintf(r.reason, sizeof r.reason, "limit reached: $%.4f spent", s.usd);
			else
				snprintf(r.reason, sizeof r.reason, "limit reached: %.0f tokens", s.tokens);
			r.status = LIMIT;
			killed = 1;
			break;
		}
	}
	if (killed || r.final)
		kill(-engine, SIGKILL);
	close(fds[0]);
	while (waitpid(engine, &st, 0) < 0 && errno == EINTR)
		;
	engine = 0;
	kill(forwarder, SIGTERM);
	while (waitpid(forwarder, NULL, 0) < 0 && errno == EINTR)
		;
	forwarder = 0;
	read_usage(log, &usage_off);
	unlink(sock);
	rmdir(sockdir);
	if (errfd >= 0)
		close(errfd);
	errfd = -2;
	free(buf);
	free(prompt);
	free(system);
	free(r.last_text);
	if (r.status < 0) {
		/* the stream ended without the CLI's final event */
		if (budget_spent(why, sizeof why))
			return finish(BUDGET, "%s", why);
		r.status = ERROR;
		snprintf(r.reason, sizeof r.reason, "engine failed: %s's stream ended without its final event (%s %d)%s%.300s",
		    ad->name, WIFSIGNALED(st) ? "killed by signal" : "exit status",
		    WIFSIGNALED(st) ? WTERMSIG(st) : WEXITSTATUS(st), last_line(errfd, errlog) ? ": " : "",
		    last_line(errfd, errlog) ? last_line(errfd, errlog) : "");
	}
	if (r.status != SUBMITTED)
		engine_line("end", json_pack("{s:i,s:s}", "status", r.status, "reason", r.reason));
	if (r.status == UNAVAILABLE || r.status == ERROR) {
		if (budget_spent(why, sizeof why))
			return finish(BUDGET, "%s", why);
	}
	return finish(r.status, "%s", r.reason);
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
		*l = (long)v;
}

static void
from_env(const char *name, double *d, long *l)
{
	const char *v = getenv(name);

	if (((d && *d < 0) || (l && *l < 0)) && v && *v)
		parse_number(v, d, l);
}

static void
from_task(void)
{
	json_t *task, *limits, *v;

	if (!task_path || !(task = json_load_file(task_path, 0, NULL)))
		return;
	limits = json_object_get(task, "limits");
	if (max_steps < 0 && json_is_number(v = json_object_get(limits, "steps")))
		max_steps = (long)json_number_value(v);
	if (max_seconds < 0 && json_is_number(v = json_object_get(limits, "seconds")))
		max_seconds = (long)json_number_value(v);
	if (max_tokens < 0 && json_is_number(v = json_object_get(limits, "tokens")))
		max_tokens = json_number_value(v);
	if (max_usd < 0 && json_is_number(v = json_object_get(limits, "usd")))
		max_usd = json_number_value(v);
	json_decref(task);
}

int
main(int argc, char **argv)
{
	const struct adapter *ad = NULL;
	int c, print_note = 0;
	const char *v;
	struct state s;
	size_t i;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "E:AT:t:d:r:p:m:e:sn:W:K:D:o:R:M:u:Nx:F")) != -1)
		switch (c) {
		case 'E': engine_name = optarg; break;
		case 'A': case 's': case 'o': break;
		case 'T': transcript_path = optarg; break;
		case 't': task_path = optarg; break;
		case 'd': dir = optarg; break;
		case 'r': role = optarg; break;
		case 'p': prompt_path = optarg; break;
		case 'm': model = optarg; break;
		case 'e':
			pass_env = lh_realloc(pass_env, (npass_env + 1) * sizeof *pass_env);
			pass_env[npass_env++] = optarg;
			break;
		case 'n': parse_number(optarg, NULL, &max_steps); break;
		case 'W': parse_number(optarg, NULL, &max_seconds); break;
		case 'K': parse_number(optarg, &max_tokens, NULL); break;
		case 'D': parse_number(optarg, &max_usd, NULL); break;
		case 'R': parse_number(optarg, NULL, &stuck_repeats); break;
		case 'M': parse_number(optarg, NULL, &stuck_unchanged); break;
		case 'u': feedback_path = optarg; break;
		case 'N': print_note = 1; break;
		case 'x': case 'F':
			lh_die(USAGE, "-%c: an engine brings its own tools", c);
			break;
		default:
			lh_usage("engine-run -E engine [-A] -T transcript [-t task] [-d dir] [-r role] [options]");
		}
	if (!transcript_path || optind != argc)
		lh_usage("engine-run -E engine [-A] -T transcript [-t task] [-d dir] [-r role] [options]");
	if (!engine_name && (v = getenv("LONGHAUL_ENGINE")) && *v)
		engine_name = v;
	if (!print_note && !feedback_path) {
		if (!engine_name)
			lh_usage("engine-run -E engine [-A] -T transcript [-t task] [-d dir] [-r role] [options]");
		for (i = 0; i < sizeof adapters / sizeof *adapters; i++)
			if (!strcmp(adapters[i].name, engine_name))
				ad = &adapters[i];
		if (!ad)
			lh_die(USAGE, "%s: no such engine (claude, codex)", engine_name);
	}
	from_task();
	from_env("LONGHAUL_MAX_STEPS", NULL, &max_steps);
	from_env("LONGHAUL_MAX_SECONDS", NULL, &max_seconds);
	from_env("LONGHAUL_MAX_TOKENS", &max_tokens, NULL);
	from_env("LONGHAUL_MAX_USD", &max_usd, NULL);
	if (max_steps < 0)
		max_steps = 50;
	if (max_seconds < 0)
		max_seconds = 3600;
	if ((v = getenv("LONGHAUL_FSYNC")) && !strcmp(v, "0"))
		fsync_on = 0;
	/* the key is in our environment: nobody of our uid reads it */
	prctl(PR_SET_DUMPABLE, 0);
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
	if (feedback_path) {
		char *text = read_all(feedback_path);
		json_t *o = json_pack("{s:s,s:b}", "content", text, "feedback", 1);

		free(text);
		add_tree(o);
		append("user", o);
		return 0;
	}
	if (json_array_size(lines) == 0)
		start();
	return run_engine(ad);
}
