/* board-status: one screen on a running fleet: tasks, live agents, spend,
 * landings, and what needs a person; -w redraws it like top.
 *
 * It must stay cheap on a board of 100,000 tasks and a usage log of a
 * million lines, so a refresh reads what changed, not everything:
 * - Tasks: a task's current version V is the truth, and versions only
 *   grow by one (link() of V+1), so a record read once stays current
 *   exactly as long as version V+1 does not exist. The tool keeps what it
 *   needs of each record (state, area, owner, ...) with its version, and
 *   a refresh costs one readdir per shard and one stat of V+1 per task;
 *   only tasks that changed are read again. Ready and claimed tasks get a
 *   stat of V too (the queue's age, the heartbeat).
 * - Usage: the logs are append-only; a refresh reads each from where the
 *   last one stopped (an inode that changed starts it over).
 * Both are kept between refreshes in memory and between runs in the
 * user's cache ($XDG_CACHE_HOME/longhaul/, not the board: agents can
 * write the board, and a forged cache would hide things from the person
 * watching). A cache that is damaged or of another board is ignored.
 *
 * What an agent does now is read from the tail of its transcript (the
 * last "assistant" line: its step and command; a later "run" line: the
 * command runs), not written anywhere new: nothing is added to the
 * agents' hot paths. Text that agents wrote (titles, commands, reasons)
 * reaches the terminal with control characters replaced.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <glob.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/ioctl.h>
#include <sys/stat.h>

#include "longhaul.h"

static const char usage_line[] =
    "board-status [-j] [-w seconds [-n count]] [-b board] [-W workdir] [-R remote] [-B branch] "
    "[-u usd] [-U cycle-usd] [-k tokens] [-K cycle-tokens]";
static const char manual[] =
"usage: board-status [-j] [-w seconds [-n count]] [-b board] [-W workdir] [-R remote] [-B branch]\n"
"                    [-u usd] [-U cycle-usd] [-k tokens] [-K cycle-tokens]\n"
"One screen on a board and its fleet: tasks by state and area, the ready\n"
"queue, every live agent (task, step, command, heartbeat, spend), spend\n"
"against the budgets, landings, and what needs a person.\n"
"  -w seconds  redraw every this many seconds (sooner when the board changes)\n"
"  -n count    with -w, stop after this many refreshes\n"
"  -j          one JSON object per refresh instead of the screen\n"
"  -W workdir  the workers' directory, for transcripts and quarantine\n"
"              ($LONGHAUL_WORKDIR, else ./longhaul-work)\n"
"  -R remote   the shared repository, for the tip of the branch ($LONGHAUL_REMOTE)\n"
"  -B branch   the branch workers land on ($LONGHAUL_BRANCH, else main)\n"
"  -u, -k      the run's budget in dollars, tokens ($LONGHAUL_BUDGET_USD, _TOKENS)\n"
"  -U, -K      the cycle's budget in dollars, tokens\n"
"Colour only on a terminal and without NO_COLOR. Exit: 0, 2 usage, 5 bad board,\n"
"6 system error. See board-status(1).\n";

static struct lh_board board;
static const char *workdir, *remote, *branch;
static double budget_usd = -1, budget_tokens = -1, cycle_budget_usd = -1, cycle_budget_tokens = -1;
static int json_out, color;
static char cache_path[4200];

/* ---- small helpers ---- */

static char *
dup_or_null(const char *s)
{
	return s ? lh_strdup(s) : NULL;
}

/* text an agent may have written, made safe for a terminal and a cache
 * line: control characters become '?', at most max bytes (0: no limit),
 * never cutting a UTF-8 character */
static void
clean(char *buf, size_t size, const char *s, size_t max)
{
	size_t i = 0;
	unsigned char c;

	if (!s)
		s = "";
	if (!max || max >= size)
		max = size - 1;
	for (; (c = (unsigned char)*s) && i < max; s++) {
		if (i + 1 > max)
			break;
		buf[i++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
	}
	if (*s && i > 0) {       /* cut: drop the last character, whole, and mark the cut */
		while (i > 0 && ((unsigned char)buf[i - 1] & 0xc0) == 0x80)
			i--;
		if (i > 0)
			i--;
		buf[i++] = '~';
	}
	buf[i] = 0;
}

static void
duration(char *buf, size_t size, double s)
{
	long t = s < 0 ? 0 : (long)s;

	if (s < 0)
		snprintf(buf, size, "-");
	else if (t < 60)
		snprintf(buf, size, "%lds", t);
	else if (t < 3600)
		snprintf(buf, size, "%ldm", t / 60);
	else if (t < 86400)
		snprintf(buf, size, "%ldh%02ldm", t / 3600, t % 3600 / 60);
	else
		snprintf(buf, size, "%ldd%02ldh", t / 86400, t % 86400 / 3600);
}

static double
mtime_of(const char *path)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return -1;
	return st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
}

