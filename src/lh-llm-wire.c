/* lh-llm-wire.c: the two wire formats, OpenAI Chat Completions and
 * Anthropic Messages: the request built from the normalized
 * conversation, and the reply (a JSON body, or an SSE stream fed in
 * whatever chunks the network gives) parsed into the call's normalized
 * state: text, tool calls, stop reason, usage.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <curl/curl.h>

#include "longhaul.h"
#include "lh-llm.h"

/* ---- requests in each wire format ---- */

static json_t *
args_string(json_t *call)
{
	json_t *a = json_object_get(call, "arguments");
	char *s;

	if (!a && json_is_string(a = json_object_get(call, "arguments_raw")))
		return json_incref(a);
	if (!a || !(s = json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY)))
		return json_string("{}");
	a = json_string(s);
	free(s);
	return a ? a : json_string("{}");
}

static const char *
content_text(json_t *msg)
{
	const char *s = json_string_value(json_object_get(msg, "content"));

	return s ? s : "";
}

json_t *
llm_openai_request(struct call *c, json_t *rq, long max_tokens, const char *system)
{
	json_t *out, *msgs = json_array(), *tools, *m, *t, *x;
	size_t i, k;

	if (system)
		json_array_append_new(msgs, json_pack("{s:s,s:s}", "role", "system", "content", system));
	json_array_foreach(json_object_get(rq, "messages"), i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));

		if (!role)
			role = "user";
		if (!strcmp(role, "tool")) {
			x = json_pack("{s:s,s:s,s:s}", "role", "tool", "tool_call_id",
			    json_string_value(json_object_get(m, "tool_call_id")) ?
			    json_string_value(json_object_get(m, "tool_call_id")) : "", "content", content_text(m));
		} else if (!strcmp(role, "assistant")) {
			json_t *calls = json_object_get(m, "tool_calls"), *oc = json_array();

			x = json_pack("{s:s}", "role", "assistant");
			json_object_set_new(x, "content", json_object_get(m, "content") ?
			    json_string(content_text(m)) : json_null());
			json_array_foreach(calls, k, t)
				json_array_append_new(oc, json_pack("{s:s,s:s,s:{s:s,s:o}}",
				    "id", json_string_value(json_object_get(t, "id")) ?
				    json_string_value(json_object_get(t, "id")) : "",
				    "type", "function", "function", "name",
				    json_string_value(json_object_get(t, "name")) ?
				    json_string_value(json_object_get(t, "name")) : "", "arguments", args_string(t)));
			if (json_array_size(oc))
				json_object_set_new(x, "tool_calls", oc);
			else
				json_decref(oc);
		} else
			x = json_pack("{s:s,s:s}", "role", role, "content", content_text(m));
		json_array_append_new(msgs, x);
	}
	out = json_pack("{s:s,s:o,s:I}", "model", c->m.name, "messages", msgs, "max_tokens", (json_int_t)max_tokens);
	if ((tools = json_object_get(rq, "tools")) && json_array_size(tools)) {
		x = json_array();
		json_array_foreach(tools, i, t) {
			json_t *f = json_pack("{s:s}", "name", json_string_value(json_object_get(t, "name")) ?
			    json_string_value(json_object_get(t, "name")) : "");

			if (json_object_get(t, "description"))
				json_object_set(f, "description", json_object_get(t, "description"));
			json_object_set_new(f, "parameters", json_object_get(t, "parameters") ?
			    json_incref(json_object_get(t, "parameters")) : json_pack("{s:s}", "type", "object"));
			json_array_append_new(x, json_pack("{s:s,s:o}", "type", "function", "function", f));
		}
		json_object_set_new(out, "tools", x);
	}
	if ((x = json_object_get(rq, "schema")))
		json_object_set_new(out, "response_format", json_pack("{s:s,s:{s:s,s:O}}",
		    "type", "json_schema", "json_schema", "name", "response", "schema", x));
	if (c->opt->stream) {
		json_object_set_new(out, "stream", json_true());
		json_object_set_new(out, "stream_options", json_pack("{s:b}", "include_usage", 1));
	}
	return out;
}

