/* lh-wait.c: the board's bell, rung by whatever makes work claimable or a
 * task finished, and waiting for it.
 *
 * Two things ring it: the file "bell" is touched, which wakes waiters of
 * this machine at once (inotify) and the shell tools that watch it; and a
 * new entry bell.d/N is made, N one more than the last, by link() of a
 * complete file (so of two ringers that chose the same N one wins and the
 * other takes N+1). An entry holds the ready hints its ringer made, one a
 * line, relative to the board ("ready/work/5/3f/ID").
 *
 * Why a new name: another host must notice the ring within a bound that
 * does not depend on its filesystem's caches, and what a client caches
 * decides what it sees. Measured on a default sshfs mount (see "What a
 * client's cache hides" in doc/cluster.md): a touched file's mtime and a
 * directory's listing stay as they were for 20 s, but a lookup of a name
 * that did not exist goes to the server every time. NFS caches the same
 * way (acregmax, acdirmax), and looks up a new name at once with
 * lookupcache=positive. With NFS's default, lookupcache=all, the answer
 * "no such name" is cached too, until the directory's cached attributes
 * expire: so before it looks, a waiter has the attributes of bell.d
 * fetched from the server (statx with AT_STATX_FORCE_SYNC, one GETATTR),
 * and a directory changed since its last look has its cached answers
 * looked up again (on a local filesystem this costs a system call). So a
 * waiter looks for the one exact name bell.d/
 * SEQ+1 (SEQ: the last it has seen) every LH_BELL_POLL seconds, and
 * reads it, and the names it holds let a claimant try the new hints
 * directly where its listing of ready/ may still hide them. A new waiter
 * starts LH_BELL_RECENT entries back, for what was rung just before it
 * came (its own first look at the board may not have seen it). Entries are
 * immutable and never reused; the ringer of N removes N-LH_BELL_KEEP, and a
 * waiter so far behind that its next entry is gone finds its place again
 * from the listing (late, never wrong).
 *
 * The bell is a hint: nothing is lost when it fails. A waiter always
 * looks at the board itself after waking, and polls anyway. */
#define _GNU_SOURCE             /* statx */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include "longhaul.h"

#define LH_BELL_POLL 0.25       /* seconds between looks for the next entry */
#define LH_BELL_KEEP 256        /* entries kept for waiters that fall behind */
#define LH_BELL_RECENT 16       /* entries a new waiter reads first */
#define LH_NEWS_MAX 16384       /* bytes of hints one entry names, at most */

static char news_out[LH_NEWS_MAX], news_in[LH_NEWS_MAX];
static size_t news_out_len;

void
lh_bell_note(struct lh_board *b, const char *hint)
{
	size_t n = strlen(b->dir), len;

	if (strncmp(hint, b->dir, n) || hint[n] != '/')
		return;
	hint += n + 1;
	if (strncmp(hint, "ready/", 6))
		return;
	len = strlen(hint);
	if (news_out_len + len + 2 > sizeof news_out)
		return;         /* the waiters' scan finds the rest */
	memcpy(news_out + news_out_len, hint, len);
	news_out_len += len;
	news_out[news_out_len++] = '\n';
	news_out[news_out_len] = 0;
}

static void
entry_path(struct lh_board *b, long n, char *buf, size_t size)
{
	lh_path(buf, size, "%s/bell.d/%012ld", b->dir, n);
}

static int
exists(const char *path)
{
	return access(path, F_OK) == 0;
}

/* bell.d's attributes from the server, not a client's cache: a cached
 * "no such entry" under it is then checked again if it changed */
static void
bell_fresh(struct lh_board *b)
{
	char dir[PATH_MAX];
	struct statx sx;

	lh_path(dir, sizeof dir, "%s/bell.d", b->dir);
	statx(AT_FDCWD, dir, AT_STATX_FORCE_SYNC, STATX_MTIME, &sx);
}

/* The last entry: the highest the listing shows, then forward by exact
 * names, since a listing may be older than the lookups that follow. With
 * lowest set, the lowest listed too (0 when none). */
static long
bell_last(struct lh_board *b, long *lowest)
{
	char dir[PATH_MAX], path[PATH_MAX], *end;
	struct dirent *d;
	DIR *dp;
	long n, last = 0, low = 0;

	lh_path(dir, sizeof dir, "%s/bell.d", b->dir);
	bell_fresh(b);
	if ((dp = opendir(dir))) {
		while ((d = readdir(dp))) {
			n = strtol(d->d_name, &end, 10);
			if (d->d_name[0] < '0' || d->d_name[0] > '9' || *end)
				continue;
			if (n > last)
				last = n;
			if (!low || n < low)
				low = n;
		}
		closedir(dp);
	}
	for (;;) {
		entry_path(b, last + 1, path, sizeof path);
		if (!exists(path))
			break;
		last++;
	}
	if (lowest)
		*lowest = low;
	return last;
}