/* a regular file: nothing else on the board is opened (a FIFO blocks) */
static int
regular(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* ---- a map from names to small records: a jansson object of indexes ---- */

struct sum { char *name; double usd; long long tokens, calls; };
struct sums { json_t *index; struct sum *v; size_t n, cap; };

static struct sum *
sum_get(struct sums *s, const char *name)
{
	json_t *i;

	if (!s->index)
		s->index = json_object();
	if ((i = json_object_get(s->index, name)))
		return &s->v[json_integer_value(i)];
	if (s->n == s->cap) {
		s->cap = s->cap ? 2 * s->cap : 64;
		s->v = lh_realloc(s->v, s->cap * sizeof *s->v);
	}
	memset(&s->v[s->n], 0, sizeof s->v[s->n]);
	s->v[s->n].name = lh_strdup(name);
	json_object_set_new(s->index, name, json_integer((json_int_t)s->n));
	return &s->v[s->n++];
}

/* ---- tasks ---- */

struct task {
	char *id, *state, *kind, *area, *parent, *cycle, *deps, *title, *reason;
	char *host, *agent;
	long pid;
	int version, token, seen;
	double lease, mtime;        /* mtime: of version V when last looked at */
};
static struct task *tasks;
static size_t ntasks, cap_tasks;
static json_t *task_index;      /* id -> index in tasks */
static int board_status = LH_OK;

static void
task_free_fields(struct task *t)
{
	free(t->state); free(t->kind); free(t->area); free(t->parent); free(t->cycle);
	free(t->deps); free(t->title); free(t->reason); free(t->host); free(t->agent);
}

static struct task *
task_slot(const char *id)
{
	json_t *i = json_object_get(task_index, id);
	struct task *t;

	if (i)
		return &tasks[json_integer_value(i)];
	if (ntasks == cap_tasks) {
		cap_tasks = cap_tasks ? 2 * cap_tasks : 1024;
		tasks = lh_realloc(tasks, cap_tasks * sizeof *tasks);
	}
	t = &tasks[ntasks];
	memset(t, 0, sizeof *t);
	t->id = lh_strdup(id);
	json_object_set_new(task_index, id, json_integer((json_int_t)ntasks++));
	return t;
}

static const char *
str(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

static void
task_load(struct task *t, json_t *rec, int version)
{
	json_t *deps = json_object_get(rec, "deps"), *d, *owner = json_object_get(rec, "owner");
	json_t *lease = json_object_get(rec, "lease");
	size_t i, len = 0;

	task_free_fields(t);
	t->version = version;
	t->state = lh_strdup(str(rec, "state"));
	t->kind = lh_strdup(str(rec, "kind"));
	t->area = lh_strdup(str(rec, "area") ? str(rec, "area") : "");
	t->parent = dup_or_null(str(rec, "parent"));
	t->cycle = dup_or_null(str(rec, "cycle"));
	t->title = lh_strdup(str(rec, "title"));
	t->reason = dup_or_null(str(rec, "reason"));
	t->host = dup_or_null(str(owner, "host"));
	t->agent = dup_or_null(str(owner, "agent"));
	t->pid = (long)json_integer_value(json_object_get(owner, "pid"));
	t->token = (int)json_integer_value(json_object_get(lease, "token"));
	t->lease = json_number_value(json_object_get(lease, "seconds"));
	t->deps = lh_malloc(1);
	t->deps[0] = 0;
	json_array_foreach(deps, i, d) {
		const char *s = json_string_value(d);

		if (!s || lh_id_check(s))
			continue;
		t->deps = lh_realloc(t->deps, len + strlen(s) + 2);
		len += (size_t)sprintf(t->deps + len, "%s%s", len ? " " : "", s);
	}
}

/* one pass over the board: every task's current version, read again
 * only when version V+1 exists (or the task is new) */
static void
scan_tasks(void)
{
	char dir[4200], path[4400];
	struct dirent *de;
	int shard;
	size_t i;
	DIR *d;

	for (i = 0; i < ntasks; i++)
		tasks[i].seen = 0;
	for (shard = 0; shard < 256; shard++) {
		lh_path(dir, sizeof dir, "%s/tasks/%02x", board.dir, shard);
		if (!(d = opendir(dir)))
			continue;
		while ((de = readdir(d))) {
			struct task *t;
			json_t *rec;
			int v, st;

			if (de->d_name[0] == '.' || lh_id_check(de->d_name))
				continue;
			t = task_slot(de->d_name);
			t->seen = 1;
			if (t->version > 0) {
				struct stat st;

				/* relative to the shard: a short path walk for each of
				 * the board's tasks, the cost of a refresh */
				lh_path(path, sizeof path, "%s/%06d.json", de->d_name, t->version + 1);
				if (fstatat(dirfd(d), path, &st, 0) != 0) {
					if (!strcmp(t->state, "ready") || !strcmp(t->state, "claimed")) {
						lh_path(path, sizeof path, "%s/%06d.json", de->d_name, t->version);
						t->mtime = fstatat(dirfd(d), path, &st, 0) == 0 ?
						    st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9 : -1;
					}
					continue;
				}
			}
			if (!(rec = lh_task_read(&board, de->d_name, &v, &st, 1))) {
				if (st != LH_NOTFOUND)
					board_status = st;
				t->seen = 0;
				continue;
			}
			task_load(t, rec, v);
			json_decref(rec);
			lh_path(path, sizeof path, "%s/%s/%06d.json", dir, de->d_name, v);
			t->mtime = mtime_of(path);
		}
		closedir(d);
	}
}

static struct task *
task_find(const char *id)
{
	json_t *i = json_object_get(task_index, id);

	return i ? &tasks[json_integer_value(i)] : NULL;
}

static int
deps_done(struct task *t)
{
	char *s, *p, *save = NULL;
	int done = 1;

	if (!t->deps || !*t->deps)
		return 1;
	s = lh_strdup(t->deps);
	for (p = strtok_r(s, " ", &save); p && done; p = strtok_r(NULL, " ", &save)) {
		struct task *d = task_find(p);

		done = d && d->seen && !strcmp(d->state, "done");
	}
	free(s);
	return done;
}

/* the first dependency failed for good: on a board of format 2 the
 * dependents of a failed task fail too, so a ready task that waits on one
 * is a failer that died before it was done (board-reap finishes it) */
static const char *
failed_dep(struct task *t)
{
	static char id[LH_ID_MAX + 1];
	char *s, *p, *save = NULL;
	const char *found = NULL;

	if (!t->deps || !*t->deps)
		return NULL;
	s = lh_strdup(t->deps);
	for (p = strtok_r(s, " ", &save); p && !found; p = strtok_r(NULL, " ", &save)) {
		struct task *d = task_find(p);

		if (d && d->seen && !strcmp(d->state, "failed"))
			found = (snprintf(id, sizeof id, "%s", p), id);
	}
	free(s);
	return found;
}

static const char *
shown_state(struct task *t)
{
	return !strcmp(t->state, "ready") && !deps_done(t) ? "waiting" : t->state;
}

/* ---- the usage logs ---- */

struct logfile { char *name; unsigned long long ino; long long off; };
static struct logfile *logs;
static size_t nlogs;
static struct sums by_role, by_model, by_task, by_cycle;
static struct sums by_cycle_role, by_cycle_model;      /* "CYCLE/ROLE", "CYCLE/MODEL" */
static struct sum total;

static struct lh_cycle *cycles;
static size_t ncycles;

static void
load_cycles(void)
{
	char dir[4200];

	free(cycles);
	lh_path(dir, sizeof dir, "%s/cycles", board.dir);
	cycles = lh_cycles_load(dir, &ncycles);
}

static const char *
cycle_at(double ts)
{
	const struct lh_cycle *c = lh_cycle_at(cycles, ncycles, ts);

	return c ? c->name : "-";
}

/* the value of "key": in a line that llm-call wrote (json_dumps, compact):
 * a string without escapes, or a number; NULL when absent or escaped */
static const char *
field(const char *line, const char *key, char *buf, size_t size)
{
	char pat[64];
	const char *p, *e;
	size_t n;

	n = (size_t)snprintf(pat, sizeof pat, "\"%s\":", key);
	if (!(p = strstr(line, pat)))
		return NULL;
	p += n;
	if (*p == '"') {
		p++;
		if (!(e = strchr(p, '"')) || memchr(p, '\\', (size_t)(e - p)))
			return NULL;
	} else {
		e = p + strcspn(p, ",}");
	}
	n = (size_t)(e - p) < size - 1 ? (size_t)(e - p) : size - 1;
	memcpy(buf, p, n);
	buf[n] = 0;
	return buf;
}

static void
add_usage(const char *role, const char *model, const char *task, const char *cycle,
    long long tokens, double usd)
{
	char cr[300], cm[400];
	struct sum *s[6];
	int i;

	/* a cycle's name is a file name: no '/' in it */
	snprintf(cr, sizeof cr, "%s/%s", cycle, role);
	snprintf(cm, sizeof cm, "%s/%s", cycle, model);
	s[0] = sum_get(&by_role, role), s[1] = sum_get(&by_model, model);
	s[2] = sum_get(&by_task, task), s[3] = sum_get(&by_cycle, cycle);
	s[4] = sum_get(&by_cycle_role, cr), s[5] = sum_get(&by_cycle_model, cm);
	for (i = 0; i < 6; i++) {
		s[i]->tokens += tokens;
		s[i]->usd += usd;
		s[i]->calls++;
	}
	total.tokens += tokens;
	total.usd += usd;
	total.calls++;
}

static void
log_line(const char *line, size_t len)
{
	static const char *tk[] = { "input_tokens", "output_tokens", "cache_read_tokens", "cache_write_tokens" };
	char role[128], model[256], task[128], num[64];
	const char *r, *m, *t;
	long long tokens = 0;
	double usd = 0, ts = 0;
	int i;

	if (memchr(line, '\\', len)) {          /* escaped text: the slow, exact way */
		json_t *j = json_loadb(line, len, 0, NULL);

		if (!j)
			return;
		for (i = 0; i < 4; i++)
			tokens += json_integer_value(json_object_get(j, tk[i]));
		clean(role, sizeof role, str(j, "role") ? str(j, "role") : "-", 0);
		clean(model, sizeof model, str(j, "model") ? str(j, "model") : "-", 0);
		clean(task, sizeof task, str(j, "task") ? str(j, "task") : "-", 0);
		add_usage(role, model, task, cycle_at(json_number_value(json_object_get(j, "ts"))),
		    tokens, json_number_value(json_object_get(j, "cost_usd")));
		json_decref(j);
		return;
	}
	for (i = 0; i < 4; i++)
		if (field(line, tk[i], num, sizeof num))
			tokens += atoll(num);
	if (field(line, "cost_usd", num, sizeof num))
		usd = atof(num);
	if (field(line, "ts", num, sizeof num))
		ts = atof(num);
	r = field(line, "role", role, sizeof role);
	m = field(line, "model", model, sizeof model);
	t = field(line, "task", task, sizeof task);
	add_usage(r ? r : "-", m ? m : "-", t ? t : "-", cycle_at(ts), tokens, usd);
}

static struct logfile *
log_slot(const char *name)
{
	size_t i;

	for (i = 0; i < nlogs; i++)
		if (!strcmp(logs[i].name, name))
			return &logs[i];
	logs = lh_realloc(logs, (nlogs + 1) * sizeof *logs);
	logs[nlogs].name = lh_strdup(name);
	logs[nlogs].ino = 0;
	logs[nlogs].off = 0;
	return &logs[nlogs++];
}

static void
sums_clear(struct sums *s)
{
	size_t i;

	for (i = 0; i < s->n; i++)
		free(s->v[i].name);
	s->n = 0;
	json_decref(s->index);
	s->index = NULL;
}

static void
scan_usage(void)
{
	char dir[4200], path[4400], *line = NULL;
	struct dirent *de;
	size_t cap = 0;
	ssize_t n;
	struct stat st;
	DIR *d;
	FILE *f;
	size_t i;

	lh_path(dir, sizeof dir, "%s/usage", board.dir);
	if (!(d = opendir(dir)))
		return;
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name);
		struct logfile *l;

		if (de->d_name[0] == '.' || len < 7 || strcmp(de->d_name + len - 6, ".jsonl"))
			continue;
		lh_path(path, sizeof path, "%s/%s", dir, de->d_name);
		if (stat(path, &st) != 0 || !S_ISREG(st.st_mode))
			continue;
		l = log_slot(de->d_name);
		if (l->ino != (unsigned long long)st.st_ino || l->off > (long long)st.st_size) {
			if (l->ino) {
				/* a log replaced under us: start every sum over */
				closedir(d);
				for (i = 0; i < nlogs; i++)
					logs[i].ino = 0, logs[i].off = 0;
				sums_clear(&by_role); sums_clear(&by_model);
				sums_clear(&by_task); sums_clear(&by_cycle);
				sums_clear(&by_cycle_role); sums_clear(&by_cycle_model);
				memset(&total, 0, sizeof total);
				free(line);
				scan_usage();
				return;
			}
			l->ino = (unsigned long long)st.st_ino;
			l->off = 0;
		}
		if (l->off == (long long)st.st_size || !(f = fopen(path, "r")))
			continue;
		if (fseeko(f, l->off, SEEK_SET) == 0)
			while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
				l->off += n;
				line[n - 1] = 0;
				log_line(line, (size_t)n - 1);
			}
		fclose(f);
	}
	closedir(d);
	free(line);
}

