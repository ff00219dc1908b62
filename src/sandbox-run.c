/* sandbox-run: run one command the way longhaul runs what agents could
 * have written (a task's verification command, a gate): in the sandbox
 * of lh-sandbox.c, with dir writable and nothing else of ours, and an
 * environment built from the allow-list.
 *
 * It execs bwrap (after one probe, so that a sandbox that cannot start
 * is told apart from a command that fails): the command's exit status
 * is sandbox-run's, and a signal to sandbox-run ends the whole sandbox.
 * Every process of the sandbox has its cwd in dir from its start, so
 * that one that outlives bwrap's first process is found by its cwd.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] = "sandbox-run [-e NAME[=VALUE]]... [-d dir] command [argument...]";
static const char manual[] =
"usage: sandbox-run [-e NAME[=VALUE]]... [-d dir] command [argument...]\n"
"Run a command in longhaul's sandbox: dir (default .) writable, the\n"
"system read-only, nothing else of the caller's, no network, its own\n"
"PID namespace; the environment from an allow-list.\n"
"  -e NAME        pass this variable of ours; NAME=VALUE sets it\n"
"  -d dir         the tree the command may change (default .)\n"
"LONGHAUL_SANDBOX=net keeps the network, =off runs the command as it is.\n"
"Exit status: the command's; 125 the sandbox cannot start here (or a bad\n"
"LONGHAUL_SANDBOX); 126 bad\n"
"usage or dir; 127 the command was not found.\n";

int
main(int argc, char **argv)
{
	const char *dir = ".";
	char **extra = NULL, **env, **av, why[400];
	size_t nextra = 0;
	int c, mode;

	lh_init(argc, argv);
	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "+e:d:")) != -1)
		switch (c) {
		case 'e':
			extra = lh_realloc(extra, (nextra + 1) * sizeof *extra);
			extra[nextra++] = optarg;
			break;
		case 'd': dir = optarg; break;
		default: fprintf(stderr, "usage: %s\n", usage); exit(126);
		}
	if (optind >= argc) {
		fprintf(stderr, "usage: %s\n", usage);
		exit(126);
	}
	if (access(dir, X_OK) < 0)
		lh_die_errno(126, "%s", dir);
	if ((mode = lh_sandbox_mode()) < 0)
		exit(125);
	if (lh_sandbox_probe(mode, dir, why, sizeof why) < 0)
		lh_die(125, "%s", why);
	env = lh_sandbox_env(mode, extra, nextra);
	av = lh_sandbox_argv(mode, dir, argv + optind);
	/* bwrap too starts in dir: a sandbox process left behind when
	 * bwrap's first process is killed during its set-up (its second
	 * waits on an eventfd that nobody will write, and its death signal
	 * is not set yet) has its cwd in the tree, where the worker finds
	 * and kills whatever is left before the tree is used again */
	if (chdir(dir) < 0)
		lh_die_errno(126, "%s", dir);
	if (mode == LH_SANDBOX_OFF) {
		char *prog;
		if (!strchr(av[0], '/') && (prog = lh_find_program(av[0])))
			av[0] = prog;
	}
	lh_sandbox_close_fds(mode);
	execve(av[0], av, env);
	lh_die_errno(127, "%s", av[0]);
}
