/* agent-step: one step of a bash-only coding agent.
 *
 * The transcript is a file of JSON lines, append-only, holding exactly
 * what the model saw: a "system" line, "user" lines (the task, feedback),
 * "assistant" lines (the reply, its usage and cost, and the "action"
 * taken from it), "tool" lines (observations) and "run" lines (the
 * process group of a command being run); lh-transcript.c reads and
 * writes it, for engine-run too.  One invocation checks the
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
 * - commands run in a fresh `bash -c`, in their own process group, in
 *   the sandbox of lh-sandbox.c unless LONGHAUL_SANDBOX=off (own PID
 *   namespace: our environ and memory are not in its /proc; no board, no
 *   transcript), with an environment built from an allow-list (never the
 *   model's keys), stdin /dev/null, and the whole group is killed when
 *   they end or time out;
 * - we are not dumpable, and our own children that are not the model
 *   client (git status, tools performed outside the sandbox) get
 *   allow-listed environments too: the key stays in this process.
 * - started by a worker ($LONGHAUL_PID), it dies with the worker
 *   (PR_SET_PDEATHSIG), killing its command's group as it goes; the
 *   sandbox (bwrap --unshare-pid --die-with-parent) ends with it. What
 *   left that group and outlives it unsandboxed is found by the worker,
 *   which kills every process with its cwd, root or an open file in a
 *   tree before it reuses the tree; this process holds dir open for that
 *   reason.
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
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "longhaul.h"

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
"  -x file     the tools offered: a JSON array replacing bash and submit;\n"
"              a tool with a \"command\" is performed by agent-step, outside\n"
"              the sandbox, with the call's arguments as its words\n"
"  -F          offer no tools: the model answers with one ```bash block\n"
"  -e NAME     pass this variable (or NAME=VALUE) to the commands\n"
"  -s          run commands in the sandbox even if LONGHAUL_SANDBOX=off (they\n"
"              run there by default: bwrap, no network, own PID namespace,\n"
"              only dir, its git state and /tmp writable, nothing of ours)\n"
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
static int sandbox, sandbox_forced, text_only, fsync_on = 1;
static char **pass_env;
static size_t npass_env;

static volatile sig_atomic_t child_group; /* the running command's group */
static json_t *lines;           /* the transcript, one object per line */
static int tfd = -1;
static char run_token[17];

/* ---- the transcript (lh-transcript.c) ---- */

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

/* ---- the commands' world ---- */

static char **
command_env(void)
{
	static const char *fixed[] = {
		"TERM=dumb", "PAGER=cat", "GIT_PAGER=cat", "MANPAGER=cat",
		"EDITOR=true", "VISUAL=true", "GIT_EDITOR=true",
		"GIT_SEQUENCE_EDITOR=true", "GIT_TERMINAL_PROMPT=0", "NO_COLOR=1",
		"DEBIAN_FRONTEND=noninteractive", NULL,
	};
	static const char *ours[] = { "LONGHAUL_TASK", "LONGHAUL_AGENT", "LONGHAUL_CYCLE", NULL };
	static char token[64];
	char **extra = lh_malloc((npass_env + 32) * sizeof *extra);
	size_t n = 0, i;
	char **env;

	for (i = 0; ours[i]; i++)
		extra[n++] = (char *)ours[i];
	for (i = 0; fixed[i]; i++)
		extra[n++] = (char *)fixed[i];
	for (i = 0; i < npass_env; i++)
		extra[n++] = pass_env[i];
	snprintf(token, sizeof token, "LONGHAUL_RUN=%s", run_token);
	extra[n++] = token;
	env = lh_sandbox_env(sandbox, extra, n);
	free(extra);
	return env;
}

/* the environment of a tool we perform outside the sandbox */
static char **
tool_env(void)
{
	return lh_tool_env(pass_env, npass_env);
}

/* argv to run cmd: bash -c, in the sandbox unless it is off */
static char **
command_argv(const char *cmd)
{
	static char *bash;
	char *av[] = { NULL, "-c", (char *)cmd, NULL };

	if (!bash && !(bash = lh_find_program("bash")))
		bash = "/bin/bash";
	av[0] = bash;
	return lh_sandbox_argv(sandbox, dir, av);
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
	clean = lh_text_clean(raw, p - raw);
	free(raw);
	return clean;
}