/* ---- the cache in the user's directory ---- */

static void
cache_name(void)
{
	const char *xdg = getenv("XDG_CACHE_HOME"), *home = getenv("HOME");
	char real[4096], base[4096];
	uint64_t h = 1469598103934665603ull;
	const char *p;

	if (!realpath(board.dir, real))
		return;
	for (p = real; *p; p++)
		h = (h ^ (unsigned char)*p) * 1099511628211ull;
	if (xdg && *xdg == '/')
		lh_path(base, sizeof base, "%s/longhaul", xdg);
	else if (home && *home)
		lh_path(base, sizeof base, "%s/.cache/longhaul", home);
	else
		return;
	if (lh_mkdirs(base) != 0)
		return;
	lh_path(cache_path, sizeof cache_path, "%s/board-status.%016llx", base, (unsigned long long)h);
}

/* the identity of the board the cache is for: its tasks/ directory */
static void
board_identity(char *buf, size_t size)
{
	char path[4200];
	struct stat st;

	lh_path(path, sizeof path, "%s/tasks", board.dir);
	if (stat(path, &st) != 0)
		memset(&st, 0, sizeof st);
	snprintf(buf, size, "longhaul-board-status-cache 1 %llu %llu",
	    (unsigned long long)st.st_dev, (unsigned long long)st.st_ino);
}

static char *
next_field(char **p)
{
	char *s = *p, *e;

	if (!s)
		return NULL;
	if ((e = strchr(s, '\t'))) {
		*e = 0;
		*p = e + 1;
	} else {
		*p = NULL;
	}
	return s;
}

static char *
opt(const char *s)
{
	return s && strcmp(s, "\\N") ? lh_strdup(s) : NULL;
}

static void
cache_load(void)
{
	char head[128], *line = NULL, *p, *f[16];
	size_t cap = 0;
	ssize_t n;
	FILE *in;
	int i;

	if (!cache_path[0] || !(in = fopen(cache_path, "r")))
		return;
	board_identity(head, sizeof head);
	if ((n = getline(&line, &cap, in)) <= 0 || strncmp(line, head, strlen(head)) || line[strlen(head)] != '\n') {
		fclose(in);
		free(line);
		return;
	}
	while ((n = getline(&line, &cap, in)) > 0) {
		if (line[n - 1] != '\n')
			break;
		line[n - 1] = 0;
		p = line;
		for (i = 0; i < 16; i++)
			f[i] = next_field(&p);
		if (f[0] && !strcmp(f[0], "T") && f[15] && !lh_id_check(f[1])) {
			struct task *t = task_slot(f[1]);

			task_free_fields(t);
			t->version = atoi(f[2]);
			t->mtime = atof(f[3]);
			t->state = lh_strdup(f[4]);
			t->kind = lh_strdup(f[5]);
			t->area = lh_strdup(f[6]);
			t->parent = opt(f[7]);
			t->cycle = opt(f[8]);
			t->deps = lh_strdup(f[9]);
			t->host = opt(f[10]);
			t->agent = opt(f[11]);
			t->pid = atol(f[12]);
			t->token = atoi(f[13]);
			t->lease = atof(f[14]);
			t->reason = opt(f[15]);
			t->title = lh_strdup(p ? p : "");
			if (strcmp(t->state, "ready") && strcmp(t->state, "claimed") &&
			    strcmp(t->state, "done") && strcmp(t->state, "failed"))
				t->version = 0;        /* damaged: read the record again */
		} else if (f[0] && !strcmp(f[0], "L") && f[3]) {
			struct logfile *l = log_slot(f[1]);

			l->ino = strtoull(f[2], NULL, 10);
			l->off = atoll(f[3]);
		} else if (f[0] && f[0][0] == 'S' && f[4]) {
			struct sum *s = f[0][1] == 'r' ? sum_get(&by_role, f[1]) :
			    f[0][1] == 'm' ? sum_get(&by_model, f[1]) :
			    f[0][1] == 't' ? sum_get(&by_task, f[1]) :
			    f[0][1] == 'c' ? sum_get(&by_cycle, f[1]) :
			    f[0][1] == 'R' ? sum_get(&by_cycle_role, f[1]) :
			    f[0][1] == 'M' ? sum_get(&by_cycle_model, f[1]) : &total;

			s->tokens = atoll(f[2]);
			s->usd = atof(f[3]);
			s->calls = atoll(f[4]);
		}
	}
	free(line);
	fclose(in);
}

static void
put(FILE *o, const char *s, int last)
{
	char buf[1024];

	if (!s) {
		fputs("\\N", o);
	} else {
		clean(buf, sizeof buf, s, 0);
		fputs(buf, o);
	}
	fputc(last ? '\n' : '\t', o);
}

static void
put_sums(FILE *o, const char *tag, struct sums *s)
{
	size_t i;
	char name[512];

	for (i = 0; i < s->n; i++) {
		clean(name, sizeof name, s->v[i].name, 0);
		fprintf(o, "%s\t%s\t%lld\t%.9f\t%lld\n", tag, name, s->v[i].tokens, s->v[i].usd, s->v[i].calls);
	}
}

/* written to a temporary file and renamed: a reader sees one whole cache */
static void
cache_save(void)
{
	char tmp[4400], head[128], rnd[9];
	FILE *o;
	size_t i;

	if (!cache_path[0])
		return;
	lh_random_name(rnd, sizeof rnd);
	lh_path(tmp, sizeof tmp, "%s.%s.tmp", cache_path, rnd);
	if (!(o = fopen(tmp, "w")))
		return;
	board_identity(head, sizeof head);
	fprintf(o, "%s\n", head);
	for (i = 0; i < ntasks; i++) {
		struct task *t = &tasks[i];

		if (!t->seen || t->version <= 0)
			continue;
		fprintf(o, "T\t%s\t%d\t%.6f\t", t->id, t->version, t->mtime);
		put(o, t->state, 0); put(o, t->kind, 0); put(o, t->area, 0);
		put(o, t->parent, 0); put(o, t->cycle, 0); put(o, t->deps, 0);
		put(o, t->host, 0); put(o, t->agent, 0);
		fprintf(o, "%ld\t%d\t%.3f\t", t->pid, t->token, t->lease);
		put(o, t->reason, 0); put(o, t->title, 1);
	}
	for (i = 0; i < nlogs; i++)
		fprintf(o, "L\t%s\t%llu\t%lld\n", logs[i].name, logs[i].ino, logs[i].off);
	put_sums(o, "Sr", &by_role); put_sums(o, "Sm", &by_model);
	put_sums(o, "St", &by_task); put_sums(o, "Sc", &by_cycle);
	put_sums(o, "SR", &by_cycle_role); put_sums(o, "SM", &by_cycle_model);
	fprintf(o, "S\ttotal\t%lld\t%.9f\t%lld\n", total.tokens, total.usd, total.calls);
	if (fclose(o) != 0 || rename(tmp, cache_path) != 0)
		unlink(tmp);
}