/* OpenAI's Responses API: the conversation as input items (messages,
 * function_call and function_call_output), the system prompt as
 * instructions. */
json_t *
llm_responses_request(struct call *c, json_t *rq, long max_tokens, const char *system)
{
	json_t *out, *items = json_array(), *m, *t, *x;
	size_t i, k;

	json_array_foreach(json_object_get(rq, "messages"), i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));
		const char *id;

		if (!role)
			role = "user";
		if (!strcmp(role, "tool")) {
			id = json_string_value(json_object_get(m, "tool_call_id"));
			json_array_append_new(items, json_pack("{s:s,s:s,s:s}", "type", "function_call_output",
			    "call_id", id ? id : "", "output", content_text(m)));
			continue;
		}
		if (*content_text(m) || strcmp(role, "assistant"))
			json_array_append_new(items, json_pack("{s:s,s:s}", "role", role, "content", content_text(m)));
		json_array_foreach(json_object_get(m, "tool_calls"), k, t) {
			id = json_string_value(json_object_get(t, "id"));
			json_array_append_new(items, json_pack("{s:s,s:s,s:s,s:o}", "type", "function_call",
			    "call_id", id ? id : "", "name", json_string_value(json_object_get(t, "name")) ?
			    json_string_value(json_object_get(t, "name")) : "", "arguments", args_string(t)));
		}
	}
	out = json_pack("{s:s,s:o,s:I,s:b}", "model", c->m.name, "input", items,
	    "max_output_tokens", (json_int_t)max_tokens, "store", 0);
	if (system && *system)
		json_object_set_new(out, "instructions", json_string(system));
	if ((t = json_object_get(rq, "tools")) && json_array_size(t)) {
		x = json_array();
		json_array_foreach(t, i, m) {
			json_t *f = json_pack("{s:s,s:s}", "type", "function", "name",
			    json_string_value(json_object_get(m, "name")) ? json_string_value(json_object_get(m, "name")) : "");

			if (json_object_get(m, "description"))
				json_object_set(f, "description", json_object_get(m, "description"));
			json_object_set_new(f, "parameters", json_object_get(m, "parameters") ?
			    json_incref(json_object_get(m, "parameters")) : json_pack("{s:s}", "type", "object"));
			json_array_append_new(x, f);
		}
		json_object_set_new(out, "tools", x);
	}
	if ((x = json_object_get(rq, "schema")))
		json_object_set_new(out, "text", json_pack("{s:{s:s,s:s,s:O}}", "format",
		    "type", "json_schema", "name", "response", "schema", x));
	if (c->opt->stream)
		json_object_set_new(out, "stream", json_true());
	return out;
}

/* Append blocks to the last message if it has the same role (Anthropic
 * wants user and assistant turns to alternate). */
static void
anthropic_add(json_t *msgs, const char *role, json_t *blocks)
{
	json_t *last = json_array_get(msgs, json_array_size(msgs) - 1);

	if (last && !strcmp(json_string_value(json_object_get(last, "role")), role)) {
		json_array_extend(json_object_get(last, "content"), blocks);
		json_decref(blocks);
	} else
		json_array_append_new(msgs, json_pack("{s:s,s:o}", "role", role, "content", blocks));
}

