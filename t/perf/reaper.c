/* reaper: run a command as a child subreaper and report the CPU time of
 * everything it started, orphans included.
 *
 *	reaper OUTFILE COMMAND [ARG...]
 *
 * Processes whose parents die before them (workers killed at the end of
 * a benchmark, backgrounded heartbeats) are reparented here rather than
 * to init, so when they end their CPU time, and that of the children
 * they waited for, is added to ours.  SIGTERM and SIGINT are passed on
 * to the command.  When it has ended, descendants still alive after 2
 * seconds get SIGTERM (a stray `sleep` of a killed loop), after 5 seconds
 * SIGKILL.  Once every descendant has ended, OUTFILE gets
 * one line: "user SECONDS sys SECONDS procs N" (N: processes reaped
 * here, the command and the orphans).  Exits with the command's status.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/wait.h>
#include <unistd.h>

static volatile pid_t child;
static volatile sig_atomic_t alarms;

/* signal the processes whose parent is this one */
static void
signal_orphans(int sig)
{
	char path[300], buf[512], *p;
	DIR *d;
	struct dirent *e;
	FILE *f;
	long ppid;

	if (!(d = opendir("/proc")))
		return;
	while ((e = readdir(d)))
		if (isdigit((unsigned char)e->d_name[0])) {
			snprintf(path, sizeof path, "/proc/%s/stat", e->d_name);
			if (!(f = fopen(path, "r")))
				continue;
			if (fgets(buf, sizeof buf, f) && (p = strrchr(buf, ')')) &&
			    sscanf(p + 1, " %*c %ld", &ppid) == 1 && ppid == (long)getpid())
				kill((pid_t)atol(e->d_name), sig);
			fclose(f);
		}
	closedir(d);
}

static void
ring(int sig)
{
	(void)sig;
	alarms++;
}

static void
forward(int sig)
{
	if (child > 0)
		kill(child, sig);
}

int
main(int argc, char **argv)
{
	struct rusage ru;
	struct sigaction sa;
	int st, status = 0;
	long reaped = 0;
	pid_t p;
	FILE *out;

	if (argc < 3) {
		fputs("usage: reaper OUTFILE COMMAND [ARG...]\n", stderr);
		return 2;
	}
	if (prctl(PR_SET_CHILD_SUBREAPER, 1) != 0) {
		fprintf(stderr, "reaper: prctl: %s\n", strerror(errno));
		return 2;
	}
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = forward;
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = ring;
	sigaction(SIGALRM, &sa, NULL);
	if ((p = fork()) < 0) {
		fprintf(stderr, "reaper: fork: %s\n", strerror(errno));
		return 2;
	}
	if (p == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "reaper: %s: %s\n", argv[2], strerror(errno));
		_exit(127);
	}
	child = p;
	for (;;) {
		p = wait(&st);
		if (p < 0 && errno == EINTR) {
			if (alarms == 1) {
				signal_orphans(SIGTERM);
				alarm(3);
			} else if (alarms > 1)
				signal_orphans(SIGKILL);
			continue;
		}
		if (p < 0)
			break;
		reaped++;
		if (p == child) {
			status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			child = 0;
			alarm(2);
		}
	}
	getrusage(RUSAGE_CHILDREN, &ru);
	if (!(out = fopen(argv[1], "w")) ||
	    fprintf(out, "user %ld.%06ld sys %ld.%06ld procs %ld\n",
	    (long)ru.ru_utime.tv_sec, (long)ru.ru_utime.tv_usec,
	    (long)ru.ru_stime.tv_sec, (long)ru.ru_stime.tv_usec, reaped) < 0 ||
	    fclose(out) != 0) {
		fprintf(stderr, "reaper: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	return status;
}
