/* reply: a model server's reply as the model client reads it, both
 * providers: the status line and headers (Retry-After, retry-after-ms,
 * x-should-retry, Content-Type), then the body, streamed (SSE) or not,
 * an error body, fed to the client in chunks at boundaries the input
 * chooses; then the normalized response built from it.
 *
 * Input: a control line, then the reply as it comes off the wire.
 *   control: its first byte picks the provider ('a' Anthropic, else
 *   OpenAI); 'x' anywhere in it ends the transfer with a connection
 *   error; 'm' followed by digits sets LONGHAUL_MAX_REPLY_BYTES; other
 *   numbers are the chunk sizes, cycled.
 *   headers: lines up to an empty one ("HTTP/1.1 200 OK" is assumed when
 *   the first is not a status line), then the body.
 *
 * Checked besides memory and UB: the result does not depend on where
 * the chunks break (the same reply in one piece gives the same text,
 * tool calls, stop reason, usage and error), the text passed to on_text
 * as it streams is the final text, and the normalized response is JSON.
 */
#define FUZZ_CATCH_DIE
#include "fuzz.h"
#include "../../src/lh-llm.c"

static struct buf streamed;

static void
on_text(const char *s, size_t n, void *arg)
{
	(void)arg;
	llm_buf_add(&streamed, s, n);
}

struct outcome {
	char *text, *tools, *err;
	char stop[32];
	json_int_t usage[4];
};

static void
run(const uint8_t *data, size_t size, int whole, struct outcome *out)
{
	static const struct lh_llm_options opt = { .stream = 1, .on_text = on_text };
	const char *p = (const char *)data, *end = p + size, *nl, *body;
	size_t chunks[64], nchunks = 0, k = 0, n, max_reply = 1 << 20;
	int anthropic, cut = 0, first = 1, short_write = 0;
	struct call c;
	json_t *r;
	char line[1024];

	memset(&c, 0, sizeof c);
	memset(out, 0, sizeof *out);
	streamed.len = 0;
	nl = memchr(p, '\n', size);
	if (!nl)
		return;
	anthropic = size && p[0] == 'a';
	for (const char *q = p; q < nl; q++) {
		if (*q == 'x')
			cut = 1;
		if (*q == 'm' && q + 1 < nl && q[1] >= '0' && q[1] <= '9') {
			max_reply = strtoul(q + 1, (char **)&q, 10) % (1 << 20) + 1;
			q--;
		} else if (*q >= '0' && *q <= '9' && nchunks < 64) {
			chunks[nchunks++] = strtoul(q, (char **)&q, 10) % 4096 + 1;
			q--;
		}
	}
	c.opt = &opt;
	snprintf(c.m.provider, sizeof c.m.provider, "%s", anthropic ? "anthropic" : "openai");
	c.m.name = lh_strdup("fuzz-model");
	reset_attempt(&c);
	c.max_reply = max_reply;
	c.request_bytes = 1000;
	c.max_tokens = 4096;
	/* headers, as curl hands them over: one line each, with its CRLF */
	for (p = nl + 1; p < end; p = nl + 1) {
		if (!(nl = memchr(p, '\n', end - p)))
			nl = end;
		n = nl - p;
		if (n && p[n - 1] == '\r')
			n--;
		if (first && (n < 5 || memcmp(p, "HTTP/", 5)))
			on_header((char *)"HTTP/1.1 200 OK\r\n", 1, 17, &c);
		first = 0;
		if (n == 0) {
			p = nl < end ? nl + 1 : end;
			break;
		}
		snprintf(line, sizeof line, "%.*s\r\n", (int)(n < 1000 ? n : 1000), p);
		on_header(line, 1, strlen(line), &c);
	}
	if (first)
		on_header((char *)"HTTP/1.1 200 OK\r\n", 1, 17, &c);
	body = p < end ? p : end;
	/* the body, as curl's write callback gets it */
	for (p = body; p < end; p += n) {
		n = whole || !nchunks ? (size_t)(end - p) : chunks[k++ % nchunks];
		if (n > (size_t)(end - p))
			n = end - p;
		if (on_body((char *)p, 1, n, &c) != n) {
			short_write = 1;
			break;
		}
	}
	finish_attempt(&c, short_write ? CURLE_WRITE_ERROR : cut ? CURLE_RECV_ERROR : CURLE_OK, "");
	if (!c.err[0] && c.opt->on_text && c.streaming && c.http_status == 200 &&
	    (streamed.len != c.text.len || memcmp(llm_buf_str(&streamed), llm_buf_str(&c.text), c.text.len))) {
		fprintf(stderr, "text passed to on_text differs from the reply's text\n");
		abort();
	}
	r = response_json(&c, 1, lh_monotonic());
	if (!r || !json_is_object(r))
		abort();
	out->text = lh_strdup(json_string_value(json_object_get(r, "text")) ?
	    json_string_value(json_object_get(r, "text")) : "");
	out->tools = json_dumps(json_object_get(r, "tool_calls"), JSON_COMPACT | JSON_SORT_KEYS);
	json_decref(r);
	out->err = lh_strdup(c.err);
	snprintf(out->stop, sizeof out->stop, "%s", c.stop);
	out->usage[0] = c.input, out->usage[1] = c.output;
	out->usage[2] = c.cache_read, out->usage[3] = c.cache_write;
	if (c.received > max_reply || c.text.len > max_reply)
		abort();
	if (c.input < 0 || c.output < 0 || c.cache_read < 0 || c.cache_write < 0) {
		fprintf(stderr, "negative usage: %lld %lld %lld %lld\n", (long long)c.input,
		    (long long)c.output, (long long)c.cache_read, (long long)c.cache_write);
		abort();
	}
	free_call(&c);
}

static void
drop(struct outcome *o)
{
	free(o->text);
	free(o->tools);
	free(o->err);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct outcome a, b;

	setenv("LONGHAUL_SHARE", "/nonexistent", 1);
	if (setjmp(fuzz_jmp))
		abort();        /* nothing here may die */
	run(data, size, 0, &a);
	run(data, size, 1, &b);
	if ((strcmp(a.text ? a.text : "", b.text ? b.text : "") ||
	    strcmp(a.tools ? a.tools : "", b.tools ? b.tools : "") ||
	    strcmp(a.err ? a.err : "", b.err ? b.err : "") || strcmp(a.stop, b.stop) ||
	    memcmp(a.usage, b.usage, sizeof a.usage))) {
		fprintf(stderr, "chunked and whole replies differ:\n err %s | %s\n stop %s | %s\n tools %s | %s\n",
		    a.err, b.err, a.stop, b.stop, a.tools, b.tools);
		abort();
	}
	drop(&a);
	drop(&b);
	return 0;
}
