/* agent.h: agent-step.c, included whole by the agent-* harnesses so its
 * static parsers can be reached; its main() renamed, its lh_die()
 * caught (fuzz.h), its transcript written to /dev/null, no tree hashes
 * (they run git). */
#define FUZZ_CATCH_DIE
#include "fuzz.h"
#define main agent_step_main
#include "../../src/agent-step.c"
#undef main

static void
agent_setup(void)
{
	static int done;

	if (done)
		return;
	done = 1;
	fsync_on = 0;
	stuck_unchanged = 0;
	transcript_path = "transcript";
	if ((tfd = open("/dev/null", O_WRONLY)) < 0)
		abort();
}
