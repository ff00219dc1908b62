/* board-turn: wait for a turn in a named queue of the board, first come
 * first served, at most N at a time (lh-turn.c). The worker takes the
 * turn "push-BRANCH" around fetch, rebase, verify and push, so that many
 * workers finishing at once land one after the other instead of all
 * fetching, rebasing, verifying and being rejected together.
 *
 * A turn is advice: a dead holder is skipped at once on its host and
 * after the lease elsewhere, and what a turn orders must be safe without
 * it. There is no lock.
 *
 * Nothing of a dead worker waits on: take dies with the worker that runs
 * it ($LONGHAUL_PID, PR_SET_PDEATHSIG), and its entry names the take
 * itself while it waits, so that killing the take alone frees its place
 * at once; the owner drops what a take killed after its admission left
 * (drop).
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] =
    "board-turn [-b board] [-n n] [-l lease] [-w timeout] [-m max] take|run|give|touch|keep|drop NAME [TICKET | command...]";
static const char manual[] =
"usage: board-turn [-b board] [-n n] [-l lease] [-w timeout] take NAME\n"
"       board-turn [-b board] give|touch NAME TICKET\n"
"       board-turn [-b board] [-l lease] [-m max] keep NAME TICKET\n"
"       board-turn [-b board] drop NAME\n"
"       board-turn [-b board] [-n n] [-l lease] [-w timeout] run NAME command [arg...]\n"
"Wait for a turn in the queue NAME of the board (BOARD/turns/NAME), first\n"
"come, first served, at most n at a time.\n"
"  take        wait, then print the ticket to give back; the turn belongs\n"
"              to $LONGHAUL_PID or the parent process\n"
"  give        give the turn back\n"
"  touch       keep the turn for another lease (a holder that takes long)\n"
"  keep        touch it every third of the lease while its owner lives\n"
"              ($LONGHAUL_PID, else the parent), for -m seconds at most\n"
"  drop        give back every turn of NAME its owner holds or waits for\n"
"              on this host (a take killed before it printed its ticket)\n"
"  run         wait, run the command, give the turn back when it ends\n"
"  -n n        how many may hold a turn at once (default 1)\n"
"  -l seconds  an untouched turn lapses after this long (default\n"
"              $LONGHAUL_TURN_LEASE, else 60); a dead holder's turn lapses\n"
"              at once on its own host\n"
"  -w timeout  wait at most this many seconds (default: forever)\n"
"A turn is advice: it orders contenders, it does not make anything safe.\n"
"Exit status: take 0 taken, 1 timed out; drop 0; give, touch and keep 0, 4 no\n"
"such ticket (it lapsed); run the command's status, or 125 when no turn was had, 126 the\n"
"command cannot run, 127 not found; 2 usage, 5 bad board, 6 system error.\n";

static char held[4600];
static volatile sig_atomic_t child;

static void
on_signal(int sig)
{
	if (child > 0)
		kill(child, sig);
	else {
		if (held[0])
			unlink(held);
		signal(sig, SIG_DFL);
		raise(sig);
	}
}

static const char *
name_check(const char *s)
{
	const char *why = lh_name_check(s);

	if (why)
		lh_die(LH_USAGE, "queue '%s': %s", s, why);
	return s;
}

/* run: the command under the turn; the turn is touched while it runs */
static int
run(char **cmd, double lease)
{
	sigset_t set, stop, old;
	struct timespec ts;
	int st = 0;
	pid_t pid;

	/* a signal between fork and knowing the child must reach the child,
	 * not end us and leave it running without the turn */
	sigemptyset(&set);
	sigaddset(&set, SIGCHLD);
	stop = set;
	sigaddset(&stop, SIGINT);
	sigaddset(&stop, SIGTERM);
	sigaddset(&stop, SIGHUP);
	sigprocmask(SIG_BLOCK, &stop, &old);
	if ((pid = fork()) < 0) {
		lh_warn_errno("fork");
		sigprocmask(SIG_SETMASK, &old, NULL);
		return 125;
	}
	if (pid == 0) {
		sigprocmask(SIG_SETMASK, &old, NULL);
		signal(SIGINT, SIG_DFL);
		signal(SIGTERM, SIG_DFL);
		execvp(cmd[0], cmd);
		lh_warn_errno("%s", cmd[0]);
		_exit(errno == ENOENT ? 127 : 126);
	}
	child = pid;
	sigprocmask(SIG_SETMASK, &old, NULL);
	sigprocmask(SIG_BLOCK, &set, NULL);
	ts.tv_sec = lease / 3 < 1 ? 1 : (time_t)(lease / 3);
	ts.tv_nsec = 0;
	for (;;) {
		if (sigtimedwait(&set, NULL, &ts) < 0 && errno != EAGAIN && errno != EINTR) {
			while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
				;
			break;
		}
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		lh_turn_touch(held);
	}
	child = 0;
	lh_turn_give(held);
	held[0] = 0;
	if (WIFSIGNALED(st)) {
		signal(WTERMSIG(st), SIG_DFL);
		raise(WTERMSIG(st));
		return 128 + WTERMSIG(st);
	}
	return WEXITSTATUS(st);
}

/* keep: touch the turn every third of the lease while its owner lives,
 * for max seconds at most (0: no end). It dies with its parent at once
 * (PR_SET_PDEATHSIG) and looks for its owner five times a second, so it
 * never keeps a dead process's turn alive, nor pins a directory. */
