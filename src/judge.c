/* judge: end a cycle with a verdict: continue or stop.
 *
 * "Green" is a fact about one exact commit on a clean checkout, checked
 * by commands the agents cannot edit: the judge clones the shared
 * repository afresh into a temporary directory, records the full id of
 * the branch's tip it got, and runs the run's gate commands there, each
 * with a timeout, keeping the tail of their output as evidence. Nothing
 * of any agent's worktree, and nothing unpushed, can reach that checkout.
 * The gate runs the repository's code (a Makefile agents wrote): it runs
 * in the sandbox (lh-sandbox.c), the checkout its only writable tree,
 * with an environment from the allow-list, so that neither the model's
 * key (in our environment and memory; we are not dumpable) nor the
 * board can reach its output, which becomes evidence on the board.
 *
 * It gathers the cycle's facts (the board's tasks of this cycle, the
 * commits landed since the cycle's start, the tokens and dollars spent)
 * and asks the judge role's model, through llm-call, for a verdict as
 * schema-checked JSON. The model only interprets the evidence; rules in
 * this file have the last word:
 *   - the run's budget spent: stop, without asking the model;
 *   - the gate red: the goal is not met, whatever the model says, and a
 *     "stop, the goal is met" becomes "continue";
 *   - the last cycle (-n): stop.
 * The verdict, with the facts and the evidence, is written to the board
 * as verdicts/CYCLE.json (a temporary file renamed into place) and
 * printed as one JSON line. Exit 0 continue, 1 stop, 2 error.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] =
    "judge [-kF] [-b board] [-R repo] [-B branch] [-c cycle] [-s commit] [-G goal] "
    "[-g command]... [-f gatefile] [-t seconds] [-n cycles] [-a attempts] [-p prompt]";
static const char manual[] =
"usage: judge [-kF] [-b board] [-R repo] [-B branch] [-c cycle] [-s commit]\n"
"             [-G goal|@file] [-g command]... [-f gatefile] [-t seconds]\n"
"             [-n cycles] [-a attempts] [-p promptfile]\n"
"End a cycle: clone the repository afresh, run the gate commands on the\n"
"exact commit at the tip of the branch, gather the cycle's facts, ask the\n"
"judge role's model (llm-call -r judge) for a verdict, apply the rules the\n"
"model cannot override, write BOARD/verdicts/CYCLE.json and print it.\n"
"  -R repo      the shared repository (default $LONGHAUL_REPO)\n"
"  -B branch    its shared branch (default $LONGHAUL_BRANCH, else main)\n"
"  -c cycle     the cycle (default $LONGHAUL_CYCLE)\n"
"  -s commit    the commit the cycle started from (default: the commit of\n"
"               the previous verdict)\n"
"  -G goal      the run's goal, or @FILE to read it from a file\n"
"  -g command   a gate command, run by sh in the checkout (repeatable)\n"
"  -f gatefile  gate commands, one a line (# comments); keep it outside\n"
"               the repository, where agents cannot edit it\n"
"  -t seconds   timeout of each gate command (default 600)\n"
"  -n cycles    the last cycle: stop after cycle N (default $LONGHAUL_MAX_CYCLES;\n"
"               0: no limit)\n"
"  -a attempts  ask the model at most this many times for a valid verdict (3)\n"
"  -p file      the judge's system prompt (default: built in)\n"
"  -F           if the model fails, decide by the gate: green stop, red continue\n"
"  -k           keep the checkout (its path is in the verdict)\n"
"Exit status: 0 continue, 1 stop, 2 error (usage, repository, board, or\n"
"no valid verdict from the model without -F).\n";

static const char default_prompt[] =
"You are the judge of a longhaul run: many coding agents worked on one "
"repository for a cycle. You receive the run's goal and the cycle's facts: "
"the gate (build and test commands run on a clean checkout of the exact "
"commit at the tip of the shared branch, with the tail of their output), "
"the tasks of the cycle and their handoff notes, the commits landed, and "
"the tokens and dollars spent. Judge from this evidence only. Decide "
"\"stop\" when the goal is met (the gate passes and the work asked for is "
"done) or when further cycles cannot make progress; otherwise \"continue\" "
"and say in \"focus\" what the next cycle's planners should work on. "
"Reply with one JSON object: {\"decision\": \"continue\" or \"stop\", "
"\"goal_met\": true or false, \"reasons\": \"...\", \"focus\": \"...\"}.\n";

#define TAIL_MAX 4000           /* bytes of a gate's output kept as evidence */
#define NOTE_MAX 600            /* bytes of a handoff note shown to the model */
#define LIST_MAX 200            /* tasks or commits listed in the facts */

