/* lh-llm.c: the model client behind llm-call.
 *
 * One call: resolve the model for a role (config file < environment <
 * options), check the budget, wait out a shared cool-down, take a shared
 * in-flight slot, send the request in the provider's wire format, parse
 * the reply (SSE or JSON) into the normalized response, retry what is
 * worth retrying, and append one line to this host's usage log.
 *
 * Everything shared between processes lives in files under the board
 * (or the state directory) and is correct without locks:
 *   usage/HOST.jsonl       one O_APPEND write(2) per call
 *   usage/.HOST.jsonl.sum  offset and sums of that log's prefix: a cache,
 *                          any reader may rewrite it (tmp + rename)
 *   llm/cooldown           "retry at" time after a 429 (tmp + rename)
 *   llm/inflight/          one file per caller; see take_slot()
 * The API key is kept in one place and redacted from everything printed.
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

#ifndef LH_SHAREDIR
#define LH_SHAREDIR "/usr/local/share/longhaul"
#endif

/* ---- growing buffers ---- */

struct buf {
	char *s;
	size_t len, cap;
};

static void
buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = lh_realloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

static const char *
buf_str(struct buf *b)
{
	return b->s ? b->s : "";
}

/* ---- the call's state ---- */

struct tool {
	struct buf id, name, args;
	int index;
};

struct model {
	char provider[16];      /* openai, anthropic */
	char *name, *base_url, *key, *alias;
	long max_tokens;
	int loopback;
};

struct call {
	const struct lh_llm_options *opt;
	struct model m;
	json_t *config;
	CURL *curl;
	/* reply of the current attempt */
	long http_status;
	struct buf body;        /* a non-streamed body, or an error body */
	struct buf line;        /* SSE: the line being assembled */
	struct buf data;        /* SSE: data lines of the event */
	char event[64];
	int has_data;
	int streaming;          /* the body is text/event-stream */
	int done;               /* final event seen ([DONE], message_stop) */
	int finished;           /* OpenAI finish_reason seen */
	int content_seen;       /* text or tool call fragments received */
	size_t emitted;         /* text bytes passed to on_text */
	struct buf text;
	struct tool *tools;
	size_t ntools;
	char stop[32];
	json_int_t input, output, cache_read, cache_write;
	char err[512];          /* error of this attempt */
	int err_retry;          /* that error is worth a retry */
	int err_perm;           /* that error is permanent */
	double retry_after;     /* server's hint, seconds; < 0 none */
	int should_retry;       /* x-should-retry: 1 true, 0 false, -1 absent */
	char request_id[128];
	/* deadline and lease upkeep */
	double deadline;        /* monotonic; 0 none */
	double lease_touched;
	double idle, last_byte;   /* idle timeout; monotonic time of the last byte */
	int idle_fired;
};

static char slot_path[4608];   /* our in-flight file, removed on SIGTERM */
static const char *secret;     /* the key, to redact */

/* Replace every occurrence of the key in s (in place, same length). */
static char *
redact(char *s)
{
	char *p;
	size_t n;

	if (!s || !secret || (n = strlen(secret)) < 4)
		return s;
	while ((p = strstr(s, secret)))
		memset(p, '*', n);
	return s;
}

static void
trace(struct call *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (!c->opt->verbose)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	fprintf(stderr, "%s: %s\n", lh_prog, redact(msg));
}

static void
set_error(struct call *c, int retry, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	redact(c->err);
	c->err_retry = retry;
	c->err_perm = !retry;
}

static double
env_number(const char *name, double dflt)
{
	const char *v = getenv(name);
	char *end;
	double d;

	if (!v || !*v)
		return dflt;
	d = strtod(v, &end);
	return *end || d < 0 ? dflt : d;
}

/* ---- configuration ---- */

static json_t *
load_config(const char *path, char *err, size_t errsize)
{
	char board[4096];
	const char *b;
	json_error_t jerr;
	json_t *j;

	if (!path && (path = getenv("LONGHAUL_CONFIG")) && !*path)
		path = NULL;
	if (!path && (b = getenv("LONGHAUL_BOARD")) && *b) {
		lh_path(board, sizeof board, "%s/config.json", b);
		if (access(board, F_OK) == 0)
			path = board;
	}
	if (!path)
		return json_object();
	if (!(j = json_load_file(path, 0, &jerr)) || !json_is_object(j)) {
		snprintf(err, errsize, "%.300s:%d: %s", path, jerr.line, j ? "not a JSON object" : jerr.text);
		json_decref(j);
		return NULL;
	}
	return j;
}

static int
is_loopback(const char *url)
{
	const char *h = strstr(url, "://");

	h = h ? h + 3 : url;
	return !strncmp(h, "127.", 4) || !strncmp(h, "localhost", 9) || !strncmp(h, "[::1]", 5);
}

/* Run the key command; its first line is the key. */
static char *
key_from_command(const char *cmd, char *err, size_t errsize)
{
	char line[4096];
	FILE *p;
	size_t n = 0;
	int st;

	fflush(NULL);
	if (!(p = popen(cmd, "r"))) {
		snprintf(err, errsize, "key command: %s", strerror(errno));
		return NULL;
	}
	line[0] = 0;
	if (fgets(line, sizeof line, p))
		n = strcspn(line, "\r\n");
	line[n] = 0;
	while (fgets(line + n + 1, sizeof line - n - 1, p))
		;
	st = pclose(p);
	if (st != 0 || n == 0) {
		snprintf(err, errsize, "key command failed (status %d) or printed nothing", st);
		return NULL;
	}
	return lh_strdup(line);
}

static char *
role_env(const char *role)
{
	static char name[96];
	size_t i;

	snprintf(name, sizeof name, "LONGHAUL_%s_MODEL", role);
	for (i = 9; name[i]; i++)
		name[i] = toupper((unsigned char)name[i]);
	return getenv(name);
}

/* Resolve the model: option, LONGHAUL_ROLE_MODEL, LONGHAUL_MODEL, the
 * config's roles.ROLE, roles.default; an alias from "models", or
 * provider:model. */
