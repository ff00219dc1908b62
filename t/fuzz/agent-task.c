/* agent-task: a task record as agent-step reads it on the first step
 * (src/agent-step.c): its limits (from_task) and the task message built
 * from its id, title, body and verification commands (start). The
 * record comes from the board, which anyone with the board can write.
 *
 * Input: the task file (JSON, as task-show prints it).
 */
#include "agent.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char path[128], prompt[128];

	agent_setup();
	if (!path[0]) {
		snprintf(path, sizeof path, "%s/task.json", fuzz_scratch());
		snprintf(prompt, sizeof prompt, "%s/prompt.md", fuzz_scratch());
		fuzz_write_file(prompt, "You are a worker.\n", 18);
	}
	fuzz_write_file(path, data, size);
	task_path = path;
	prompt_path = prompt;
	max_steps = max_seconds = -1;
	max_tokens = max_usd = -1;
	lines = json_array();
	if (setjmp(fuzz_jmp) == 0) {
		from_task();
		start();
	}
	json_decref(lines);
	lines = NULL;
	return 0;
}