json_t *
llm_anthropic_request(struct call *c, json_t *rq, long max_tokens, const char *system)
{
	json_t *out, *msgs = json_array(), *m, *t, *x, *blocks, *last;
	size_t i, k;

	json_array_foreach(json_object_get(rq, "messages"), i, m) {
		const char *role = json_string_value(json_object_get(m, "role"));

		blocks = json_array();
		if (role && !strcmp(role, "tool")) {
			json_array_append_new(blocks, json_pack("{s:s,s:s,s:s}", "type", "tool_result",
			    "tool_use_id", json_string_value(json_object_get(m, "tool_call_id")) ?
			    json_string_value(json_object_get(m, "tool_call_id")) : "", "content", content_text(m)));
			anthropic_add(msgs, "user", blocks);
			continue;
		}
		if (*content_text(m))
			json_array_append_new(blocks, json_pack("{s:s,s:s}", "type", "text", "text", content_text(m)));
		if (role && !strcmp(role, "assistant")) {
			json_array_foreach(json_object_get(m, "tool_calls"), k, t) {
				json_t *a = json_object_get(t, "arguments");

				json_array_append_new(blocks, json_pack("{s:s,s:s,s:s,s:o}", "type", "tool_use",
				    "id", json_string_value(json_object_get(t, "id")) ?
				    json_string_value(json_object_get(t, "id")) : "",
				    "name", json_string_value(json_object_get(t, "name")) ?
				    json_string_value(json_object_get(t, "name")) : "",
				    "input", json_is_object(a) ? json_incref(a) : json_object()));
			}
			if (!json_array_size(blocks))
				json_array_append_new(blocks, json_pack("{s:s,s:s}", "type", "text", "text", "..."));
			anthropic_add(msgs, "assistant", blocks);
		} else {
			if (!json_array_size(blocks))
				json_array_append_new(blocks, json_pack("{s:s,s:s}", "type", "text", "text", "..."));
			anthropic_add(msgs, "user", blocks);
		}
	}
	/* cache the conversation so far: an agent's next step re-sends it */
	if ((last = json_array_get(msgs, json_array_size(msgs) - 1))) {
		blocks = json_object_get(last, "content");
		json_object_set_new(json_array_get(blocks, json_array_size(blocks) - 1),
		    "cache_control", json_pack("{s:s}", "type", "ephemeral"));
	}
	out = json_pack("{s:s,s:o,s:I}", "model", c->m.name, "messages", msgs, "max_tokens", (json_int_t)max_tokens);
	if (system && *system)
		json_object_set_new(out, "system", json_pack("[{s:s,s:s,s:{s:s}}]", "type", "text",
		    "text", system, "cache_control", "type", "ephemeral"));
	if ((t = json_object_get(rq, "tools")) && json_array_size(t)) {
		x = json_array();
		json_array_foreach(t, i, m) {
			json_t *d = json_pack("{s:s}", "name", json_string_value(json_object_get(m, "name")) ?
			    json_string_value(json_object_get(m, "name")) : "");

			if (json_object_get(m, "description"))
				json_object_set(d, "description", json_object_get(m, "description"));
			json_object_set_new(d, "input_schema", json_object_get(m, "parameters") ?
			    json_incref(json_object_get(m, "parameters")) : json_pack("{s:s}", "type", "object"));
			json_array_append_new(x, d);
		}
		json_object_set_new(out, "tools", x);
	}
	if (c->opt->stream)
		json_object_set_new(out, "stream", json_true());
	return out;
}

/* ---- replies ---- */

/* The tool call at a server-given index (OpenAI's "index", Anthropic's
 * content block index): in [0, LLM_MAX_TOOL_CALLS), else the reply is
 * malformed and NULL. */
static struct tool *
tool_at(struct call *c, json_int_t index)
{
	size_t i;

	if (index < 0 || index >= LLM_MAX_TOOL_CALLS) {
		if (!c->err[0])
			llm_set_error(c, 1, "malformed reply: tool call index %lld out of range (0 to %d)",
			    (long long)index, LLM_MAX_TOOL_CALLS - 1);
		return NULL;
	}
	for (i = 0; i < c->ntools; i++)
		if (c->tools[i].index == index)
			return &c->tools[i];
	c->tools = lh_realloc(c->tools, (c->ntools + 1) * sizeof *c->tools);
	memset(&c->tools[c->ntools], 0, sizeof *c->tools);
	c->tools[c->ntools].index = (int)index;
	return &c->tools[c->ntools++];
}

