/* engine-run: an existing agent CLI (Claude Code, Codex) as the engine of
 * one longhaul agent, in place of agent-step -A.
 *
 * The CLI runs headless in the task's worktree, in the sandbox of
 * agent-step's commands (lh-sandbox.c: an empty root, the worktree and
 * what git needs of its git directory writable, no board, no home, its
 * own PID and network namespaces, an environment built from an
 * allow-list), with on top only its installation and the forwarder's
 * socket read-only and a home of its own.  It talks to its provider through llm-forward,
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
 * there is none.  The harness's tools (-x, a planner's: the board) are
 * performed out here, as agent-step performs them, when the CLI's shell
 * asks with engine-run -X over a socket bound into the sandbox.
 *
 * Invariants:
 * - a run is submitted only on the CLI's own final event (Claude's
 *   "result", Codex's "turn.completed"); a stream that ends without it
 *   is a failed attempt, with the reason on stdout;
 * - every limit the CLI lacks is enforced from here: the engine's whole
 *   process tree (the sandbox) is killed when wall time, steps, tokens or
 *   dollars run out, or when it is stuck; the forwarder refuses calls
 *   past the session's tokens and dollars even before that;
 * - the CLI cannot write the board, whatever the role: the board is not
 *   in its sandbox (the sandbox's view is agent-step's; -e passes
 *   variables, never mounts), and what a planner changes goes through
 *   the tools, which take the model's arguments as words of a fixed
 *   command (lh-tools.c) and keep their own bounds (LONGHAUL_AREA, ...);
 * - the key is never in the sandbox: bwrap and the CLI get the
 *   allow-listed environment and the token, the key stays in this
 *   process (not dumpable) and in the forwarder, and tools run outside
 *   get the allow-list too;
 * - the sandbox dies with this process (--die-with-parent), and the
 *   forwarder and the tools' processes too (PR_SET_PDEATHSIG): nothing
 *   of a run outlives it.
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
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "longhaul.h"

enum {
	STEPPED = 0, SUBMITTED = 1, USAGE = 2, LIMIT = 3, FORMAT = 4,
	STUCK = 5, UNAVAILABLE = 6, BUDGET = 7, ERROR = 8,
};

#define RELAY_PORT 8417
#define OUT_MAX 10000

static const char manual[] =
"usage: engine-run -E engine [-A] -T transcript [-t task.json] [-d dir] [-r role] [-p prompt]\n"
"                  [-m model] [-e NAME[=VALUE]] [-n steps] [-W seconds] [-K tokens]\n"
"                  [-D dollars] [-R repeats] [-M steps] [-x tools]\n"
"       engine-run -T transcript -u file\n"
"       engine-run -T transcript -N\n"
"       engine-run -X tool [arguments]\n"
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
"  -x file     perform this file's tools that have a command, outside, for the CLI\n"
"  -X tool     inside the sandbox: call a tool of the harness (arguments: JSON)\n"
"  -s, -o      accepted for agent-step's callers (always sandboxed)\n"
"  -u file     append file (- for stdin) as a user message and exit\n"
"  -N          print the handoff note of the last submit\n"
"Exit: 1 submitted, 2 usage, 3 limit reached, 5 stuck, 6 model unavailable,\n"
"7 budget spent, 8 error (the engine failed, or its stream ended without\n"
"its final event). It prints the reason on stdout.\n";

static const char *transcript_path, *task_path, *dir = ".", *role = "worker";
static const char *prompt_path, *model, *feedback_path, *engine_name, *tools_path;
static long max_steps = -1, max_seconds = -1, stuck_repeats = 3, stuck_unchanged = 30;
static double max_tokens = -1, max_usd = -1;
static char **pass_env;
static size_t npass_env;
static int fsync_on = 1;

static json_t *lines;
static int tfd = -1;

/* ---- the transcript (agent-step's format, lh-transcript.c) ---- */

static void
load_transcript(void)
{
	tfd = lh_transcript_open(transcript_path, &lines, ERROR);
}

