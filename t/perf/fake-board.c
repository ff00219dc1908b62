/* fake-board: fill a board made by board-init with a long run's worth of
 * history, for the benchmarks of board-status and longhaul-report, far
 * faster than the tools could publish it:
 *
 *	fake-board BOARD WORKDIR TASKS USAGE_LINES
 *
 * TASKS tasks over two days and three cycles, each with the versions the
 * tools would have written (publish, claim, then done, or a requeue and
 * a second claim, or a failure), the file times of those versions spread
 * over the run, and the index hints of the live ones: 85% done, 4%
 * failed, 5% ready, 3% waiting on a dependency, 3% claimed (one
 * transcript each in WORKDIR/transcripts; every claim has one when
 * FAKE_ALL_TRANSCRIPTS is set). A tenth are planning tasks, the
 * parents of the rest. USAGE_LINES lines in usage/HOST.jsonl over four
 * hosts, as llm-call writes them. The records are the format of
 * longhaul-board(5); the numbers are made up.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static unsigned
shard_of(const char *id)
{
	unsigned h = 2166136261u;

	while (*id)
		h = (h ^ (unsigned char)*id++) * 16777619u;
	return h & 0xff;
}

static void
die(const char *what)
{
	perror(what);
	exit(1);
}

static void
write_file(const char *path, const char *text, double mtime)
{
	struct timespec ts[2];
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);

	if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text))
		die(path);
	ts[0].tv_sec = ts[1].tv_sec = (time_t)mtime;
	ts[0].tv_nsec = ts[1].tv_nsec = 0;
	if (futimens(fd, ts) != 0 || close(fd) != 0)
		die(path);
}

static void
iso(double t, char *buf, size_t n)
{
	time_t s = (time_t)t;
	struct tm tm;

	gmtime_r(&s, &tm);
	strftime(buf, n, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static const char *areas[] = { "src/parse", "src/net", "src/ui", "doc", "t", "" };

int
main(int argc, char **argv)
{
	const char *board, *work;
	long ntasks, nlines, i, v;
	double now = (double)time(NULL), start, span = 2 * 86400;
	char path[4096], rec[4096], id[48], parent[40], when[32], created[32];
	FILE *u[4];
	int all_transcripts = getenv("FAKE_ALL_TRANSCRIPTS") != NULL;

	if (argc != 5)
		return fprintf(stderr, "usage: fake-board BOARD WORKDIR TASKS USAGE_LINES\n"), 2;
	board = argv[1], work = argv[2], ntasks = atol(argv[3]), nlines = atol(argv[4]);
	start = now - span;
	srandom(1);
	snprintf(path, sizeof path, "%s/transcripts", work);
	mkdir(work, 0777);
	mkdir(path, 0777);
	snprintf(path, sizeof path, "%s/cycles", board);
	mkdir(path, 0777);
	snprintf(path, sizeof path, "%s/usage", board);
	mkdir(path, 0777);
	for (i = 1; i <= 3; i++) {
		snprintf(path, sizeof path, "%s/cycles/%04ld.json", board, i);
		snprintf(rec, sizeof rec, "{\"cycle\":\"%04ld\",\"state\":\"%s\",\"started\":%.0f,"
		    "\"usd_at_start\":%.2f,\"tokens_at_start\":%ld}", i, i < 3 ? "judged" : "running",
		    start + (i - 1) * span / 3, (i - 1) * 40.0, (i - 1) * 4000000L);
		write_file(path, rec, now);
	}
	for (i = 0; i < ntasks; i++) {
		int r = (int)(random() % 100), plan = i % 10 == 0, nv;
		double t0 = start + span * i / ntasks, t;
		const char *events[6], *states[6];
		const char *area = areas[i % 6];

		snprintf(id, sizeof id, "20261129-%06ld-%07ld", i / 1000, i);
		if (plan || i < 10)
			snprintf(parent, sizeof parent, i < 10 ? "null" : "\"20261129-%06ld-%07ld\"", 0L, 0L);
		else
			snprintf(parent, sizeof parent, "\"20261129-%06ld-%07ld\"", (i / 10 * 10) / 1000, i / 10 * 10);
		events[0] = "publish", states[0] = "ready", nv = 1;
		if (r < 85) {
			events[1] = "claim", states[1] = "claimed";
			if (r < 10) {
				events[2] = "requeue", states[2] = "ready";
				events[3] = "claim", states[3] = "claimed";
				events[4] = "done", states[4] = "done", nv = 5;
			} else {
				events[2] = "done", states[2] = "done", nv = 3;
			}
		} else if (r < 89) {
			events[1] = "claim", states[1] = "claimed";
			events[2] = "fail", states[2] = "failed", nv = 3;
		} else if (r < 97) {
			nv = 1;              /* ready, or waiting (r >= 94: a dependency) */
		} else {
			events[1] = "claim", states[1] = "claimed", nv = 2;
		}
		snprintf(path, sizeof path, "%s/tasks/%02x/%s", board, shard_of(id), id);
		if (mkdir(path, 0777) != 0) {
			snprintf(path, sizeof path, "%s/tasks/%02x", board, shard_of(id));
			mkdir(path, 0777);
			snprintf(path, sizeof path, "%s/tasks/%02x/%s", board, shard_of(id), id);
			if (mkdir(path, 0777) != 0)
				die(path);
		}
		iso(t0, created, sizeof created);
		for (v = 1; v <= nv; v++) {
			const char *st = states[v - 1], *ev = events[v - 1];
			int claimed = !strcmp(st, "claimed"), done = !strcmp(st, "done");
			int live = v == nv && (r >= 97 || r >= 89);
			char lease[128], owner[128], result[200], reason[160], deps[80];

			/* the live ones are recent: a lease still running, a queue */
			t = live ? now - 60 - random() % 300 : t0 + (v - 1) * 600 + random() % 300;
			if (t > now)
				t = now - 1;
			iso(t, when, sizeof when);
			snprintf(owner, sizeof owner, claimed || done ?
			    "{\"host\":\"node%ld\",\"pid\":%ld,\"agent\":\"worker-%ld\"}" : "null",
			    i % 8, 1000 + i % 5000, i % 64);
			snprintf(lease, sizeof lease, claimed ?
			    "{\"token\":%ld,\"seconds\":600,\"expires\":\"%s\"}" : "null", v, when);
			snprintf(result, sizeof result, done ?
			    "{\"commit\":\"%040ld\",\"note\":\"did it\"}" : "null", i);
			snprintf(reason, sizeof reason, !strcmp(ev, "fail") ? "\"gave up after 5 rounds of feedback\"" :
			    !strcmp(ev, "requeue") ? "\"lease expired\"" : "null");
			snprintf(deps, sizeof deps, r >= 94 && r < 97 && i > 0 ? "[\"20261129-%06ld-%07ld\"]" : "[]",
			    (i - 1) / 1000, i - 1);
			snprintf(rec, sizeof rec, "{\"format\":1,\"id\":\"%s\",\"version\":%ld,\"state\":\"%s\","
			    "\"kind\":\"%s\",\"title\":\"task %ld of the benchmark\",\"body\":\"Do thing %ld.\","
			    "\"priority\":5,\"parent\":%s,\"area\":\"%s\",\"deps\":%s,\"verify\":[\"make\"],"
			    "\"max_attempts\":3,\"limits\":null,\"attempts\":%d,\"cycle\":\"%04ld\",\"created\":\"%s\","
			    "\"event\":\"%s\",\"by\":{\"host\":\"node%ld\",\"pid\":1,\"agent\":\"worker-%ld\"},"
			    "\"owner\":%s,\"lease\":%s,\"result\":%s,\"reason\":%s,\"updated\":\"%s\"}",
			    id, v, st, plan ? "plan" : "work", i, i, parent, area, deps, v > 3 ? 2 : v > 1,
			    1 + i * 3 / ntasks, created, ev, i % 8, i % 64, owner, lease, result, reason, when);
			snprintf(path, sizeof path, "%s/tasks/%02x/%s/%06ld.json", board, shard_of(id), id, v);
			write_file(path, rec, t);
			if (v == nv && claimed) {
				snprintf(path, sizeof path, "%s/claimed/%s", board, id);
				write_file(path, "", t);
			}
			/* a transcript per claim: of the live ones only, or of all */
			if (claimed && (v == nv || all_transcripts)) {
				snprintf(path, sizeof path, "%s/transcripts/%s.%ld.jsonl", work, id, v);
				snprintf(rec, sizeof rec,
				    "{\"type\":\"system\",\"content\":\"You are a worker.\",\"time\":%.0f}\n"
				    "{\"type\":\"user\",\"content\":\"task %ld\",\"task\":\"%s\",\"time\":%.0f}\n"
				    "{\"type\":\"assistant\",\"content\":\"\",\"action\":{\"tool\":\"bash\",\"command\":\"make test\"},"
				    "\"usage\":{\"input_tokens\":900,\"output_tokens\":40},\"cost_usd\":0.0002,\"step\":3,\"time\":%.0f}\n"
				    "{\"type\":\"run\",\"pgid\":4242,\"run\":\"x\",\"time\":%.0f}\n", t, i, id, t, t, t);
				if (v != nv) {
					size_t n = strlen(rec);

					snprintf(rec + n, sizeof rec - n,
					    "{\"type\":\"tool\",\"content\":\"cc -c x.c\\nok\\n\",\"exit\":0,\"time\":%.0f}\n"
					    "{\"type\":\"assistant\",\"content\":\"\",\"action\":{\"tool\":\"submit\",\"note\":\"did it\"},"
					    "\"usage\":{\"input_tokens\":1200,\"output_tokens\":30},\"cost_usd\":0.0002,\"step\":4,\"time\":%.0f}\n",
					    t + 60, t + 90);
				}
				write_file(path, rec, t);
			}
			if (v == nv && !strcmp(st, "ready")) {
				if (r >= 94) {
					snprintf(path, sizeof path, "%s/waiting/%s", board, id);
				} else {
					snprintf(path, sizeof path, "%s/ready/%s", board, plan ? "plan" : "work");
					mkdir(path, 0777);
					snprintf(path, sizeof path, "%s/ready/%s/5", board, plan ? "plan" : "work");
					mkdir(path, 0777);
					snprintf(path, sizeof path, "%s/ready/%s/5/%02x", board, plan ? "plan" : "work", shard_of(id));
					mkdir(path, 0777);
					snprintf(path + strlen(path), sizeof path - strlen(path), "/%s", id);
				}
				write_file(path, "", t);
			}
		}
	}
	for (i = 0; i < 4; i++) {
		snprintf(path, sizeof path, "%s/usage/node%ld.jsonl", board, i);
		if (!(u[i] = fopen(path, "w")))
			die(path);
	}
	for (i = 0; i < nlines; i++) {
		double t = start + span * i / nlines;
		long task = random() % ntasks;
		const char *role = task % 10 == 0 ? "planner" : i % 97 == 0 ? "judge" : "worker";

		iso(t, when, sizeof when);
		fprintf(u[i % 4], "{\"time\":\"%s\",\"ts\":%.3f,\"host\":\"node%ld\",\"pid\":%ld,\"provider\":\"openai\","
		    "\"model\":\"%s\",\"role\":\"%s\",\"task\":\"20261129-%06ld-%07ld\",\"agent\":\"worker-%ld\","
		    "\"input_tokens\":%ld,\"output_tokens\":%ld,\"cache_read_tokens\":0,\"cache_write_tokens\":0,"
		    "\"cost_usd\":%.6f,\"latency_s\":1.2,\"attempts\":1,\"outcome\":\"ok\"}\n",
		    when, t, i % 4, 1000 + task % 5000, i % 3 ? "gpt-4o-mini" : "gpt-4.1", role,
		    task / 1000, task, task % 64, 800 + i % 400, 50 + i % 100, 0.0002 + (i % 3 ? 0 : 0.002));
	}
	for (i = 0; i < 4; i++)
		if (fclose(u[i]) != 0)
			die("usage log");
	return 0;
}