/* the tool call of a block that started as a client tool_use, or NULL:
 * the server's own tools (server_tool_use, web search) stream
 * input_json_delta too, and are no call of ours */
static struct tool *
tool_started(struct call *c, int index)
{
	size_t i;

	for (i = 0; i < c->ntools; i++)
		if (c->tools[i].index == index)
			return &c->tools[i];
	return NULL;
}

static void
add_text(struct call *c, const char *s, size_t n)
{
	if (!n)
		return;
	llm_buf_add(&c->text, s, n);
	c->content_seen = 1;
}

/* Pass the text that arrived to on_text: once per network read, not per
 * event, so a fast stream costs one write per read. */
void
llm_flush_text(struct call *c)
{
	if (c->opt->on_text && c->text.len > c->emitted) {
		c->opt->on_text(c->text.s + c->emitted, c->text.len - c->emitted, c->opt->on_text_arg);
		c->emitted = c->text.len;
	}
}

static void
set_stop(struct call *c, const char *reason)
{
	const char *s = "other";

	if (!reason)
		return;
	if (!strcmp(reason, "stop") || !strcmp(reason, "end_turn") || !strcmp(reason, "stop_sequence"))
		s = "end";
	else if (!strcmp(reason, "tool_calls") || !strcmp(reason, "tool_use") || !strcmp(reason, "function_call"))
		s = "tool_calls";
	else if (!strcmp(reason, "length") || !strcmp(reason, "max_tokens"))
		s = "max_tokens";
	snprintf(c->stop, sizeof c->stop, "%s", s);
}

/* A token count from the server: absent (or null) is 0; anything but an
 * integer in [0, LLM_MAX_USAGE] is not believed: the first such field is
 * kept in c->usage_bad, and the call ends with a permanent error whose
 * usage is counted conservatively (lh_llm_call). */
static json_int_t
usage_count(struct call *c, json_t *u, const char *key)
{
	json_t *v = json_object_get(u, key);
	char *s;

	if (!v || json_is_null(v))
		return 0;
	if (json_is_integer(v) && json_integer_value(v) >= 0 && json_integer_value(v) <= LLM_MAX_USAGE)
		return json_integer_value(v);
	if (!c->usage_bad[0]) {
		s = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
		snprintf(c->usage_bad, sizeof c->usage_bad, "%s is %.40s", key, s ? s : "?");
		free(s);
	}
	return 0;
}

static void
openai_usage(struct call *c, json_t *u)
{
	json_int_t prompt, cached;

	if (!json_is_object(u))
		return;
	prompt = usage_count(c, u, "prompt_tokens");
	cached = usage_count(c, json_object_get(u, "prompt_tokens_details"), "cached_tokens");
	if (cached > prompt) {
		if (!c->usage_bad[0])
			snprintf(c->usage_bad, sizeof c->usage_bad, "cached_tokens %lld exceeds prompt_tokens %lld",
			    (long long)cached, (long long)prompt);
		cached = prompt;
	}
	/* a running total on some servers: keep the last, never sum */
	c->input = prompt - cached;
	c->cache_read = cached;
	c->output = usage_count(c, u, "completion_tokens");
}

static void
anthropic_usage(struct call *c, json_t *u)
{
	if (!json_is_object(u))
		return;
	if (json_object_get(u, "input_tokens"))
		c->input = usage_count(c, u, "input_tokens");
	if (json_object_get(u, "output_tokens"))
		c->output = usage_count(c, u, "output_tokens");
	if (json_object_get(u, "cache_read_input_tokens"))
		c->cache_read = usage_count(c, u, "cache_read_input_tokens");
	if (json_object_get(u, "cache_creation_input_tokens"))
		c->cache_write = usage_count(c, u, "cache_creation_input_tokens");
}

