/* inject.c: an LD_PRELOAD library for the tests that makes one system
 * call fail, to see what the board tools do under a full disk or an I/O
 * error at every step.
 *
 *	LH_FAULT_CALL   write, fsync, link, rename, unlink, utimensat, open
 *	                or mkdir: the call to fail (futimens counts as
 *	                utimensat, openat and creat as open)
 *	LH_FAULT_N      fail the Nth such call (from 1) that touches a path
 *	                containing LH_FAULT_PATH (default: any path)
 *	LH_FAULT_ERRNO  ENOSPC (default), EIO, EPERM, EACCES or EROFS
 *	LH_FAULT_HIT    a file to create when the fault is injected, so that
 *	                a test knows the run reached it
 *	LH_FAULT_KILL   set: the process kills itself (SIGKILL) at that call
 *	                instead, before making it
 *	LH_FAULT_STOP   set: the process stops itself (SIGSTOP) at that call,
 *	                and makes it once continued: a test can act between
 *	                two steps of a tool
 *	LH_FAULT_EEXIST set to an errno name (EPERM): every link() that fails
 *	                with EEXIST reports that error instead, as sshfs does
 *
 * LH_FAULT_CALL=any counts every call of the kinds above.
 *
 * For write and fsync the path is the one the descriptor was opened on
 * (/proc/self/fd). Only calls on matching paths are counted, so that
 * writes to stderr or a pipe do not shift the numbering.
 */
#define _GNU_SOURCE
#pragma GCC diagnostic ignored "-Wnonnull-compare"
#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static long count;

static int
errno_named(const char *name, int dflt)
{
	if (!name || !*name)
		return dflt;
	if (!strcmp(name, "EIO")) return EIO;
	if (!strcmp(name, "EPERM")) return EPERM;
	if (!strcmp(name, "EACCES")) return EACCES;
	if (!strcmp(name, "EROFS")) return EROFS;
	if (!strcmp(name, "EDQUOT")) return EDQUOT;
	return ENOSPC;
}

static int
matches(const char *path)
{
	const char *want = getenv("LH_FAULT_PATH");

	return path && (!want || !*want || strstr(path, want));
}

static int
fd_matches(int fd)
{
	char link[64], path[4096];
	ssize_t n;

	snprintf(link, sizeof link, "/proc/self/fd/%d", fd);
	if ((n = readlink(link, path, sizeof path - 1)) < 0)
		return 0;
	path[n] = 0;
	return path[0] == '/' && matches(path);
}

/* 1 when this call of kind call should fail (errno set) */
static int
fault(const char *call, int match)
{
	const char *want = getenv("LH_FAULT_CALL"), *hit;
	const char *n = getenv("LH_FAULT_N");
	int save = errno, fd;

	if (!match || !want || (strcmp(want, call) && strcmp(want, "any")) || !n)
		return 0;
	if (++count != atol(n))
		return 0;
	if ((hit = getenv("LH_FAULT_HIT")) && *hit) {
		static int (*real_open)(const char *, int, ...);

		if (!real_open)
			real_open = (int (*)(const char *, int, ...))dlsym(RTLD_NEXT, "open");
		if ((fd = real_open(hit, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) >= 0) {
			dprintf(fd, "%s %ld\n", call, count);
			close(fd);
		}
	}
	if (getenv("LH_FAULT_KILL") && *getenv("LH_FAULT_KILL"))
		kill(getpid(), SIGKILL);
	if (getenv("LH_FAULT_STOP") && *getenv("LH_FAULT_STOP")) {
		kill(getpid(), SIGSTOP);
		errno = save;
		return 0;
	}
	errno = errno_named(getenv("LH_FAULT_ERRNO"), ENOSPC);
	return 1;
}

#define REAL(ret, name, args) \
	static ret (*real_##name) args; \
	if (!real_##name) real_##name = (ret (*) args)dlsym(RTLD_NEXT, #name)

ssize_t
write(int fd, const void *buf, size_t n)
{
	REAL(ssize_t, write, (int, const void *, size_t));
	if (getenv("LH_FAULT_CALL") && fault("write", fd_matches(fd)))
		return -1;
	return real_write(fd, buf, n);
}

int
fsync(int fd)
{
	REAL(int, fsync, (int));
	if (getenv("LH_FAULT_CALL") && fault("fsync", fd_matches(fd)))
		return -1;
	return real_fsync(fd);
}

int
link(const char *from, const char *to)
{
	const char *eexist = getenv("LH_FAULT_EEXIST");
	int r;

	REAL(int, link, (const char *, const char *));
	if (fault("link", matches(to)))
		return -1;
	r = real_link(from, to);
	if (r != 0 && errno == EEXIST && eexist && *eexist)
		errno = errno_named(eexist, EPERM);
	return r;
}

int
rename(const char *from, const char *to)
{
	REAL(int, rename, (const char *, const char *));
	if (fault("rename", matches(to)))
		return -1;
	return real_rename(from, to);
}

int
unlink(const char *path)
{
	REAL(int, unlink, (const char *));
	if (fault("unlink", matches(path)))
		return -1;
	return real_unlink(path);
}

int
mkdir(const char *path, mode_t mode)
{
	REAL(int, mkdir, (const char *, mode_t));
	if (fault("mkdir", matches(path)))
		return -1;
	return real_mkdir(path, mode);
}

int
utimensat(int dirfd, const char *path, const struct timespec t[2], int flags)
{
	REAL(int, utimensat, (int, const char *, const struct timespec *, int));
	if (fault("utimensat", path ? matches(path) : fd_matches(dirfd)))
		return -1;
	return real_utimensat(dirfd, path, t, flags);
}

int
futimens(int fd, const struct timespec t[2])
{
	REAL(int, futimens, (int, const struct timespec *));
	if (fault("utimensat", fd_matches(fd)))
		return -1;
	return real_futimens(fd, t);
}

int
open(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	REAL(int, open, (const char *, int, ...));
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (fault("open", matches(path)))
		return -1;
	return real_open(path, flags, mode);
}

int
open64(const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	REAL(int, open64, (const char *, int, ...));
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (fault("open", matches(path)))
		return -1;
	return real_open64(path, flags, mode);
}

int
openat(int dirfd, const char *path, int flags, ...)
{
	mode_t mode = 0;
	va_list ap;

	REAL(int, openat, (int, const char *, int, ...));
	if (flags & (O_CREAT | O_TMPFILE)) {
		va_start(ap, flags);
		mode = va_arg(ap, mode_t);
		va_end(ap);
	}
	if (fault("open", matches(path)))
		return -1;
	return real_openat(dirfd, path, flags, mode);
}