static struct lh_board board;
static char tmpdir[4096];
static int keep, sandbox;
extern char **environ;
static char **child_env;        /* the environment of run()'s child; NULL: ours */
static char **git_env;          /* git's: the allow-list, a pinned config, no key */

static void
cleanup(void)
{
	pid_t pid;

	if (!tmpdir[0] || keep)
		return;
	if ((pid = fork()) == 0) {
		execlp("rm", "rm", "-rf", tmpdir, (char *)NULL);
		_exit(127);
	}
	if (pid > 0)
		waitpid(pid, NULL, 0);
}

/* Run argv in dir (NULL: here) with stdin from in, stdout to out and
 * stderr to err (NULL: /dev/null, "" : inherited), in its own process
 * group, killed after timeout seconds (0: none). Returns the exit status,
 * 128+signal, -1 when it could not start; *timed_out set on a timeout. */
static int
run(char *const argv[], const char *dir, const char *in, const char *out,
    const char *err, double timeout, int *timed_out)
{
	double deadline = timeout > 0 ? lh_monotonic() + timeout : 0, killed = 0;
	struct timespec pause = { 0, 20 * 1000 * 1000 };
	int status, fd;
	pid_t pid, r;

	if (timed_out)
		*timed_out = 0;
	fflush(stdout);
	if ((pid = fork()) < 0) {
		lh_warn_errno("fork");
		return -1;
	}
	if (pid == 0) {
		setpgid(0, 0);
		if ((fd = open(in ? in : "/dev/null", O_RDONLY)) < 0 || dup2(fd, 0) < 0)
			_exit(127);
		if ((fd = open(out ? out : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0 ||
		    dup2(fd, 1) < 0)
			_exit(127);
		if (!err || *err) {
			if (err && !strcmp(err, out ? out : ""))
				fd = 1;
			else if ((fd = open(err ? err : "/dev/null", O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
				_exit(127);
			if (dup2(fd, 2) < 0)
				_exit(127);
		}
		if (dir && chdir(dir) < 0) {
			lh_warn_errno("%s", dir);
			_exit(127);
		}
		if (child_env) {
			/* a gate, in the sandbox: none of our descriptors */
			lh_sandbox_close_fds(sandbox);
			environ = child_env;
		}
		else if (git_env && !strcmp(argv[0], "git"))
			environ = git_env;
		execvp(argv[0], argv);
		lh_warn_errno("%s", argv[0]);
		_exit(127);
	}
	setpgid(pid, pid);
	for (;;) {
		r = waitpid(pid, &status, deadline ? WNOHANG : 0);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			lh_warn_errno("waitpid");
			return -1;
		}
		if (deadline && lh_monotonic() > deadline) {
			if (timed_out)
				*timed_out = 1;
			kill(-pid, killed ? SIGKILL : SIGTERM);
			if (!killed)
				killed = lh_monotonic();
			deadline = lh_monotonic() + 5;   /* then SIGKILL */
		}
		nanosleep(&pause, NULL);
	}
	if (killed)
		kill(-pid, SIGKILL);                  /* what the group left behind */
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + WTERMSIG(status);
}

/* The output of a short command, trailing newline removed; NULL on failure. */
static char *
capture(char *const argv[], size_t *len)
{
	char out[4200];
	char *s;
	size_t n;

	lh_path(out, sizeof out, "%s/capture", tmpdir);
	if (run(argv, NULL, NULL, out, "", 0, NULL) != 0 || !(s = lh_read_file(out, &n)))
		return NULL;
	while (n > 0 && s[n - 1] == '\n')
		s[--n] = 0;
	if (len)
		*len = n;
	return s;
}

static char *
tail_of(const char *path, size_t max)
{
	size_t n, start = 0, i;
	char *s = lh_read_file(path, &n), *t;

	if (!s)
		return lh_strdup("");
	for (i = 0; i < n; i++)
		if (!s[i])
			s[i] = '\n';       /* output with NULs (environ) is text too */
	if (n > max) {
		start = n - max;
		while (start < n && (s[start] & 0xc0) == 0x80)
			start++;              /* do not start inside a UTF-8 character */
	}
	t = lh_strdup(s + start);
	free(s);
	if (!lh_utf8_valid(t, strlen(t))) {
		free(t);
		return lh_strdup("(output is not valid UTF-8)");
	}
	return t;
}

static char *
truncated(const char *s, size_t max)
{
	size_t n = strlen(s);
	char *t;

	if (n <= max)
		return lh_strdup(s);
	while (max > 0 && (s[max] & 0xc0) == 0x80)
		max--;
	t = lh_malloc(max + 4);
	memcpy(t, s, max);
	strcpy(t + max, "...");
	return t;
}

static json_t *
run_gate(json_t *commands, const char *checkout, const char *commit, double timeout)
{
	json_t *results = json_array(), *cmd;
	const char *status = json_array_size(commands) ? "pass" : "none";
	char log[4200];
	char *tail;
	double t0;
	size_t i;
	int code, timed_out;

	char commit_var[128], *extra[] = { commit_var, "TERM=dumb", "LONGHAUL_CYCLE" }, **av;
	char why[400];

	snprintf(commit_var, sizeof commit_var, "LONGHAUL_COMMIT=%s", commit);
	if (json_array_size(commands) && lh_sandbox_probe(sandbox, checkout, why, sizeof why) < 0)
		lh_die(2, "gate: %s", why);
	child_env = lh_sandbox_env(sandbox, extra, 3);
	json_array_foreach(commands, i, cmd) {
		char *argv[] = { "sh", "-c", (char *)json_string_value(cmd), NULL };

		av = lh_sandbox_argv(sandbox, checkout, argv);
		lh_path(log, sizeof log, "%s/gate.%zu.log", tmpdir, i + 1);
		t0 = lh_monotonic();
		code = run(av, checkout, NULL, log, log, timeout, &timed_out);
		lh_sandbox_free(av);
		tail = tail_of(log, TAIL_MAX);
		json_array_append_new(results, json_pack("{s:O, s:i, s:b, s:f, s:s}",
		    "command", cmd, "exit", code, "timed_out", timed_out,
		    "seconds", (double)(long)((lh_monotonic() - t0) * 100) / 100, "tail", tail));
		lh_warn("gate %zu: exit %d%s: %s", i + 1, code, timed_out ? " (timed out)" : "",
		    json_string_value(cmd));
		free(tail);
		if (code != 0)
			status = "fail";
	}
	free(child_env);
	child_env = NULL;
	return json_pack("{s:s, s:o}", "status", status, "commands", results);
}

/* The commits between start (may be NULL) and tip, newest first. */
static json_t *
commits_between(const char *checkout, const char *start, const char *tip, int *count)
{
	char range[200], gitdir[4200];
	char *argv[] = { "git", "-C", gitdir, "log", "--no-merges", "-z",
	    "--format=%H%x1f%s%x1f%(trailers:key=Longhaul-Task,valueonly,separator=%x2c)",
	    range, NULL };
	json_t *list = json_array();
	char *out, *p, *f1, *f2;
	size_t len;

	lh_path(gitdir, sizeof gitdir, "%s", checkout);
	if (start && *start)
		lh_path(range, sizeof range, "%s..%s", start, tip);
	else
		lh_path(range, sizeof range, "%s", tip);
	*count = 0;
	if (!(out = capture(argv, &len))) {
		lh_warn("git log %s: failed; listing no commits", range);
		return list;
	}
	for (p = out; p < out + len; p += strlen(p) + 1) {
		while (*p == '\n')
			p++;
		if (!*p || !(f1 = strchr(p, 0x1f)) || !(f2 = strchr(f1 + 1, 0x1f)))
			continue;
		*f1++ = 0;
		*f2++ = 0;
		f2[strcspn(f2, "\n")] = 0;
		if (++*count > LIST_MAX)
			continue;
		if (!lh_utf8_valid(f1, strlen(f1)))
			f1 = "(subject is not valid UTF-8)";
		json_array_append_new(list, json_pack("{s:s, s:s, s:s?}", "commit", p, "subject", f1,
		    "task", *f2 && lh_utf8_valid(f2, strlen(f2)) ? f2 : NULL));
	}
	free(out);
	return list;
}

struct tally {
	const char *cycle;
	json_t *tasks;              /* this cycle's, listed */
	json_t *counts;             /* this cycle's tasks by state */
	json_t *open;               /* every cycle's tasks not yet finished */
	int requeued, listed;
	int status;
};

static void
bump(json_t *obj, const char *key)
{
	json_object_set_new(obj, key, json_integer(json_integer_value(json_object_get(obj, key)) + 1));
}

static void
tally_task(const char *id, struct tally *t)
{
	json_t *rec, *history, *v, *result, *entry;
	const char *state, *cycle, *note;
	int st, requeues = 0;
	size_t i;
	char *short_note;

	if (!(rec = lh_task_read(&board, id, NULL, &st, 1))) {
		if (st != LH_NOTFOUND)
			t->status = st;
		return;
	}
	state = json_string_value(json_object_get(rec, "state"));
	cycle = json_string_value(json_object_get(rec, "cycle"));
	if (!strcmp(state, "ready") || !strcmp(state, "claimed"))
		bump(t->open, state);
	if (!cycle || strcmp(cycle, t->cycle)) {
		json_decref(rec);
		return;
	}
	bump(t->counts, state);
	if ((history = lh_task_history(&board, id, &st))) {
		json_array_foreach(history, i, v) {
			const char *event = json_string_value(json_object_get(v, "event"));
			const char *s = json_string_value(json_object_get(v, "state"));

			if (event && s && !strcmp(s, "ready") &&
			    (!strcmp(event, "requeue") || !strcmp(event, "fail")))
				requeues++;
		}
		json_decref(history);
	}
	if (requeues)
		t->requeued++;
	if (t->listed++ < LIST_MAX) {
		result = json_object_get(rec, "result");
		note = json_string_value(json_object_get(result, "note"));
		short_note = note ? truncated(note, NOTE_MAX) : NULL;
		entry = json_pack("{s:s, s:O, s:O, s:s, s:O, s:O, s:i, s:O, s:O?, s:s?, s:O?}",
		    "id", id, "title", json_object_get(rec, "title"), "kind", json_object_get(rec, "kind"),
		    "state", state, "area", json_object_get(rec, "area"),
		    "attempts", json_object_get(rec, "attempts"), "requeues", requeues,
		    "parent", json_object_get(rec, "parent"),
		    "commit", json_object_get(result, "commit"), "note", short_note,
		    "reason", json_object_get(rec, "reason"));
		free(short_note);
		json_array_append_new(t->tasks, entry);
	}
	json_decref(rec);
}

/* The previous verdict on the board: the latest written before ours. */
static json_t *
previous_verdict(const char *cycle)
{
	char dir[3200], path[3500], want[LH_ID_MAX + 8];
	json_t *best = NULL, *v;
	double best_time = -1, t;
	struct dirent **names;
	int n, i;

	lh_path(dir, sizeof dir, "%s/verdicts", board.dir);
	snprintf(want, sizeof want, "%s.json", cycle);
	if ((n = scandir(dir, &names, NULL, alphasort)) < 0)
		return NULL;
	for (i = 0; i < n; i++) {
		const char *name = names[i]->d_name;
		size_t len = strlen(name);

		if (name[0] != '.' && len > 5 && !strcmp(name + len - 5, ".json") && strcmp(name, want)) {
			lh_path(path, sizeof path, "%s/%s", dir, name);
			if ((v = json_load_file(path, 0, NULL))) {
				t = json_number_value(json_object_get(v, "ts"));
				if (t > best_time) {
					json_decref(best);
					best = v;
					best_time = t;
				} else {
					json_decref(v);
				}
			}
		}
		free(names[i]);
	}
	free(names);
	return best;
}

/* The run's usage so far, as llm-usage -t sums it: {"tokens","cost_usd"},
 * or NULL when unknown. */
static json_t *
usage_total(void)
{
	char dir[4096];
	uint64_t tokens;
	double usd;

	if (lh_llm_usage_dir(dir, sizeof dir) < 0 || lh_llm_usage_total(dir, &tokens, &usd) < 0) {
		lh_warn_errno("usage log: the usage so far is unknown");
		return NULL;
	}
	return json_pack("{s:I, s:f}", "tokens", (json_int_t)tokens, "cost_usd", usd);
}

static double
env_limit(const char *name)
{
	const char *v = getenv(name);
	char *end;
	double d;

	if (!v || !*v)
		return -1;
	d = strtod(v, &end);
	if (*end || d < 0)
		lh_die(2, "%s: not a number: %s", name, v);
	return d;
}

/* NULL when the budget is not spent, else why. */
static const char *
budget_spent(json_t *usage, char *why, size_t size)
{
	double usd = env_limit("LONGHAUL_BUDGET_USD"), tokens = env_limit("LONGHAUL_BUDGET_TOKENS");
	double spent_usd = json_number_value(json_object_get(usage, "cost_usd"));
	double spent_tokens = json_number_value(json_object_get(usage, "tokens"));

	if (!usage)
		return NULL;
	if (usd >= 0 && spent_usd >= usd) {
		snprintf(why, size, "budget spent: $%.4f of $%.4f", spent_usd, usd);
		return why;
	}
	if (tokens >= 0 && spent_tokens >= tokens) {
		snprintf(why, size, "budget spent: %.0f of %.0f tokens", spent_tokens, tokens);
		return why;
	}
	return NULL;
}

static const char *
verdict_problem(json_t *v)
{
	const char *d = json_string_value(json_object_get(v, "decision"));
	const char *key;
	json_t *value;

	if (!json_is_object(v))
		return "not a JSON object";
	if (!d || (strcmp(d, "continue") && strcmp(d, "stop")))
		return "decision is not \"continue\" or \"stop\"";
	if (!json_is_boolean(json_object_get(v, "goal_met")))
		return "goal_met is not a boolean";
	if (!json_is_string(json_object_get(v, "reasons")))
		return "reasons is not a string";
	if (!json_is_string(json_object_get(v, "focus")))
		return "focus is not a string";
	json_object_foreach(v, key, value)
		if (strcmp(key, "decision") && strcmp(key, "goal_met") && strcmp(key, "reasons") &&
		    strcmp(key, "focus"))
			return "unexpected field";
	return NULL;
}

/* Ask the model. Returns the verdict, or NULL with *budget set when
 * llm-call said the budget is spent. */
static json_t *
ask_model(json_t *facts, const char *prompt, int attempts, int *budget)
{
	json_t *schema, *request, *response, *verdict;
	char in[4200], out[4200];
	char *facts_text, *content, *text;
	char *argv[] = { "llm-call", "-r", "judge", "-C", "-j", NULL };
	const char *why;
	size_t len;
	int i, st;

	*budget = 0;
	schema = json_pack("{s:s, s:{s:{s:s, s:[s,s]}, s:{s:s}, s:{s:s}, s:{s:s}}, s:[s,s,s,s], s:b}",
	    "type", "object", "properties",
	    "decision", "type", "string", "enum", "continue", "stop",
	    "goal_met", "type", "boolean", "reasons", "type", "string", "focus", "type", "string",
	    "required", "decision", "goal_met", "reasons", "focus", "additionalProperties", 0);
	facts_text = json_dumps(facts, JSON_INDENT(1) | JSON_PRESERVE_ORDER);
	len = strlen(facts_text) + 200;
	content = lh_malloc(len);
	snprintf(content, len, "The facts of this cycle, as JSON:\n\n%s\n\nYour verdict, as one JSON object:",
	    facts_text);
	request = json_pack("{s:s, s:[{s:s, s:s}], s:i, s:o}", "system", prompt, "messages",
	    "role", "user", "content", content, "max_tokens", 1000, "schema", schema);
	free(content);
	free(facts_text);
	lh_path(in, sizeof in, "%s/request.json", tmpdir);
	lh_path(out, sizeof out, "%s/response.json", tmpdir);
	if (json_dump_file(request, in, JSON_COMPACT) != 0)
		lh_die(2, "%s: cannot write", in);
	json_decref(request);
	for (i = 0; i < attempts; i++) {
		st = run(argv, NULL, in, out, "", 0, NULL);
		if (st == 5) {
			*budget = 1;
			return NULL;
		}
		if (st != 0 && st != 4 && st != 6) {
			lh_warn("llm-call exited %d: the model is unavailable", st);
			return NULL;
		}
		if (st != 0) {
			lh_warn("attempt %d: llm-call exited %d", i + 1, st);
			continue;
		}
		response = json_load_file(out, 0, NULL);
		text = lh_strdup(json_string_value(json_object_get(response, "text")) ?
		    json_string_value(json_object_get(response, "text")) : "");
		json_decref(response);
		verdict = json_loads(text, JSON_DECODE_ANY, NULL);
		if (!(why = verdict_problem(verdict))) {
			free(text);
			return verdict;
		}
		lh_warn("attempt %d: invalid verdict (%s): %.200s", i + 1, why, text);
		free(text);
		json_decref(verdict);
	}
	return NULL;
}

static void
write_verdict(json_t *verdict, const char *cycle)
{
	char dir[3200], path[3400], tmp[3400], name[16];
	const char *f = getenv("LONGHAUL_FSYNC");
	int sync = !(f && !strcmp(f, "0")), fd;

	lh_path(dir, sizeof dir, "%s/verdicts", board.dir);
	if (mkdir(dir, 0777) < 0 && errno != EEXIST)
		lh_die_errno(2, "%s", dir);
	lh_random_name(name, sizeof name);
	lh_path(path, sizeof path, "%s/%s.json", dir, cycle);
	lh_path(tmp, sizeof tmp, "%s/.%s.json.%s", dir, cycle, name);
	if (json_dump_file(verdict, tmp, JSON_COMPACT | JSON_PRESERVE_ORDER) != 0)
		lh_die(2, "%s: cannot write", tmp);
	if (sync) {
		if ((fd = open(tmp, O_RDONLY)) < 0 || fsync(fd) != 0 || close(fd) != 0)
			lh_die_errno(2, "%s", tmp);
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		lh_die_errno(2, "%s", path);
	}
	if (sync && (fd = open(dir, O_RDONLY)) >= 0) {
		if (fsync(fd) != 0)
			lh_die_errno(2, "%s", dir);
		close(fd);
	}
}

static void
read_gate_file(json_t *commands, const char *path)
{
	char *text = lh_read_file(path, NULL), *line, *save;

	if (!text)
		lh_die_errno(2, "%s", path);
	for (line = strtok_r(text, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
		line += strspn(line, " \t");
		if (*line && *line != '#')
			json_array_append_new(commands, json_string(line));
	}
	free(text);
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *repo = getenv("LONGHAUL_REPO"), *branch = getenv("LONGHAUL_BRANCH");
	const char *cycle = getenv("LONGHAUL_CYCLE"), *start = NULL, *goal_arg = NULL;
	const char *prompt_file = NULL, *max_env = getenv("LONGHAUL_MAX_CYCLES"), *why;
	char checkout[4200], ref[300], budget_why[200], iso[32], *goal, *tip, *prompt, *end;
	json_t *commands = json_array(), *gate, *facts, *verdict, *model = NULL, *prev, *spent;
	json_t *overrides = json_array(), *commits;
	struct tally tally = { 0 };
	char **ids;
	size_t nids;
	size_t i;
	long max_cycles = -1, cycle_number;
	double timeout = 600;
	int c, attempts = 3, fallback = 0, ncommits, gate_red, budget = 0, stop, goal_met;
	const char *decided_by = "model";
	char *out;

	lh_std_options(argc, argv, manual);
	/* the key in our memory and environ stays ours */
	prctl(PR_SET_DUMPABLE, 0);
	if ((sandbox = lh_sandbox_mode()) < 0)
		exit(2);
	{
		/* git reads the checkout after the gate ran in it: no hook,
		 * fsmonitor or signature program of its config runs */
		static char *extra[] = { "GIT_CEILING_DIRECTORIES", "GIT_CONFIG_GLOBAL", "TMPDIR",
		    "GIT_CONFIG_NOSYSTEM=1", "GIT_CONFIG_COUNT=3",
		    "GIT_CONFIG_KEY_0=core.hooksPath", "GIT_CONFIG_VALUE_0=/dev/null",
		    "GIT_CONFIG_KEY_1=core.fsmonitor", "GIT_CONFIG_VALUE_1=false",
		    "GIT_CONFIG_KEY_2=log.showSignature", "GIT_CONFIG_VALUE_2=false" };

		git_env = lh_sandbox_env(LH_SANDBOX_OFF, extra, sizeof extra / sizeof *extra);
	}
	while ((c = getopt(argc, argv, "a:b:B:c:f:Fg:G:kn:p:R:s:t:")) != -1)
		switch (c) {
		case 'a': attempts = atoi(optarg); break;
		case 'b': dir = optarg; break;
		case 'B': branch = optarg; break;
		case 'c': cycle = optarg; break;
		case 'f': read_gate_file(commands, optarg); break;
		case 'F': fallback = 1; break;
		case 'g': json_array_append_new(commands, json_string(optarg)); break;
		case 'G': goal_arg = optarg; break;
		case 'k': keep = 1; break;
		case 'n': max_env = optarg; break;
		case 'p': prompt_file = optarg; break;
		case 'R': repo = optarg; break;
		case 's': start = optarg; break;
		case 't':
			timeout = strtod(optarg, &end);
			if (*end || timeout <= 0)
				lh_usage(usage);
			break;
		default: lh_usage(usage);
		}
	if (optind != argc || attempts < 1)
		lh_usage(usage);
	if (!repo || !*repo)
		lh_die(2, "no repository: give -R or set LONGHAUL_REPO");
	if (!cycle || !*cycle || lh_id_check(cycle))
		lh_die(2, "no valid cycle: give -c or set LONGHAUL_CYCLE (letters, digits, '-', '_', '.')");
	if (!branch || !*branch)
		branch = "main";
	if (max_env && *max_env && ((max_cycles = strtol(max_env, &end, 10)) < 0 || *end))
		lh_die(2, "max cycles: not a number: %s", max_env);
	goal = goal_arg && goal_arg[0] == '@' ? lh_read_file(goal_arg + 1, NULL) : lh_strdup(goal_arg ? goal_arg : "");
	if (!goal)
		lh_die_errno(2, "%s", goal_arg + 1);
	prompt = prompt_file ? lh_read_file(prompt_file, NULL) : lh_strdup(default_prompt);
	if (!prompt)
		lh_die_errno(2, "%s", prompt_file);
	if (!lh_utf8_valid(goal, strlen(goal)) || !lh_utf8_valid(prompt, strlen(prompt)))
		lh_die(2, "the goal and the prompt must be UTF-8 text");
	env_limit("LONGHAUL_BUDGET_USD");
	env_limit("LONGHAUL_BUDGET_TOKENS");
	lh_board_open(&board, dir);
	setenv("LONGHAUL_BOARD", board.dir, 1);   /* where llm-call logs and llm-usage sums */

	lh_path(tmpdir, sizeof tmpdir, "%s/judge.XXXXXX", getenv("TMPDIR") && *getenv("TMPDIR") ?
	    getenv("TMPDIR") : "/tmp");
	if (!mkdtemp(tmpdir))
		lh_die_errno(2, "%s", tmpdir);
	atexit(cleanup);

	/* the exact commit, on a clean checkout */
	lh_path(checkout, sizeof checkout, "%s/checkout", tmpdir);
	lh_path(ref, sizeof ref, "%s", branch);
	{
		char *clone[] = { "git", "clone", "-q", "--no-tags", "-b", ref, "--", (char *)repo, checkout, NULL };
		char *head[] = { "git", "-C", checkout, "rev-parse", "--verify", "HEAD^{commit}", NULL };

		if (run(clone, NULL, NULL, NULL, "", 0, NULL) != 0)
			lh_die(2, "%s: cannot clone branch %s", repo, branch);
		if (!(tip = capture(head, NULL)))
			lh_die(2, "%s: no commit at the tip of %s", repo, branch);
	}
	lh_warn("cycle %s: judging %s of %s", cycle, tip, branch);
	gate = run_gate(commands, checkout, tip, timeout);
	gate_red = !strcmp(json_string_value(json_object_get(gate, "status")), "fail");

	/* the cycle's facts */
	prev = previous_verdict(cycle);
	if (!start && prev)
		start = json_string_value(json_object_get(prev, "commit"));
	commits = commits_between(checkout, start, tip, &ncommits);
	tally.cycle = cycle;
	tally.tasks = json_array();
	tally.counts = json_pack("{s:i, s:i, s:i, s:i}", "ready", 0, "claimed", 0, "done", 0, "failed", 0);
	tally.open = json_pack("{s:i, s:i}", "ready", 0, "claimed", 0);
	ids = lh_board_ids(&board, &nids);
	for (i = 0; i < nids; i++) {
		tally_task(ids[i], &tally);
		free(ids[i]);
	}
	free(ids);
	if (tally.status)
		lh_warn("some task records could not be read");
	spent = usage_total();
	facts = json_pack("{s:s, s:s, s:s, s:s, s:s?, s:o}", "goal", goal, "repository", repo,
	    "branch", branch, "commit", tip, "start_commit", start, "gate", gate);
	json_object_set_new(facts, "tasks", json_pack("{s:o, s:i, s:o, s:o}", "this_cycle",
	    tally.counts, "requeued", tally.requeued, "open_on_board", tally.open, "list", tally.tasks));
	json_object_set_new(facts, "commits", json_pack("{s:i, s:o}", "count", ncommits, "list", commits));
	if (spent) {
		double prev_usd = 0, prev_tokens = 0;
		json_t *pu = json_object_get(json_object_get(json_object_get(prev, "facts"), "usage"), "run");

		if (pu) {
			prev_usd = json_number_value(json_object_get(pu, "cost_usd"));
			prev_tokens = json_number_value(json_object_get(pu, "tokens"));
		}
		prev_tokens = json_number_value(json_object_get(spent, "tokens")) - prev_tokens;
		prev_usd = json_number_value(json_object_get(spent, "cost_usd")) - prev_usd;
		json_object_set_new(facts, "usage", json_pack("{s:O, s:{s:I, s:f}}", "run", spent,
		    "cycle", "tokens", (json_int_t)(prev_tokens > 0 ? prev_tokens : 0),
		    "cost_usd", prev_usd > 0 ? prev_usd : 0.0));
	}
	json_decref(prev);

	/* the verdict: the budget first, then the model, then the rules */
	if ((why = budget_spent(spent, budget_why, sizeof budget_why))) {
		decided_by = "budget";
		verdict = json_pack("{s:s, s:b, s:s, s:s}", "decision", "stop", "goal_met", 0,
		    "reasons", why, "focus", "");
	} else if ((model = ask_model(facts, prompt, attempts, &budget))) {
		verdict = json_deep_copy(model);
	} else if (budget) {
		decided_by = "budget";
		verdict = json_pack("{s:s, s:b, s:s, s:s}", "decision", "stop", "goal_met", 0,
		    "reasons", "budget spent: llm-call refused to start the judge's call", "focus", "");
	} else if (fallback) {
		decided_by = "fallback";
		verdict = json_pack("{s:s, s:b, s:s, s:s}", "decision", gate_red ? "continue" : "stop",
		    "goal_met", 0, "reasons", gate_red ? "no verdict from the model; the gate fails" :
		    "no verdict from the model; the gate passes", "focus", "");
	} else {
		lh_die(2, "cycle %s: no valid verdict from the model", cycle);
	}
	stop = !strcmp(json_string_value(json_object_get(verdict, "decision")), "stop");
	goal_met = json_is_true(json_object_get(verdict, "goal_met"));
	if (gate_red && goal_met) {
		json_object_set_new(verdict, "goal_met", json_false());
		json_array_append_new(overrides, json_string("goal_met: the gate fails, so the goal is not met"));
		if (stop && strcmp(decided_by, "budget")) {
			stop = 0;
			json_array_append_new(overrides, json_string(
			    "decision: stop because the goal is met, but the gate fails: continue"));
		}
	}
	cycle_number = strtol(cycle, &end, 10);
	if (!stop && max_cycles > 0 && !*end && cycle_number >= max_cycles) {
		stop = 1;
		json_array_append_new(overrides, json_string("decision: the last cycle (max cycles): stop"));
	}
	json_object_set_new(verdict, "decision", json_string(stop ? "stop" : "continue"));
	if (json_array_size(overrides)) {
		/* say first what the rules changed, then what the model said */
		json_t *o;
		size_t k, len = strlen(json_string_value(json_object_get(verdict, "reasons"))) + 64;
		char *text;

		json_array_foreach(overrides, k, o)
			len += json_string_length(o) + 2;
		text = lh_malloc(len);
		strcpy(text, "Overridden: ");
		json_array_foreach(overrides, k, o) {
			strcat(text, json_string_value(o));
			strcat(text, k + 1 < json_array_size(overrides) ? "; " : ". ");
		}
		strcat(text, "Reasons given: ");
		strcat(text, json_string_value(json_object_get(verdict, "reasons")));
		json_object_set_new(verdict, "reasons", json_string(text));
		free(text);
	}
	json_object_set_new(verdict, "cycle", json_string(cycle));
	json_object_set_new(verdict, "commit", json_string(tip));
	json_object_set_new(verdict, "gate", json_string(json_string_value(json_object_get(gate, "status"))));
	json_object_set_new(verdict, "decided_by", json_string(decided_by));
	json_object_set_new(verdict, "overrides", overrides);
	json_object_set_new(verdict, "model", model ? model : json_null());
	lh_iso_time(lh_now(), iso, sizeof iso);
	json_object_set_new(verdict, "time", json_string(iso));
	json_object_set_new(verdict, "ts", json_real(lh_now()));
	if (keep)
		json_object_set_new(verdict, "checkout", json_string(checkout));
	json_object_set_new(verdict, "facts", facts);
	write_verdict(verdict, cycle);
	out = json_dumps(verdict, JSON_COMPACT | JSON_PRESERVE_ORDER);
	puts(out);
	free(out);
	lh_close_stdout();
	json_decref(verdict);
	json_decref(commands);
	json_decref(spent);
	free(tip);
	free(goal);
	free(prompt);
	return stop ? 1 : 0;
}
