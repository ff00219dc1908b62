/* task-claim: take one ready task, exactly once among any number of
 * racing claimants.
 *
 * The claim is a compare-and-swap from the ready version N to a claimed
 * version N+1 (lh_task_cas): of all claimants that read N one link wins.
 * The cost does not grow with the board: the claimant looks only at the
 * ready/ index, at the highest priority present, in one random shard of a
 * few hundred entries at most, starting at a random entry so that racers
 * spread out instead of colliding on the first name.
 *
 * The hint claimed/ID@TOKEN is made before the link that claims, so the
 * reaper finds every claim, whenever the claimant dies (the invariant is
 * in lh-board.c). A system error ends the claim with status 6: "nothing
 * to claim" (1) is said only when there was nothing.
 *
 * Prints the id, then the fencing token (the claim's version) that every
 * later write by the owner must present. With -w it waits: inotify tells
 * of local changes, and it polls with backoff for what inotify cannot see
 * (other NFS clients).
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] =
    "task-claim [-b board] [-k kind] [-a area] [-l lease-seconds] [-w timeout] [-j]";
static const char manual[] =
"usage: task-claim [-b board] [-k kind] [-a area] [-l lease-seconds] [-w timeout] [-j]\n"
"Claim one ready task whose dependencies are done; print its id and, on\n"
"a second line, the fencing token to give task-update -t.\n"
"  -k kind     only tasks of this kind (work or plan)\n"
"  -a area     only tasks of this area or below it\n"
"  -l seconds  the lease (default $LONGHAUL_LEASE, else 600); renew it with\n"
"              task-update -t TOKEN heartbeat ID\n"
"  -w timeout  wait up to timeout seconds for a task (0: forever)\n"
"  -j          print the claimed record as one JSON line instead\n"
"The owner is this host, $LONGHAUL_PID or the parent process, and\n"
"$LONGHAUL_AGENT.\n"
"Exit status: 0 claimed, 1 nothing to claim, 2 usage, 5 bad board,\n"
"6 system error.\n";

static struct lh_board board;
static const char *want_kind, *want_area;
static long lease = 600;

struct names {
	char **v;
	size_t n, cap;
};

static void
names_free(struct names *ns)
{
	while (ns->n)
		free(ns->v[--ns->n]);
	free(ns->v);
	ns->v = NULL;
	ns->cap = 0;
}

/* the entries of dir in random order; 0 when none or no dir */
static size_t
list_shuffled(const char *dir, struct names *ns)
{
	struct dirent *d;
	DIR *dp;
	size_t i, j;
	char *t;

	ns->n = 0;
	if (!(dp = opendir(dir)))
		return 0;
	while ((d = readdir(dp))) {
		if (d->d_name[0] == '.')
			continue;
		if (ns->n == ns->cap)
			ns->v = lh_realloc(ns->v, (ns->cap = ns->cap ? 2 * ns->cap : 64) * sizeof *ns->v);
		ns->v[ns->n++] = lh_strdup(d->d_name);
	}
	closedir(dp);
	for (i = ns->n; i > 1; i--) {
		j = (size_t)random() % i;
		t = ns->v[i - 1], ns->v[i - 1] = ns->v[j], ns->v[j] = t;
	}
	return ns->n;
}

static int
area_matches(json_t *rec)
{
	const char *area = json_string_value(json_object_get(rec, "area"));
	size_t n = strlen(want_area);

	return area && (!strcmp(area, want_area) ||
	    (strncmp(area, want_area, n) == 0 && area[n] == '/'));
}

/* Try to claim the task behind one hint, the file hint named name.
 * 1 claimed (*claimed set), 0 not, -1 a system error (said). */
