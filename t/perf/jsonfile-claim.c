/* jsonfile-claim: baseline (a), the approach that failed at Cursor: all
 * tasks in one shared JSON file (an array of task records), claimed by a
 * process that takes an flock on the file, reads and parses all of it,
 * marks the first ready task claimed, writes the whole file back (and
 * fsyncs it with -s), and unlocks.
 *
 *	jsonfile-claim [-s] FILE
 *
 * Prints the claimed id; exits 1 when no task is ready, 2 on error.
 */
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

static void
die(const char *what, const char *why)
{
	fprintf(stderr, "jsonfile-claim: %s: %s\n", what, why);
	exit(2);
}

int
main(int argc, char **argv)
{
	int fd, sync = 0, token;
	const char *file, *agent = getenv("LONGHAUL_AGENT");
	char *text, host[256], when[32];
	struct stat st;
	json_error_t err;
	json_t *all, *task, *claimed = NULL;
	size_t i, len, off;
	ssize_t r;
	time_t t;

	if (argc == 3 && !strcmp(argv[1], "-s"))
		sync = 1, argv++, argc--;
	if (argc != 2) {
		fputs("usage: jsonfile-claim [-s] FILE\n", stderr);
		return 2;
	}
	file = argv[1];
	if ((fd = open(file, O_RDWR)) < 0 || flock(fd, LOCK_EX) != 0 || fstat(fd, &st) != 0)
		die(file, strerror(errno));
	text = malloc(st.st_size + 1);
	for (off = 0; off < (size_t)st.st_size; off += r)
		if ((r = pread(fd, text + off, st.st_size - off, off)) <= 0)
			die(file, r ? strerror(errno) : "short read");
	if (!(all = json_loadb(text, st.st_size, 0, &err)))
		die(file, err.text);
	free(text);
	json_array_foreach(all, i, task)
		if (!strcmp(json_string_value(json_object_get(task, "state")), "ready")) {
			claimed = task;
			break;
		}
	if (!claimed)
		return 1;
	token = (int)json_integer_value(json_object_get(claimed, "version")) + 1;
	gethostname(host, sizeof host);
	t = time(NULL) + 600;
	strftime(when, sizeof when, "%Y-%m-%dT%H:%M:%SZ", gmtime(&t));
	json_object_set_new(claimed, "state", json_string("claimed"));
	json_object_set_new(claimed, "version", json_integer(token));
	json_object_set_new(claimed, "attempts",
	    json_integer(json_integer_value(json_object_get(claimed, "attempts")) + 1));
	json_object_set_new(claimed, "owner", json_pack("{s:s, s:i, s:s}", "host", host,
	    "pid", (int)getppid(), "agent", agent ? agent : "unknown"));
	json_object_set_new(claimed, "lease", json_pack("{s:i, s:i, s:s}", "token", token,
	    "seconds", 600, "expires", when));
	if (!(text = json_dumps(all, JSON_COMPACT | JSON_PRESERVE_ORDER)))
		die(file, "cannot encode");
	len = strlen(text);
	for (off = 0; off < len; off += r)
		if ((r = pwrite(fd, text + off, len - off, off)) < 0)
			die(file, strerror(errno));
	if (ftruncate(fd, len) != 0 || (sync && fsync(fd) != 0))
		die(file, strerror(errno));
	if (close(fd) != 0)                     /* unlocks */
		die(file, strerror(errno));
	printf("%s\n", json_string_value(json_object_get(claimed, "id")));
	return fflush(stdout) == 0 ? 0 : 2;
}
