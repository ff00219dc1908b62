/* mock-rules: llm-mock's rules file (src/llm-mock.c): each line parsed
 * into a rule, and each rule's reply built for a request and turned into
 * what llm-mock sends: SSE events and JSON bodies of both providers.
 *
 * Input: the rules file (JSON lines).
 */
#include "mock.h"

static const char body[] = "{\"model\":\"m\",\"messages\":[{\"role\":\"user\","
    "\"content\":\"hello world 42\"}],\"stream\":true}";

static void
free_events(struct events *ev)
{
	size_t k;

	for (k = 0; k < ev->n; k++)
		free(ev->ev[k]);
	free(ev->ev);
	free(ev->is_content);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *p = (const char *)data, *end = p + size, *nl;
	struct rule r;
	struct reply rp;
	char err[300];
	int lineno = 0;

	if (setjmp(fuzz_jmp))
		abort();
	for (; p < end; p = nl + 1) {
		if (!(nl = memchr(p, '\n', end - p)))
			nl = end;
		lineno++;
		if (rule_parse(&r, p, nl - p, lineno, err, sizeof err) < 0)
			continue;
		build_reply(&rp, r.reply, body, sizeof body - 1, &r);
		/* a text of megabytes in 16-byte events is legal but slow */
		if (strlen(rp.text) < (1 << 16) || r.chunk > 4096) {
			struct events ev = { 0 };
			json_t *b;

			openai_events(&ev, &rp, "m", 1, r.chunk);
			anthropic_events(&ev, &rp, "m", r.chunk);
			free_events(&ev);
			json_decref(b = openai_body(&rp, "m"));
			json_decref(b = anthropic_body(&rp, "m"));
		}
		free_reply(&rp);
		rule_free(&r);
	}
	return 0;
}
