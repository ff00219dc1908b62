/* task: a task's directory on the board as the board library reads it
 * (src/lh-board.c: lh_task_read, lh_task_history): version files
 * NNNNNN.json holding records, and whatever else anyone with write
 * access to the board left there.
 *
 * Input: files in the format head(1) prints them,
 *   ==> 000001.json <==
 *   {"format":1,"id":"t1",...}
 * in the directory of task t1 (names: [0-9A-Za-z._-], at most 64 bytes,
 * at most 16 files).
 */
#include "fuzz.h"
#include <dirent.h>
#include "../../src/longhaul.h"

static struct lh_board board;
static char taskdir[4096];

static void
empty_taskdir(void)
{
	DIR *d = opendir(taskdir);
	struct dirent *e;
	char path[4400];

	if (!d)
		return;
	while ((e = readdir(d)))
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, "..")) {
			snprintf(path, sizeof path, "%s/%s", taskdir, e->d_name);
			unlink(path);
		}
	closedir(d);
}

static int
good_name(const char *s, size_t n)
{
	size_t i;

	if (n == 0 || n > 64 || (n <= 2 && !strncmp(s, "..", n)))
		return 0;
	for (i = 0; i < n; i++)
		if (!strchr("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ._-", s[i]) || !s[i])
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *name, *close, *body, *next;
	char path[4400];
	json_t *rec, *all;
	int v, st, files = 0;
	long long highest = 0, n;

	if (!taskdir[0]) {
		if (lh_board_init(fuzz_scratch()) != 0)
			abort();
		lh_board_open(&board, fuzz_scratch());
		board.fsync = 0;
		/* where task t1 lives: tasks/SHARD/t1 */
		rec = json_pack("{s:s,s:s,s:s}", "id", "t1", "title", "x", "kind", "work");
		json_object_set_new(rec, "format", json_integer(LH_BOARD_FORMAT));
		json_object_set_new(rec, "state", json_string("ready"));
		if (lh_task_cas(&board, "t1", 0, rec) != LH_OK)
			abort();
		json_decref(rec);
		snprintf(path, sizeof path, "%s/tasks", fuzz_scratch());
		{
			DIR *d = opendir(path);
			struct dirent *e;

			while (d && (e = readdir(d)))
				if (e->d_name[0] != '.')
					snprintf(taskdir, sizeof taskdir, "%s/%s/t1", path, e->d_name);
			if (d)
				closedir(d);
		}
		if (!taskdir[0])
			abort();
	}
	empty_taskdir();
	while (p < end && files < 16) {
		if (end - p < 9 || memcmp(p, "==> ", 4))
			break;
		name = p + 4;
		for (close = name; close + 5 <= end && memcmp(close, " <==\n", 5); close++)
			;
		if (close + 5 > end)
			break;
		body = close + 5;
		for (next = body; next < end; next++)
			if (*next == '\n' && end - next > 4 && !memcmp(next + 1, "==> ", 4))
				break;
		if (good_name(name, close - name)) {
			snprintf(path, sizeof path, "%s/%.*s", taskdir, (int)(close - name), name);
			fuzz_write_file(path, body, next - body);
			files++;
			if ((n = strtoll(name, NULL, 10)) > highest)
				highest = n;
		}
		p = next < end ? next + 1 : end;
	}
	if ((rec = lh_task_read(&board, "t1", &v, &st, 1)))
		json_decref(rec);
	/* every version from 1 to the current one is read: a stray file
	 * with a huge number makes this loop long (reported to lh-board.c's
	 * owner); until that is bounded there, history is read only for a
	 * task of at most 10000 versions */
	if (highest <= 10000 && (all = lh_task_history(&board, "t1", &st)))
		json_decref(all);
	return 0;
}
