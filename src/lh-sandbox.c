/* lh-sandbox.c: the sandbox that every command an agent could have
 * written runs in: an agent's commands (agent-step), a task's
 * verification commands (sandbox-run, from longhaul-worker) and the
 * run's gate (judge).
 *
 * What holds, by construction of the bubblewrap command line:
 * - the root is an empty tmpfs; only the system directories (/usr, /etc,
 *   /opt and the /bin, /lib links) are bound, read-only, with the
 *   programs of the other directories of PATH (see bind_programs): nothing of
 *   the harness is there unless bound below (no board, no usage logs, no
 *   transcripts, no verify or gate lists, no $HOME);
 * - the tree is bound read-write; of its git directory (a linked
 *   worktree's: a .git directory inside the tree is read-only whole),
 *   what git needs to stage and commit (objects, refs, logs, the
 *   worktree's own state) is writable, while the .git file, the
 *   worktree's gitdir and commondir
 *   files, the common config and packed refs, refs/remotes (the branch
 *   as the harness read it) and objects/info (alternates) and objects/pack are read-only
 *   and hooks/ is
 *   an empty read-only directory: nothing an agent writes there is run
 *   or read as configuration by the harness's git outside;
 *   LONGHAUL_SANDBOX_GIT=ro (the merge train's gate) makes the whole git
 *   directory read-only, the worktree's own state and index included:
 *   the gate reads its tree, and the train checks the next stack out
 *   in that tree from that index and those objects;
 * - its own PID namespace (the harness's processes and their
 *   /proc/PID/environ are not there), IPC and UTS namespaces, no network
 *   but its own loopback (LONGHAUL_SANDBOX=net keeps the host's), no
 *   capabilities, a new session (no TIOCSTI), and it dies with its
 *   parent: the kernel kills the whole namespace when its init ends;
 * - the environment is built from an allow-list (lh_sandbox_env): no
 *   variable of the harness (keys included) reaches the command unless
 *   named;
 * - no file descriptor of the harness but 0, 1 and 2: bwrap passes on
 *   every descriptor it inherits, and one open on a directory outside
 *   (or a log, a board file) is a way out of the mount namespace
 *   (openat, /proc/self/fd/N/..). Every process that execs the sandbox
 *   calls lh_sandbox_close_fds first, whatever its caller left open.
 * LONGHAUL_SANDBOX=off runs commands without all this, and says nothing
 * of it afterwards: the caller opted out.
 */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "longhaul.h"

int
lh_sandbox_mode(void)
{
	const char *v = getenv("LONGHAUL_SANDBOX");

	if (!v || !*v || !strcmp(v, "on") || !strcmp(v, "1"))
		return LH_SANDBOX_ON;
	if (!strcmp(v, "off") || !strcmp(v, "0"))
		return LH_SANDBOX_OFF;
	if (!strcmp(v, "net"))
		return LH_SANDBOX_NET;
	lh_warn("LONGHAUL_SANDBOX=%s: not on, net or off", v);
	return -1;
}

/* ---- the environment ---- */

static int
named(const char *entry, const char *name)
{
	size_t len = strcspn(entry, "=");

	return strlen(name) == len && !strncmp(name, entry, len);
}

char **
lh_sandbox_env(int mode, char *const extra[], size_t nextra)
{
	extern char **environ;
	static const char *names[] = {
		"PATH", "USER", "LOGNAME", "LANG", "LC_ALL", "LC_CTYPE",
		"LC_MESSAGES", "TZ", "GIT_AUTHOR_NAME", "GIT_AUTHOR_EMAIL",
		"GIT_COMMITTER_NAME", "GIT_COMMITTER_EMAIL", NULL,
	};
	char **env, **e;
	size_t n = 0, i, k;
	int found;

	for (e = environ; *e; e++)
		n++;
	env = lh_malloc((n + nextra + 8) * sizeof *env);
	n = 0;
	for (e = environ; *e; e++) {
		found = 0;
		for (k = 0; names[k] && !found; k++)
			found = named(*e, names[k]);
		for (i = 0; i < nextra && !found; i++)
			found = !strchr(extra[i], '=') && named(*e, extra[i]);
		if (found && !named(*e, "HOME"))   /* below */
			env[n++] = *e;
	}
	if (mode != LH_SANDBOX_OFF) {
		/* the real one is not there */
		env[n++] = "HOME=/tmp";
		env[n++] = "TMPDIR=/tmp";
	} else if (getenv("HOME")) {
		for (e = environ; *e; e++)
			if (named(*e, "HOME"))
				env[n++] = *e;
	}
	for (i = 0; i < nextra; i++)
		if (strchr(extra[i], '='))
			env[n++] = extra[i];
	env[n] = NULL;
	return env;
}

