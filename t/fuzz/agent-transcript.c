/* agent-transcript: a transcript as agent-step reads it back on resume
 * (src/agent-step.c): parsed line by line, an interrupted step
 * recovered, the limits and stuck detection surveyed, the conversation
 * rebuilt from it and turned into requests in both wire formats.
 *
 * Input: the transcript file (JSON lines).
 */
#include "agent.h"
#include "../../src/lh-llm.h"

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char err[300], why[200], *text = fuzz_string(data, size), *s;
	struct lh_llm_options opt = { .stream = 1 };
	struct call c;
	struct state st;
	size_t keep;
	json_t *conv, *rq, *resp, *act, *last;

	agent_setup();
	lines = json_array();
	if (setjmp(fuzz_jmp))
		goto out;
	if (lh_transcript_parse(text, size, lines, &keep, err, sizeof err) < 0)
		goto out;
	if (keep > size)
		abort();
	recover();
	survey(&st);
	stuck(why, sizeof why);
	conv = conversation();
	memset(&c, 0, sizeof c);
	c.opt = &opt;
	c.m.name = "fuzz-model";
	rq = llm_openai_request(&c, conv, 4096, json_string_value(json_object_get(conv, "system")));
	if (!rq || !(s = json_dumps(rq, JSON_COMPACT)))
		abort();
	free(s);
	json_decref(rq);
	rq = llm_anthropic_request(&c, conv, 4096, json_string_value(json_object_get(conv, "system")));
	if (!rq || !(s = json_dumps(rq, JSON_COMPACT)))
		abort();
	free(s);
	json_decref(rq);
	json_decref(conv);
	/* the last reply's action, as if it had just arrived */
	if ((last = last_assistant(NULL))) {
		resp = json_pack("{s:O?,s:O?}", "text", json_object_get(last, "content"),
		    "tool_calls", json_object_get(last, "tool_calls"));
		if (resp && (act = action_of(resp)))
			json_decref(act);
		json_decref(resp);
	}
out:
	json_decref(lines);
	lines = NULL;
	free(text);
	return 0;
}