/* An error object in a 200 reply: overloaded or rate limits are worth a
 * retry, anything else is not. */
static void
error_in_reply(struct call *c, json_t *e)
{
	const char *type = json_string_value(json_object_get(e, "type"));
	const char *code = json_string_value(json_object_get(e, "code"));
	const char *msg = json_string_value(json_object_get(e, "message"));
	char all[256];

	snprintf(all, sizeof all, "%s %s", type ? type : "", code ? code : "");
	llm_set_error(c, strstr(all, "overloaded") || strstr(all, "rate_limit") || strstr(all, "server_error")
	    || strstr(all, "api_error") || strstr(all, "timeout") || (!type && !code),
	    "error after HTTP 200: %s%s%.300s", type ? type : "", type ? ": " : "", msg ? msg : "");
}

static void
openai_chunk(struct call *c, json_t *j)
{
	json_t *ch = json_array_get(json_object_get(j, "choices"), 0), *d, *tc, *t, *f, *u;
	const char *s;
	size_t i;

	if (json_object_get(j, "error")) {
		error_in_reply(c, json_object_get(j, "error"));
		return;
	}
	if (json_is_object(json_object_get(j, "usage")))
		openai_usage(c, json_object_get(j, "usage"));
	else if (json_is_object(u = json_object_get(json_object_get(j, "x_groq"), "usage")))
		openai_usage(c, u);     /* Groq: the stream's usage under x_groq */
	if (!ch)
		return;
	d = json_object_get(ch, "delta");
	if ((s = json_string_value(json_object_get(d, "content"))))
		add_text(c, s, json_string_length(json_object_get(d, "content")));
	tc = json_object_get(d, "tool_calls");
	json_array_foreach(tc, i, t) {
		json_t *ix = json_object_get(t, "index");
		const char *id = json_string_value(json_object_get(t, "id"));
		struct tool *tl;
		json_int_t index;

		/* servers that omit index: a new id starts a new call */
		if (json_is_integer(ix))
			index = json_integer_value(ix);
		else if (id || !c->ntools)
			index = c->ntools ? (json_int_t)c->tools[c->ntools - 1].index + 1 : 0;
		else
			index = c->tools[c->ntools - 1].index;
		if (!(tl = tool_at(c, index)))
			return;
		c->content_seen = 1;
		if (id && !tl->id.len)
			llm_buf_add(&tl->id, id, strlen(id));
		f = json_object_get(t, "function");
		if ((s = json_string_value(json_object_get(f, "name"))) && !tl->name.len)
			llm_buf_add(&tl->name, s, strlen(s));
		if ((s = json_string_value(json_object_get(f, "arguments"))))
			llm_buf_add(&tl->args, s, strlen(s));
	}
	if ((s = json_string_value(json_object_get(ch, "finish_reason")))) {
		set_stop(c, s);
		c->finished = 1;
	}
}