/* ---- what an agent does now: the tail of its transcript ---- */

struct doing { long step; char what[512]; double since; double changed; int found; };

static void
tail_of(const char *path, struct doing *d)
{
	size_t want[2] = { 16384, 262144 }, k;
	struct stat st;
	char *buf;
	int fd;

	memset(d, 0, sizeof *d);
	d->since = -1;
	/* an agent may have left anything there: only a regular file is
	 * read, and a FIFO must not block the screen */
	if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK)) < 0 || fstat(fd, &st) != 0 ||
	    !S_ISREG(st.st_mode)) {
		if (fd >= 0)
			close(fd);
		return;
	}
	d->found = 1;
	d->changed = st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
	snprintf(d->what, sizeof d->what, "starting");
	for (k = 0; k < 2; k++) {
		off_t from = st.st_size > (off_t)want[k] ? st.st_size - (off_t)want[k] : 0;
		ssize_t n;
		char *p, *e, *last_type = NULL;
		json_t *assistant = NULL, *j;
		double last_time = -1;

		buf = lh_malloc(want[k] + 1);
		n = pread(fd, buf, want[k], from);
		if (n < 0)
			n = 0;
		buf[n] = 0;
		p = buf;
		if (from > 0 && (p = strchr(buf, '\n')))
			p++;
		for (; p && *p; p = e ? e + 1 : NULL) {
			const char *t;

			if (!(e = strchr(p, '\n')))
				break;          /* a line being written */
			if (!(j = json_loadb(p, (size_t)(e - p), 0, NULL)))
				continue;
			t = str(j, "type");
			free(last_type);
			last_type = dup_or_null(t);
			last_time = json_number_value(json_object_get(j, "time"));
			if (t && !strcmp(t, "assistant")) {
				json_decref(assistant);
				assistant = j;
			} else {
				json_decref(j);
			}
		}
		free(buf);
		if (assistant || k == 1 || from == 0) {
			json_t *act = json_object_get(assistant, "action");
			const char *tool = str(act, "tool"), *cmd = str(act, "command");

			if (assistant)
				d->step = (long)json_integer_value(json_object_get(assistant, "step"));
			d->since = last_time;
			if (!last_type)
				;
			else if (!strcmp(last_type, "run") || (!strcmp(last_type, "assistant") && cmd)) {
				char c[480];

				clean(c, sizeof c, cmd ? cmd : "?", 200);
				snprintf(d->what, sizeof d->what, "$ %s", c);
			} else if (!strcmp(last_type, "assistant") && tool && !strcmp(tool, "submit")) {
				snprintf(d->what, sizeof d->what, "submitted");
			} else {
				snprintf(d->what, sizeof d->what, "waiting for the model");
			}
			free(last_type);
			json_decref(assistant);
			break;
		}
		free(last_type);
	}
	close(fd);
}

static void
transcript_of(struct task *t, char *path, size_t size)
{
	glob_t g;
	char pat[4400];
	size_t i;
	long best = -1;

	path[0] = 0;
	if (!strcmp(t->kind, "plan")) {
		char agent[128];

		if (!t->agent || lh_name_check(t->agent))
			return;
		snprintf(agent, sizeof agent, "%s", t->agent);
		lh_path(pat, sizeof pat, "%s/transcripts/*/%s.%s.%d.*.jsonl", board.dir, agent, t->id, t->token);
		if (glob(pat, 0, NULL, &g) != 0)
			return;
		for (i = 0; i < g.gl_pathc; i++) {
			const char *e = g.gl_pathv[i] + strlen(g.gl_pathv[i]) - 6, *s = e;
			long n;

			while (s > g.gl_pathv[i] && s[-1] != '.')
				s--;
			n = strtol(s, NULL, 10);
			if (n > best) {
				best = n;
				snprintf(path, size, "%s", g.gl_pathv[i]);
			}
		}
		globfree(&g);
	} else {
		snprintf(path, size, "%s/transcripts/%s.%d.jsonl", workdir, t->id, t->token);
	}
}

/* ---- one refresh ---- */

/* entries of a directory whose names start with prefix (NULL: all) */
static int
count_entries(const char *dir, const char *prefix, double *oldest)
{
	struct dirent *de;
	int n = 0;
	DIR *d;

	if (!(d = opendir(dir)))
		return 0;
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' || (prefix && strncmp(de->d_name, prefix, strlen(prefix))))
			continue;
		n++;
		if (oldest) {
			double t = strtod(de->d_name + 2, NULL) / 1e6;     /* a.TICKET.... */

			if (t > 0 && (*oldest <= 0 || t < *oldest))
				*oldest = t;
		}
	}
	closedir(d);
	return n;
}

struct area { char *name; int n[5]; };

static const char *state_names[] = { "ready", "waiting", "claimed", "done", "failed" };

static int
state_index(const char *s)
{
	int i;

	for (i = 0; i < 5; i++)
		if (!strcmp(s, state_names[i]))
			return i;
	return 4;
}

static int
by_area_name(const void *a, const void *b)
{
	return strcmp(((const struct area *)a)->name, ((const struct area *)b)->name);
}

static int
by_heartbeat(const void *a, const void *b)
{
	const struct task *x = *(struct task *const *)a, *y = *(struct task *const *)b;

	return x->mtime < y->mtime ? -1 : x->mtime > y->mtime ? 1 : strcmp(x->id, y->id);
}

static int
by_name_sum(const void *a, const void *b)
{
	return strcmp(((const struct sum *)a)->name, ((const struct sum *)b)->name);
}

static int
by_mtime_desc(const void *a, const void *b)
{
	const struct task *x = *(struct task *const *)a, *y = *(struct task *const *)b;

	return x->mtime > y->mtime ? -1 : x->mtime < y->mtime ? 1 : strcmp(x->id, y->id);
}

static void
git_tip(char *buf, size_t size)
{
	char cmd[9400], q[4200], b[300];
	const char *s;
	size_t i = 0;
	FILE *p;

	buf[0] = 0;
	if (!remote || !*remote || lh_name_check(branch))
		return;
	/* quoted for the shell: the remote is the user's, but may hold spaces */
	for (s = remote; *s && i < sizeof q - 5; s++) {
		if (*s == '\'') {
			memcpy(q + i, "'\\''", 4);
			i += 4;
		} else {
			q[i++] = *s;
		}
	}
	q[i] = 0;
	snprintf(b, sizeof b, "%s", branch);
	snprintf(cmd, sizeof cmd, "git --git-dir='%s' log -1 --format='%%h %%ct %%s' 'refs/heads/%s' -- 2>/dev/null"
	    " || git -C '%s' log -1 --format='%%h %%ct %%s' 'refs/heads/%s' -- 2>/dev/null", q, b, q, b);
	if (!(p = popen(cmd, "r")))
		return;
	if (!fgets(cmd, sizeof cmd, p))
		cmd[0] = 0;
	pclose(p);
	cmd[strcspn(cmd, "\n")] = 0;
	clean(buf, size, cmd, 0);
}

#define LANDING_MINUTES 10