static int
try_claim(const char *hint, const char *name, json_t **claimed)
{
	char id[LH_ID_MAX + 1], when[32];
	json_t *rec, *new;
	int v, n, st;

	if (lh_hint_parse(name, id, sizeof id, &n) != 0)
		return 0;               /* not a hint: not ours to judge */
	if (!(rec = lh_task_read(&board, id, &v, &st, 2))) {
		/* NOTFOUND: a publish in flight (its hint comes before its
		 * link), or one that died; board-reap -f clears those.
		 * BADBOARD: said, skipped; the rest of the board works */
		return st == LH_SYSERR ? -1 : 0;
	}
	if (strcmp(json_string_value(json_object_get(rec, "state")), "ready") ||
	    !lh_task_deps_done(&board, rec)) {
		lh_task_mend(&board, rec, hint);        /* a stale hint */
		json_decref(rec);
		return 0;
	}
	if (want_area && !area_matches(rec)) {
		json_decref(rec);
		return 0;
	}
	new = json_deep_copy(rec);
	json_object_set_new(new, "id", json_string(id));
	json_object_set_new(new, "version", json_integer(v + 1));
	json_object_set_new(new, "state", json_string("claimed"));
	json_object_set_new(new, "event", json_string("claim"));
	json_object_set_new(new, "attempts",
	    json_integer(json_integer_value(json_object_get(rec, "attempts")) + 1));
	json_object_set_new(new, "owner", lh_whoami());
	json_object_set_new(new, "by", lh_whoami());
	lh_iso_time(lh_now() + lease, when, sizeof when);
	json_object_set_new(new, "lease", json_pack("{s:i, s:I, s:s}", "token", v + 1,
	    "seconds", (json_int_t)lease, "expires", when));
	json_object_set_new(new, "reason", json_null());
	/* the hint claimed/ID@TOKEN before the link that claims: a claimed
	 * task the reaper cannot find never exists, whenever we die */
	if ((st = lh_hint_make(&board, new)) == LH_OK)
		st = lh_task_cas(&board, id, v, new);
	if (st != LH_OK) {
		json_decref(rec);
		json_decref(new);
		return st == LH_CONFLICT ? 0 : -1;
	}
	lh_task_reindex(&board, rec, new);
	if (n != v)
		lh_task_mend(&board, new, hint);        /* an older hint than rec's */
	json_decref(rec);
	*claimed = new;
	return 1;
}

static int
by_priority_desc(const void *a, const void *b)
{
	return atoi(*(char *const *)b) - atoi(*(char *const *)a);
}

/* One pass over the ready index. */
static json_t *
claim_once(int *error)
{
	static const char *kinds[] = { "plan", "work" };
	char dir[PATH_MAX], shard_dir[PATH_MAX], hint[PATH_MAX];
	struct names prios = { 0 }, shards = { 0 }, entries = { 0 };
	json_t *got = NULL;
	size_t p, s, e;
	int k, top;

	/* gather (kind, priority) pairs, highest priority first */
	struct pair { int kind, prio; } pairs[2 * 10];
	int npairs = 0, i, j;

	for (k = 0; k < 2; k++) {
		if (want_kind && strcmp(want_kind, kinds[k]))
			continue;
		lh_path(dir, sizeof dir, "%s/ready/%s", board.dir, kinds[k]);
		list_shuffled(dir, &prios);
		if (prios.n)
			qsort(prios.v, prios.n, sizeof *prios.v, by_priority_desc);
		for (p = 0; p < prios.n && npairs < 20; p++)
			if (prios.v[p][0] >= '0' && prios.v[p][0] <= '9' && !prios.v[p][1])
				pairs[npairs++] = (struct pair){ k, prios.v[p][0] - '0' };
		names_free(&prios);
	}
	for (i = 1; i < npairs; i++)            /* stable: plan before work on ties */
		for (j = i; j > 0 && pairs[j].prio > pairs[j - 1].prio; j--) {
			struct pair t = pairs[j];
			pairs[j] = pairs[j - 1], pairs[j - 1] = t;
		}
	for (i = 0; i < npairs && !got && !*error; i++) {
		top = pairs[i].prio;
		lh_path(dir, sizeof dir, "%s/ready/%s/%d", board.dir, kinds[pairs[i].kind], top);
		list_shuffled(dir, &shards);
		for (s = 0; s < shards.n && !got && !*error; s++) {
			lh_path(shard_dir, sizeof shard_dir, "%s/%s", dir, shards.v[s]);
			if (!list_shuffled(shard_dir, &entries)) {
				rmdir(shard_dir);       /* fails unless empty: safe */
				continue;
			}
			for (e = 0; e < entries.n && !got && !*error; e++) {
				lh_path(hint, sizeof hint, "%s/%s", shard_dir, entries.v[e]);
				if (try_claim(hint, entries.v[e], &got) < 0) {
					*error = 1;
					break;
				}
			}
			names_free(&entries);
		}
		names_free(&shards);
		if (!got)
			rmdir(dir);
	}
	return got;
}