static void
anthropic_event(struct call *c, json_t *j)
{
	const char *type = json_string_value(json_object_get(j, "type")), *s;
	json_t *b, *d;
	struct tool *t;

	if (!type)
		return;
	if (!strcmp(type, "message_start"))
		anthropic_usage(c, json_object_get(json_object_get(j, "message"), "usage"));
	else if (!strcmp(type, "content_block_start")) {
		b = json_object_get(j, "content_block");
		if (!strcmp(json_string_value(json_object_get(b, "type")) ?
		    json_string_value(json_object_get(b, "type")) : "", "tool_use")) {
			if (!(t = tool_at(c, json_integer_value(json_object_get(j, "index")))))
				return;
			c->content_seen = 1;
			if ((s = json_string_value(json_object_get(b, "id"))))
				llm_buf_add(&t->id, s, strlen(s));
			if ((s = json_string_value(json_object_get(b, "name"))))
				llm_buf_add(&t->name, s, strlen(s));
		}
	} else if (!strcmp(type, "content_block_delta")) {
		d = json_object_get(j, "delta");
		s = json_string_value(json_object_get(d, "type"));
		if (s && !strcmp(s, "text_delta"))
			add_text(c, json_string_value(json_object_get(d, "text")) ?
			    json_string_value(json_object_get(d, "text")) : "",
			    json_string_length(json_object_get(d, "text")));
		else if (s && !strcmp(s, "input_json_delta")) {
			t = tool_started(c, json_integer_value(json_object_get(j, "index")));
			s = json_string_value(json_object_get(d, "partial_json"));
			if (s && t)
				llm_buf_add(&t->args, s, strlen(s));
		}
	} else if (!strcmp(type, "message_delta")) {
		set_stop(c, json_string_value(json_object_get(json_object_get(j, "delta"), "stop_reason")));
		anthropic_usage(c, json_object_get(j, "usage"));
	} else if (!strcmp(type, "message_stop"))
		c->done = 1;
	else if (!strcmp(type, "error"))
		error_in_reply(c, json_object_get(j, "error"));
}

static void
responses_usage(struct call *c, json_t *u)
{
	json_int_t cached = json_integer_value(json_object_get(json_object_get(u, "input_tokens_details"), "cached_tokens"));

	if (!json_is_object(u))
		return;
	c->input = json_integer_value(json_object_get(u, "input_tokens")) - cached;
	c->cache_read = cached;
	c->output = json_integer_value(json_object_get(u, "output_tokens"));
}

/* the output items of a whole response: text, function calls, stop */
static void
responses_output(struct call *c, json_t *r)
{
	json_t *it, *part;
	size_t i, k;
	const char *s;

	json_array_foreach(json_object_get(r, "output"), i, it) {
		s = json_string_value(json_object_get(it, "type"));
		if (s && !strcmp(s, "message") && !c->text.len)
			json_array_foreach(json_object_get(it, "content"), k, part)
				if ((s = json_string_value(json_object_get(part, "text"))))
					add_text(c, s, json_string_length(json_object_get(part, "text")));
		if (s && !strcmp(s, "function_call") && !tool_started(c, i)) {
			struct tool *t = tool_at(c, i);

			c->content_seen = 1;
			if ((s = json_string_value(json_object_get(it, "call_id"))))
				llm_buf_add(&t->id, s, strlen(s));
			if ((s = json_string_value(json_object_get(it, "name"))))
				llm_buf_add(&t->name, s, strlen(s));
			if ((s = json_string_value(json_object_get(it, "arguments"))))
				llm_buf_add(&t->args, s, strlen(s));
		}
	}
	responses_usage(c, json_object_get(r, "usage"));
	s = json_string_value(json_object_get(r, "status"));
	snprintf(c->stop, sizeof c->stop, "%s", s && !strcmp(s, "incomplete") ? "max_tokens" :
	    c->ntools ? "tool_calls" : "end");
}

/* Responses API events: typed, no [DONE]; the stream ends with
 * response.completed, .incomplete or .failed */
