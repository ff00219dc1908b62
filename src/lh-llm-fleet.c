/* lh-llm-fleet.c: what the callers of a fleet share, in files under the
 * board (or the state directory), correct without locks: the cool-down
 * after a 429, the in-flight limit, the usage log with its prices, and
 * the budget read from the log's running total.
 *   usage/HOST.jsonl       one O_APPEND write(2) per call
 *   usage/.HOST.jsonl.sum  offset and sums of that log's prefix, any
 *                          reader may rewrite it (tmp + rename)
 * The running total never goes back: a log that shrank, was replaced or
 * went away keeps what its sum file says was spent, and what the log
 * holds now is counted on top (a prefix that survived a truncation is
 * counted twice: too much, never too little). Agents cannot reach the
 * logs at all (the sandbox has no board); this is for everything else.
 *   llm/cooldown           "retry at" time after a 429 (tmp + rename)
 *   llm/inflight/          one file per caller; see llm_take_slot()
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <curl/curl.h>

#include "longhaul.h"
#include "lh-llm.h"

/* ---- shared limits: cool-down and in-flight slots ---- */

static int
state_base(char *buf, size_t size)
{
	const char *b = getenv("LONGHAUL_BOARD"), *s = getenv("LONGHAUL_STATE"), *home;
	struct stat st;

	if (b && *b && stat(b, &st) == 0 && S_ISDIR(st.st_mode)) {
		lh_path(buf, size, "%s", b);
		return 0;
	}
	if (s && *s)
		lh_path(buf, size, "%s", s);
	else if ((home = getenv("HOME")) && *home)
		lh_path(buf, size, "%s/.local/state/longhaul", home);
	else
		return -1;
	return 0;
}

static int
state_dir(char *buf, size_t size, const char *sub)
{
	char base[4096];

	if (state_base(base, sizeof base) < 0)
		return -1;
	lh_path(buf, size, "%s/%s", base, sub);
	return lh_mkdirs(buf);
}