void
lh_board_ring(struct lh_board *b)
{
	char path[PATH_MAX], tmp[PATH_MAX], rnd[9];
	long n;
	int fd, tries;

	/* the close wakes inotify waiters of this host */
	lh_path(path, sizeof path, "%s/bell", b->dir);
	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOCTTY, 0644)) >= 0) {
		futimens(fd, NULL);
		close(fd);
	}
	lh_random_name(rnd, sizeof rnd);
	lh_path(tmp, sizeof tmp, "%s/tmp/bell.%s.%ld.%s", b->dir, lh_hostname(), (long)getpid(), rnd);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		goto out;
	if (write(fd, news_out, news_out_len) != (ssize_t)news_out_len) {
		close(fd);
		goto gone;
	}
	if (close(fd) != 0)
		goto gone;
	n = bell_last(b, NULL) + 1;
	for (tries = 0; tries < 100; tries++, n++) {
		entry_path(b, n, path, sizeof path);
		if (link(tmp, path) == 0)
			break;
		/* sshfs says EPERM for a link onto a name that exists */
		if (errno != EEXIST && errno != ENOENT && exists(path))
			errno = EEXIST;
		if (errno == ENOENT) {
			/* a board made before bell.d */
			lh_path(path, sizeof path, "%s/bell.d", b->dir);
			if (mkdir(path, 0777) != 0 && errno != EEXIST)
				break;
			n--;
		} else if (errno != EEXIST)
			break;
	}
	if (n > LH_BELL_KEEP) {
		entry_path(b, n - LH_BELL_KEEP, path, sizeof path);
		unlink(path);
	}
gone:
	unlink(tmp);
out:
	news_out_len = 0;
	news_out[0] = 0;
}

const char *
lh_bell_news(void)
{
	return news_in;
}

/* Read the entries after *seen that exist, into news_in. 1 when any. */
static int
read_news(struct lh_board *b, long *seen)
{
	char path[PATH_MAX], *text;
	size_t len, have = 0;
	int got = 0;

	news_in[0] = 0;
	bell_fresh(b);
	for (;;) {
		entry_path(b, *seen + 1, path, sizeof path);
		/* open() asks the server; a stat() of the name might not */
		if (!(text = lh_read_file(path, &len)))
			return got;
		if (have + len < sizeof news_in) {
			memcpy(news_in + have, text, len);
			news_in[have += len] = 0;
		}
		free(text);
		++*seen;
		got = 1;
	}
}

int
lh_wait_bell(struct lh_board *b, double timeout)
{
	static int fd = -1;
	static long seen = -1;
	char buf[4096] __attribute__((aligned(8)));
	struct pollfd pfd;
	double end = lh_monotonic() + timeout, slice;
	long low;

	/* where we start first, then the watch: a ring after the watch exists
	 * is never missed (a test waits for the watch to know we listen). We
	 * start a few entries back: what was rung just before we came may be
	 * hidden from the caller's listing, as what is rung later would be. */
	if (seen < 0 && (seen = bell_last(b, NULL) - LH_BELL_RECENT) < 0)
		seen = 0;
	if (fd == -1 && (fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0 &&
	    inotify_add_watch(fd, b->dir, IN_CLOSE_WRITE | IN_ATTRIB |
	    IN_CREATE | IN_MOVED_TO) < 0) {
		close(fd);
		fd = -2;
	}
	if (fd == -1)
		fd = -2;
	news_in[0] = 0;
	for (;;) {
		if (read_news(b, &seen))
			return 1;
		if ((slice = end - lh_monotonic()) <= 0)
			break;
		if (slice > LH_BELL_POLL)
			slice = LH_BELL_POLL;
		pfd.fd = fd;
		pfd.events = POLLIN;
		if (poll(&pfd, fd >= 0, (int)(slice * 1000) + 1) > 0) {
			while (read(fd, buf, sizeof buf) > 0)
				;
			read_news(b, &seen);
			return 1;
		}
	}
	/* so far behind that the next entry was removed: take up from the
	 * listing */
	if (bell_last(b, &low) > seen && low > seen + 1)
		seen = low - 1;
	return 0;
}