static void
responses_event(struct call *c, json_t *j)
{
	const char *type = json_string_value(json_object_get(j, "type")), *s;
	json_t *it = json_object_get(j, "item");
	int index = json_integer_value(json_object_get(j, "output_index"));
	struct tool *t;

	if (!type)
		return;
	if (!strcmp(type, "response.output_text.delta")) {
		if ((s = json_string_value(json_object_get(j, "delta"))))
			add_text(c, s, json_string_length(json_object_get(j, "delta")));
	} else if (!strcmp(type, "response.output_item.added") &&
	    (s = json_string_value(json_object_get(it, "type"))) && !strcmp(s, "function_call")) {
		t = tool_at(c, index);
		c->content_seen = 1;
		if ((s = json_string_value(json_object_get(it, "call_id"))))
			llm_buf_add(&t->id, s, strlen(s));
		if ((s = json_string_value(json_object_get(it, "name"))))
			llm_buf_add(&t->name, s, strlen(s));
	} else if (!strcmp(type, "response.function_call_arguments.delta")) {
		if ((t = tool_started(c, index)) && (s = json_string_value(json_object_get(j, "delta"))))
			llm_buf_add(&t->args, s, strlen(s));
	} else if (!strcmp(type, "response.completed") || !strcmp(type, "response.incomplete")) {
		responses_output(c, json_object_get(j, "response"));
		c->done = 1;
	} else if (!strcmp(type, "response.failed")) {
		json_t *e = json_object_get(json_object_get(j, "response"), "error");
		error_in_reply(c, json_is_object(e) ? e : j);
	} else if (!strcmp(type, "error"))
		error_in_reply(c, json_object_get(j, "error") ? json_object_get(j, "error") : j);
}

/* One SSE event: its data lines joined by newlines. */
static void
sse_dispatch(struct call *c)
{
	json_t *j;
	json_error_t jerr;

	if (!c->has_data)
		return;
	c->has_data = 0;
	if (c->err[0] || c->done)
		goto out;
	if (c->m.provider[0] == 'o' && !strcmp(llm_buf_str(&c->data), "[DONE]")) {
		c->done = 1;
		goto out;
	}
	if (!(j = json_loadb(c->data.s, c->data.len, 0, &jerr))) {
		llm_set_error(c, 1, "malformed event in the stream: %s", jerr.text);
		goto out;
	}
	if (c->m.responses)
		responses_event(c, j);
	else if (c->m.provider[0] == 'o')
		openai_chunk(c, j);
	else
		anthropic_event(c, j);
	json_decref(j);
out:
	c->data.len = 0;
	c->event[0] = 0;
}

/* One whole line, without its end of line. */
static void
sse_line(struct call *c, char *s, size_t n)
{
	if (n == 0) {
		sse_dispatch(c);
		return;
	}
	if (s[0] == ':')
		return;
	if (n >= 5 && !memcmp(s, "data:", 5)) {
		s += 5, n -= 5;
		if (n && *s == ' ')
			s++, n--;
		if (c->has_data)
			llm_buf_add(&c->data, "\n", 1);
		llm_buf_add(&c->data, s, n);
		c->has_data = 1;
	} else if (n >= 6 && !memcmp(s, "event:", 6)) {
		s += 6, n -= 6;
		if (n && *s == ' ')
			s++, n--;
		snprintf(c->event, sizeof c->event, "%.*s", (int)n, s);
	}
}

/* Bytes to lines: LF, CRLF or CR end a line; nothing is decoded before
 * a line is whole, so a character split between reads stays whole. */
void
llm_sse_feed(struct call *c, const char *p, size_t n)
{
	const char *end = p + n, *nl;

	while (p < end) {
		for (nl = p; nl < end && *nl != '\n' && *nl != '\r'; nl++)
			;
		if (nl == end) {
			llm_buf_add(&c->line, p, end - p);
			return;
		}
		/* a CR right after a CR-terminated line was its CRLF's LF */
		if (c->line.len == 0 && nl == p && *p == '\n' && c->event[sizeof c->event - 1] == '\r') {
			c->event[sizeof c->event - 1] = 0;
			p++;
			continue;
		}
		c->event[sizeof c->event - 1] = 0;
		if (c->line.len) {
			llm_buf_add(&c->line, p, nl - p);
			sse_line(c, c->line.s, c->line.len);
			c->line.len = 0;
		} else
			sse_line(c, (char *)p, nl - p);
		if (*nl == '\r') {
			if (nl + 1 < end && nl[1] == '\n')
				nl++;
			else if (nl + 1 == end)
				c->event[sizeof c->event - 1] = '\r';
		}
		p = nl + 1;
	}
}