static json_t *
gather(void)
{
	char path[4400], dur[32], tip[512];
	struct area *areas = NULL;
	struct task **live = NULL, **failed = NULL, **ready_old = NULL, **blocked = NULL;
	size_t nareas = 0, nlive = 0, nfailed = 0, nready_old = 0, nblocked = 0, i, k;
	int counts[5] = { 0 }, workers = 0, inflight = 0, inflight_wait = 0, queue_wait = 0, queue_in = 0;
	int landings[LANDING_MINUTES] = { 0 };
	double now = lh_board_clock(&board), wall = lh_now(), oldest_ready = -1, cooldown = 0;
	double last_landing = -1, max_lease = 0, queue_head = 0;
	json_t *o = json_object(), *a, *x, *train = NULL;
	const struct lh_cycle *cur = NULL;
	struct dirent *de;
	DIR *d;
	char *s;

	if (now < 0)
		now = wall;             /* a board we may not write: our clock */
	board_status = LH_OK;
	load_cycles();
	scan_tasks();
	scan_usage();
	if (ncycles)
		cur = &cycles[ncycles - 1];

	for (i = 0; i < ntasks; i++) {
		struct task *t = &tasks[i];
		const char *st;
		int si;

		if (!t->seen || t->version <= 0)
			continue;
		st = shown_state(t);
		si = state_index(st);
		counts[si]++;
		for (k = 0; k < nareas && strcmp(areas[k].name, t->area); k++)
			;
		if (k == nareas) {
			areas = lh_realloc(areas, (nareas + 1) * sizeof *areas);
			memset(&areas[nareas], 0, sizeof *areas);
			areas[nareas++].name = t->area;
		}
		areas[k].n[si]++;
		if (t->lease > max_lease)
			max_lease = t->lease;
		if (si == 0) {
			if (oldest_ready < 0 || t->mtime < oldest_ready)
				oldest_ready = t->mtime;
			ready_old = lh_realloc(ready_old, (nready_old + 1) * sizeof *ready_old);
			ready_old[nready_old++] = t;
		} else if (si == 1 && failed_dep(t)) {
			blocked = lh_realloc(blocked, (nblocked + 1) * sizeof *blocked);
			blocked[nblocked++] = t;
		} else if (si == 2) {
			live = lh_realloc(live, (nlive + 1) * sizeof *live);
			live[nlive++] = t;
		} else if (si == 3 && !strcmp(t->kind, "work")) {
			double ago = now - t->mtime;

			if (t->mtime > last_landing)
				last_landing = t->mtime;
			if (ago >= 0 && ago < LANDING_MINUTES * 60)
				landings[(int)(ago / 60)]++;
		} else if (si == 4) {
			failed = lh_realloc(failed, (nfailed + 1) * sizeof *failed);
			failed[nfailed++] = t;
		}
	}
	if (max_lease <= 0)
		max_lease = getenv("LONGHAUL_LEASE") ? atof(getenv("LONGHAUL_LEASE")) : 600;
	if (max_lease <= 0)
		max_lease = 600;

	/* workers and queues: the turns they hold on the board */
	lh_path(path, sizeof path, "%s/turns", board.dir);
	if ((d = opendir(path))) {
		while ((de = readdir(d))) {
			char q[4600];

			lh_path(q, sizeof q, "%s/%s", path, de->d_name);
			if (!strncmp(de->d_name, "worker-", 7))
				workers += count_entries(q, "a.", NULL) ? 1 : 0;
		}
		closedir(d);
	}
	{
		char q[4600], name[200];

		snprintf(name, sizeof name, "push-%s", branch);
		for (s = name; *s; s++)
			if (!(*s >= 'a' && *s <= 'z') && !(*s >= 'A' && *s <= 'Z') && !(*s >= '0' && *s <= '9') &&
			    *s != '.' && *s != '_' && *s != '-')
				*s = '_';
		lh_path(q, sizeof q, "%s/turns/%.64s", board.dir, name);
		queue_wait = count_entries(q, "w.", NULL);
		queue_in = count_entries(q, "a.", &queue_head);
		/* the merge train of the branch (land-train(1)), when there is
		 * one: its queue, and what its state.json says is tested */
		struct stat tst;

		lh_path(q, sizeof q, "%s/train/%.64s", board.dir, name);
		if (stat(q, &tst) == 0 && S_ISDIR(tst.st_mode)) {
			char qd[4700], sp[4700];
			json_t *st;
			json_error_t err;
			int queued = 0;
			struct dirent *e;
			DIR *td;

			lh_path(qd, sizeof qd, "%s/queue", q);
			if ((td = opendir(qd))) {
				while ((e = readdir(td)))
					queued += e->d_name[0] != '.' && strchr(e->d_name, '-') != NULL;
				closedir(td);
			}
			lh_path(sp, sizeof sp, "%s/state.json", q);
			train = json_pack("{s:i}", "queued", queued);
			if ((st = json_load_file(sp, 0, &err)) && json_is_object(st)) {
				const char *what = json_string_value(json_object_get(st, "state"));
				const char *base = json_string_value(json_object_get(st, "base"));
				json_t *drv = json_object_get(st, "driver");
				/* state.json is rewritten at every change: its time
				 * (the file server's, as now) is the state's since */
				double t0 = stat(sp, &tst) == 0 ? (double)tst.st_mtim.tv_sec + tst.st_mtim.tv_nsec / 1e9 : -1;

				json_object_set_new(train, "state", json_string(what ? what : "?"));
				json_object_set_new(train, "base", base && *base ? json_string(base) : json_null());
				json_object_set_new(train, "stack", json_integer((json_int_t)json_array_size(json_object_get(st, "stack"))));
				json_object_set_new(train, "testing", json_integer(json_integer_value(json_object_get(st, "testing"))));
				json_object_set_new(train, "gate_runs", json_integer(json_integer_value(json_object_get(st, "gate_runs"))));
				json_object_set_new(train, "driver", json_is_object(drv) && json_string_value(json_object_get(drv, "agent")) ?
				    json_string(json_string_value(json_object_get(drv, "agent"))) : json_null());
				json_object_set_new(train, "since_s", t0 >= 0 ? json_real(now > t0 ? now - t0 : 0) : json_null());
			}
			json_decref(st);
		}
	}
	lh_path(path, sizeof path, "%s/llm/inflight", board.dir);
	inflight = count_entries(path, "a.", NULL);
	inflight_wait = count_entries(path, "w.", NULL);
	lh_path(path, sizeof path, "%s/llm/cooldown", board.dir);
	if (regular(path) && (s = lh_read_file(path, NULL))) {
		cooldown = atof(s);
		free(s);
	}
	git_tip(tip, sizeof tip);

	/* the object */
	json_object_set_new(o, "board", json_string(board.dir));
	json_object_set_new(o, "time", json_real(now));
	if (cur) {
		json_object_set_new(o, "cycle", json_pack("{s:s,s:s,s:f}", "cycle", cur->name,
		    "state", cur->state, "started", cur->started));
	} else {
		json_object_set_new(o, "cycle", json_null());
	}
	x = json_object();
	for (i = 0; i < 5; i++)
		json_object_set_new(x, state_names[i], json_integer(counts[i]));
	json_object_set_new(o, "tasks", x);
	if (nareas)
		qsort(areas, nareas, sizeof *areas, by_area_name);
	a = json_object();
	for (k = 0; k < nareas; k++) {
		x = json_object();
		for (i = 0; i < 5; i++)
			json_object_set_new(x, state_names[i], json_integer(areas[k].n[i]));
		json_object_set_new(a, areas[k].name, x);
	}
	json_object_set_new(o, "areas", a);
	json_object_set_new(o, "ready_queue", json_pack("{s:i,s:f}", "depth", counts[0],
	    "oldest_age_s", oldest_ready < 0 ? 0.0 : now - oldest_ready));

	if (nlive)
		qsort(live, nlive, sizeof *live, by_heartbeat);
	a = json_array();
	for (i = 0; i < nlive; i++) {
		struct task *t = live[i];
		struct sum *u = json_object_get(by_task.index ? by_task.index : json_null(), t->id) ?
		    sum_get(&by_task, t->id) : NULL;
		struct doing dg;
		char tr[4400];

		transcript_of(t, tr, sizeof tr);
		if (tr[0])
			tail_of(tr, &dg);
		else
			memset(&dg, 0, sizeof dg);
		x = json_pack("{s:s,s:s?,s:s?,s:I,s:s,s:s,s:s,s:i,s:I,s:f,s:f,s:I,s:f}",
		    "role", strcmp(t->kind, "plan") ? "worker" : "planner",
		    "host", t->host, "agent", t->agent, "pid", (json_int_t)t->pid,
		    "task", t->id, "title", t->title, "area", t->area, "token", t->token,
		    "step", (json_int_t)dg.step,
		    "heartbeat_age_s", now - t->mtime, "lease_s", t->lease,
		    "tokens", (json_int_t)(u ? u->tokens : 0), "cost_usd", u ? u->usd : 0.0);
		json_object_set_new(x, "doing", dg.found ? json_string(dg.what) : json_null());
		json_object_set_new(x, "transcript", tr[0] && dg.found ? json_string(tr) : json_null());
		json_object_set_new(x, "transcript_age_s", dg.found ? json_real(wall - dg.changed) : json_null());
		json_array_append_new(a, x);
	}
	json_object_set_new(o, "agents", a);

	x = json_pack("{s:f,s:I,s:I}", "cost_usd", total.usd, "tokens", (json_int_t)total.tokens,
	    "calls", (json_int_t)total.calls);
	json_object_set_new(x, "budget_usd", budget_usd >= 0 ? json_real(budget_usd) : json_null());
	json_object_set_new(x, "budget_tokens", budget_tokens >= 0 ? json_integer((json_int_t)budget_tokens) : json_null());
	json_object_set_new(o, "spend", x);
	if (cur) {
		struct sum *c = json_object_get(by_cycle.index ? by_cycle.index : json_null(), cur->name) ?
		    sum_get(&by_cycle, cur->name) : NULL;

		x = json_pack("{s:s,s:f,s:I}", "cycle", cur->name, "cost_usd", total.usd - cur->usd_at_start,
		    "tokens", (json_int_t)(total.tokens - (long long)cur->tokens_at_start));
		json_object_set_new(x, "calls_in_cycle", json_integer(c ? c->calls : 0));
	} else {
		x = json_pack("{s:n,s:f,s:I}", "cycle", "cost_usd", total.usd, "tokens", (json_int_t)total.tokens);
	}
	{
		struct sums *g[2] = { &by_cycle_role, &by_cycle_model };
		const char *gn[2] = { "by_role", "by_model" };
		size_t len = cur ? strlen(cur->name) : 0;
		int j;

		for (j = 0; j < 2; j++) {
			if (g[j]->n)
				qsort(g[j]->v, g[j]->n, sizeof *g[j]->v, by_name_sum);
			json_object_clear(g[j]->index);
			a = json_object();
			for (i = 0; i < g[j]->n; i++) {
				const char *n = g[j]->v[i].name;

				json_object_set_new(g[j]->index, n, json_integer((json_int_t)i));
				if (cur && !strncmp(n, cur->name, len) && n[len] == '/')
					json_object_set_new(a, n + len + 1, json_pack("{s:f,s:I,s:I}",
					    "cost_usd", g[j]->v[i].usd, "tokens", (json_int_t)g[j]->v[i].tokens,
					    "calls", (json_int_t)g[j]->v[i].calls));
			}
			json_object_set_new(x, gn[j], a);
		}
	}
	json_object_set_new(x, "budget_usd", cycle_budget_usd >= 0 ? json_real(cycle_budget_usd) : json_null());
	json_object_set_new(x, "budget_tokens", cycle_budget_tokens >= 0 ? json_integer((json_int_t)cycle_budget_tokens) : json_null());
	json_object_set_new(o, "cycle_spend", x);
	{
		struct sums *g[2] = { &by_role, &by_model };
		const char *gn[2] = { "by_role", "by_model" };
		int j;

		for (j = 0; j < 2; j++) {
			if (g[j]->n)
				qsort(g[j]->v, g[j]->n, sizeof *g[j]->v, by_name_sum);
			json_object_clear(g[j]->index);
			a = json_object();
			for (i = 0; i < g[j]->n; i++) {
				json_object_set_new(g[j]->index, g[j]->v[i].name, json_integer((json_int_t)i));
				json_object_set_new(a, g[j]->v[i].name, json_pack("{s:f,s:I,s:I}",
				    "cost_usd", g[j]->v[i].usd, "tokens", (json_int_t)g[j]->v[i].tokens,
				    "calls", (json_int_t)g[j]->v[i].calls));
			}
			json_object_set_new(o, gn[j], a);
		}
	}
	json_object_set_new(o, "llm", json_pack("{s:i,s:i,s:f}", "in_flight", inflight,
	    "waiting_for_slot", inflight_wait, "cooldown_s", cooldown > wall ? cooldown - wall : 0.0));
	a = json_array();
	for (i = 0; i < LANDING_MINUTES; i++)
		json_array_append_new(a, json_integer(landings[i]));
	x = json_pack("{s:o,s:s,s:i,s:i}", "per_minute", a, "branch", branch,
	    "queue_waiting", queue_wait, "queue_landing", queue_in);
	json_object_set_new(x, "last_landing_age_s", last_landing < 0 ? json_null() : json_real(now - last_landing));
	json_object_set_new(x, "tip", tip[0] ? json_string(tip) : json_null());
	json_object_set_new(x, "train", train ? train : json_null());
	json_object_set_new(o, "landing", x);

	/* what needs a person */
	a = json_array();
	if (counts[0] && workers > 0 && oldest_ready >= 0 && now - oldest_ready > max_lease) {
		size_t stale = 0;

		for (i = 0; i < nready_old; i++)
			stale += now - ready_old[i]->mtime > max_lease;
		duration(dur, sizeof dur, now - oldest_ready);
		json_array_append_new(a, json_pack("{s:s,s:I,s:f,s:i,s:f}", "kind", "ready-unclaimed",
		    "tasks", (json_int_t)stale, "oldest_age_s", now - oldest_ready, "workers", workers,
		    "lease_s", max_lease));
	}
	for (i = 0; i < nlive; i++) {
		struct task *t = live[i];
		json_t *ag = json_array_get(json_object_get(o, "agents"), i);
		double tage = json_number_value(json_object_get(ag, "transcript_age_s"));
		double lease = t->lease > 0 ? t->lease : max_lease;

		if (now - t->mtime > lease)
			json_array_append_new(a, json_pack("{s:s,s:s,s:s?,s:f,s:f}", "kind", "no-heartbeat",
			    "task", t->id, "agent", t->agent, "age_s", now - t->mtime, "lease_s", lease));
		/* a submitted agent waits (a worker to land, a planner for its
		 * tasks): its transcript rests, and that is no stall */
		else if (json_is_number(json_object_get(ag, "transcript_age_s")) && tage > lease &&
		    strcmp(json_string_value(json_object_get(ag, "doing")), "submitted"))
			json_array_append_new(a, json_pack("{s:s,s:s,s:s?,s:f,s:f}", "kind", "no-progress",
			    "task", t->id, "agent", t->agent, "age_s", tage, "lease_s", lease));
	}
	if (queue_wait + queue_in > 0 && (last_landing < 0 || now - last_landing > max_lease) &&
	    queue_head > 0 && wall - queue_head > max_lease)
		json_array_append_new(a, json_pack("{s:s,s:i,s:f,s:f}", "kind", "landing-stuck",
		    "queue", queue_wait + queue_in, "head_age_s", wall - queue_head, "lease_s", max_lease));
	for (i = 0; i < nblocked; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s}", "kind", "dependency-failed",
		    "task", blocked[i]->id, "dependency", failed_dep(blocked[i])));
	json_object_set_new(o, "stalls", a);
	if (nfailed)
		qsort(failed, nfailed, sizeof *failed, by_mtime_desc);
	a = json_array();
	for (i = 0; i < nfailed; i++)
		json_array_append_new(a, json_pack("{s:s,s:s,s:s,s:s?,s:f}", "task", failed[i]->id,
		    "title", failed[i]->title, "area", failed[i]->area, "reason", failed[i]->reason,
		    "age_s", now - failed[i]->mtime));
	json_object_set_new(o, "failed", a);
	a = json_array();
	lh_path(path, sizeof path, "%s/quarantine", workdir);
	if ((d = opendir(path))) {
		while ((de = readdir(d)))
			if (de->d_name[0] != '.')
				json_array_append_new(a, json_string(de->d_name));
		closedir(d);
	}
	{
		/* sorted names: the screen does not shuffle between refreshes */
		size_t n = json_array_size(a);
		const char **v = lh_malloc((n + 1) * sizeof *v);
		json_t *sorted = json_array();

		for (i = 0; i < n; i++)
			v[i] = json_string_value(json_array_get(a, i));
		for (i = 1; i < n; i++)
			for (k = i; k > 0 && strcmp(v[k - 1], v[k]) > 0; k--) {
				const char *t = v[k]; v[k] = v[k - 1]; v[k - 1] = t;
			}
		for (i = 0; i < n; i++)
			json_array_append_new(sorted, json_string(v[i]));
		free(v);
		json_decref(a);
		json_object_set_new(o, "quarantined", sorted);
	}
	free(areas);
	free(live);
	free(failed);
	free(ready_old);
	free(blocked);
	return o;
}

