/* lh-turn.c: turns, a first-come, first-served queue that lets at most N
 * processes at a time into a short piece of work: landing a commit on the
 * shared branch (board-turn, used by longhaul-worker) and calls in flight
 * to a model provider (lh-llm.c).
 *
 * A queue is a directory. Each process in it owns one empty file with a
 * name nobody else can have:
 *
 *	w.TICKET.HOST.PID.RANDOM   waiting
 *	a.TICKET.HOST.PID.RANDOM   admitted
 *
 * TICKET is the time of joining in microseconds, so the order is the
 * order of arrival (by each host's clock). A waiter with fewer than N
 * live entries ahead of it (counting admitted ones whatever their ticket)
 * renames itself admitted and lists again: if more than N are admitted it
 * steps back and retries after a growing random pause. The last of any
 * set of racing admissions to list sees all of them, so the limit holds.
 * On a network filesystem that takes a listing fresh from the server
 * right after the lister's own change to the directory: sshfs drops its
 * cached listing of a directory it changed, NFS sees the directory's
 * change attribute move (measured for sshfs in doc/cluster.md).
 *
 * A waiting entry names the process that waits (board-turn take), an
 * admitted one the owner of the turn (the worker that ran it): so a
 * waiter killed while it waits leaves the queue at once, not when its
 * still living owner's lease runs out. A waiter killed between its
 * admission and telling its owner leaves an entry that only the owner
 * can know is orphaned: the owner drops it (lh_turn_drop) when the take
 * did not tell it a ticket.
 *
 * No entry can block a queue for good, and there is no lock: an entry
 * whose PID is dead on this host is removed at once, and any entry not
 * touched for the lease is removed by whoever sees it (waiters touch
 * their own; an admitted one lasts one lease from its last touch). The
 * lease is judged by the file server's clock. Since names are unique,
 * removing a stale entry never removes another's live one.
 *
 * A turn is advice, never the safety of anything: what it orders must be
 * safe without it (a push is a compare-and-swap on the branch). It keeps
 * contenders from all trying at once and wasting their work and the CPU.
 *
 * Waiting: inotify on the entry just ahead (with a limit of one) or on the
 * directory, so a turn passes on at once on one machine; and polling,
 * which sees other NFS clients and dead holders: the next in line polls
 * often, those further back less. Each look judges the entries by open(),
 * which a client's cache does not answer (see alive()), so a turn given
 * back on another host is seen within one poll, not after the attribute
 * cache's time.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "longhaul.h"

struct entry {
	char name[256];
	int admitted;
};

static int
by_ticket(const void *a, const void *b)
{
	/* "a.TICKET..." or "w.TICKET...": order by what follows the state */
	return strcmp(((const struct entry *)a)->name + 2,
	    ((const struct entry *)b)->name + 2);
}

/* The file server's now, from a file of the queue's directory; this
 * host's clock when that fails. */
static double
server_now(const char *dir)
{
	char path[4200];
	double t;

	lh_path(path, sizeof path, "%s/.clock", dir);
	return (t = lh_file_clock(path)) < 0 ? lh_now() : t;
}

/* The entries of a queue, oldest ticket first (names only: cheap). */
static struct entry *
list(const char *dir, size_t *n)
{
	DIR *d;
	struct dirent *de;
	struct entry *e = NULL;
	size_t cap = 0;

	*n = 0;
	if (!(d = opendir(dir)))
		return NULL;
	while ((de = readdir(d))) {
		const char *name = de->d_name;

		if ((name[0] != 'a' && name[0] != 'w') || name[1] != '.')
			continue;
		if (*n == cap)
			e = lh_realloc(e, (cap = cap * 2 + 32) * sizeof *e);
		snprintf(e[*n].name, sizeof e[*n].name, "%s", name);
		e[(*n)++].admitted = name[0] == 'a';
	}
	closedir(d);
	if (*n)
		qsort(e, *n, sizeof *e, by_ticket);
	return e;
}