/* ---- the descriptors ---- */

void
lh_sandbox_close_fds(int mode)
{
	struct rlimit rl;
	long fd, max = 65536;

	if (mode == LH_SANDBOX_OFF)
		return;
#ifdef SYS_close_range
	/* close_range(2), Linux 5.9; else one by one below */
	if (syscall(SYS_close_range, 3u, ~0u, 0u) == 0)
		return;
#endif
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur != RLIM_INFINITY)
		max = (long)rl.rlim_cur;
	for (fd = 3; fd < max; fd++)
		close((int)fd);
}

/* ---- the command line ---- */

struct argv {
	char **v;
	size_t n, cap;
};

static void
add(struct argv *a, const char *s)
{
	if (a->n + 2 > a->cap)
		a->v = lh_realloc(a->v, (a->cap = 2 * a->cap + 64) * sizeof *a->v);
	a->v[a->n++] = lh_strdup(s);
	a->v[a->n] = NULL;
}

static void
add3(struct argv *a, const char *op, const char *x, const char *y)
{
	add(a, op);
	add(a, x);
	if (y)
		add(a, y);
}

static int
exists(const char *path, mode_t type)
{
	struct stat st;

	return lstat(path, &st) == 0 && (!type || (st.st_mode & S_IFMT) == type);
}

/* The first line of a small file, trailing space removed; NULL if none. */
static char *
first_line(const char *path)
{
	char *s = lh_read_file(path, NULL);

	if (s) {
		s[strcspn(s, "\n")] = 0;
		if (!*s) {
			free(s);
			s = NULL;
		}
	}
	return s;
}

/* path, or path relative to base, resolved; NULL if it does not exist */
static char *
resolve(const char *base, const char *path)
{
	char buf[8192];

	if (path[0] == '/')
		return realpath(path, NULL);
	if ((size_t)snprintf(buf, sizeof buf, "%s/%s", base, path) >= sizeof buf)
		return NULL;
	return realpath(buf, NULL);
}

static const char *system_dirs[] = {
	"/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc", "/opt", NULL,
};

static int
under_system(const char *path)
{
	const char **d;
	size_t n;

	for (d = system_dirs; *d; d++) {
		n = strlen(*d);
		if (!strncmp(path, *d, n) && (path[n] == '/' || path[n] == 0))
			return 1;
	}
	return 0;
}

/* A directory of PATH that is not a system one: bound whole, read-only,
 * when it holds nothing but programs (one mount: a shims directory may
 * hold hundreds), else each of its programs alone: it may hold much else
 * (a checkout with its test boards, a home). */
