/* agent-reply: the model's text reply as agent-step reads an action
 * from it (src/agent-step.c, text_action): exactly one ```bash (or
 * ```sh) block, or a ```submit block with the handoff note.
 *
 * Input: the reply's text (the part before a NUL, and only valid UTF-8:
 * it comes out of a JSON string). Checked besides memory and UB: an
 * action is always found or refused, and a command found is a substring
 * of the text.
 */
#include "agent.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = fuzz_string(data, size);
	json_t *act, *resp;
	const char *cmd;

	agent_setup();
	if (!lh_utf8_valid(text, strlen(text))) {
		free(text);
		return 0;
	}
	if (setjmp(fuzz_jmp))
		abort();
	act = text_action(text);
	if (!act)
		abort();
	cmd = json_string_value(json_object_get(act, "command"));
	if (cmd && !strstr(text, cmd))
		abort();
	json_decref(act);
	/* the same text as a reply without tool calls */
	if ((resp = json_pack("{s:s,s:[]}", "text", text, "tool_calls"))) {
		json_decref(action_of(resp));
		json_decref(resp);
	}
	free(text);
	return 0;
}