/* Is the entry live? Judged by open(), never by stat() of its name: a
 * client's attribute cache keeps a removed name alive for stat() (20 s
 * on a default sshfs mount, acregmax on NFS), but open() asks the file
 * server (NFS close-to-open; sshfs sends the open itself), and fstat() of
 * what it opened gives the mtime as the server has it. The name listed
 * may be out of date (a listing is cached too): when it is gone, the
 * entry's other name (waiting or admitted) is opened, and e is updated to
 * what was found. A stale entry (dead on this host, or untouched for the
 * lease by the server's clock) is removed. *server caches the server's
 * now for one look at the queue (< 0: not asked yet). */
static int
alive(const char *dir, struct entry *e, double lease, double *server)
{
	char path[4600], host[256];
	struct stat st;
	long pid;
	double mtime;
	int fd, k;

	for (k = 0; k < 2; k++, e->admitted = !e->admitted, e->name[0] = e->admitted ? 'a' : 'w') {
		lh_path(path, sizeof path, "%s/%s", dir, e->name);
		if ((fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC)) >= 0)
			break;
	}
	if (fd < 0)
		return 0;
	if (fstat(fd, &st) < 0) {
		close(fd);
		return 1;	/* it is there: live until we know better */
	}
	close(fd);
	if (sscanf(e->name, "%*c.%*[^.].%255[^.].%ld", host, &pid) == 2 &&
	    !strcmp(host, lh_hostname()) && kill(pid, 0) < 0 && errno == ESRCH) {
		unlink(path);
		return 0;
	}
	mtime = st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
	/* this host's clock says old: ask the server's before removing */
	if (lh_now() - mtime > lease && (*server < 0 ? *server = server_now(dir) : *server) - mtime > lease) {
		unlink(path);
		return 0;
	}
	return 1;
}

/* Read what inotify says. The entry we watch left (or moved): forget it,
 * so the next look watches the new one ahead. Events of watches dropped
 * before (IN_IGNORED after a rm_watch) say nothing. */
static void
woken(int in, int *wd, char *watched)
{
	char buf[4096] __attribute__((aligned(8)));
	const struct inotify_event *ev;
	ssize_t len, off;

	while ((len = read(in, buf, sizeof buf)) > 0)
		for (off = 0; off < len; off += sizeof *ev + ev->len) {
			ev = (const struct inotify_event *)(buf + off);
			if (*wd < 0 || ev->wd != *wd)
				continue;
			if (ev->mask & IN_MOVE_SELF)
				inotify_rm_watch(in, *wd);
			*wd = -1;
			watched[0] = 0;
		}
}

int
lh_turn_take(const char *dir, int limit, double lease, double deadline, long pid,
    char *path, size_t size)
{
	return lh_turn_take_for(dir, limit, lease, deadline, pid, pid, path, size);
}