static int
resolve_model(struct call *c, char *err, size_t errsize)
{
	const struct lh_llm_options *o = c->opt;
	const char *spec = o->model, *v, *colon, *keyenv, *keycmd, *url;
	json_t *roles = json_object_get(c->config, "roles"), *def;
	struct model *m = &c->m;
	char *s;

	if (!spec && o->role && (v = role_env(o->role)) && *v)
		spec = v;
	if (!spec && (v = getenv("LONGHAUL_MODEL")) && *v)
		spec = v;
	if (!spec && o->role)
		spec = json_string_value(json_object_get(roles, o->role));
	if (!spec)
		spec = json_string_value(json_object_get(roles, "default"));
	if (!spec) {
		snprintf(err, errsize, "no model: give -m, set LONGHAUL_MODEL or the config's roles");
		return -1;
	}
	def = json_object_get(json_object_get(c->config, "models"), spec);
	if (def) {
		m->alias = lh_strdup(spec);
		v = json_string_value(json_object_get(def, "provider"));
		s = (char *)json_string_value(json_object_get(def, "model"));
		if (!v || !s) {
			snprintf(err, errsize, "model %s: needs \"provider\" and \"model\"", spec);
			return -1;
		}
		snprintf(m->provider, sizeof m->provider, "%s", v);
		m->name = lh_strdup(s);
	} else if ((colon = strchr(spec, ':'))) {
		snprintf(m->provider, sizeof m->provider, "%.*s", (int)(colon - spec), spec);
		m->name = lh_strdup(colon + 1);
	} else {
		snprintf(err, errsize, "model %s: not an alias of the config, nor provider:model", spec);
		return -1;
	}
	if (strcmp(m->provider, "openai") && strcmp(m->provider, "anthropic")) {
		snprintf(err, errsize, "model %s: unknown provider %s (openai or anthropic)", spec, m->provider);
		return -1;
	}
	m->max_tokens = json_integer_value(json_object_get(def, "max_tokens"));
	/* the alias's own base_url is more specific than the global variable */
	url = o->base_url;
	if (!url)
		url = json_string_value(json_object_get(def, "base_url"));
	if (!url && (v = getenv(m->provider[0] == 'o' ? "OPENAI_BASE_URL" : "ANTHROPIC_BASE_URL")) && *v)
		url = v;
	if (!url)
		url = m->provider[0] == 'o' ? "https://api.openai.com/v1" : "https://api.anthropic.com";
	m->base_url = lh_strdup(url);
	while ((s = strrchr(m->base_url, '/')) && s[1] == 0)
		*s = 0;
	m->loopback = is_loopback(m->base_url);
	keyenv = json_string_value(json_object_get(def, "key_env"));
	if (!keyenv)
		keyenv = m->provider[0] == 'o' ? "OPENAI_API_KEY" : "ANTHROPIC_API_KEY";
	if ((v = getenv(keyenv)) && *v)
		m->key = lh_strdup(v);
	keycmd = json_string_value(json_object_get(def, "key_command"));
	if (!keycmd && (v = getenv("LONGHAUL_KEY_COMMAND")) && *v)
		keycmd = v;
	if (!m->key && keycmd && !(m->key = key_from_command(keycmd, err, errsize)))
		return -1;
	secret = m->key;
	if (!m->key && !m->loopback) {
		snprintf(err, errsize, "no API key for %s: set %s or a key command", spec, keyenv);
		return -1;
	}
	return 0;
}

/* ---- requests in each wire format ---- */

static json_t *
args_string(json_t *call)
{
	json_t *a = json_object_get(call, "arguments");
	char *s;

	if (!a && (a = json_object_get(call, "arguments_raw")))
		return json_incref(a);
	s = json_dumps(a ? a : json_object(), JSON_COMPACT | JSON_ENCODE_ANY);
	a = json_string(s ? s : "{}");
	free(s);
	return a;
}

static const char *
content_text(json_t *msg)
{
	const char *s = json_string_value(json_object_get(msg, "content"));

	return s ? s : "";
}

static json_t *
openai_request(struct call *c, json_t *rq, long max_tokens, const char *system)
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

static json_t *
anthropic_request(struct call *c, json_t *rq, long max_tokens, const char *system)
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

				json_array_append_new(blocks, json_pack("{s:s,s:s,s:s,s:O}", "type", "tool_use",
				    "id", json_string_value(json_object_get(t, "id")) ?
				    json_string_value(json_object_get(t, "id")) : "",
				    "name", json_string_value(json_object_get(t, "name")) ?
				    json_string_value(json_object_get(t, "name")) : "",
				    "input", json_is_object(a) ? a : json_object()));
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

static struct tool *
tool_at(struct call *c, int index)
{
	size_t i;

	for (i = 0; i < c->ntools; i++)
		if (c->tools[i].index == index)
			return &c->tools[i];
	c->tools = lh_realloc(c->tools, (c->ntools + 1) * sizeof *c->tools);
	memset(&c->tools[c->ntools], 0, sizeof *c->tools);
	c->tools[c->ntools].index = index;
	return &c->tools[c->ntools++];
}

static void
add_text(struct call *c, const char *s, size_t n)
{
	if (!n)
		return;
	buf_add(&c->text, s, n);
	c->content_seen = 1;
}

/* Pass the text that arrived to on_text: once per network read, not per
 * event, so a fast stream costs one write per read. */
static void
flush_text(struct call *c)
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

static void
openai_usage(struct call *c, json_t *u)
{
	json_int_t prompt = json_integer_value(json_object_get(u, "prompt_tokens"));
	json_int_t cached = json_integer_value(json_object_get(json_object_get(u, "prompt_tokens_details"), "cached_tokens"));

	if (!json_is_object(u))
		return;
	/* a running total on some servers: keep the last, never sum */
	c->input = prompt - cached;
	c->cache_read = cached;
	c->output = json_integer_value(json_object_get(u, "completion_tokens"));
}

static void
anthropic_usage(struct call *c, json_t *u)
{
	json_t *v;

	if ((v = json_object_get(u, "input_tokens")))
		c->input = json_integer_value(v);
	if ((v = json_object_get(u, "output_tokens")))
		c->output = json_integer_value(v);
	if ((v = json_object_get(u, "cache_read_input_tokens")))
		c->cache_read = json_integer_value(v);
	if ((v = json_object_get(u, "cache_creation_input_tokens")))
		c->cache_write = json_integer_value(v);
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
	set_error(c, strstr(all, "overloaded") || strstr(all, "rate_limit") || strstr(all, "server_error")
	    || strstr(all, "api_error") || strstr(all, "timeout") || (!type && !code),
	    "error after HTTP 200: %s%s%.300s", type ? type : "", type ? ": " : "", msg ? msg : "");
}