static void
bind_programs(struct argv *a, const char *dir)
{
	char path[8192], *real;
	struct dirent *de;
	struct stat st;
	int only_programs = 1;
	DIR *d;

	if (!(d = opendir(dir)))
		return;
	while (only_programs && (de = readdir(d))) {
		if (!strcmp(de->d_name, ".") || !strcmp(de->d_name, "..") ||
		    (size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path)
			continue;
		if (lstat(path, &st) < 0 || S_ISDIR(st.st_mode) ||
		    (S_ISREG(st.st_mode) && !(st.st_mode & 0111)) ||
		    (S_ISLNK(st.st_mode) && (stat(path, &st) < 0 || !S_ISREG(st.st_mode))))
			only_programs = 0;
	}
	if (only_programs && (real = realpath(dir, NULL))) {
		add3(a, "--ro-bind", real, dir);
		free(real);
		closedir(d);
		return;
	}
	rewinddir(d);
	while ((de = readdir(d))) {
		if (de->d_name[0] == '.' ||
		    (size_t)snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= sizeof path)
			continue;
		if (stat(path, &st) < 0 || !S_ISREG(st.st_mode) || !(st.st_mode & 0111))
			continue;
		if (!(real = realpath(path, NULL)))
			continue;
		add3(a, "--ro-bind", real, path);
		free(real);
	}
	closedir(d);
}

/* The git directory of the tree at real, for a linked worktree only when
 * it is registered as this tree's (its gitdir file points back here):
 * the .git file is the agent's to write, its target must not be. */
static void
bind_git(struct argv *a, const char *real)
{
	char dotgit[8192], path[8192], *line, *gitdir = NULL, *common = NULL, *back = NULL;
	const char *name;
	static const char *common_ro[] = { "HEAD", "config", "packed-refs", "shallow", NULL };
	static const char *common_rw[] = { "objects", "refs", "logs", NULL };
	static const char *common_ro_dirs[] = { "refs/remotes", "objects/info", "objects/pack", NULL };
	static const char *own_ro[] = { "gitdir", "commondir", "config.worktree", NULL };
	const char *gitmode = getenv("LONGHAUL_SANDBOX_GIT");
	/* "ro": the common git directory read-only as a whole (a gate reads
	 * the tree; what it could write there, the next gate's tree would
	 * be made of) */
	int ro = gitmode && !strcmp(gitmode, "ro");
	size_t i;

	lh_path(dotgit, sizeof dotgit, "%s/.git", real);
	if (exists(dotgit, S_IFDIR)) {
		/* a repository of its own, inside the tree (a planner's clone,
		 * the judge's checkout): read-only as a whole, and a mount
		 * point, so that it cannot be renamed and replaced by one with
		 * a config (or a commondir file naming one) of the agent's;
		 * git reads there, it does not need to write */
		add3(a, "--ro-bind", dotgit, dotgit);
		lh_path(path, sizeof path, "%s/hooks", dotgit);
		if (exists(path, S_IFDIR)) {
			add3(a, "--tmpfs", path, NULL);
			add3(a, "--remount-ro", path, NULL);
		}
		return;
	}
	if (!exists(dotgit, S_IFREG) || !(line = first_line(dotgit)))
		return;
	if (!strncmp(line, "gitdir: ", 8))
		gitdir = resolve(real, line + 8);
	free(line);
	if (!gitdir)
		return;
	lh_path(path, sizeof path, "%s/gitdir", gitdir);
	if ((line = first_line(path))) {
		back = resolve(gitdir, line);
		free(line);
	}
	lh_path(path, sizeof path, "%s/commondir", gitdir);
	if ((line = first_line(path))) {
		common = resolve(gitdir, line);
		free(line);
	}
	name = strrchr(gitdir, '/') + 1;
	if (!back || strcmp(back, dotgit) || !common ||
	    (size_t)snprintf(path, sizeof path, "%s/worktrees/%s", common, name) >= sizeof path ||
	    strcmp(path, gitdir)) {
		lh_warn("%s: not a worktree registered as this tree's; its git directory is not bound", dotgit);
		goto out;
	}
	add3(a, "--ro-bind", common, common);
	lh_path(path, sizeof path, "%s/hooks", common);
	if (exists(path, S_IFDIR)) {
		add3(a, "--tmpfs", path, NULL);
		add3(a, "--remount-ro", path, NULL);
	}
	for (i = 0; common_rw[i]; i++) {
		lh_path(path, sizeof path, "%s/%s", common, common_rw[i]);
		/* git makes logs/ on the first commit: it must be ours */
		if (!exists(path, S_IFDIR))
			mkdir(path, 0777);
		if (exists(path, S_IFDIR))
			add3(a, ro ? "--ro-bind" : "--bind", path, path);
	}
	for (i = 0; common_ro[i]; i++) {
		lh_path(path, sizeof path, "%s/%s", common, common_ro[i]);
		if (exists(path, S_IFREG))
			add3(a, "--ro-bind", path, path);
	}
	/* Directories of the common git directory that are read-only, each
	 * a mount point made if missing (a file alone could be renamed away
	 * with its directory):
	 * - refs/remotes: the shared branch as the harness last read it,
	 *   from which it decides whether a task landed (its trailer there);
	 *   an agent's forged commit there, or a lock that makes the next
	 *   read fail, would have a task done that never landed (the agent's
	 *   own branch and HEAD stay writable);
	 * - objects/info: alternates, where the harness's git reads the
	 *   shared branch's objects from, which the agent's would hide (or
	 *   name a FIFO);
	 * - objects/pack: git checks no hash when it reads a pack, and packs
	 *   are read before loose objects; what the agent's git writes is
	 *   loose, which the worker checks against the names (clean_store)
	 *   before it makes a tree or stages work from the store. */
	for (i = 0; common_ro_dirs[i]; i++) {
		lh_path(path, sizeof path, "%s/%s", common, common_ro_dirs[i]);
		if (!exists(path, S_IFDIR))
			mkdir(path, 0777);
		if (exists(path, S_IFDIR))
			add3(a, "--ro-bind", path, path);
	}
	add3(a, ro ? "--ro-bind" : "--bind", gitdir, gitdir);
	for (i = 0; own_ro[i]; i++) {
		lh_path(path, sizeof path, "%s/%s", gitdir, own_ro[i]);
		if (exists(path, S_IFREG))
			add3(a, "--ro-bind", path, path);
	}
	add3(a, "--ro-bind", dotgit, dotgit);
out:
	free(gitdir);
	free(common);
	free(back);
}

char **
lh_sandbox_argv(int mode, const char *dir, char *const cmd[])
{
	static char *bwrap;
	struct argv a = { 0 };
	const char *path = getenv("PATH"), *p, *q, *ro = getenv("LONGHAUL_SANDBOX_RO");
	const char **d;
	char buf[8192], target[4096], *real, *s;
	ssize_t n;

	if (mode == LH_SANDBOX_OFF) {
		while (*cmd)
			add(&a, *cmd++);
		return a.v;
	}
	if (!bwrap && !(bwrap = lh_find_program("bwrap")))
		bwrap = "bwrap";
	if (!(real = realpath(dir, NULL)))
		lh_die_errno(2, "%s", dir);
	add(&a, bwrap);
	add3(&a, "--dev", "/dev", NULL);
	add3(&a, "--proc", "/proc", NULL);
	add3(&a, "--tmpfs", "/tmp", NULL);
	for (d = system_dirs; *d; d++) {
		if (exists(*d, S_IFLNK)) {
			if ((n = readlink(*d, target, sizeof target - 1)) > 0) {
				target[n] = 0;
				add3(&a, "--symlink", target, *d);
			}
		} else if (exists(*d, S_IFDIR))
			add3(&a, "--ro-bind", *d, *d);
	}
	for (p = path ? path : ""; *p; p = *q ? q + 1 : q) {
		q = p + strcspn(p, ":");
		if (q - p <= 0 || (size_t)(q - p) >= sizeof buf)
			continue;
		memcpy(buf, p, q - p);
		buf[q - p] = 0;
		if (buf[0] == '/' && !under_system(buf))
			bind_programs(&a, buf);
	}
	/* read-only extras the harness names (the objects a worker's
	 * repository borrows from the shared one) */
	for (p = ro ? ro : ""; *p; p = *q ? q + 1 : q) {
		q = p + strcspn(p, ":");
		if (q - p <= 0 || (size_t)(q - p) >= sizeof buf)
			continue;
		memcpy(buf, p, q - p);
		buf[q - p] = 0;
		if ((s = realpath(buf, NULL))) {
			add3(&a, "--ro-bind", s, s);
			free(s);
		}
	}
	add3(&a, "--bind", real, real);
	bind_git(&a, real);
	add(&a, "--unshare-pid");
	add(&a, "--unshare-ipc");
	add(&a, "--unshare-uts");
	add(&a, "--unshare-cgroup-try");
	if (mode != LH_SANDBOX_NET)
		add(&a, "--unshare-net");
	add(&a, "--die-with-parent");
	add(&a, "--new-session");
	add3(&a, "--cap-drop", "ALL", NULL);
	add3(&a, "--chdir", real, NULL);
	add(&a, "--");
	while (*cmd)
		add(&a, *cmd++);
	free(real);
	return a.v;
}

void
lh_sandbox_free(char **argv)
{
	char **p;

	for (p = argv; p && *p; p++)
		free(*p);
	free(argv);
}

int
lh_sandbox_probe(int mode, const char *dir, char *err, size_t size)
{
	char *cmd[] = { "true", NULL }, **av, *env[] = { "PATH=/usr/bin:/bin", NULL };
	char buf[512];
	int pfd[2], st, fd;
	ssize_t n = 0, r;
	pid_t pid;

	if (mode == LH_SANDBOX_OFF)
		return 0;
	av = lh_sandbox_argv(mode, dir, cmd);
	if (pipe(pfd) < 0) {
		snprintf(err, size, "pipe: %s", strerror(errno));
		lh_sandbox_free(av);
		return -1;
	}
	if ((pid = fork()) < 0) {
		snprintf(err, size, "fork: %s", strerror(errno));
		close(pfd[0]);
		close(pfd[1]);
		lh_sandbox_free(av);
		return -1;
	}
	if (pid == 0) {
		close(pfd[0]);
		if ((fd = open("/dev/null", O_RDWR)) >= 0) {
			dup2(fd, 0);
			dup2(fd, 1);
		}
		dup2(pfd[1], 2);
		lh_sandbox_close_fds(mode);
		execve(av[0], av, env);
		dprintf(2, "%s: %s", av[0], strerror(errno));
		_exit(127);
	}
	close(pfd[1]);
	while (n < (ssize_t)sizeof buf - 1 &&
	    ((r = read(pfd[0], buf + n, sizeof buf - 1 - n)) > 0 || (r < 0 && errno == EINTR)))
		if (r > 0)
			n += r;
	close(pfd[0]);
	buf[n] = 0;
	buf[strcspn(buf, "\n")] = 0;
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	lh_sandbox_free(av);
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	snprintf(err, size, "the sandbox cannot start here (%s); "
	    "LONGHAUL_SANDBOX=off runs commands without it", *buf ? buf : "bwrap failed");
	return -1;
}

char *
lh_find_program(const char *name)
{
	const char *path = getenv("PATH"), *p, *q;
	char buf[4096];

	for (p = path ? path : "/usr/bin:/bin"; *p; p = *q ? q + 1 : q) {
		q = p + strcspn(p, ":");
		if ((size_t)snprintf(buf, sizeof buf, "%.*s/%s", (int)(q - p), p, name) >= sizeof buf)
			continue;
		if (access(buf, X_OK) == 0)
			return lh_strdup(buf);
	}
	return NULL;
}

/* lh_sandbox_argv with more of the host in it, for a program the harness
 * trusts more than an agent's commands (an engine, engine-run(1)): each
 * path of ro and of rw (NULL-terminated lists, either may be NULL) that
 * exists is bound at its real path, read-only or writable, after the
 * tree; the rest of the view is lh_sandbox_argv's. */
char **
lh_sandbox_argv_binds(int mode, const char *dir, char *const ro[], char *const rw[],
    char *const cmd[])
{
	char **base = lh_sandbox_argv(mode, dir, cmd), *real;
	struct argv a = { 0 };
	size_t n = 0, ncmd = 0, i;

	if (mode == LH_SANDBOX_OFF)
		return base;
	while (base[n])
		n++;
	while (cmd[ncmd])
		ncmd++;
	/* base ends with "--" and cmd: the binds go before them */
	if (n < ncmd + 2 || strcmp(base[n - ncmd - 1], "--"))
		lh_die(2, "lh_sandbox_argv_binds: the sandbox's command line does not end with -- and the command");
	for (i = 0; i < n - ncmd - 1; i++)
		add(&a, base[i]);
	for (i = 0; ro && ro[i]; i++)
		if ((real = realpath(ro[i], NULL))) {
			add3(&a, "--ro-bind", real, real);
			free(real);
		}
	for (i = 0; rw && rw[i]; i++)
		if ((real = realpath(rw[i], NULL))) {
			add3(&a, "--bind", real, real);
			free(real);
		}
	for (i = n - ncmd - 1; i < n; i++)
		add(&a, base[i]);
	lh_sandbox_free(base);
	return a.v;
}