/* Write a small file atomically: tmp + rename. */
static int
write_atomic(const char *path, const char *s)
{
	char tmp[4200], rnd[9];
	int fd;
	ssize_t n = strlen(s);

	lh_random_name(rnd, sizeof rnd);
	lh_path(tmp, sizeof tmp, "%s.%s.tmp", path, rnd);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return -1;
	if (write(fd, s, n) != n || close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

double
llm_cooldown_until(void)
{
	char dir[4096], path[4200], *s;
	double t = 0;

	if (state_dir(dir, sizeof dir, "llm") < 0)
		return 0;
	lh_path(path, sizeof path, "%s/cooldown", dir);
	if ((s = lh_read_file(path, NULL))) {
		t = atof(s);
		free(s);
	}
	return t;
}

/* Tell every caller to hold off until `until` (wall clock: shared across
 * hosts). Racing writers may leave the earlier time: a shorter pause,
 * never a wrong one. */
void
llm_cooldown_set(double until)
{
	char dir[4096], path[4200], line[64];

	if (until <= llm_cooldown_until() || state_dir(dir, sizeof dir, "llm") < 0)
		return;
	lh_path(path, sizeof path, "%s/cooldown", dir);
	snprintf(line, sizeof line, "%.3f\n", until);
	write_atomic(path, line);
}

void
llm_sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

void
llm_touch_slot(void)
{
	if (llm_slot_path[0])
		lh_turn_touch(llm_slot_path);
}

void
llm_release_slot(void)
{
	if (llm_slot_path[0])
		lh_turn_give(llm_slot_path);
	llm_slot_path[0] = 0;
}

/* a signal leaves no in-flight file behind */
void
llm_on_signal(int sig)
{
	if (llm_slot_path[0])
		unlink(llm_slot_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Take one of `limit` in-flight slots shared by every process using this
 * board or state directory: a turn (lh-turn.c) in llm/inflight, owned by
 * this process. Returns -1 on deadline. */
int
llm_take_slot(struct call *c, int limit)
{
	char dir[4096];
	int r;

	if (limit <= 0 || state_dir(dir, sizeof dir, "llm/inflight") < 0)
		return 0;
	r = lh_turn_take(dir, limit, llm_env_number("LONGHAUL_SLOT_LEASE", 30),
	    c->deadline, (long)getpid(), llm_slot_path, sizeof llm_slot_path);
	if (r > 0)
		return -1;
	if (r < 0)
		llm_slot_path[0] = 0;       /* no shared limit rather than no call */
	return 0;
}

/* ---- usage log and prices ---- */

/* In one price table: "provider:model", then "model", then the longest
 * key that prefixes either (dated versions). */
static json_t *
price_in(json_t *prices, const char *full, const char *name)
{
	json_t *p, *v;
	const char *key, *best = NULL;

	if (!json_is_object(prices))
		return NULL;
	if ((p = json_object_get(prices, full)) || (p = json_object_get(prices, name)))
		return p;
	json_object_foreach(prices, key, v)
		if (key[0] != '_' && (!strncmp(full, key, strlen(key)) || !strncmp(name, key, strlen(key))) &&
		    (!best || strlen(key) > strlen(best)))
			best = key;
	return best ? json_object_get(prices, best) : NULL;
}

/* The price of the call's model, USD per million tokens, a new reference
 * or NULL: the alias's "price", the config's "prices", then
 * SHARE/prices.json. */
json_t *
llm_price(const struct call *c)
{
	json_t *file, *p;
	char path[4096], full[512];

	if (c->m.alias && (p = json_object_get(json_object_get(json_object_get(c->config, "models"), c->m.alias), "price")))
		return json_incref(p);
	snprintf(full, sizeof full, "%s:%s", c->m.provider, c->m.name ? c->m.name : "");
	if ((p = price_in(json_object_get(c->config, "prices"), full, c->m.name ? c->m.name : "")))
		return json_incref(p);
	lh_path(path, sizeof path, "%s/prices.json", lh_share_dir());
	if (!(file = json_load_file(path, 0, NULL)))
		return NULL;
	p = json_incref(price_in(file, full, c->m.name ? c->m.name : ""));
	json_decref(file);
	return p;
}

double
llm_cost(const struct call *c)
{
	json_t *p = llm_price(c);
	double usd = 0;

	if (p)
		usd = (c->input * json_number_value(json_object_get(p, "input")) +
		    c->output * json_number_value(json_object_get(p, "output")) +
		    c->cache_read * json_number_value(json_object_get(p, "cache_read")) +
		    c->cache_write * json_number_value(json_object_get(p, "cache_write"))) / 1e6;
	json_decref(p);
	return usd;
}

int
lh_llm_usage_dir(char *buf, size_t size)
{
	return state_dir(buf, size, "usage");
}

static const char *
outcome_name(int status)
{
	static const char *names[] = { "ok", "temporary", "usage", "permanent", "incomplete", "budget", "invalid" };

	return status >= 0 && status <= 6 ? names[status] : "other";
}

void
llm_log_usage(struct call *c, json_t *resp, int status)
{
	char dir[4096], path[4400], iso[32];
	const char *v;
	json_t *line, *price;
	char *s;
	size_t n;
	int fd;

	if (lh_llm_usage_dir(dir, sizeof dir) < 0) {
		lh_warn_errno("usage log directory");
		return;
	}
	lh_path(path, sizeof path, "%s/%s.jsonl", dir, lh_hostname());
	lh_iso_time(lh_now(), iso, sizeof iso);
	line = json_pack("{s:s,s:f,s:s,s:I,s:s,s:s}", "time", iso, "ts", lh_now(), "host", lh_hostname(),
	    "pid", (json_int_t)getpid(), "provider", c->m.provider, "model", c->m.name);
	json_object_set_new(line, "role", c->opt->role ? json_string(c->opt->role) : json_null());
	json_object_set_new(line, "task", (v = getenv("LONGHAUL_TASK")) && *v ? json_string(v) : json_null());
	json_object_set_new(line, "agent", (v = getenv("LONGHAUL_AGENT")) && *v ? json_string(v) : json_null());
	json_object_update(line, json_object_get(resp, "usage"));
	json_object_set(line, "cost_usd", json_object_get(resp, "cost_usd"));
	json_object_set(line, "latency_s", json_object_get(resp, "latency_s"));
	json_object_set(line, "attempts", json_object_get(resp, "attempts"));
	json_object_set_new(line, "outcome", json_string(outcome_name(status)));
	if (!(price = llm_price(c)))
		json_object_set_new(line, "unpriced", json_true());
	json_decref(price);
	if (c->request_id[0])
		json_object_set_new(line, "request_id", json_string(c->request_id));
	s = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(line);
	if (!s)
		return;
	n = strlen(s);
	s[n] = '\n';
	/* one write of one line: O_APPEND keeps lines whole on one host */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0 ||
	    write(fd, s, n + 1) != (ssize_t)(n + 1) || close(fd) != 0)
		lh_warn_errno("%s", path);
	free(s);
}

/* Sum one log from offset *off to its last whole line. */
static void
sum_log(const char *path, off_t *off, uint64_t *tokens, double *usd)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	json_t *j;

	if (!(f = fopen(path, "r")))
		return;
	if (fseeko(f, *off, SEEK_SET) == 0)
		while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
			*off += n;
			if (!(j = json_loadb(line, n, 0, NULL)))
				continue;
			*tokens += json_integer_value(json_object_get(j, "input_tokens")) +
			    json_integer_value(json_object_get(j, "output_tokens")) +
			    json_integer_value(json_object_get(j, "cache_read_tokens")) +
			    json_integer_value(json_object_get(j, "cache_write_tokens"));
			*usd += json_number_value(json_object_get(j, "cost_usd"));
			json_decref(j);
		}
	free(line);
	fclose(f);
}

int
lh_llm_usage_total(const char *dir, uint64_t *tokens, double *usd)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char path[4400], cache[4400], line[128], *s;
	size_t len;

	*tokens = 0;
	*usd = 0;
	if (!(d = opendir(dir)))
		return -1;
	while ((de = readdir(d))) {
		unsigned long long ino = 0, t = 0;
		long long off = 0;
		double u = 0;
		off_t o;

		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 7 || strcmp(de->d_name + len - 6, ".jsonl"))
			continue;
		lh_path(path, sizeof path, "%s/%s", dir, de->d_name);
		lh_path(cache, sizeof cache, "%s/.%s.sum", dir, de->d_name);
		if (stat(path, &st) < 0)
			continue;
		if ((s = lh_read_file(cache, NULL))) {
			if (sscanf(s, "%llu %lld %llu %lf", &ino, &off, &t, &u) != 4)
				off = 0, t = 0, u = 0;
			else if (ino != (unsigned long long)st.st_ino || off > (long long)st.st_size)
				off = -1;   /* shrunk or replaced: read it all, on top */
			free(s);
		}
		if (off < 0) {
			off = 0;
			/* make the sum file say so even when the log is empty now */
			snprintf(line, sizeof line, "%llu %lld %llu %.9f\n",
			    (unsigned long long)st.st_ino, 0LL, t, u);
			write_atomic(cache, line);
		}
		o = off;
		{
			uint64_t t64 = t;

			sum_log(path, &o, &t64, &u);
			t = t64;
		}
		if (o != off) {
			snprintf(line, sizeof line, "%llu %lld %llu %.9f\n",
			    (unsigned long long)st.st_ino, (long long)o, t, u);
			write_atomic(cache, line);
		}
		*tokens += t;
		*usd += u;
	}
	/* the sums of logs that are gone */
	rewinddir(d);
	while ((de = readdir(d))) {
		unsigned long long ino, t;
		long long off;
		double u;

		len = strlen(de->d_name);
		if (de->d_name[0] != '.' || len < 12 || strcmp(de->d_name + len - 10, ".jsonl.sum"))
			continue;
		lh_path(path, sizeof path, "%s/%.*s", dir, (int)(len - 5), de->d_name + 1);
		lh_path(cache, sizeof cache, "%s/%s", dir, de->d_name);
		if (stat(path, &st) == 0 || errno != ENOENT || !(s = lh_read_file(cache, NULL)))
			continue;
		if (sscanf(s, "%llu %lld %llu %lf", &ino, &off, &t, &u) == 4) {
			*tokens += t;
			*usd += u;
		}
		free(s);
	}
	closedir(d);
	return 0;
}

int
llm_budget_spent(char *err, size_t errsize)
{
	double max_usd = llm_env_number("LONGHAUL_BUDGET_USD", -1), usd;
	double max_tokens = llm_env_number("LONGHAUL_BUDGET_TOKENS", -1);
	char dir[4096];
	uint64_t tokens;

	if (max_usd < 0 && max_tokens < 0)
		return 0;
	if (lh_llm_usage_dir(dir, sizeof dir) < 0 || lh_llm_usage_total(dir, &tokens, &usd) < 0)
		return 0;
	if (max_usd >= 0 && usd >= max_usd) {
		snprintf(err, errsize, "budget spent: $%.4f of $%.4f", usd, max_usd);
		return 1;
	}
	if (max_tokens >= 0 && tokens >= max_tokens) {
		snprintf(err, errsize, "budget spent: %llu of %.0f tokens", (unsigned long long)tokens, max_tokens);
		return 1;
	}
	return 0;
}
