/* race: run a claim command again and again from P racing processes, the
 * way a shell user would (fork, exec, read its stdout, wait), and count.
 *
 *	race [-p procs] [-n max] [-t seconds] [-e status] [-N names]
 *	     [-o ids] [-L latencies] command [arg...]
 *
 * A run of the command is a claim when it exits 0 and prints a non-empty
 * first line (the claimed id, appended to the ids file); it means "nothing
 * left" when it exits with the -e status (default 1) or exits 0 printing
 * nothing, and that racer stops. Any other exit is an error: counted, and
 * the racer tries again (at most 100 times). -n stops after about max
 * claims in all, -t after that many seconds. With -N, an argument "{}" is
 * replaced by the next number below names from a counter the racers
 * share (for the floor, whose program is told what to rename).
 *
 * All racers start together at a barrier; the wall time runs from the
 * barrier until the last racer ends. One line on stdout:
 *	procs=P claims=C errors=E seconds=S rate=C/S
 * and with -L, each claim's latency in microseconds, one a line.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct shared {
	atomic_long claims, errors, next;
};

static struct shared *sh;
static long max_claims = -1, names = -1;
static double seconds = -1;
static int nothing_status = 1;
static int ids_fd = -1, lat_fd = -1;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
die(const char *what)
{
	fprintf(stderr, "race: %s: %s\n", what, strerror(errno));
	exit(2);
}

static void
write_all(int fd, const char *buf, size_t n)
{
	ssize_t w;

	while (n) {
		if ((w = write(fd, buf, n)) < 0) {
			if (errno == EINTR)
				continue;
			die("write");
		}
		buf += w, n -= w;
	}
}

/* one run of the command: 1 claim, 0 nothing left, -1 error */
static int
run_once(char **argv, double *took)
{
	char out[4096], *nl;
	size_t len = 0;
	ssize_t r;
	int fds[2], status;
	double t0 = now();
	pid_t pid;

	if (pipe(fds) != 0)
		die("pipe");
	if ((pid = fork()) < 0)
		die("fork");
	if (pid == 0) {
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execvp(argv[0], argv);
		fprintf(stderr, "race: %s: %s\n", argv[0], strerror(errno));
		_exit(127);
	}
	close(fds[1]);
	while ((r = read(fds[0], out + len, sizeof out - 1 - len)) != 0) {
		if (r < 0) {
			if (errno == EINTR)
				continue;
			die("read");
		}
		len += r;
		if (len == sizeof out - 1) {    /* keep the first line, drain */
			char junk[4096];

			while ((r = read(fds[0], junk, sizeof junk)) > 0 || (r < 0 && errno == EINTR))
				;
			break;
		}
	}
	close(fds[0]);
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			die("waitpid");
	*took = now() - t0;
	out[len] = 0;
	if ((nl = strchr(out, '\n')))
		*nl = 0;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 && out[0]) {
		if (ids_fd >= 0) {
			size_t n = strlen(out);

			out[n] = '\n';
			write_all(ids_fd, out, n + 1);   /* O_APPEND, one write a line */
		}
		return 1;
	}
	if (WIFEXITED(status) && (WEXITSTATUS(status) == nothing_status ||
	    (WEXITSTATUS(status) == 0 && !out[0])))
		return 0;
	return -1;
}

static void
racer(char **argv, int argc, int barrier)
{
	double deadline;
	char **args = malloc((argc + 1) * sizeof *args), name[32], c;
	size_t nlat = 0, cap = 0, i;
	long *lat = NULL;
	int slot = -1, errors = 0, r;
	double took;

	for (i = 0; i < (size_t)argc; i++) {
		args[i] = argv[i];
		if (names >= 0 && !strcmp(argv[i], "{}"))
			slot = (int)i, args[i] = name;
	}
	args[argc] = NULL;
	while (read(barrier, &c, 1) < 0 && errno == EINTR)
		;
	deadline = seconds > 0 ? now() + seconds : 0;
	for (;;) {
		if (max_claims >= 0 && atomic_load(&sh->claims) >= max_claims)
			break;
		if (deadline > 0 && now() >= deadline)
			break;
		if (slot >= 0) {
			long n = atomic_fetch_add(&sh->next, 1);

			if (n >= names)
				break;
			snprintf(name, sizeof name, "%ld", n);
		}
		r = run_once(args, &took);
		if (r == 0)
			break;
		if (r < 0) {
			atomic_fetch_add(&sh->errors, 1);
			if (++errors >= 100)
				break;
			continue;
		}
		atomic_fetch_add(&sh->claims, 1);
		if (lat_fd >= 0) {
			if (nlat == cap)
				lat = realloc(lat, (cap = cap ? 2 * cap : 1024) * sizeof *lat);
			if (!lat)
				die("realloc");
			lat[nlat++] = (long)(took * 1e6);
		}
	}
	if (lat_fd >= 0) {
		char line[32];

		for (i = 0; i < nlat; i++)
			write_all(lat_fd, line, snprintf(line, sizeof line, "%ld\n", lat[i]));
	}
	exit(0);
}

int
main(int argc, char **argv)
{
	int c, procs = 1, i, barrier[2];
	double t0, t1;
	char *end;

	while ((c = getopt(argc, argv, "+e:L:n:N:o:p:t:")) != -1)
		switch (c) {
		case 'e': nothing_status = atoi(optarg); break;
		case 'L':
			if ((lat_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644)) < 0)
				die(optarg);
			break;
		case 'n': max_claims = strtol(optarg, &end, 10); break;
		case 'N': names = strtol(optarg, &end, 10); break;
		case 'o':
			if ((ids_fd = open(optarg, O_WRONLY | O_CREAT | O_APPEND | O_TRUNC, 0644)) < 0)
				die(optarg);
			break;
		case 'p': procs = atoi(optarg); break;
		case 't': seconds = strtod(optarg, &end); break;
		default: goto usage;
		}
	if (optind == argc || procs < 1) {
usage:
		fputs("usage: race [-p procs] [-n max] [-t seconds] [-e status] [-N names] "
		    "[-o ids] [-L latencies] command [arg...]\n", stderr);
		return 2;
	}
	sh = mmap(NULL, sizeof *sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (sh == MAP_FAILED)
		die("mmap");
	atomic_init(&sh->claims, 0);
	atomic_init(&sh->errors, 0);
	atomic_init(&sh->next, 0);
	if (pipe(barrier) != 0)
		die("pipe");
	for (i = 0; i < procs; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork");
		if (pid == 0) {
			close(barrier[1]);
			racer(argv + optind, argc - optind, barrier[0]);
		}
	}
	close(barrier[0]);
	t0 = now();
	close(barrier[1]);                      /* go */
	while (wait(NULL) > 0 || errno == EINTR)
		;
	t1 = now();
	printf("procs=%d claims=%ld errors=%ld seconds=%.3f rate=%.1f\n", procs,
	    atomic_load(&sh->claims), atomic_load(&sh->errors), t1 - t0,
	    atomic_load(&sh->claims) / (t1 - t0));
	return fflush(stdout) == 0 && atomic_load(&sh->errors) == 0 ? 0 : 1;
}