/* ---- the screen ---- */

static int rows_left = -1;      /* on a terminal: lines still free */

static void
out(const char *fmt, ...)
{
	va_list ap;

	if (rows_left == 0)
		return;
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	if (rows_left > 0)
		rows_left--;
}

static const char *
bold(void)
{
	return color ? "\033[1m" : "";
}

static const char *
red(void)
{
	return color ? "\033[1;31m" : "";
}

static const char *
plain(void)
{
	return color ? "\033[0m" : "";
}

static void
money(char *buf, size_t size, json_t *spent, json_t *budget)
{
	if (json_is_number(budget) && json_number_value(budget) > 0)
		snprintf(buf, size, "$%.4f of $%.2f (%.0f%%)", json_number_value(spent),
		    json_number_value(budget), 100 * json_number_value(spent) / json_number_value(budget));
	else
		snprintf(buf, size, "$%.4f", json_number_value(spent));
}

static void
screen(json_t *o, int rows)
{
	char t1[600], t2[600], t3[128], iso[32];
	json_t *x, *v, *c = json_object_get(o, "cycle");

	if (!json_is_object(c))
		c = NULL;
	const char *key;
	size_t i, n;
	int k;

	rows_left = rows > 0 ? rows - 1 : -1;
	lh_iso_time(json_number_value(json_object_get(o, "time")), iso, sizeof iso);
	clean(t1, sizeof t1, json_string_value(json_object_get(o, "board")), 60);
	if (c)
		snprintf(t2, sizeof t2, "cycle %s (%s)", json_string_value(json_object_get(c, "cycle")),
		    json_string_value(json_object_get(c, "state")));
	else
		snprintf(t2, sizeof t2, "no cycle");
	out("%sboard %s%s  %s  %s\n", bold(), t1, plain(), iso, t2);

	x = json_object_get(o, "tasks");
	out("%sTASKS%s    ", bold(), plain());
	for (k = 0; k < 5; k++)
		out("%s%s %lld", k ? "  " : "", state_names[k],
		    (long long)json_integer_value(json_object_get(x, state_names[k])));
	out("\n");
	duration(t3, sizeof t3, json_number_value(json_object_get(json_object_get(o, "ready_queue"), "oldest_age_s")));
	n = json_integer_value(json_object_get(json_object_get(o, "ready_queue"), "depth"));
	if (n)
		out("  ready queue %zu, the oldest ready for %s\n", n, t3);
	else
		out("  ready queue empty\n");
	out("  %-24s %7s %7s %7s %7s %7s\n", "AREA", "ready", "waiting", "claimed", "done", "failed");
	json_object_foreach(json_object_get(o, "areas"), key, v) {
		clean(t1, sizeof t1, *key ? key : "-", 24);
		out("  %-24s", t1);
		for (k = 0; k < 5; k++)
			out(" %7lld", (long long)json_integer_value(json_object_get(v, state_names[k])));
		out("\n");
	}

	x = json_object_get(o, "agents");
	out("%sAGENTS%s   %zu live\n", bold(), plain(), json_array_size(x));
	if (json_array_size(x))
		out("  %-7s %-12s %-14s %-24s %4s %6s %8s %8s  %s\n", "ROLE", "HOST", "AGENT", "TASK",
		    "STEP", "BEAT", "TOKENS", "USD", "NOW");
	json_array_foreach(x, i, v) {
		char host[64], agent[64], task[64], title[200], beat[32], doing[200];
		int late = json_number_value(json_object_get(v, "heartbeat_age_s")) >
		    json_number_value(json_object_get(v, "lease_s"));

		if (rows_left > 0 && rows_left <= 2 + (int)(json_array_size(json_object_get(o, "stalls")) > 0)) {
			out("  ... and %zu more\n", json_array_size(x) - i);
			break;
		}
		clean(host, sizeof host, json_string_value(json_object_get(v, "host")), 12);
		clean(agent, sizeof agent, json_string_value(json_object_get(v, "agent")), 14);
		clean(task, sizeof task, json_string_value(json_object_get(v, "task")), 24);
		clean(title, sizeof title, json_string_value(json_object_get(v, "title")), 60);
		clean(doing, sizeof doing, json_is_string(json_object_get(v, "doing")) ?
		    json_string_value(json_object_get(v, "doing")) : "no transcript", 60);
		duration(beat, sizeof beat, json_number_value(json_object_get(v, "heartbeat_age_s")));
		out("  %-7s %-12s %-14s %-24s %4lld %s%6s%s %8lld %8.4f  %s\n",
		    json_string_value(json_object_get(v, "role")), host, agent, task,
		    (long long)json_integer_value(json_object_get(v, "step")),
		    late ? red() : "", beat, late ? plain() : "",
		    (long long)json_integer_value(json_object_get(v, "tokens")),
		    json_number_value(json_object_get(v, "cost_usd")), doing);
		out("          %s\n", title);
	}

	x = json_object_get(o, "spend");
	money(t1, sizeof t1, json_object_get(x, "cost_usd"), json_object_get(x, "budget_usd"));
	v = json_object_get(o, "cycle_spend");
	money(t2, sizeof t2, json_object_get(v, "cost_usd"), json_object_get(v, "budget_usd"));
	out("%sSPEND%s    run %s, %lld tokens, %lld calls; cycle %s, %lld tokens\n", bold(), plain(), t1,
	    (long long)json_integer_value(json_object_get(x, "tokens")),
	    (long long)json_integer_value(json_object_get(x, "calls")), t2,
	    (long long)json_integer_value(json_object_get(v, "tokens")));
	{
		json_t *cs = json_object_get(o, "cycle_spend");
		json_t *gv[4] = { json_object_get(o, "by_role"), json_object_get(o, "by_model"),
		    json_object_get(cs, "by_role"), json_object_get(cs, "by_model") };
		const char *gl[4] = { "by role", "by model", "the cycle by role", "the cycle by model" };
		int g;

		for (g = 0; g < (c ? 4 : 2); g++) {
			size_t len = 0;

			len += (size_t)snprintf(t1 + len, sizeof t1 - len, "  %s:", gl[g]);
			json_object_foreach(gv[g], key, v) {
				clean(t3, sizeof t3, key, 30);
				if (len < sizeof t1)
					len += (size_t)snprintf(t1 + len, sizeof t1 - len, " %s $%.4f (%lld calls)", t3,
					    json_number_value(json_object_get(v, "cost_usd")),
					    (long long)json_integer_value(json_object_get(v, "calls")));
			}
			out("%s\n", t1);
		}
	}
	x = json_object_get(o, "llm");
	if (json_number_value(json_object_get(x, "cooldown_s")) > 0) {
		duration(t3, sizeof t3, json_number_value(json_object_get(x, "cooldown_s")));
		snprintf(t1, sizeof t1, "%scool-down after a 429: %s more%s", red(), t3, plain());
	} else {
		snprintf(t1, sizeof t1, "no cool-down");
	}
	out("  calls in flight %lld (%lld waiting for a slot); %s\n",
	    (long long)json_integer_value(json_object_get(x, "in_flight")),
	    (long long)json_integer_value(json_object_get(x, "waiting_for_slot")), t1);

	x = json_object_get(o, "landing");
	{
		size_t len = 0;

		json_array_foreach(json_object_get(x, "per_minute"), i, v)
			len += (size_t)snprintf(t1 + len, sizeof t1 - len, " %lld", (long long)json_integer_value(v));
		out("%sLANDING%s  per minute, the last first:%s\n", bold(), plain(), t1);
	}
	clean(t2, sizeof t2, json_string_value(json_object_get(x, "branch")), 40);
	if (json_is_number(json_object_get(x, "last_landing_age_s")))
		duration(t3, sizeof t3, json_number_value(json_object_get(x, "last_landing_age_s"))),
		    strcat(t3, " ago");
	else
		snprintf(t3, sizeof t3, "never");
	out("  queue on %s: %lld landing, %lld waiting; last landing: %s\n", t2,
	    (long long)json_integer_value(json_object_get(x, "queue_landing")),
	    (long long)json_integer_value(json_object_get(x, "queue_waiting")), t3);
	if (json_is_object(json_object_get(x, "train"))) {
		json_t *tr = json_object_get(x, "train");
		const char *what = json_string_value(json_object_get(tr, "state"));
		char b[16], dv[64], since[32];

		char raw[16];

		snprintf(raw, sizeof raw, "%.12s", json_string_value(json_object_get(tr, "base")) ?
		    json_string_value(json_object_get(tr, "base")) : "-");
		clean(b, sizeof b, raw, 12);
		clean(dv, sizeof dv, json_string_value(json_object_get(tr, "driver")) ?
		    json_string_value(json_object_get(tr, "driver")) : "-", 40);
		if (json_is_number(json_object_get(tr, "since_s")))
			duration(since, sizeof since, json_number_value(json_object_get(tr, "since_s")));
		else
			snprintf(since, sizeof since, "-");
		if (what && strcmp(what, "idle"))
			out("  train: %lld queued; %s a stack of %lld on %s for %s, driver %s\n",
			    (long long)json_integer_value(json_object_get(tr, "queued")), what,
			    (long long)json_integer_value(json_object_get(tr, "stack")), b, since, dv);
		else
			out("  train: %lld queued; idle\n", (long long)json_integer_value(json_object_get(tr, "queued")));
	}
	if (json_is_string(json_object_get(x, "tip"))) {
		char h[32], subj[200];
		long long ct = 0;
		const char *tip = json_string_value(json_object_get(x, "tip"));

		if (sscanf(tip, "%31s %lld", h, &ct) == 2) {
			const char *p = strchr(strchr(tip, ' ') + 1, ' ');

			clean(subj, sizeof subj, p ? p + 1 : "", 60);
			duration(t3, sizeof t3, lh_now() - (double)ct);
			out("  tip %s, %s ago: %s\n", h, t3, subj);
		}
	}

	x = json_object_get(o, "stalls");
	v = json_object_get(o, "failed");
	n = json_array_size(json_object_get(o, "quarantined"));
	if (!json_array_size(x) && !json_array_size(v) && !n) {
		out("%sATTENTION%s nothing\n", bold(), plain());
		return;
	}
	out("%sATTENTION%s\n", red(), plain());
	json_array_foreach(x, i, c) {
		const char *kind = json_string_value(json_object_get(c, "kind"));
		char d1[32], d2[32], id[80], ag[80];

		duration(d2, sizeof d2, json_number_value(json_object_get(c, "lease_s")));
		if (!strcmp(kind, "ready-unclaimed")) {
			duration(d1, sizeof d1, json_number_value(json_object_get(c, "oldest_age_s")));
			out("  stall: %lld ready tasks unclaimed for longer than the lease (%s), the oldest %s, "
			    "while %lld workers live\n", (long long)json_integer_value(json_object_get(c, "tasks")),
			    d2, d1, (long long)json_integer_value(json_object_get(c, "workers")));
		} else if (!strcmp(kind, "landing-stuck")) {
			duration(d1, sizeof d1, json_number_value(json_object_get(c, "head_age_s")));
			out("  stall: the landing queue has %lld in it and has not moved for %s (lease %s)\n",
			    (long long)json_integer_value(json_object_get(c, "queue")), d1, d2);
		} else if (!strcmp(kind, "dependency-failed")) {
			clean(id, sizeof id, json_string_value(json_object_get(c, "task")), 64);
			clean(ag, sizeof ag, json_string_value(json_object_get(c, "dependency")), 64);
			out("  stall: %s waits on %s, which failed for good (board-reap fails it too)\n", id, ag);
		} else {
			clean(id, sizeof id, json_string_value(json_object_get(c, "task")), 64);
			clean(ag, sizeof ag, json_string_value(json_object_get(c, "agent")), 40);
			duration(d1, sizeof d1, json_number_value(json_object_get(c, "age_s")));
			out("  stall: %s on %s: %s for %s (lease %s)\n", ag, id,
			    !strcmp(kind, "no-heartbeat") ? "no heartbeat" : "transcript unchanged", d1, d2);
		}
	}
	json_array_foreach(v, i, c) {
		char id[80], why[200], title[200];

		if (rows_left > 0 && rows_left <= 2) {
			out("  ... and %zu more failed\n", json_array_size(v) - i);
			break;
		}
		clean(id, sizeof id, json_string_value(json_object_get(c, "task")), 64);
		clean(title, sizeof title, json_string_value(json_object_get(c, "title")), 50);
		clean(why, sizeof why, json_is_string(json_object_get(c, "reason")) ?
		    json_string_value(json_object_get(c, "reason")) : "no reason given", 80);
		out("  failed: %s %s: %s\n", id, title, why);
	}
	if (n) {
		json_array_foreach(json_object_get(o, "quarantined"), i, c) {
			clean(t1, sizeof t1, json_string_value(c), 80);
			if (rows_left > 0 && rows_left <= 1) {
				out("  ... and %zu more quarantined\n", n - i);
				break;
			}
			out("  quarantined: %s/quarantine/%s\n", workdir, t1);
		}
	}
}