int
lh_turn_take_for(const char *dir, int limit, double lease, double deadline, long waiter,
    long owner, char *path, size_t size)
{
	char name[256], aname[256], wait_path[4600], act_path[4600], watched[4600] = "", rnd[9], d[4096];
	struct entry *e;
	struct pollfd pfd;
	size_t n, i, j, ahead, admitted, last = 0;
	double pause = 0.01, cap, touched, wait_s, server;
	long long now;
	int fd, in = -1, wd = -1;

	snprintf(d, sizeof d, "%s", dir);
	if (limit < 1 || lh_mkdirs(d) < 0)
		return -1;
	lh_random_name(rnd, sizeof rnd);
	now = (long long)(lh_now() * 1e6);
	snprintf(name, sizeof name, "%017lld.%s.%ld.%s", now, lh_hostname(), waiter, rnd);
	snprintf(aname, sizeof aname, "%017lld.%s.%ld.%s", now, lh_hostname(), owner, rnd);
	lh_path(wait_path, sizeof wait_path, "%s/w.%s", dir, name);
	lh_path(act_path, sizeof act_path, "%s/a.%s", dir, aname);
	snprintf(path, size, "%s", wait_path);
	if ((fd = open(wait_path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return -1;
	close(fd);
	touched = lh_monotonic();
	if ((in = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0 && limit > 1 &&
	    inotify_add_watch(in, dir, IN_DELETE | IN_MOVED_FROM) < 0) {
		close(in);
		in = -1;
	}
	for (;;) {
		if (deadline > 0 && lh_monotonic() > deadline) {
			unlink(wait_path);
			path[0] = 0;
			if (in >= 0)
				close(in);
			return 1;
		}
		/* only the entries ahead of ours matter to us, and those admitted
		 * behind it (their tickets came late: another host's clock) */
		e = list(dir, &n);
		server = -1;
		for (i = ahead = 0; i < n && strcmp(e[i].name + 2, name); i++)
			if (alive(dir, &e[i], lease, &server))
				last = i, ahead++;
		for (j = i + 1; j < n; j++)
			if (e[j].admitted && alive(dir, &e[j], lease, &server) && e[j].admitted)
				last = j, ahead++;
		if (i == n) {
			/* ours was judged stale (we were stopped past the lease) */
			free(e);
			if ((fd = open(wait_path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
				break;
			close(fd);
			continue;
		}
		/* with a limit of one, wake when the live entry just ahead leaves */
		if (in >= 0 && limit == 1 && ahead > 0) {
			char p[4600];

			lh_path(p, sizeof p, "%s/%s", dir, e[last].name);
			if (strcmp(p, watched)) {
				if (wd >= 0)
					inotify_rm_watch(in, wd);
				watched[0] = 0;
				if ((wd = inotify_add_watch(in, p, IN_DELETE_SELF | IN_MOVE_SELF)) < 0) {
					free(e);
					if (errno == ENOENT)
						continue;       /* gone already: look again */
					/* no watches left: poll */
					close(in);
					in = -1;
					continue;
				}
				snprintf(watched, sizeof watched, "%s", p);
			}
		}
		if (ahead < (size_t)limit && rename(wait_path, act_path) == 0) {
			snprintf(path, size, "%s", act_path);
			free(e);
			e = list(dir, &n);
			for (i = admitted = 0; i < n; i++)
				if (e[i].admitted && (!strcmp(e[i].name + 2, aname) ||
				    (alive(dir, &e[i], lease, &server) && e[i].admitted)))
					admitted++;
			free(e);
			if (admitted <= (size_t)limit) {
				if (in >= 0)
					close(in);
				return 0;
			}
			/* racing admissions: step back, and retry after a pause that
			 * grows, so that the racers spread out */
			rename(act_path, wait_path);
			snprintf(path, size, "%s", wait_path);
		} else
			free(e);
		if (lh_monotonic() - touched > lease / 3) {
			lh_turn_touch(wait_path);
			touched = lh_monotonic();
		}
		/* the next in line looks often; those further back less */
		cap = ahead <= (size_t)limit ? 0.1 : 0.1 * (ahead - limit + 1);
		if (cap > 1)
			cap = 1;
		if (pause > cap)
			pause = cap;
		wait_s = pause * (0.5 + lh_jitter());
		if (in >= 0) {
			pfd.fd = in;
			pfd.events = POLLIN;
			if (poll(&pfd, 1, (int)(wait_s * 1000) + 1) > 0)
				woken(in, &wd, watched);
		} else {
			struct timespec ts = { (time_t)wait_s, (long)((wait_s - (time_t)wait_s) * 1e9) };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
		}
		pause *= 1.5;
	}
	if (in >= 0)
		close(in);
	unlink(wait_path);
	path[0] = 0;
	return -1;
}

int
lh_turn_drop(const char *dir, long owner)
{
	struct entry *e;
	char path[4600], host[256];
	size_t n, i;
	long pid;
	int dropped = 0;

	e = list(dir, &n);
	for (i = 0; i < n; i++)
		if (sscanf(e[i].name, "%*c.%*[^.].%255[^.].%ld", host, &pid) == 2 &&
		    !strcmp(host, lh_hostname()) && pid == owner) {
			lh_path(path, sizeof path, "%s/%s", dir, e[i].name);
			if (unlink(path) == 0)
				dropped++;
		}
	free(e);
	return dropped;
}

int
lh_turn_give(const char *path)
{
	return unlink(path);
}

int
lh_turn_touch(const char *path)
{
	return utimensat(AT_FDCWD, path, NULL, 0);
}