static int
keep(double lease, double max)
{
	long owner = lh_owner_pid();
	double start = lh_monotonic(), last = start;
	struct timespec ts = { 0, 200 * 1000000L };

	if (owner == (long)getppid())
		prctl(PR_SET_PDEATHSIG, SIGTERM);
	if (chdir("/") < 0)
		lh_warn_errno("/");
	if (kill((pid_t)owner, 0) < 0 && errno == ESRCH)
		return 0;
	if (lh_turn_touch(held) < 0)
		return errno == ENOENT ? LH_NOTFOUND : LH_SYSERR;
	for (;;) {
		nanosleep(&ts, NULL);
		if (kill((pid_t)owner, 0) < 0 && errno == ESRCH)
			return 0;
		if (max > 0 && lh_monotonic() - start >= max)
			return 0;
		if (lh_monotonic() - last >= lease / 3) {
			if (lh_turn_touch(held) < 0)
				return errno == ENOENT ? LH_NOTFOUND : LH_SYSERR;
			last = lh_monotonic();
		}
	}
}

int
main(int argc, char **argv)
{
	struct lh_board b;
	const char *dir = NULL, *env, *op, *name;
	char qdir[4200], *end;
	double lease = 60, wait = 0, max = 0;
	long n = 1;
	int c, r, is_run;

	lh_std_options(argc, argv, manual);
	if ((env = getenv("LONGHAUL_TURN_LEASE")) && *env)
		lease = atof(env);
	while ((c = getopt(argc, argv, "+b:l:m:n:w:")) != -1)
		switch (c) {
		case 'b': dir = optarg; break;
		case 'l':
			lease = strtod(optarg, &end);
			if (*end || lease <= 0)
				lh_die(LH_USAGE, "lease '%s': not a positive number of seconds", optarg);
			break;
		case 'm':
			max = strtod(optarg, &end);
			if (*end || max < 0)
				lh_die(LH_USAGE, "max '%s': not a number of seconds", optarg);
			break;
		case 'n':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 100000)
				lh_die(LH_USAGE, "n '%s': not a number from 1 to 100000", optarg);
			break;
		case 'w':
			wait = strtod(optarg, &end);
			if (*end || wait < 0)
				lh_die(LH_USAGE, "timeout '%s': not a number of seconds", optarg);
			break;
		default: lh_usage(usage);
		}
	if (argc - optind < 2)
		lh_usage(usage);
	op = argv[optind];
	name = name_check(argv[optind + 1]);
	is_run = !strcmp(op, "run");
	if (strcmp(op, "take") && strcmp(op, "give") && strcmp(op, "touch") &&
	    strcmp(op, "keep") && strcmp(op, "drop") && !is_run)
		lh_die(LH_USAGE, "'%s': not take, give, touch, keep, drop or run", op);
	if (is_run ? argc - optind < 3 :
	    argc - optind != (strcmp(op, "take") && strcmp(op, "drop") ? 3 : 2))
		lh_usage(usage);
	lh_board_open(&b, dir);
	lh_path(qdir, sizeof qdir, "%s/turns/%s", b.dir, name);

	if (!strcmp(op, "drop")) {
		lh_turn_drop(qdir, lh_owner_pid());
		return 0;
	}
	if (strcmp(op, "take") && !is_run) {
		const char *t = argv[optind + 2];

		if ((t[0] != 'a' && t[0] != 'w') || t[1] != '.' || strchr(t, '/') || strlen(t) > 255)
			lh_die(LH_USAGE, "ticket '%s': not a ticket of board-turn take", t);
		lh_path(held, sizeof held, "%s/%s", qdir, t);
		if (op[0] == 'k') {
			r = keep(lease, max);
			if (r == LH_NOTFOUND)
				lh_die(r, "%s: no such ticket in %s (its turn lapsed)", t, name);
			if (r)
				lh_die_errno(r, "%s", held);
			return 0;
		}
		if ((op[1] == 'i' ? lh_turn_give(held) : lh_turn_touch(held)) < 0) {
			if (errno == ENOENT)
				lh_die(LH_NOTFOUND, "%s: no such ticket in %s (its turn lapsed)", t, name);
			lh_die_errno(LH_SYSERR, "%s", held);
		}
		return 0;
	}
	signal(SIGINT, on_signal);
	signal(SIGTERM, on_signal);
	signal(SIGHUP, on_signal);
	/* take: it waits as itself (killed, it leaves the queue at once), it
	 * holds for its owner, and dies with the worker that runs it */
	if (!is_run)
		lh_die_with_parent();
	r = lh_turn_take_for(qdir, (int)n, lease, wait > 0 ? lh_monotonic() + wait : 0,
	    (long)getpid(), is_run ? (long)getpid() : lh_owner_pid(), held, sizeof held);
	if (r < 0)
		lh_die_errno(is_run ? 125 : LH_SYSERR, "%s", qdir);
	if (r > 0) {
		if (is_run)
			lh_die(125, "%s: no turn within %g seconds", name, wait);
		return LH_NOTHING;
	}
	if (is_run)
		return run(argv + optind + 2, lease);
	puts(strrchr(held, '/') + 1);
	held[0] = 0;
	lh_close_stdout();
	return 0;
}