static double
number_arg(const char *s, const char *what)
{
	char *end;
	double v = strtod(s, &end);

	if (!*s || *end || !(v >= 0) || !isfinite(v))
		lh_die(LH_USAGE, "%s '%.40s': not a number of 0 or more", what, s);
	return v;
}

static double
env_number(const char *name)
{
	const char *s = getenv(name);

	return s && *s ? number_arg(s, name) : -1;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL;
	double every = 0, saved = -1;
	long count = 0, done = 0;
	int c, tty = isatty(1);

	lh_std_options(argc, argv, manual);
	workdir = getenv("LONGHAUL_WORKDIR");
	remote = getenv("LONGHAUL_REMOTE");
	branch = getenv("LONGHAUL_BRANCH");
	budget_usd = env_number("LONGHAUL_BUDGET_USD");
	budget_tokens = env_number("LONGHAUL_BUDGET_TOKENS");
	while ((c = getopt(argc, argv, "b:B:jk:K:n:R:u:U:w:W:")) != -1)
		switch (c) {
		case 'b': dir = optarg; break;
		case 'B': branch = optarg; break;
		case 'j': json_out = 1; break;
		case 'k': budget_tokens = number_arg(optarg, "-k"); break;
		case 'K': cycle_budget_tokens = number_arg(optarg, "-K"); break;
		case 'n': count = (long)number_arg(optarg, "-n"); break;
		case 'R': remote = optarg; break;
		case 'u': budget_usd = number_arg(optarg, "-u"); break;
		case 'U': cycle_budget_usd = number_arg(optarg, "-U"); break;
		case 'w': every = number_arg(optarg, "-w"); break;
		case 'W': workdir = optarg; break;
		default: lh_usage(usage_line);
		}
	if (optind != argc)
		lh_usage(usage_line);
	if (!workdir || !*workdir)
		workdir = "longhaul-work";
	if (!branch || !*branch)
		branch = "main";
	if (lh_name_check(branch))
		lh_die(LH_USAGE, "branch '%.40s': %s", branch, lh_name_check(branch));
	color = tty && !json_out && !(getenv("NO_COLOR") && *getenv("NO_COLOR"));
	lh_board_open(&board, dir);
	task_index = json_object();
	cache_name();
	cache_load();
	for (;;) {
		json_t *o = gather();
		double t0 = lh_monotonic();

		/* with -w, what the refreshes learn is in memory: the cache is
		 * written now and then, for the next run */
		if (t0 - saved >= 30 || saved < 0) {
			cache_save();
			saved = t0;
		}
		if (json_out) {
			char *s = json_dumps(o, JSON_COMPACT | JSON_REAL_PRECISION(12));

			puts(s);
			free(s);
		} else {
			struct winsize ws;
			int rows = 0;

			if (tty && every > 0 && ioctl(1, TIOCGWINSZ, &ws) == 0)
				rows = ws.ws_row;
			if (tty && every > 0)
				fputs("\033[H\033[2J", stdout);
			screen(o, rows);
			if (!tty && every > 0)
				putchar('\n');
		}
		json_decref(o);
		if (fflush(stdout) != 0 || ferror(stdout))
			lh_die_errno(LH_SYSERR, "stdout");
		if (every <= 0 || (count > 0 && ++done >= count))
			break;
		/* the bell wakes us when the board changes; at most one redraw a
		 * second however often it rings */
		lh_wait_bell(&board, every);
		if (lh_monotonic() - t0 < 1 && every >= 1)
			usleep((useconds_t)((1 - (lh_monotonic() - t0)) * 1e6));
	}
	lh_close_stdout();
	return board_status;
}