static void
append(const char *type, json_t *o)
{
	lh_transcript_append(tfd, transcript_path, fsync_on, lines, type, o, ERROR);
}

static char *
read_all(const char *path)
{
	return lh_text_read(path, USAGE);
}

static void
add_tree(json_t *o)
{
	const char *h;

	if (stuck_unchanged > 0 && (h = lh_tree_hash(dir)))
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
		if (lh_line_is(o, "engine") && json_is_string(json_object_get(o, "session")) &&
		    !strcmp(lh_json_str(o, "engine"), engine_name ? engine_name : ""))
			s->session = lh_json_str(o, "session");
		if (lh_line_is(o, "usage")) {
			u = json_object_get(o, "usage");
			s->tokens += json_number_value(json_object_get(u, "input_tokens")) +
			    json_number_value(json_object_get(u, "output_tokens")) +
			    json_number_value(json_object_get(u, "cache_read_tokens")) +
			    json_number_value(json_object_get(u, "cache_write_tokens"));
			s->usd += json_number_value(json_object_get(o, "cost_usd"));
		}
		if (lh_line_fresh_user(o) && json_is_true(json_object_get(o, "feedback"))) {
			json_array_append(s->feedback, o);
			s->submitted = 0;
		}
		if (!lh_line_is(o, "assistant"))
			continue;
		s->steps++;
		if (!strcmp(lh_json_str(json_object_get(o, "action"), "tool"), "submit")) {
			s->submitted = 1;
			s->note = lh_json_str(json_object_get(o, "action"), "note");
			json_array_clear(s->feedback);
		}
	}
	if (s->start < 0)
		s->start = lh_now();
}

/* agent-step's rule (lh_transcript_stuck), where a reply between tool
 * calls (a CLI says what it does next) does not end a run of the same
 * command */