static void
openai_chunk(struct call *c, json_t *j)
{
	json_t *ch = json_array_get(json_object_get(j, "choices"), 0), *d, *tc, *t, *f;
	const char *s;
	size_t i;

	if (json_object_get(j, "error")) {
		error_in_reply(c, json_object_get(j, "error"));
		return;
	}
	if (json_is_object(json_object_get(j, "usage")))
		openai_usage(c, json_object_get(j, "usage"));
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
		int index;

		/* servers that omit index: a new id starts a new call */
		if (json_is_integer(ix))
			index = json_integer_value(ix);
		else if (id || !c->ntools)
			index = c->ntools ? c->tools[c->ntools - 1].index + 1 : 0;
		else
			index = c->tools[c->ntools - 1].index;
		tl = tool_at(c, index);
		c->content_seen = 1;
		if (id && !tl->id.len)
			buf_add(&tl->id, id, strlen(id));
		f = json_object_get(t, "function");
		if ((s = json_string_value(json_object_get(f, "name"))) && !tl->name.len)
			buf_add(&tl->name, s, strlen(s));
		if ((s = json_string_value(json_object_get(f, "arguments"))))
			buf_add(&tl->args, s, strlen(s));
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
			t = tool_at(c, json_integer_value(json_object_get(j, "index")));
			c->content_seen = 1;
			if ((s = json_string_value(json_object_get(b, "id"))))
				buf_add(&t->id, s, strlen(s));
			if ((s = json_string_value(json_object_get(b, "name"))))
				buf_add(&t->name, s, strlen(s));
		}
	} else if (!strcmp(type, "content_block_delta")) {
		d = json_object_get(j, "delta");
		s = json_string_value(json_object_get(d, "type"));
		if (s && !strcmp(s, "text_delta"))
			add_text(c, json_string_value(json_object_get(d, "text")) ?
			    json_string_value(json_object_get(d, "text")) : "",
			    json_string_length(json_object_get(d, "text")));
		else if (s && !strcmp(s, "input_json_delta")) {
			t = tool_at(c, json_integer_value(json_object_get(j, "index")));
			s = json_string_value(json_object_get(d, "partial_json"));
			if (s)
				buf_add(&t->args, s, strlen(s));
		}
	} else if (!strcmp(type, "message_delta")) {
		set_stop(c, json_string_value(json_object_get(json_object_get(j, "delta"), "stop_reason")));
		anthropic_usage(c, json_object_get(j, "usage"));
	} else if (!strcmp(type, "message_stop"))
		c->done = 1;
	else if (!strcmp(type, "error"))
		error_in_reply(c, json_object_get(j, "error"));
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
	if (c->m.provider[0] == 'o' && !strcmp(buf_str(&c->data), "[DONE]")) {
		c->done = 1;
		goto out;
	}
	if (!(j = json_loadb(c->data.s, c->data.len, 0, &jerr))) {
		set_error(c, 1, "malformed event in the stream: %s", jerr.text);
		goto out;
	}
	if (c->m.provider[0] == 'o')
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
			buf_add(&c->data, "\n", 1);
		buf_add(&c->data, s, n);
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
static void
sse_feed(struct call *c, const char *p, size_t n)
{
	const char *end = p + n, *nl;

	while (p < end) {
		for (nl = p; nl < end && *nl != '\n' && *nl != '\r'; nl++)
			;
		if (nl == end) {
			buf_add(&c->line, p, end - p);
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
			buf_add(&c->line, p, nl - p);
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

static void
parse_body(struct call *c)
{
	json_t *j, *ch, *msg, *t, *blocks, *e;
	json_error_t jerr;
	const char *s;
	size_t i;

	if (!(j = json_loadb(c->body.s ? c->body.s : "", c->body.len, 0, &jerr))) {
		set_error(c, 1, "malformed reply: %s", jerr.text);
		return;
	}
	if ((e = json_object_get(j, "error")) && !json_object_get(j, "choices") && !json_object_get(j, "content")) {
		error_in_reply(c, json_is_object(e) ? e : j);
		json_decref(j);
		return;
	}
	if (c->m.provider[0] == 'o') {
		ch = json_array_get(json_object_get(j, "choices"), 0);
		msg = json_object_get(ch, "message");
		if (!msg) {
			set_error(c, 1, "reply has no choices[0].message");
			json_decref(j);
			return;
		}
		if ((s = json_string_value(json_object_get(msg, "content"))))
			add_text(c, s, json_string_length(json_object_get(msg, "content")));
		json_array_foreach(json_object_get(msg, "tool_calls"), i, t) {
			struct tool *tl = tool_at(c, i);
			json_t *f = json_object_get(t, "function");

			if ((s = json_string_value(json_object_get(t, "id"))))
				buf_add(&tl->id, s, strlen(s));
			if ((s = json_string_value(json_object_get(f, "name"))))
				buf_add(&tl->name, s, strlen(s));
			if ((s = json_string_value(json_object_get(f, "arguments"))))
				buf_add(&tl->args, s, strlen(s));
			else if (json_object_get(f, "arguments")) {
				char *a = json_dumps(json_object_get(f, "arguments"), JSON_COMPACT | JSON_ENCODE_ANY);

				buf_add(&tl->args, a, strlen(a));
				free(a);
			}
		}
		set_stop(c, json_string_value(json_object_get(ch, "finish_reason")));
		openai_usage(c, json_object_get(j, "usage"));
	} else {
		if (!json_is_array(blocks = json_object_get(j, "content"))) {
			set_error(c, 1, "reply has no content");
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
				char *a = json_dumps(json_object_get(t, "input") ? json_object_get(t, "input") :
				    json_object(), JSON_COMPACT | JSON_ENCODE_ANY);

				if ((s = json_string_value(json_object_get(t, "id"))))
					buf_add(&tl->id, s, strlen(s));
				if ((s = json_string_value(json_object_get(t, "name"))))
					buf_add(&tl->name, s, strlen(s));
				buf_add(&tl->args, a, strlen(a));
				free(a);
			}
		}
		set_stop(c, json_string_value(json_object_get(j, "stop_reason")));
		anthropic_usage(c, json_object_get(j, "usage"));
	}
	c->done = 1;
	json_decref(j);
}

/* ---- HTTP ---- */

static size_t
on_header(char *p, size_t size, size_t n, void *arg)
{
	struct call *c = arg;
	size_t len = size * n;
	char line[512], *v;

	c->last_byte = lh_monotonic();
	snprintf(line, sizeof line, "%.*s", (int)(len < sizeof line ? len : sizeof line - 1), p);
	line[strcspn(line, "\r\n")] = 0;
	if (!strncmp(line, "HTTP/", 5)) {
		/* a new response (after a 100 Continue, say) */
		c->http_status = atol(strchr(line, ' ') ? strchr(line, ' ') + 1 : "0");
		c->retry_after = -1;
		c->should_retry = -1;
		c->streaming = 0;
		return len;
	}
	if (!(v = strchr(line, ':')))
		return len;
	*v++ = 0;
	while (*v == ' ')
		v++;
	if (!strcasecmp(line, "retry-after-ms"))
		c->retry_after = atof(v) / 1000;
	else if (!strcasecmp(line, "retry-after") && c->retry_after < 0) {
		char *end;
		double d = strtod(v, &end);

		if (end != v && !*end)
			c->retry_after = d;
		else {
			time_t t = curl_getdate(v, NULL);

			if (t > 0)
				c->retry_after = t - lh_now() > 0 ? t - lh_now() : 0;
		}
	} else if (!strcasecmp(line, "x-should-retry"))
		c->should_retry = !strcasecmp(v, "true");
	else if (!strcasecmp(line, "content-type"))
		c->streaming = strstr(v, "event-stream") != NULL;
	else if (!strcasecmp(line, "x-request-id") || !strcasecmp(line, "request-id"))
		snprintf(c->request_id, sizeof c->request_id, "%s", v);
	return len;
}

static size_t
on_body(char *p, size_t size, size_t n, void *arg)
{
	struct call *c = arg;
	size_t len = size * n;

	c->last_byte = lh_monotonic();
	if (c->http_status == 200 && c->streaming) {
		sse_feed(c, p, len);
		flush_text(c);
	}
	else if (c->body.len + len > (256u << 20)) {
		set_error(c, 1, "reply larger than 256 MiB");
		return 0;
	} else
		buf_add(&c->body, p, len);
	/* stop reading once the call failed mid-stream */
	return c->err[0] && c->streaming ? 0 : len;
}

static void touch_slot(void);

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct call *c = arg;
	double now = lh_monotonic();

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (now - c->lease_touched > 5) {
		touch_slot();
		c->lease_touched = now;
	}
	if (c->idle > 0 && now - c->last_byte > c->idle) {
		c->idle_fired = 1;
		return 1;
	}
	return c->deadline > 0 && now > c->deadline;
}

static int
on_debug(CURL *h, curl_infotype type, char *data, size_t size, void *arg)
{
	char line[1024];
	const char *p = data, *end = data + size, *nl;
	const char *dir = type == CURLINFO_HEADER_OUT ? "> " : type == CURLINFO_HEADER_IN ? "< " : "* ";

	(void)h, (void)arg;
	if (type != CURLINFO_HEADER_OUT && type != CURLINFO_HEADER_IN && type != CURLINFO_TEXT)
		return 0;
	for (; p < end; p = nl + 1) {
		if (!(nl = memchr(p, '\n', end - p)))
			nl = end;
		snprintf(line, sizeof line, "%.*s", (int)(nl - p), p);
		line[strcspn(line, "\r")] = 0;
		if (!line[0])
			continue;
		if (!strncasecmp(line, "authorization:", 14) || !strncasecmp(line, "x-api-key:", 10))
			strcpy(strchr(line, ':'), ": [redacted]");
		fprintf(stderr, "%s: %s%s\n", lh_prog, dir, redact(line));
	}
	return 0;
}

/* ---- shared limits: cool-down and in-flight slots ---- */

static int
state_base(char *buf, size_t size)
{
	const char *b = getenv("LONGHAUL_BOARD"), *s = getenv("LONGHAUL_STATE"), *home;
	struct stat st;

	if (b && *b && stat(b, &st) == 0 && S_ISDIR(st.st_mode)) {
		lh_path(buf, size, "%s", b);
		return 0;
	}
	if (s && *s)
		lh_path(buf, size, "%s", s);
	else if ((home = getenv("HOME")) && *home)
		lh_path(buf, size, "%s/.local/state/longhaul", home);
	else
		return -1;
	return 0;
}

static int
state_dir(char *buf, size_t size, const char *sub)
{
	char base[4096];

	if (state_base(base, sizeof base) < 0)
		return -1;
	lh_path(buf, size, "%s/%s", base, sub);
	return lh_mkdirs(buf);
}

/* Write a small file atomically: tmp + rename. */
static int
write_atomic(const char *path, const char *s)
{
	char tmp[4200], rnd[9];
	int fd;
	ssize_t n = strlen(s);

	lh_random_name(rnd, sizeof rnd);
	lh_path(tmp, sizeof tmp, "%s.%s.tmp", path, rnd);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644)) < 0)
		return -1;
	if (write(fd, s, n) != n || close(fd) != 0 || rename(tmp, path) != 0) {
		unlink(tmp);
		return -1;
	}
	return 0;
}