/* Try the ready hints the bell named: another host's new hint may be
 * hidden from this host's listing of ready/ for a while (a client's
 * directory cache), never from a lookup of its exact name. */
static json_t *
claim_news(void)
{
	const char *p = lh_bell_news(), *nl, *name;
	char line[PATH_MAX], hint[PATH_MAX], id[LH_ID_MAX + 1];
	json_t *got = NULL;
	int n;

	for (; *p && !got; p = *nl ? nl + 1 : nl) {
		nl = p + strcspn(p, "\n");
		snprintf(line, sizeof line, "%.*s", (int)(nl - p), p);
		if (!(name = strrchr(line, '/')) || lh_hint_parse(++name, id, sizeof id, &n) != 0 ||
		    (want_kind && strncmp(line + 6, want_kind, strlen(want_kind))))
			continue;
		lh_path(hint, sizeof hint, "%s/%s", board.dir, line);
		try_claim(hint, name, &got);
	}
	return got;
}

int
main(int argc, char **argv)
{
	const char *dir = NULL, *env;
	double wait = -1, deadline = 0, backoff = 0.05, max_backoff;
	json_t *got;
	char *text, *end;
	int c, json = 0, error = 0;

	lh_std_options(argc, argv, manual);
	lh_die_with_parent();   /* a dead worker's claim would sit for a lease */
	if ((env = getenv("LONGHAUL_LEASE")) && *env)
		lease = atol(env);
	while ((c = getopt(argc, argv, "a:b:jk:l:w:")) != -1)
		switch (c) {
		case 'a': want_area = optarg; break;
		case 'b': dir = optarg; break;
		case 'j': json = 1; break;
		case 'k':
			if (strcmp(optarg, "work") && strcmp(optarg, "plan"))
				lh_die(LH_USAGE, "kind '%s': must be work or plan", optarg);
			want_kind = optarg;
			break;
		case 'l':
			lease = strtol(optarg, &end, 10);
			if (*end || lease <= 0)
				lh_die(LH_USAGE, "lease '%s': not a positive number of seconds", optarg);
			break;
		case 'w':
			wait = strtod(optarg, &end);
			if (*end || wait < 0)
				lh_die(LH_USAGE, "timeout '%s': not a number of seconds", optarg);
			break;
		default: lh_usage(usage);
		}
	if (optind != argc)
		lh_usage(usage);
	lh_board_open(&board, dir);
	srandom((unsigned)getpid() ^ (unsigned)(lh_monotonic() * 1e6));
	max_backoff = (env = getenv("LONGHAUL_POLL_MAX")) && *env ? atof(env) : 5;
	if (wait > 0)
		deadline = lh_monotonic() + wait;
	for (;;) {
		if ((got = claim_once(&error)))
			break;
		if (error)
			return LH_SYSERR;       /* said; never "nothing to claim" */
		if (wait < 0)
			return LH_NOTHING;
		/* dependencies may have been finished by a tool that died
		 * before promoting their dependents */
		lh_board_promote(&board);
		if (wait > 0 && lh_monotonic() >= deadline)
			return LH_NOTHING;
		if (lh_wait_bell(&board, wait > 0 && deadline - lh_monotonic() < backoff ?
		    deadline - lh_monotonic() : backoff) && (got = claim_news()))
			break;
		backoff = backoff * 2 > max_backoff ? max_backoff : backoff * 2;
	}
	if (json) {
		text = json_dumps(got, JSON_COMPACT | JSON_PRESERVE_ORDER);
		puts(text);
		free(text);
	} else {
		printf("%s\n%lld\n", json_string_value(json_object_get(got, "id")),
		    (long long)json_integer_value(json_object_get(json_object_get(got, "lease"), "token")));
	}
	json_decref(got);
	lh_close_stdout();
	return 0;
}