void
llm_parse_body(struct call *c)
{
	json_t *j, *ch, *msg, *t, *blocks, *e;
	json_error_t jerr;
	const char *s;
	size_t i;

	if (!(j = json_loadb(c->body.s ? c->body.s : "", c->body.len, 0, &jerr))) {
		llm_set_error(c, 1, "malformed reply: %s", jerr.text);
		return;
	}
	if ((e = json_object_get(j, "error")) && !json_object_get(j, "choices") && !json_object_get(j, "content")) {
		error_in_reply(c, json_is_object(e) ? e : j);
		json_decref(j);
		return;
	}
	if (c->m.responses) {
		if (!json_is_array(json_object_get(j, "output"))) {
			llm_set_error(c, 1, "reply has no output");
			json_decref(j);
			return;
		}
		responses_output(c, j);
	} else if (c->m.provider[0] == 'o') {
		ch = json_array_get(json_object_get(j, "choices"), 0);
		msg = json_object_get(ch, "message");
		if (!msg) {
			llm_set_error(c, 1, "reply has no choices[0].message");
			json_decref(j);
			return;
		}
		if ((s = json_string_value(json_object_get(msg, "content"))))
			add_text(c, s, json_string_length(json_object_get(msg, "content")));
		json_array_foreach(json_object_get(msg, "tool_calls"), i, t) {
			struct tool *tl = tool_at(c, i);
			json_t *f = json_object_get(t, "function");

			if (!tl)
				break;
			if ((s = json_string_value(json_object_get(t, "id"))))
				llm_buf_add(&tl->id, s, strlen(s));
			if ((s = json_string_value(json_object_get(f, "name"))))
				llm_buf_add(&tl->name, s, strlen(s));
			if ((s = json_string_value(json_object_get(f, "arguments"))))
				llm_buf_add(&tl->args, s, strlen(s));
			else if (json_object_get(f, "arguments")) {
				char *a = json_dumps(json_object_get(f, "arguments"), JSON_COMPACT | JSON_ENCODE_ANY);

				if (a)
					llm_buf_add(&tl->args, a, strlen(a));
				free(a);
			}
		}
		set_stop(c, json_string_value(json_object_get(ch, "finish_reason")));
		openai_usage(c, json_object_get(j, "usage"));
	} else {
		if (!json_is_array(blocks = json_object_get(j, "content"))) {
			llm_set_error(c, 1, "reply has no content");
			json_decref(j);
			return;
		}
		json_array_foreach(blocks, i, t) {
			s = json_string_value(json_object_get(t, "type"));
			if (s && !strcmp(s, "text"))
				add_text(c, json_string_value(json_object_get(t, "text")) ?
				    json_string_value(json_object_get(t, "text")) : "",
				    json_string_length(json_object_get(t, "text")));
			else if (s && !strcmp(s, "tool_use")) {
				struct tool *tl = tool_at(c, i);
				json_t *in = json_object_get(t, "input");
				char *a;

				if (!tl)
					break;
				if ((s = json_string_value(json_object_get(t, "id"))))
					llm_buf_add(&tl->id, s, strlen(s));
				if ((s = json_string_value(json_object_get(t, "name"))))
					llm_buf_add(&tl->name, s, strlen(s));
				if (in && (a = json_dumps(in, JSON_COMPACT | JSON_ENCODE_ANY))) {
					llm_buf_add(&tl->args, a, strlen(a));
					free(a);
				}
			}
		}
		set_stop(c, json_string_value(json_object_get(j, "stop_reason")));
		anthropic_usage(c, json_object_get(j, "usage"));
	}
	c->done = 1;
	json_decref(j);
}

/* The stream ended: a last line without its newline, the event it
 * ends, and text still held back. */
void
llm_sse_end(struct call *c)
{
	if (c->line.len)
		sse_line(c, c->line.s, c->line.len);
	sse_dispatch(c);
	llm_flush_text(c);
}