static double
cooldown_until(void)
{
	char dir[4096], path[4200], *s;
	double t = 0;

	if (state_dir(dir, sizeof dir, "llm") < 0)
		return 0;
	lh_path(path, sizeof path, "%s/cooldown", dir);
	if ((s = lh_read_file(path, NULL))) {
		t = atof(s);
		free(s);
	}
	return t;
}

/* Tell every caller to hold off until `until` (wall clock: shared across
 * hosts). Racing writers may leave the earlier time: a shorter pause,
 * never a wrong one. */
static void
cooldown_set(double until)
{
	char dir[4096], path[4200], line[64];

	if (until <= cooldown_until() || state_dir(dir, sizeof dir, "llm") < 0)
		return;
	lh_path(path, sizeof path, "%s/cooldown", dir);
	snprintf(line, sizeof line, "%.3f\n", until);
	write_atomic(path, line);
}

static void
sleep_s(double s)
{
	struct timespec ts;

	if (s <= 0)
		return;
	ts.tv_sec = (time_t)s;
	ts.tv_nsec = (long)((s - ts.tv_sec) * 1e9);
	while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

static void
touch_slot(void)
{
	if (slot_path[0])
		lh_turn_touch(slot_path);
}

static void
release_slot(void)
{
	if (slot_path[0])
		lh_turn_give(slot_path);
	slot_path[0] = 0;
}

static void
on_signal(int sig)
{
	if (slot_path[0])
		unlink(slot_path);
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Take one of `limit` in-flight slots shared by every process using this
 * board or state directory: a turn (lh-turn.c) in llm/inflight, owned by
 * this process. Returns -1 on deadline. */
static int
take_slot(struct call *c, int limit)
{
	char dir[4096];
	int r;

	if (limit <= 0 || state_dir(dir, sizeof dir, "llm/inflight") < 0)
		return 0;
	r = lh_turn_take(dir, limit, env_number("LONGHAUL_SLOT_LEASE", 30),
	    c->deadline, (long)getpid(), slot_path, sizeof slot_path);
	if (r > 0)
		return -1;
	if (r < 0)
		slot_path[0] = 0;       /* no shared limit rather than no call */
	return 0;
}

/* ---- usage log and prices ---- */

static json_t *
load_prices(void)
{
	char path[4096];
	const char *share = getenv("LONGHAUL_SHARE");

	lh_path(path, sizeof path, "%s/prices.json", share && *share ? share : LH_SHAREDIR);
	return json_load_file(path, 0, NULL);
}

/* USD per million tokens: "provider:model", then "model", then the
 * longest key that prefixes the model's name (dated versions). */
static double
cost(const struct call *c)
{
	json_t *prices = load_prices(), *p, *v;
	const char *key, *best = NULL;
	char full[512];
	double usd = 0;

	if (!prices)
		return 0;
	snprintf(full, sizeof full, "%s:%s", c->m.provider, c->m.name);
	if (!(p = json_object_get(prices, full)) && !(p = json_object_get(prices, c->m.name))) {
		json_object_foreach(prices, key, v)
			if ((!strncmp(full, key, strlen(key)) || !strncmp(c->m.name, key, strlen(key))) && (!best || strlen(key) > strlen(best)))
				best = key;
		p = best ? json_object_get(prices, best) : NULL;
	}
	if (p)
		usd = (c->input * json_number_value(json_object_get(p, "input")) +
		    c->output * json_number_value(json_object_get(p, "output")) +
		    c->cache_read * json_number_value(json_object_get(p, "cache_read")) +
		    c->cache_write * json_number_value(json_object_get(p, "cache_write"))) / 1e6;
	json_decref(prices);
	return usd;
}

int
lh_llm_usage_dir(char *buf, size_t size)
{
	return state_dir(buf, size, "usage");
}

static const char *
outcome_name(int status)
{
	static const char *names[] = { "ok", "temporary", "usage", "permanent", "incomplete", "budget", "invalid" };

	return status >= 0 && status <= 6 ? names[status] : "other";
}

static void
log_usage(struct call *c, json_t *resp, int status)
{
	char dir[4096], path[4400], iso[32];
	const char *v;
	json_t *line;
	char *s;
	size_t n;
	int fd;

	if (lh_llm_usage_dir(dir, sizeof dir) < 0) {
		lh_warn_errno("usage log directory");
		return;
	}
	lh_path(path, sizeof path, "%s/%s.jsonl", dir, lh_hostname());
	lh_iso_time(lh_now(), iso, sizeof iso);
	line = json_pack("{s:s,s:f,s:s,s:I,s:s,s:s}", "time", iso, "ts", lh_now(), "host", lh_hostname(),
	    "pid", (json_int_t)getpid(), "provider", c->m.provider, "model", c->m.name);
	json_object_set_new(line, "role", c->opt->role ? json_string(c->opt->role) : json_null());
	json_object_set_new(line, "task", (v = getenv("LONGHAUL_TASK")) && *v ? json_string(v) : json_null());
	json_object_set_new(line, "agent", (v = getenv("LONGHAUL_AGENT")) && *v ? json_string(v) : json_null());
	json_object_update(line, json_object_get(resp, "usage"));
	json_object_set(line, "cost_usd", json_object_get(resp, "cost_usd"));
	json_object_set(line, "latency_s", json_object_get(resp, "latency_s"));
	json_object_set(line, "attempts", json_object_get(resp, "attempts"));
	json_object_set_new(line, "outcome", json_string(outcome_name(status)));
	if (c->request_id[0])
		json_object_set_new(line, "request_id", json_string(c->request_id));
	s = json_dumps(line, JSON_COMPACT | JSON_REAL_PRECISION(15));
	json_decref(line);
	if (!s)
		return;
	n = strlen(s);
	s[n] = '\n';
	/* one write of one line: O_APPEND keeps lines whole on one host */
	if ((fd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0 ||
	    write(fd, s, n + 1) != (ssize_t)(n + 1) || close(fd) != 0)
		lh_warn_errno("%s", path);
	free(s);
}

/* Sum one log from offset *off to its last whole line. */
static void
sum_log(const char *path, off_t *off, uint64_t *tokens, double *usd)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0;
	ssize_t n;
	json_t *j;

	if (!(f = fopen(path, "r")))
		return;
	if (fseeko(f, *off, SEEK_SET) == 0)
		while ((n = getline(&line, &cap, f)) > 0 && line[n - 1] == '\n') {
			*off += n;
			if (!(j = json_loadb(line, n, 0, NULL)))
				continue;
			*tokens += json_integer_value(json_object_get(j, "input_tokens")) +
			    json_integer_value(json_object_get(j, "output_tokens")) +
			    json_integer_value(json_object_get(j, "cache_read_tokens")) +
			    json_integer_value(json_object_get(j, "cache_write_tokens"));
			*usd += json_number_value(json_object_get(j, "cost_usd"));
			json_decref(j);
		}
	free(line);
	fclose(f);
}

int
lh_llm_usage_total(const char *dir, uint64_t *tokens, double *usd)
{
	DIR *d;
	struct dirent *de;
	struct stat st;
	char path[4400], cache[4400], line[128], *s;
	size_t len;

	*tokens = 0;
	*usd = 0;
	if (!(d = opendir(dir)))
		return -1;
	while ((de = readdir(d))) {
		unsigned long long ino = 0, t = 0;
		long long off = 0;
		double u = 0;
		off_t o;

		len = strlen(de->d_name);
		if (de->d_name[0] == '.' || len < 7 || strcmp(de->d_name + len - 6, ".jsonl"))
			continue;
		lh_path(path, sizeof path, "%s/%s", dir, de->d_name);
		lh_path(cache, sizeof cache, "%s/.%s.sum", dir, de->d_name);
		if (stat(path, &st) < 0)
			continue;
		if ((s = lh_read_file(cache, NULL))) {
			if (sscanf(s, "%llu %lld %llu %lf", &ino, &off, &t, &u) != 4 ||
			    ino != (unsigned long long)st.st_ino || off > (long long)st.st_size)
				off = 0, t = 0, u = 0;
			free(s);
		}
		o = off;
		{
			uint64_t t64 = t;

			sum_log(path, &o, &t64, &u);
			t = t64;
		}
		if (o != off) {
			snprintf(line, sizeof line, "%llu %lld %llu %.9f\n",
			    (unsigned long long)st.st_ino, (long long)o, t, u);
			write_atomic(cache, line);
		}
		*tokens += t;
		*usd += u;
	}
	closedir(d);
	return 0;
}

static int
budget_spent(char *err, size_t errsize)
{
	double max_usd = env_number("LONGHAUL_BUDGET_USD", -1), usd;
	double max_tokens = env_number("LONGHAUL_BUDGET_TOKENS", -1);
	char dir[4096];
	uint64_t tokens;

	if (max_usd < 0 && max_tokens < 0)
		return 0;
	if (lh_llm_usage_dir(dir, sizeof dir) < 0 || lh_llm_usage_total(dir, &tokens, &usd) < 0)
		return 0;
	if (max_usd >= 0 && usd >= max_usd) {
		snprintf(err, errsize, "budget spent: $%.4f of $%.4f", usd, max_usd);
		return 1;
	}
	if (max_tokens >= 0 && tokens >= max_tokens) {
		snprintf(err, errsize, "budget spent: %llu of %.0f tokens", (unsigned long long)tokens, max_tokens);
		return 1;
	}
	return 0;
}

/* ---- JSON Schema, the subset models are asked for ---- */

static int
type_is(json_t *v, const char *t)
{
	if (!strcmp(t, "object")) return json_is_object(v);
	if (!strcmp(t, "array")) return json_is_array(v);
	if (!strcmp(t, "string")) return json_is_string(v);
	if (!strcmp(t, "integer")) return json_is_integer(v) ||
	    (json_is_real(v) && json_real_value(v) == floor(json_real_value(v)));
	if (!strcmp(t, "number")) return json_is_number(v);
	if (!strcmp(t, "boolean")) return json_is_boolean(v);
	if (!strcmp(t, "null")) return json_is_null(v);
	return 1;
}

static int
check(json_t *s, json_t *v, const char *where, char *err, size_t size)
{
	json_t *x, *y;
	const char *key;
	char sub[256];
	size_t i, n;
	int ok;

	if (!json_is_object(s))
		return 0;
	if ((x = json_object_get(s, "type"))) {
		ok = json_is_string(x) ? type_is(v, json_string_value(x)) : 0;
		json_array_foreach(x, i, y)
			ok |= type_is(v, json_string_value(y) ? json_string_value(y) : "");
		if (!ok) {
			snprintf(err, size, "%s: not of type %s", where, json_is_string(x) ? json_string_value(x) : "listed");
			return -1;
		}
	}
	if ((x = json_object_get(s, "enum"))) {
		ok = 0;
		json_array_foreach(x, i, y)
			ok |= json_equal(v, y);
		if (!ok) {
			snprintf(err, size, "%s: not one of the enum", where);
			return -1;
		}
	}
	if ((x = json_object_get(s, "const")) && !json_equal(x, v)) {
		snprintf(err, size, "%s: not the const value", where);
		return -1;
	}
	if (json_is_number(v)) {
		if ((x = json_object_get(s, "minimum")) && json_number_value(v) < json_number_value(x)) {
			snprintf(err, size, "%s: below the minimum", where);
			return -1;
		}
		if ((x = json_object_get(s, "maximum")) && json_number_value(v) > json_number_value(x)) {
			snprintf(err, size, "%s: above the maximum", where);
			return -1;
		}
	}
	if (json_is_string(v)) {
		n = json_string_length(v);
		if (((x = json_object_get(s, "minLength")) && n < (size_t)json_integer_value(x)) ||
		    ((x = json_object_get(s, "maxLength")) && n > (size_t)json_integer_value(x))) {
			snprintf(err, size, "%s: length out of bounds", where);
			return -1;
		}
	}
	if (json_is_array(v)) {
		n = json_array_size(v);
		if (((x = json_object_get(s, "minItems")) && n < (size_t)json_integer_value(x)) ||
		    ((x = json_object_get(s, "maxItems")) && n > (size_t)json_integer_value(x))) {
			snprintf(err, size, "%s: number of items out of bounds", where);
			return -1;
		}
		if ((x = json_object_get(s, "items")))
			json_array_foreach(v, i, y) {
				snprintf(sub, sizeof sub, "%s[%zu]", where, i);
				if (check(x, y, sub, err, size) < 0)
					return -1;
			}
	}
	if (json_is_object(v)) {
		json_array_foreach(json_object_get(s, "required"), i, x)
			if (json_is_string(x) && !json_object_get(v, json_string_value(x))) {
				snprintf(err, size, "%s: missing required \"%s\"", where, json_string_value(x));
				return -1;
			}
		json_object_foreach(v, key, y) {
			snprintf(sub, sizeof sub, "%s.%s", where, key);
			if ((x = json_object_get(json_object_get(s, "properties"), key))) {
				if (check(x, y, sub, err, size) < 0)
					return -1;
			} else if ((x = json_object_get(s, "additionalProperties"))) {
				if (json_is_false(x)) {
					snprintf(err, size, "%s: not allowed", sub);
					return -1;
				}
				if (check(x, y, sub, err, size) < 0)
					return -1;
			}
		}
	}
	json_array_foreach(json_object_get(s, "allOf"), i, x)
		if (check(x, v, where, err, size) < 0)
			return -1;
	if ((x = json_object_get(s, "anyOf")) || (x = json_object_get(s, "oneOf"))) {
		n = 0;
		json_array_foreach(x, i, y)
			n += check(y, v, where, sub, sizeof sub) == 0;
		if (n == 0 || (json_object_get(s, "oneOf") && n > 1)) {
			snprintf(err, size, "%s: matches %zu of the %s alternatives", where, n,
			    json_object_get(s, "oneOf") ? "oneOf" : "anyOf");
			return -1;
		}
	}
	return 0;
}

int
lh_llm_schema_check(json_t *schema, json_t *value, char *err, size_t size)
{
	return check(schema, value, "$", err, size);
}

/* ---- the call ---- */

static void
reset_attempt(struct call *c)
{
	size_t i;

	c->http_status = 0;
	c->body.len = c->line.len = c->data.len = c->text.len = 0;
	c->event[0] = 0;
	c->event[sizeof c->event - 1] = 0;
	c->has_data = c->streaming = c->done = c->finished = c->content_seen = 0;
	for (i = 0; i < c->ntools; i++) {
		free(c->tools[i].id.s);
		free(c->tools[i].name.s);
		free(c->tools[i].args.s);
	}
	free(c->tools);
	c->tools = NULL;
	c->ntools = 0;
	c->stop[0] = 0;
	c->input = c->output = c->cache_read = c->cache_write = 0;
	c->err[0] = 0;
	c->err_retry = c->err_perm = 0;
	c->retry_after = -1;
	c->should_retry = -1;
	c->idle_fired = 0;
	c->last_byte = lh_monotonic();
}

/* strstr ignoring case, for error bodies */
static int
contains_ci(const char *s, const char *word)
{
	size_t n = strlen(word);

	for (; *s; s++)
		if (!strncasecmp(s, word, n))
			return 1;
	return 0;
}

/* One HTTP exchange; sets c->err when it failed. */
static void
attempt(struct call *c, const char *url, const char *payload, struct curl_slist *headers)
{
	CURLcode rc;
	char errbuf[CURL_ERROR_SIZE] = "";
	json_t *j;
	const char *msg = NULL;

	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(c->curl);
	if (c->err[0] && (c->streaming || c->http_status == 200))
		return;         /* an error inside the reply */
	if (rc != CURLE_OK) {
		if (rc == CURLE_ABORTED_BY_CALLBACK && c->idle_fired)
			set_error(c, 1, "no data for %g s (idle timeout)", c->idle);
		else if (rc == CURLE_ABORTED_BY_CALLBACK)
			set_error(c, 0, "deadline passed");
		else
			set_error(c, 1, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		if (c->http_status == 200 && c->content_seen)
			c->err_retry = 0;   /* partial reply: reported, not retried */
		return;
	}
	if (c->http_status == 200) {
		if (c->streaming) {
			if (c->line.len)
				sse_line(c, c->line.s, c->line.len);
			sse_dispatch(c);
			flush_text(c);
			if (!c->err[0] && !c->done && !c->finished)
				set_error(c, !c->content_seen, "stream ended before its final event");
		} else {
			parse_body(c);
			flush_text(c);
		}
		return;
	}
	if ((j = json_loadb(buf_str(&c->body), c->body.len, 0, NULL)))
		msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	set_error(c, 0, "HTTP %ld: %.300s", c->http_status, msg ? msg : buf_str(&c->body));
	json_decref(j);
	switch (c->http_status) {
	case 408: case 409: case 429:
		c->err_retry = 1;
		break;
	default:
		c->err_retry = c->http_status >= 500;
	}
	if (c->http_status == 429 && (contains_ci(buf_str(&c->body), "insufficient_quota") ||
	    contains_ci(buf_str(&c->body), "billing") || contains_ci(buf_str(&c->body), "spend limit") ||
	    contains_ci(buf_str(&c->body), "credit balance")))
		c->err_retry = 0;
	if (c->should_retry >= 0)
		c->err_retry = c->should_retry;
	c->err_perm = !c->err_retry;
}

static json_t *
tool_calls_json(struct call *c)
{
	json_t *a = json_array(), *t, *args;
	json_error_t jerr;
	char id[32];
	size_t i;

	for (i = 0; i < c->ntools; i++) {
		struct tool *tl = &c->tools[i];

		snprintf(id, sizeof id, "call_%zu", i);
		t = json_pack("{s:s,s:s}", "id", tl->id.len ? tl->id.s : id, "name", buf_str(&tl->name));
		if (!tl->args.len)
			json_object_set_new(t, "arguments", json_object());
		else if ((args = json_loadb(tl->args.s, tl->args.len, JSON_DECODE_ANY, &jerr)))
			json_object_set_new(t, "arguments", args);
		else {
			json_object_set_new(t, "arguments_raw", json_stringn(tl->args.s, tl->args.len));
			json_object_set_new(t, "arguments_error", json_sprintf("not valid JSON: %s", jerr.text));
		}
		json_array_append_new(a, t);
	}
	return a;
}

static json_t *
response_json(struct call *c, int attempts, double started)
{
	json_t *r;

	if (c->ntools && (!c->stop[0] || !strcmp(c->stop, "end")))
		snprintf(c->stop, sizeof c->stop, "tool_calls");
	r = json_pack("{s:s%,s:o,s:s,s:{s:I,s:I,s:I,s:I},s:f,s:s,s:s,s:i,s:f}",
	    "text", buf_str(&c->text), c->text.len, "tool_calls", tool_calls_json(c),
	    "stop_reason", c->stop[0] ? c->stop : "other",
	    "usage", "input_tokens", c->input, "output_tokens", c->output,
	    "cache_read_tokens", c->cache_read, "cache_write_tokens", c->cache_write,
	    "cost_usd", cost(c), "provider", c->m.provider, "model", c->m.name,
	    "attempts", attempts, "latency_s", round((lh_monotonic() - started) * 1000) / 1000);
	if (!r)         /* text that is not UTF-8 */
		r = json_pack("{s:s,s:[],s:s}", "text", "", "tool_calls", "stop_reason", "other");
	return r;
}

static void
free_call(struct call *c)
{
	reset_attempt(c);
	free(c->body.s);
	free(c->line.s);
	free(c->data.s);
	free(c->text.s);
	free(c->m.name);
	free(c->m.base_url);
	free(c->m.alias);
	free(c->m.key);
	secret = NULL;
	json_decref(c->config);
	if (c->curl)
		curl_easy_cleanup(c->curl);
}

static int
fail_early(json_t **response, int status, const char *msg)
{
	*response = json_pack("{s:s,s:s,s:i}", "error", msg, "text", "", "exit", status);
	return status;
}

int
lh_llm_call(const struct lh_llm_options *opt, json_t *request, json_t **response)
{
	void (*old_term)(int), (*old_int)(int), (*old_hup)(int);
	struct call c;
	struct curl_slist *headers = NULL;
	char err[512] = "", url[4200], header[4200];
	const char *system;
	char *payload, *sys_alloc = NULL;
	json_t *body, *schema, *value;
	long max_tokens;
	int max_attempts, n = 0, status, limit;
	double started = lh_monotonic(), wait, now, deadline_s, idle;

	memset(&c, 0, sizeof c);
	c.opt = opt;
	if (!json_is_object(request) || !json_is_array(json_object_get(request, "messages")))
		return fail_early(response, LH_LLM_USAGE, "request: needs a \"messages\" list");
	if (!(c.config = load_config(opt->config, err, sizeof err)))
		return fail_early(response, LH_LLM_USAGE, err);
	if (resolve_model(&c, err, sizeof err) < 0) {
		status = strstr(err, "key") ? LH_LLM_PERMANENT : LH_LLM_USAGE;
		free_call(&c);
		return fail_early(response, status, redact(err));
	}
	if (budget_spent(err, sizeof err)) {
		free_call(&c);
		return fail_early(response, LH_LLM_BUDGET, err);
	}
	max_attempts = opt->max_attempts > 0 ? opt->max_attempts : (int)env_number("LONGHAUL_LLM_ATTEMPTS", 6);
	if (max_attempts < 1)
		max_attempts = 1;
	deadline_s = opt->deadline > 0 ? opt->deadline : env_number("LONGHAUL_DEADLINE", 0);
	c.deadline = deadline_s > 0 ? started + deadline_s : 0;
	idle = opt->idle_timeout > 0 ? opt->idle_timeout : env_number("LONGHAUL_IDLE_TIMEOUT", 120);
	limit = (int)env_number("LONGHAUL_IN_FLIGHT", json_integer_value(json_object_get(c.config, "in_flight")));

	max_tokens = json_integer_value(json_object_get(request, "max_tokens"));
	if (max_tokens <= 0)
		max_tokens = c.m.max_tokens > 0 ? c.m.max_tokens : 4096;
	system = json_string_value(json_object_get(request, "system"));
	if ((schema = json_object_get(request, "schema"))) {
		/* Anthropic has no schema parameter: ask in the system prompt
		 * (both formats are checked against the schema afterwards) */
		char *s = json_dumps(schema, JSON_COMPACT);
		size_t len = (system ? strlen(system) : 0) + strlen(s) + 200;

		sys_alloc = lh_malloc(len);
		snprintf(sys_alloc, len, "%s%sReply with one JSON value, and nothing else, that matches this JSON Schema: %s",
		    system ? system : "", system ? "\n\n" : "", s);
		free(s);
		if (c.m.provider[0] == 'a')
			system = sys_alloc;
	}
	if (c.m.provider[0] == 'o') {
		body = openai_request(&c, request, max_tokens, system);
		lh_path(url, sizeof url, "%s/chat/completions", c.m.base_url);
		if (c.m.key) {
			lh_path(header, sizeof header, "Authorization: Bearer %s", c.m.key);
			headers = curl_slist_append(headers, header);
		}
	} else {
		body = anthropic_request(&c, request, max_tokens, system);
		n = strlen(c.m.base_url);
		lh_path(url, sizeof url, "%s%s/messages", c.m.base_url,
		    n >= 3 && !strcmp(c.m.base_url + n - 3, "/v1") ? "" : "/v1");
		n = 0;
		if (c.m.key) {
			lh_path(header, sizeof header, "x-api-key: %s", c.m.key);
			headers = curl_slist_append(headers, header);
		}
		headers = curl_slist_append(headers, "anthropic-version: 2023-06-01");
	}
	memset(header, 0, sizeof header);
	free(sys_alloc);
	headers = curl_slist_append(headers, "Content-Type: application/json");
	headers = curl_slist_append(headers, "Expect:");
	if (opt->stream)
		headers = curl_slist_append(headers, "Accept: text/event-stream");
	payload = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (!payload) {
		curl_slist_free_all(headers);
		free_call(&c);
		return fail_early(response, LH_LLM_USAGE, "request: text is not valid UTF-8");
	}

	/* TLS set up only when needed: it is most of a plain call's memory */
	curl_global_init(strncmp(url, "https:", 6) ? CURL_GLOBAL_NOTHING : CURL_GLOBAL_DEFAULT);
	if (!(c.curl = curl_easy_init()))
		lh_die(LH_LLM_TEMPORARY, "cannot start curl");
	curl_easy_setopt(c.curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c.curl, CURLOPT_USERAGENT, "longhaul-llm-call/0.1");
	curl_easy_setopt(c.curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(env_number("LONGHAUL_CONNECT_TIMEOUT", 10) * 1000));
	/* an idle timeout (on_progress), not a total one: long answers take
	 * their time; curl's low-speed limit averages over seconds of
	 * earlier traffic, so it is not used */
	c.idle = idle;
	curl_easy_setopt(c.curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c.curl, CURLOPT_HEADERDATA, &c);
	curl_easy_setopt(c.curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c.curl, CURLOPT_WRITEDATA, &c);
	curl_easy_setopt(c.curl, CURLOPT_NOPROGRESS, 0L);
	curl_easy_setopt(c.curl, CURLOPT_XFERINFOFUNCTION, on_progress);
	curl_easy_setopt(c.curl, CURLOPT_XFERINFODATA, &c);
	curl_easy_setopt(c.curl, CURLOPT_ACCEPT_ENCODING, "");
	if (opt->verbose) {
		curl_easy_setopt(c.curl, CURLOPT_VERBOSE, 1L);
		curl_easy_setopt(c.curl, CURLOPT_DEBUGFUNCTION, on_debug);
	}
	/* a signal mid-call gives the in-flight slot back; the caller's own
	 * handlers (agent-step's) are put back when the call is over */
	old_term = signal(SIGTERM, on_signal);
	old_int = signal(SIGINT, on_signal);
	old_hup = signal(SIGHUP, on_signal);
	trace(&c, "model %s:%s at %s%s", c.m.provider, c.m.name, url, c.m.key ? "" : " (no key)");

	for (;;) {
		struct curl_slist *h = NULL, *p;
		char attempt_header[64];

		reset_attempt(&c);
		n++;
		/* a shared cool-down after someone's 429 */
		if ((wait = cooldown_until() - lh_now()) > 0) {
			wait = fmin(wait, 120);
			if (c.deadline > 0 && lh_monotonic() + wait > c.deadline) {
				set_error(&c, 1, "cool-down after a 429 outlasts the deadline");
				n--;
				break;
			}
			trace(&c, "shared cool-down: waiting %.2f s", wait);
			sleep_s(wait);
		}
		if (take_slot(&c, limit) < 0) {
			set_error(&c, 1, "deadline passed waiting for an in-flight slot");
			n--;
			break;
		}
		c.lease_touched = lh_monotonic();
		snprintf(attempt_header, sizeof attempt_header, "x-longhaul-attempt: %d", n);
		for (p = headers; p; p = p->next)
			h = curl_slist_append(h, p->data);
		h = curl_slist_append(h, attempt_header);
		trace(&c, "attempt %d: POST %s", n, url);
		attempt(&c, url, payload, h);
		curl_slist_free_all(h);
		release_slot();
		if (!c.err[0])
			break;
		trace(&c, "attempt %d failed: %s", n, c.err);
		if (!c.err_retry || (opt->on_text && c.emitted) || n >= max_attempts)
			break;
		wait = c.retry_after >= 0 && c.retry_after <= 120 ? c.retry_after
		    : lh_jitter() * fmin(8, 0.5 * pow(2, n - 1));
		if (c.http_status == 429 || c.http_status == 529)
			cooldown_set(lh_now() + wait);
		now = lh_monotonic();
		if (c.deadline > 0 && now + wait > c.deadline) {
			trace(&c, "no time left for another attempt");
			break;
		}
		trace(&c, "retrying in %.3f s", wait);
		sleep_s(wait);
	}
	curl_slist_free_all(headers);
	free(payload);

	*response = response_json(&c, n, started);
	if (!c.err[0])
		status = LH_LLM_OK;
	else if (c.content_seen && c.http_status == 200)
		status = LH_LLM_INCOMPLETE;
	else if (c.err_perm && strcmp(c.err, "deadline passed"))
		status = LH_LLM_PERMANENT;
	else
		status = LH_LLM_TEMPORARY;
	if (status == LH_LLM_INCOMPLETE)
		json_object_set_new(*response, "incomplete", json_true());
	if (c.err[0])
		json_object_set_new(*response, "error", json_string(c.err));
	if (!status && schema) {
		const char *t = buf_str(&c.text);
		json_error_t jerr;

		/* tolerate a fenced block around the JSON */
		if (!strncmp(t, "```", 3) && strchr(t, '\n'))
			t = strchr(t, '\n') + 1;
		if (!(value = json_loads(t, JSON_DECODE_ANY | JSON_DISABLE_EOF_CHECK, &jerr))) {
			snprintf(err, sizeof err, "reply is not JSON: %s", jerr.text);
			status = LH_LLM_INVALID;
		} else if (lh_llm_schema_check(schema, value, err, sizeof err) < 0) {
			status = LH_LLM_INVALID;
			json_object_set_new(*response, "json", value);
		} else
			json_object_set_new(*response, "json", value);
		if (status == LH_LLM_INVALID)
			json_object_set_new(*response, "error", json_sprintf("schema: %s", err));
	}
	log_usage(&c, *response, status);
	free_call(&c);
	signal(SIGTERM, old_term);
	signal(SIGINT, old_int);
	signal(SIGHUP, old_hup);
	return status;
}