/* Run one command; return the observation text, set *code (-1: timeout). */
static char *
run(char **av, char **env, const char *input, const char *call_id, int *code)
{
	int pfd[2], in, st = 0, r, timed_out = 0, done = 0;
	char buf[8192], status[200];
	struct output *out = lh_malloc(sizeof *out);
	double deadline;
	struct pollfd pf;
	ssize_t n;
	pid_t pid;
	json_t *runline;
	char *text;

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
			const char *s = input;
			int fd = mkstemp(tmp);
			if (fd >= 0 && write(fd, s, strlen(s)) >= 0) {
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
		/* nothing of ours gets in, whatever our caller left open */
		lh_sandbox_close_fds(sandbox);
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
	return text;
}

static void
add_tree(json_t *o)
{
	const char *h;

	if (stuck_unchanged > 0 && (h = lh_tree_hash(dir)))
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
		const char *t = lh_json_str(o, "type");
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
			json_t *t;
			size_t k;
			if (!(tools = json_load_file(tools_path, 0, &jerr)) || !json_is_array(tools))
				lh_die(USAGE, "%s: %s", tools_path, tools ? "not a JSON array" : jerr.text);
			/* how we perform a tool is ours, not the model's */
			json_array_foreach(tools, k, t) {
				json_object_del(t, "command");
				json_object_del(t, "stdin");
				json_object_del(t, "drop");
			}
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

/* ---- tools the harness performs ---- */

/* The tools file's entry for a tool, NULL if none */
static json_t *
tool_spec(const char *name)
{
	static json_t *tools;
	json_error_t jerr;
	json_t *t;
	size_t i;

	if (!tools_path)
		return NULL;
	if (!tools && (!(tools = json_load_file(tools_path, 0, &jerr)) || !json_is_array(tools)))
		lh_die(USAGE, "%s: %s", tools_path, tools ? "not a JSON array" : jerr.text);
	json_array_foreach(tools, i, t)
		if (!strcmp(lh_json_str(t, "name"), name))
			return t;
	return NULL;
}

/* Do what the model asked: a bash command, in the sandbox; a tool of
 * the tools file with a "command", performed by us outside the sandbox
 * (its arguments filled into the command's words, never through a
 * shell; "stdin" names an argument whose value, or each of whose
 * elements, goes to stdin as a JSON line, without the fields "drop"
 * names); any other tool, its name run
 * as a command in the sandbox with its arguments as JSON on stdin. */
static char *
perform(const char *tool, json_t *input, const char *cmd, const char *id, int *code)
{
	json_t *spec = input ? tool_spec(tool) : NULL;
	char **av = NULL, **env, *text, *missing = NULL;
	char *stdin_text = NULL;
	size_t len;

	if (!input) {
		env = command_env();
		av = command_argv(cmd);
		text = run(av, env, NULL, id, code);
	} else if (!json_object_get(spec, "command")) {
		env = command_env();
		av = command_argv(tool);
		stdin_text = json_dumps(input, JSON_COMPACT);
		text = run(av, env, stdin_text, id, code);
	} else {
		if (!(av = lh_tool_argv(spec, input, &stdin_text, &missing))) {
			*code = 2;
			len = strlen(tool) + strlen(missing) + 64;
			text = lh_malloc(len);
			snprintf(text, len, "%s: missing argument %s\n[exit status 2]", tool, missing);
			free(missing);
			return text;
		}
		/* outside the sandbox: the allow-list and what -e names, never
		 * our keys */
		env = tool_env();
		text = run(av, env, stdin_text, id, code);
		lh_sandbox_free(av);
		free(env);
		free(stdin_text);
		return text;
	}
	lh_sandbox_free(av);
	free(env);
	free(stdin_text);
	return text;
}

/* ---- the state of the transcript ---- */

static json_t *
last_assistant(size_t *at)
{
	size_t i = json_array_size(lines);

	while (i-- > 0)
		if (lh_line_is(json_array_get(lines, i), "assistant")) {
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
		if (lh_line_is(o, "run"))
			pgid = json_integer_value(json_object_get(o, "pgid"));
		if (lh_line_is(o, "user") || lh_line_is(o, "tool"))
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
			if (lh_line_is(json_array_get(lines, j), "run"))
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
			if (lh_line_is(o, "tool") && id && !strcmp(id, lh_json_str(o, "tool_call_id")))
				answered = 1;
		}
		if (answered)
			continue;
		o = json_pack("{s:s?}", "tool_call_id", id);
		if (i > 0)
			json_object_set_new(o, "content", json_string("Not run: one tool call per reply."));
		else if (!strcmp(lh_json_str(act, "tool"), "submit") &&
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
		else if (!strcmp(lh_json_str(act, "tool"), "bash"))
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
		if (lh_line_fresh_user(o)) {
			s->submitted = 0;
			s->format_errors = 0;
		}
		if (!lh_line_is(o, "assistant"))
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

/* Stuck: the same command, or the same failing output, stuck_repeats
 * times in a row since the last fresh user message; or stuck_unchanged
 * observations in a row that left the worktree as it was. */
static int
stuck(char *why, size_t size)
{
	return lh_transcript_stuck(lines, stuck_repeats, stuck_unchanged, 1, why, size);
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

static void
start(void)
{
	json_t *task, *v;
	json_error_t jerr;
	char path[4096], *prompt, *msg;

	if (!task_path)
		lh_die(USAGE, "%s: empty transcript: give the task with -t", transcript_path);
	if (!(task = json_load_file(task_path, 0, &jerr)) || !json_is_object(task)) {
		const char *why = task ? "not a JSON object" : jerr.text;

		json_decref(task);
		lh_die(USAGE, "%s: %s", task_path, why);
	}
	if (!prompt_path) {
		lh_path(path, sizeof path, "%s/prompts/%s.md", lh_share_dir(), role);
		prompt_path = path;
	}
	prompt = read_all(prompt_path);
	append("system", json_pack("{s:s}", "content", prompt));
	free(prompt);
	if (!(msg = lh_task_message(task)))
		lh_die_errno(ERROR, "task message");
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
	    "content", lh_json_str(resp, "text"),
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
		text = perform(tool, input, json_string_value(json_object_get(act, "command")), id, &code);
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

	if ((d && *d < 0) || (l && *l < 0)) {
		if (v && *v)
			parse_number(v, d, l);
	}
}

/* the task's own limits (its record's "limits"), where no option set one */
static void
from_task(void)
{
	lh_task_limits(task_path, &max_steps, &max_seconds, &max_tokens, &max_usd);
}

int
main(int argc, char **argv)
{
	int c, print_note = 0, all = 0, r;
	char why[400];
	const char *v;
	struct state s;

	lh_std_options(argc, argv, manual);
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
		case 's': sandbox_forced = 1; break;
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
	/* the key in our memory and environ: not for other processes of
	 * our user (a command without the sandbox, a verification command) */
	prctl(PR_SET_DUMPABLE, 0);
	if ((sandbox = lh_sandbox_mode()) < 0)
		exit(USAGE);
	if (sandbox_forced && sandbox == LH_SANDBOX_OFF)
		sandbox = LH_SANDBOX_ON;
	lh_random_name(run_token, sizeof run_token);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	/* started by a worker, it dies with it, its command's group along
	 * (on_signal); and it holds dir open, so that the worker's look for
	 * processes left in a tree before it reuses it sees this one too */
	lh_die_with_parent();
	if (!print_note && !feedback_path && open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) < 0)
		lh_die_errno(ERROR, "%s", dir);

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
	if (lh_sandbox_probe(sandbox, dir, why, sizeof why) < 0)
		lh_die(ERROR, "%s", why);
	/* -A: the same steps, without starting a process (which loads
	 * libcurl and reads the transcript again) for each */
	while ((r = step()) == STEPPED && all)
		;
	return r;
}