static int
stuck(char *why, size_t size)
{
	return lh_transcript_stuck(lines, stuck_repeats, stuck_unchanged, 0, why, size);
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
		c = lh_text_clean(cut, strlen(cut));
		free(cut);
	} else
		c = lh_text_clean(text, n);
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
	const char *type = lh_json_str(ev, "type"), *sub = lh_json_str(ev, "subtype");
	json_t *msg = json_object_get(ev, "message"), *b, *content;
	size_t i;

	if (!strcmp(type, "system") && !strcmp(sub, "init")) {
		engine_line("session", json_string(lh_json_str(ev, "session_id")));
		return;
	}
	if (!strcmp(type, "system") && !strcmp(sub, "api_retry")) {
		engine_line("retry", json_pack("{s:O?,s:O?}", "attempt", json_object_get(ev, "attempt"),
		    "error_status", json_object_get(ev, "error_status")));
		return;
	}
	if (!strcmp(type, "assistant")) {
		json_array_foreach(json_object_get(msg, "content"), i, b) {
			const char *bt = lh_json_str(b, "type");

			if (!strcmp(bt, "text") && *lh_json_str(b, "text")) {
				r->last_text = take_text(r->last_text, lh_json_str(b, "text"));
				step_line(r, lh_json_str(b, "text"), NULL, NULL, lh_json_str(msg, "model"));
			} else if (!strcmp(bt, "tool_use")) {
				char *cmd = action_command(lh_json_str(b, "name"), json_object_get(b, "input"));

				step_line(r, "", json_pack("[{s:s,s:s,s:O}]", "id", lh_json_str(b, "id"), "name",
				    lh_json_str(b, "name"), "arguments", json_object_get(b, "input")),
				    json_pack("{s:s,s:s,s:s}", "tool", lh_json_str(b, "name"), "id", lh_json_str(b, "id"),
				    "command", cmd), lh_json_str(msg, "model"));
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

			if (strcmp(lh_json_str(b, "type"), "tool_result"))
				continue;
			if (json_is_string(c))
				text = lh_strdup(json_string_value(c));
			else {
				struct { char *s; size_t n; } acc = { lh_strdup(""), 0 };
				json_array_foreach(c, k, x) {
					const char *t = lh_json_str(x, "text");
					acc.s = lh_realloc(acc.s, acc.n + strlen(t) + 1);
					memcpy(acc.s + acc.n, t, strlen(t) + 1);
					acc.n += strlen(t);
				}
				text = acc.s;
			}
			tool_line(lh_json_str(b, "tool_use_id"), text, json_is_true(json_object_get(b, "is_error")));
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
	const char *type = lh_json_str(ev, "type");
	json_t *item = json_object_get(ev, "item"), *u;
	const char *it = lh_json_str(item, "type");

	if (!strcmp(type, "thread.started")) {
		engine_line("session", json_string(lh_json_str(ev, "thread_id")));
	} else if (!strcmp(type, "item.started") && !strcmp(it, "command_execution")) {
		step_line(r, "", json_pack("[{s:s,s:s,s:{s:s}}]", "id", lh_json_str(item, "id"), "name", "shell",
		    "arguments", "command", lh_json_str(item, "command")), json_pack("{s:s,s:s,s:s}", "tool", "shell",
		    "id", lh_json_str(item, "id"), "command", lh_json_str(item, "command")), NULL);
	} else if (!strcmp(type, "item.completed") && !strcmp(it, "command_execution")) {
		json_t *code = json_object_get(item, "exit_code");

		tool_line(lh_json_str(item, "id"), lh_json_str(item, "aggregated_output"),
		    json_is_integer(code) ? (int)json_integer_value(code) : -1);
	} else if (!strcmp(type, "item.completed") && !strcmp(it, "file_change")) {
		char *cmd = action_command("file_change", json_object_get(item, "changes"));

		step_line(r, "", NULL, json_pack("{s:s,s:s,s:s}", "tool", "file_change", "id",
		    lh_json_str(item, "id"), "command", cmd), NULL);
		free(cmd);
		tool_line(lh_json_str(item, "id"), lh_json_str(item, "status"), strcmp(lh_json_str(item, "status"), "completed") != 0);
	} else if (!strcmp(type, "item.completed") && !strcmp(it, "agent_message")) {
		r->last_text = take_text(r->last_text, lh_json_str(item, "text"));
		step_line(r, lh_json_str(item, "text"), NULL, NULL, NULL);
	} else if (!strcmp(type, "turn.completed")) {
		r->final = 1;
		r->status = SUBMITTED;
		snprintf(r->reason, sizeof r->reason, "submitted");
		step_line(r, "", NULL, json_pack("{s:s,s:s}", "tool", "submit", "note",
		    r->last_text ? r->last_text : ""), NULL);
		u = json_object_get(ev, "usage");
		engine_line("result", json_pack("{s:s,s:O?}", "subtype", "turn.completed", "usage", u));
	} else if (!strcmp(type, "turn.failed")) {
		const char *m = lh_json_str(json_object_get(ev, "error"), "message");

		r->final = 1;
		r->status = strstr(m, "429") || strstr(m, "overloaded") || strstr(m, "5") ? UNAVAILABLE : ERROR;
		snprintf(r->reason, sizeof r->reason, "engine error: turn failed: %.400s", m);
		engine_line("result", json_pack("{s:s,s:s}", "subtype", "turn.failed", "error", m));
	} else if (!strcmp(type, "error")) {
		engine_line("error", json_string(lh_json_str(ev, "message")));
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
	json_t *task, *v;
	json_error_t jerr;
	char path[4096], *prompt, *msg, *sys;

	if (!task_path)
		lh_die(USAGE, "%s: empty transcript: give the task with -t", transcript_path);
	if (!(task = json_load_file(task_path, 0, &jerr)) || !json_is_object(task))
		lh_die(USAGE, "%s: %s", task_path, task ? "not a JSON object" : jerr.text);
	if (!prompt_path) {
		lh_path(path, sizeof path, "%s/prompts/%s.md", lh_share_dir(), role);
		prompt_path = path;
	}
	prompt = read_all(prompt_path);
	sys = lh_malloc(strlen(prompt) + sizeof engine_note);
	strcpy(sys, prompt);
	strcat(sys, engine_note);
	append("system", json_pack("{s:s}", "content", sys));
	free(prompt);
	free(sys);
	if (!(msg = lh_task_message(task)))
		lh_die_errno(ERROR, "task message");
	v = json_pack("{s:s,s:O?}", "content", msg, "task", json_object_get(task, "id"));
	add_tree(v);
	append("user", v);
	free(msg);
	json_decref(task);
}

/* ---- running it ---- */

/* a program of PATH, its real path (malloc'd); NULL if none */
static char *
find_program(const char *name)
{
	char *found = lh_find_program(name), *real;

	if (!found)
		return NULL;
	real = realpath(found, NULL);
	free(found);
	return real;
}

/* The CLI's environment: the sandbox's allow-list, what -e names, what
 * agent-step's commands get of ours, a terminal that asks nothing, its
 * own home, and what points it at the forwarder (the token, never the
 * key). */
static char **
engine_env(const struct adapter *ad, const char *token, const char *home, const char *tools_sock)
{
	static const char *fixed[] = {
		"LONGHAUL_TASK", "LONGHAUL_AGENT", "LONGHAUL_CYCLE", "TERM=dumb", "NO_COLOR=1",
		"PAGER=cat", "GIT_PAGER=cat", "GIT_EDITOR=true", "GIT_TERMINAL_PROMPT=0", NULL,
	};
	char *pe[20], **extra = lh_malloc((npass_env + 40) * sizeof *extra), **env, **e, *h;
	size_t n = 0, i, k, len;
	int np = 0, theirs;

	ad->env(pe, &np, token);
	for (i = 0; fixed[i]; i++)
		extra[n++] = (char *)fixed[i];
	for (i = 0; i < npass_env; i++) {
		/* what the adapter sets is its own: -e cannot pass ours instead */
		len = strcspn(pass_env[i], "=");
		for (theirs = 0, k = 0; k + 1 < (size_t)np && !theirs; k += 2)
			theirs = strlen(pe[k]) == len && !strncmp(pe[k], pass_env[i], len);
		if (!theirs)
			extra[n++] = pass_env[i];
	}
	for (k = 0; k + 1 < (size_t)np; k += 2) {
		len = strlen(pe[k]) + strlen(pe[k + 1]) + 2;
		extra[n] = lh_malloc(len);
		snprintf(extra[n++], len, "%s=%s", pe[k], pe[k + 1]);
	}
	if (tools_sock) {
		len = strlen(tools_sock) + 16;
		extra[n] = lh_malloc(len);
		snprintf(extra[n++], len, "LONGHAUL_TOOLS=%s", tools_sock);
	}
	env = lh_sandbox_env(LH_SANDBOX_ON, extra, n);
	h = lh_malloc(strlen(home) + 6);
	sprintf(h, "HOME=%s", home);
	for (e = env; *e; e++)
		if (!strncmp(*e, "HOME=", 5))
			*e = h;
	free(extra);
	return env;
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

/* ---- the harness's tools (-x): performed out here, asked for from inside ---- */

#define TOOL_SECONDS 300
#define TOOL_REQUEST_MAX (1 << 20)
#define TOOL_OUTPUT_MAX (256 * 1024)
#define TOOL_CALLS_MAX 8

static json_t *tools;           /* the tools file's tools that have a command */
static pid_t tool_calls[TOOL_CALLS_MAX];

static void
load_tools(void)
{
	json_error_t jerr;
	json_t *all, *t;
	size_t i;

	if (!tools_path)
		return;
	if (!(all = json_load_file(tools_path, 0, &jerr)) || !json_is_array(all))
		lh_die(USAGE, "%s: %s", tools_path, all ? "not a JSON array" : jerr.text);
	tools = json_array();
	/* bash and submit have no command: the CLI's shell and its last reply */
	json_array_foreach(all, i, t)
		if (json_is_array(json_object_get(t, "command")) && *lh_json_str(t, "name"))
			json_array_append(tools, t);
	json_decref(all);
}

/* what the system prompt says of them */
static char *
tools_note(void)
{
	static const char head[] =
	"\n\n## The harness's tools\n"
	"Some of what you need is not in your sandbox (the board, for one): the "
	"harness does it for you, outside, with these tools. Call one with the "
	"shell command\n\n    engine-run -X TOOL 'ARGUMENTS'\n\n"
	"ARGUMENTS being a JSON object as the tool's parameters say (or give it "
	"on stdin); it prints the tool's output and exits with its status.\n";
	char *note = lh_strdup(head), *params;
	const char *name, *desc;
	json_t *t;
	size_t i;

	json_array_foreach(tools, i, t) {
		name = lh_json_str(t, "name");
		desc = lh_json_str(t, "description");
		params = json_dumps(json_object_get(t, "parameters") ? json_object_get(t, "parameters") :
		    json_object(), JSON_COMPACT | JSON_SORT_KEYS);
		note = lh_realloc(note, strlen(note) + strlen(name) + strlen(desc) + strlen(params) + 64);
		sprintf(note + strlen(note), "\n- %s: %s\n  parameters: %s\n", name, desc, params);
		free(params);
	}
	return note;
}

/* the environment of a tool: the allow-list and what -e names, never our
 * keys (as agent-step's) */
static char **
tool_env(void)
{
	return lh_tool_env(pass_env, npass_env);
}

static void
reply_tool(int conn, const char *output, size_t n, int code)
{
	char *clean = lh_text_clean(output, n), *s;
	json_t *o = json_pack("{s:s,s:i}", "output", clean, "exit", code);
	size_t len, off = 0;
	ssize_t w;

	free(clean);
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	len = s ? strlen(s) : 0;
	while (off < len && ((w = write(conn, s + off, len - off)) > 0 || (w < 0 && errno == EINTR)))
		if (w > 0)
			off += w;
	free(s);
}

/* In a child of ours: read one request {"tool", "arguments"} from conn,
 * perform the tool (its words filled by lh_tool_argv, no shell), answer
 * {"output", "exit"}. The child and the tool are killed after
 * TOOL_SECONDS, and when we die. */
static void
serve_tool(int conn)
{
	char *req = lh_malloc(TOOL_REQUEST_MAX + 1), *out, **av, *input = NULL, *missing, msg[600];
	char tmp[] = "/tmp/engine-run.XXXXXX";
	size_t len = 0, cap = TOOL_OUTPUT_MAX;
	int pfd[2], st, in, fd;
	json_t *rq, *spec = NULL, *t, *args;
	const char *name;
	ssize_t r;
	size_t i;
	pid_t pid;

	prctl(PR_SET_PDEATHSIG, SIGKILL);
	signal(SIGALRM, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	signal(SIGPIPE, SIG_IGN);
	alarm(TOOL_SECONDS);
	while (len < TOOL_REQUEST_MAX && !memchr(req, '\n', len) &&
	    ((r = read(conn, req + len, TOOL_REQUEST_MAX - len)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			len += r;
	req[len] = 0;
	if (!(rq = json_loads(req, JSON_DISABLE_EOF_CHECK, NULL)) || !json_is_object(rq) ||
	    !json_is_object(args = json_object_get(rq, "arguments"))) {
		snprintf(msg, sizeof msg, "engine-run: not a request: a JSON object with tool and arguments\n");
		reply_tool(conn, msg, strlen(msg), 2);
		_exit(0);
	}
	name = lh_json_str(rq, "tool");
	json_array_foreach(tools, i, t)
		if (!strcmp(lh_json_str(t, "name"), name))
			spec = t;
	if (!spec) {
		snprintf(msg, sizeof msg, "%.200s: no such tool of the harness\n", name);
		reply_tool(conn, msg, strlen(msg), 2);
		_exit(0);
	}
	if (!(av = lh_tool_argv(spec, args, &input, &missing))) {
		snprintf(msg, sizeof msg, "%s: missing argument %.200s\n", name, missing);
		reply_tool(conn, msg, strlen(msg), 2);
		_exit(0);
	}
	in = open("/dev/null", O_RDONLY);
	if (input && (fd = mkstemp(tmp)) >= 0) {
		unlink(tmp);
		if (write(fd, input, strlen(input)) == (ssize_t)strlen(input) && lseek(fd, 0, SEEK_SET) == 0)
			in = fd;
	}
	if (pipe(pfd) < 0 || (pid = fork()) < 0) {
		snprintf(msg, sizeof msg, "%s: cannot start: %s\n", name, strerror(errno));
		reply_tool(conn, msg, strlen(msg), 126);
		_exit(0);
	}
	if (pid == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pfd[0]);
		if (chdir(dir) < 0)
			_exit(126);
		dup2(in, 0);
		dup2(pfd[1], 1);
		dup2(pfd[1], 2);
		execve(av[0], av, tool_env());
		dprintf(2, "%s: %s\n", av[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	out = lh_malloc(cap + 8192);
	len = 0;
	/* past cap, the rest is read and dropped: the tool must not block */
	while ((r = read(pfd[0], out + (len < cap ? len : cap), 8192)) > 0 || (r < 0 && errno == EINTR))
		if (r > 0 && len < cap)
			len = len + r < cap ? len + r : cap;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	reply_tool(conn, out, len, WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st));
	_exit(0);
}

/* a connection on the tools' socket: served by a child of ours, at most
 * TOOL_CALLS_MAX at a time */
static void
accept_tool(int lfd)
{
	int conn = accept(lfd, NULL, NULL), k, st;
	pid_t pid;

	if (conn < 0)
		return;
	for (k = 0; k < TOOL_CALLS_MAX; k++)
		if (tool_calls[k] > 0 && waitpid(tool_calls[k], &st, WNOHANG) == tool_calls[k])
			tool_calls[k] = 0;
	for (k = 0; k < TOOL_CALLS_MAX && tool_calls[k] > 0; k++)
		;
	if (k == TOOL_CALLS_MAX) {
		close(conn);
		return;
	}
	fflush(NULL);
	if ((pid = fork()) == 0) {
		close(lfd);
		serve_tool(conn);
	}
	if (pid > 0)
		tool_calls[k] = pid;
	close(conn);
}

static void
end_tools(void)
{
	int k;

	for (k = 0; k < TOOL_CALLS_MAX; k++)
		if (tool_calls[k] > 0) {
			kill(tool_calls[k], SIGKILL);
			while (waitpid(tool_calls[k], NULL, 0) < 0 && errno == EINTR)
				;
			tool_calls[k] = 0;
		}
}

/* -X: a tool of the harness, asked for from inside the sandbox over the
 * socket $LONGHAUL_TOOLS; its output ours, its exit status ours */
static int
call_tool(const char *name, const char *args_text)
{
	const char *path = getenv("LONGHAUL_TOOLS");
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	char *text, *req, *rep;
	json_error_t jerr;
	json_t *args, *o;
	size_t len = 0, off = 0;
	ssize_t w;
	int fd, code;
	FILE *f;

	if (!path || !*path)
		lh_die(USAGE, "-X %s: no tools of the harness here ($LONGHAUL_TOOLS is not set)", name);
	if (strlen(path) >= sizeof sa.sun_path)
		lh_die(USAGE, "%s: too long for a socket's path", path);
	text = args_text ? lh_strdup(args_text) : read_all("-");
	if (!(args = json_loads(text, 0, &jerr)) || !json_is_object(args))
		lh_die(USAGE, "-X %s: the arguments: %s", name, args ? "not a JSON object" : jerr.text);
	free(text);
	o = json_pack("{s:s,s:o}", "tool", name, "arguments", args);
	req = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	len = strlen(req);
	req = lh_realloc(req, len + 2);
	req[len++] = '\n';
	strcpy(sa.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
		lh_die_errno(ERROR, "%s", path);
	signal(SIGPIPE, SIG_IGN);
	while (off < len && ((w = write(fd, req + off, len - off)) > 0 || (w < 0 && errno == EINTR)))
		if (w > 0)
			off += w;
	if (off < len)
		lh_die_errno(ERROR, "%s", path);
	free(req);
	shutdown(fd, SHUT_WR);
	if (!(f = fdopen(fd, "r")) || !(rep = lh_read_stream(f, &len)))
		lh_die_errno(ERROR, "%s", path);
	fclose(f);
	if (!(o = json_loads(rep, 0, &jerr)) || !json_is_string(json_object_get(o, "output")) ||
	    !json_is_integer(json_object_get(o, "exit")))
		lh_die(ERROR, "%s: no answer from the harness%s%s", path, len ? ": " : "", len ? jerr.text : "");
	fputs(json_string_value(json_object_get(o, "output")), stdout);
	code = (int)json_integer_value(json_object_get(o, "exit"));
	json_decref(o);
	free(rep);
	lh_close_stdout();
	return code;
}

static int
run_engine(const struct adapter *ad)
{
	struct state s;
	struct run r = { .status = -1 };
	char token[33], sockdir[] = "/tmp/longhaul-forward.XXXXXX", sock[600], log[700], tools_sock[600];
	char provider[16], model_name[256], home[4200], home_real[PATH_MAX], why[300], *prompt, *system = NULL;
	char *av[64], *program, *relay, *buf = NULL, *bwrap;
	char *ro[3] = { NULL }, *rw[2] = { NULL }, **sandbox_argv, **sandbox_env;
	const char *session;
	size_t cap = 0, len = 0, i;
	int n = 0, fds[2], st = 0, killed = 0, errfd;
	char errlog[4200];
	double deadline, tokens_left = -1, usd_left = -1;
	long turns_left = 0;
	off_t usage_off = 0;
	struct pollfd pf[2];
	int tools_fd = -1;
	json_t *o;
	struct stat dst;

	if (stat(dir, &dst) < 0)
		lh_die_errno(ERROR, "%s", dir);
	if (!S_ISDIR(dst.st_mode))
		lh_die(ERROR, "%s: not a directory", dir);
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
			total += strlen(lh_json_str(o, "content")) + 2;
		prompt = lh_malloc(total);
		prompt[0] = 0;
		json_array_foreach(s.feedback, i, o) {
			strcat(prompt, lh_json_str(o, "content"));
			strcat(prompt, "\n\n");
		}
	} else if (session && !s.submitted) {
		prompt = lh_strdup("Your last run was interrupted before it ended. Look at the state "
		    "of the working directory, then go on with the task.");
	} else {
		size_t total = 1;
		json_array_foreach(lines, i, o)
			if (lh_line_fresh_user(o) && (i == 1 || json_is_true(json_object_get(o, "feedback"))))
				total += strlen(lh_json_str(o, "content")) + 2;
		prompt = lh_malloc(total);
		prompt[0] = 0;
		json_array_foreach(lines, i, o)
			if (lh_line_fresh_user(o) && (i == 1 || json_is_true(json_object_get(o, "feedback")))) {
				strcat(prompt, lh_json_str(o, "content"));
				strcat(prompt, "\n\n");
			}
		session = NULL;
	}
	json_array_foreach(lines, i, o)
		if (lh_line_is(o, "system")) {
			/* a transcript agent-step began (the planner's) lacks the note */
			const char *c = lh_json_str(o, "content");
			system = lh_malloc(strlen(c) + sizeof engine_note);
			strcpy(system, c);
			if (!strstr(c, "## Tools in this run"))
				strcat(system, engine_note);
			break;
		}
	if (tools && system) {
		char *note = tools_note();

		system = lh_realloc(system, strlen(system) + strlen(note) + 1);
		strcat(system, note);
		free(note);
	}

	lh_random_name(token, sizeof token);
	if (!mkdtemp(sockdir))
		lh_die_errno(ERROR, "%s", sockdir);
	lh_path(sock, sizeof sock, "%s/sock", sockdir);
	lh_path(tools_sock, sizeof tools_sock, "%s/tools", sockdir);
	if (tools) {
		struct sockaddr_un sa = { .sun_family = AF_UNIX };

		if (strlen(tools_sock) >= sizeof sa.sun_path)
			lh_die(ERROR, "%s: too long for a socket's path", tools_sock);
		memcpy(sa.sun_path, tools_sock, strlen(tools_sock) + 1);
		if ((tools_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    bind(tools_fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(tools_fd, 8) < 0)
			lh_die_errno(ERROR, "%s", tools_sock);
	}
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

	/* the sandbox: agent-step's (lh-sandbox.c), always with its own
	 * network, and on top what the CLI needs: its installation (an npm
	 * tree, often under the home the sandbox does not have) and the
	 * forwarder's socket read-only, its own home writable */
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
	if (!(relay = lh_find_program("llm-forward"))) {
		kill_all();
		return finish(ERROR, "engine %s: llm-forward not found in PATH", ad->name);
	}
	if (!(bwrap = lh_find_program("bwrap"))) {
		kill_all();
		return finish(ERROR, "engine %s: bwrap not found: an engine runs only in a sandbox", ad->name);
	}
	free(bwrap);
	{
		char *top = lh_strdup(program), *nm = strstr(top, "/node_modules/"), *slash;

		if (nm)
			nm[13] = 0;
		else if ((slash = strrchr(top, '/')) && slash != top)
			*slash = 0;
		ro[0] = top;
		ro[1] = sockdir;
		rw[0] = home;
	}
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
	sandbox_argv = lh_sandbox_argv_binds(LH_SANDBOX_ON, dir, ro, rw, av);
	sandbox_env = engine_env(ad, token, home, tools ? tools_sock : NULL);

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
		 * the engine's own, nothing else of ours */
		lh_sandbox_close_fds(LH_SANDBOX_ON);
		execve(sandbox_argv[0], sandbox_argv, sandbox_env);
		lh_die_errno(127, "%s", sandbox_argv[0]);
	}
	setpgid(engine, engine);
	close(fds[1]);
	pf[0].fd = fds[0];
	pf[0].events = POLLIN;
	pf[1].fd = tools_fd;
	pf[1].events = POLLIN;
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
		pr = poll(pf, tools_fd >= 0 ? 2 : 1, left > 1 ? 1000 : (int)(left * 1000) + 1);
		if (pr < 0 && errno != EINTR)
			lh_die_errno(ERROR, "poll");
		read_usage(log, &usage_off);
		if (pr > 0 && tools_fd >= 0 && (pf[1].revents & POLLIN))
			accept_tool(tools_fd);
		if (pr <= 0 || !(pf[0].revents & (POLLIN | POLLHUP | POLLERR)))
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
	end_tools();
	if (tools_fd >= 0) {
		close(tools_fd);
		unlink(tools_sock);
	}
	unlink(sock);
	rmdir(sockdir);
	if (errfd >= 0)
		close(errfd);
	errfd = -2;
	free(buf);
	lh_sandbox_free(sandbox_argv);
	free(sandbox_env);
	free(ro[0]);
	free(relay);
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
	if (lh_limit_parse(s, d, l) < 0)
		lh_die(USAGE, "%s: not a number >= 0", s);
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
	lh_task_limits(task_path, &max_steps, &max_seconds, &max_tokens, &max_usd);
}

int
main(int argc, char **argv)
{
	const struct adapter *ad = NULL;
	int c, print_note = 0;
	const char *v, *tool_name = NULL;
	struct state s;
	size_t i;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "E:AT:t:d:r:p:m:e:sn:W:K:D:o:R:M:u:Nx:X:F")) != -1)
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
		case 'x': tools_path = optarg; break;
		case 'X': tool_name = optarg; break;
		case 'F':
			lh_die(USAGE, "-F: an engine brings its own tools");
			break;
		default:
			lh_usage("engine-run -E engine [-A] -T transcript [-t task] [-d dir] [-r role] [options]");
		}
	if (tool_name) {
		if (argc - optind > 1)
			lh_usage("engine-run -X tool [arguments]");
		return call_tool(tool_name, optind < argc ? argv[optind] : NULL);
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
	load_tools();
	return run_engine(ad);
}
