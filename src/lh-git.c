/* lh-git.c: running git on a repository named on the command line.
 *
 * git is started with an argv, never through a shell, so a branch or a
 * path that an agent chose is one argument whatever bytes it holds. The
 * child is made by posix_spawnp with an environment built beforehand:
 * nothing runs between the fork and the exec, so this is safe in a
 * process with threads too.
 *
 * The repository is the one given, not the caller's: the variables by
 * which git finds a repository (the list `git rev-parse --local-env-vars`
 * prints, which git itself drops to reach another repository) are left
 * out of the child's environment. A tool run from a hook, where GIT_DIR
 * and GIT_INDEX_FILE point at the hook's repository, reads the right one.
 */
#include <errno.h>
#include <fcntl.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "longhaul.h"

extern char **environ;

static const char *const local_vars[] = {
	"GIT_ALTERNATE_OBJECT_DIRECTORIES", "GIT_CONFIG", "GIT_CONFIG_PARAMETERS",
	"GIT_CONFIG_COUNT", "GIT_OBJECT_DIRECTORY", "GIT_DIR", "GIT_WORK_TREE",
	"GIT_IMPLICIT_WORK_TREE", "GIT_GRAFT_FILE", "GIT_INDEX_FILE",
	"GIT_NO_REPLACE_OBJECTS", "GIT_REPLACE_REF_BASE", "GIT_PREFIX",
	"GIT_INTERNAL_SUPER_PREFIX", "GIT_SHALLOW_FILE", "GIT_COMMON_DIR", NULL
};

static int
is_local_var(const char *entry)
{
	const char *const *v;
	size_t n;

	for (v = local_vars; *v; v++) {
		n = strlen(*v);
		if (!strncmp(entry, *v, n) && entry[n] == '=')
			return 1;
	}
	return 0;
}

pid_t
lh_git_start(const char *repo, const char *const args[], FILE **out, int quiet)
{
	posix_spawn_file_actions_t fa;
	const char **argv;
	char **env;
	size_t nargs, nenv, i, k;
	int fd[2] = { -1, -1 }, err;
	pid_t pid = -1;

	if (out)
		*out = NULL;
	for (nargs = 0; args[nargs]; nargs++)
		;
	argv = lh_malloc((nargs + 4) * sizeof *argv);
	argv[0] = "git";
	argv[1] = "-C";
	argv[2] = repo;
	for (i = 0; i <= nargs; i++)
		argv[3 + i] = args[i];
	for (nenv = 0; environ[nenv]; nenv++)
		;
	env = lh_malloc((nenv + 1) * sizeof *env);
	for (i = k = 0; i < nenv; i++)
		if (!is_local_var(environ[i]))
			env[k++] = environ[i];
	env[k] = NULL;
	if (out && pipe(fd) != 0) {
		free(argv);
		free(env);
		return -1;
	}
	if ((err = posix_spawn_file_actions_init(&fa)) == 0) {
		posix_spawn_file_actions_addopen(&fa, 0, "/dev/null", O_RDONLY, 0);
		if (out) {
			posix_spawn_file_actions_adddup2(&fa, fd[1], 1);
			posix_spawn_file_actions_addclose(&fa, fd[0]);
			posix_spawn_file_actions_addclose(&fa, fd[1]);
		} else {
			posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
		}
		if (quiet)
			posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
		/* what we printed goes out before what git prints */
		fflush(stdout);
		err = posix_spawnp(&pid, "git", &fa, NULL, (char *const *)argv, env);
		posix_spawn_file_actions_destroy(&fa);
	}
	free(argv);
	free(env);
	if (out)
		close(fd[1]);
	if (err) {
		if (out)
			close(fd[0]);
		errno = err;
		return -1;
	}
	if (out && !(*out = fdopen(fd[0], "r"))) {
		err = errno;
		close(fd[0]);
		lh_git_wait(pid);
		errno = err;
		return -1;
	}
	return pid;
}

int
lh_git_wait(pid_t pid)
{
	int st;

	while (waitpid(pid, &st, 0) < 0)
		if (errno != EINTR)
			return -1;
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int
lh_git_run(const char *repo, const char *const args[], int quiet)
{
	pid_t pid = lh_git_start(repo, args, NULL, quiet);

	return pid < 0 ? -1 : lh_git_wait(pid);
}
