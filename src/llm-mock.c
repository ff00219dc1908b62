/* llm-mock: a scripted language model server on loopback, for tests and
 * the offline demo.
 *
 * It speaks OpenAI Chat Completions (POST /v1/chat/completions) and
 * Anthropic Messages (POST /v1/messages), streamed or not, with tool
 * calls.  Replies come from a rules file of JSON lines; the first rule
 * whose match holds, and whose "times" is not used up, answers.  Faults
 * (429, 5xx, stalls, cut streams, errors after 200, malformed JSON) are
 * injected per rule, so a test scripts "fail once, then succeed".
 *
 * One thread per connection, one request per connection (Connection:
 * close; a streamed body ends when the connection does, so a "cut"
 * stream looks exactly like a server that died).  The rules' counters and
 * the log are guarded by one mutex; each log line is one write(2).
 */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <regex.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "longhaul.h"

struct rule {
	json_t *json;           /* the whole rule line */
	json_t *reply;
	const char **contains, **not_contains;
	size_t ncontains, nnot_contains;
	regex_t regex, capture;
	int has_regex, has_capture;
	long turn;              /* 0: any */
	const char *model, *api;
	long times;             /* -1: unlimited */
	long fired;
	long delay_ms, fault_ms, chunk;
	double retry_after;     /* < 0: none */
	const char *fault;
	int lineno;
};

/* what a rule may ask for: a reply's text (repeat included), usage */
#define MOCK_MAX_TEXT (64L << 20)
#define MOCK_MAX_USAGE 1000000000000000L

struct conn {
	int fd;
};

static struct rule *rules;
static size_t nrules;
static int log_fd = -1;
static const char *dump_dir;    /* -d: each request's head and body */
static long dumped;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static long active, max_active, served;
static int listen_fd = -1;
static volatile sig_atomic_t stopping;

static void
usage(void)
{
	fprintf(stderr, "usage: llm-mock -r RULES.jsonl [-p PORT] [-P PORTFILE] [-l LOG.jsonl] [-d DIR]\n");
	exit(2);
}

/* The parts of a rule from outside (the rules file) are checked here,
 * each error a message and nothing half-made: a harness (t/fuzz) and
 * load_rules share it. */
#define RULE_ERROR(...) (snprintf(err, errsize, __VA_ARGS__), -1)

static int
string_list(json_t *v, const char ***list, size_t *n, const char *what, char *err, size_t errsize)
{
	size_t i;

	*n = 0;
	*list = NULL;
	if (!v)
		return 0;
	if (json_is_string(v)) {
		*list = lh_malloc(sizeof **list);
		(*list)[0] = json_string_value(v);
		*n = 1;
		return 0;
	}
	if (!json_is_array(v))
		return RULE_ERROR("%s: not a string or a list", what);
	for (i = 0; i < json_array_size(v); i++)
		if (!json_is_string(json_array_get(v, i)))
			return RULE_ERROR("%s: not a string", what);
	*list = lh_malloc((json_array_size(v) + 1) * sizeof **list);
	for (i = 0; i < json_array_size(v); i++)
		(*list)[i] = json_string_value(json_array_get(v, i));
	*n = i;
	return 0;
}

static int
compile(regex_t *re, json_t *v, const char *what, char *err, size_t errsize)
{
	char msg[200];
	int e;

	if (!json_is_string(v))
		return RULE_ERROR("%s: not a string", what);
	if ((e = regcomp(re, json_string_value(v), REG_EXTENDED))) {
		regerror(e, re, msg, sizeof msg);
		return RULE_ERROR("%s: %s", what, msg);
	}
	return 0;
}

static void
rule_free(struct rule *r)
{
	free(r->contains);
	free(r->not_contains);
	if (r->has_regex)
		regfree(&r->regex);
	if (r->has_capture)
		regfree(&r->capture);
	json_decref(r->json);
	memset(r, 0, sizeof *r);
}

/* A number of the rule: an integer in [lo, hi], or dflt when absent. */
static int
rule_number(json_t *j, const char *key, long lo, long hi, long dflt, long *out, char *err, size_t errsize)
{
	json_t *v = json_object_get(j, key);

	*out = dflt;
	if (!v)
		return 0;
	if (!json_is_integer(v) || json_integer_value(v) < lo || json_integer_value(v) > hi)
		return RULE_ERROR("%s: not an integer from %ld to %ld", key, lo, hi);
	*out = (long)json_integer_value(v);
	return 0;
}

/* One line of the rules file into r: 0, or -1 with the reason. */
static int
rule_parse(struct rule *r, const char *line, size_t len, int lineno, char *err, size_t errsize)
{
	json_error_t jerr;
	json_t *j, *m, *v, *u;
	long x;

	memset(r, 0, sizeof *r);
	r->lineno = lineno;
	if (!(j = json_loadb(line, len, 0, &jerr)))
		return RULE_ERROR("%s", jerr.text);
	r->json = j;
	if (!json_is_object(j) && RULE_ERROR("not an object"))
		goto bad;
	r->reply = json_object_get(j, "reply");
	m = json_object_get(j, "match");
	if (m && !json_is_object(m) && RULE_ERROR("match: not an object"))
		goto bad;
	if (string_list(json_object_get(m, "contains"), &r->contains, &r->ncontains, "contains", err, errsize) < 0 ||
	    string_list(json_object_get(m, "not_contains"), &r->not_contains, &r->nnot_contains, "not_contains", err, errsize) < 0)
		goto bad;
	if ((v = json_object_get(m, "regex"))) {
		if (compile(&r->regex, v, "regex", err, errsize) < 0)
			goto bad;
		r->has_regex = 1;
	}
	if ((v = json_object_get(j, "capture"))) {
		if (compile(&r->capture, v, "capture", err, errsize) < 0)
			goto bad;
		r->has_capture = 1;
	}
	if (rule_number(m, "turn", 0, 1000000, 0, &r->turn, err, errsize) < 0 ||
	    rule_number(j, "times", -1, LONG_MAX, -1, &r->times, err, errsize) < 0 ||
	    rule_number(j, "delay_ms", 0, 3600000, 0, &r->delay_ms, err, errsize) < 0 ||
	    rule_number(j, "fault_ms", 0, 3600000, 0, &r->fault_ms, err, errsize) < 0 ||
	    rule_number(j, "chunk", 0, 1 << 30, 16, &r->chunk, err, errsize) < 0 ||
	    rule_number(j, "chunk_delay_ms", 0, 3600000, 0, &x, err, errsize) < 0 ||
	    rule_number(r->reply, "repeat", 0, MOCK_MAX_TEXT, 1, &x, err, errsize) < 0)
		goto bad;
	/* usage is scripted as is, negative or absurd (to test clients),
	 * but within what sums of it can hold */
	u = json_object_get(r->reply, "usage");
	if ((rule_number(u, "input_tokens", -MOCK_MAX_USAGE, MOCK_MAX_USAGE, 0, &x, err, errsize) < 0 ||
	    rule_number(u, "output_tokens", -MOCK_MAX_USAGE, MOCK_MAX_USAGE, 0, &x, err, errsize) < 0 ||
	    rule_number(u, "cache_read_tokens", -MOCK_MAX_USAGE, MOCK_MAX_USAGE, 0, &x, err, errsize) < 0 ||
	    rule_number(u, "cache_write_tokens", -MOCK_MAX_USAGE, MOCK_MAX_USAGE, 0, &x, err, errsize) < 0))
		goto bad;
	if (r->chunk <= 0)
		r->chunk = 16;
	r->model = json_string_value(json_object_get(m, "model"));
	r->api = json_string_value(json_object_get(m, "api"));
	v = json_object_get(j, "retry_after");
	r->retry_after = v ? json_number_value(v) : -1;
	v = json_object_get(j, "fault");
	if (v && json_is_integer(v)) {
		char code[32];

		snprintf(code, sizeof code, "%lld", (long long)json_integer_value(v));
		json_object_set_new(j, "fault", json_string(code));
		v = json_object_get(j, "fault");
	}
	r->fault = json_string_value(v);
	return 0;
bad:
	rule_free(r);
	return -1;
}

static void
load_rules(const char *path)
{
	FILE *f;
	char *line = NULL, err[300];
	size_t cap = 0;
	ssize_t len;
	int lineno = 0;

	if (!(f = fopen(path, "r")))
		lh_die_errno(2, "%s", path);
	while ((len = getline(&line, &cap, f)) >= 0) {
		char *p = line;

		lineno++;
		while (*p == ' ' || *p == '\t')
			p++;
		if (*p == '\n' || *p == 0 || *p == '#')
			continue;
		rules = lh_realloc(rules, (nrules + 1) * sizeof *rules);
		if (rule_parse(&rules[nrules], p, len - (p - line), lineno, err, sizeof err) < 0)
			lh_die(2, "%s:%d: %s", path, lineno, err);
		nrules++;
	}
	free(line);
	fclose(f);
}

/* ---- replies ---- */

static void
sleep_ms(long ms)
{
	struct timespec ts = { ms / 1000, (ms % 1000) * 1000000L };

	while (ms > 0 && nanosleep(&ts, &ts) < 0 && errno == EINTR)
		;
}

/* Replace $1..$9 by the capture groups; the groups index into body. */
static char *
substitute(const char *s, const char *body, const regmatch_t *m, int ngroups)
{
	size_t cap = strlen(s) + 64, n = 0, glen;
	char *out = lh_malloc(cap);

	for (; *s; s++) {
		const char *add = s;
		size_t addlen = 1;

		if (*s == '$' && s[1] >= '1' && s[1] <= '9' && s[1] - '0' <= ngroups) {
			const regmatch_t *g = &m[s[1] - '0'];

			glen = g->rm_so >= 0 ? (size_t)(g->rm_eo - g->rm_so) : 0;
			add = body + (g->rm_so >= 0 ? g->rm_so : 0);
			addlen = glen;
			s++;
		}
		if (n + addlen + 1 > cap)
			out = lh_realloc(out, cap = 2 * (n + addlen + 1));
		memcpy(out + n, add, addlen);
		n += addlen;
	}
	out[n] = 0;
	return out;
}

/* A deep copy of v with every string substituted. */
static json_t *
substitute_json(json_t *v, const char *body, const regmatch_t *m, int ngroups)
{
	json_t *out, *x;
	const char *key;
	size_t i;
	char *s;

	if (json_is_string(v)) {
		s = substitute(json_string_value(v), body, m, ngroups);
		out = json_string(s);
		free(s);
		return out ? out : json_string("");
	}
	if (json_is_object(v)) {
		out = json_object();
		json_object_foreach(v, key, x)
			json_object_set_new(out, key, substitute_json(x, body, m, ngroups));
		return out;
	}
	if (json_is_array(v)) {
		out = json_array();
		json_array_foreach(v, i, x)
			json_array_append_new(out, substitute_json(x, body, m, ngroups));
		return out;
	}
	return json_deep_copy(v);
}

struct reply {
	char *text;
	size_t ntools;
	char **tool_id, **tool_name, **tool_args;
	const char *stop;       /* end, tool_calls, max_tokens */
	long input_tokens, output_tokens, cache_read, cache_write;
	char *thinking;         /* a thinking block first (Anthropic, Responses) */
	char *server_tool;      /* a server_tool_use block: its name */
	char *server_input;     /* and its input, JSON */
	int usage_x_groq;       /* OpenAI stream: usage under x_groq, as Groq sends it */
	char id[32];            /* the message's id: a client merges blocks of one id */
	char **tool_custom;     /* Responses: a custom (freeform) tool call's input */
};

static void
build_reply(struct reply *rp, json_t *reply, const char *body, size_t bodylen,
    const struct rule *r)
{
	regmatch_t m[10];
	int ngroups = 0;
	json_t *x, *tc, *u;
	size_t i, cap, len, outlen = 0;
	long repeat;
	char *s;

	memset(rp, 0, sizeof *rp);
	{
		char rnd[17];

		lh_random_name(rnd, sizeof rnd);
		snprintf(rp->id, sizeof rp->id, "msg_mock_%s", rnd);
	}
	if (r && r->has_capture && regexec(&r->capture, body, 10, m, 0) == 0)
		ngroups = r->capture.re_nsub > 9 ? 9 : (int)r->capture.re_nsub;
	x = substitute_json(reply, body, m, ngroups);
	s = (char *)json_string_value(json_object_get(x, "text"));
	repeat = json_integer_value(json_object_get(x, "repeat"));
	len = s ? strlen(s) : 0;
	if (repeat < 1)
		repeat = 1;
	if (len && (size_t)repeat > MOCK_MAX_TEXT / len)
		repeat = MOCK_MAX_TEXT / len;
	if (len > MOCK_MAX_TEXT)
		len = MOCK_MAX_TEXT;
	cap = len * repeat + 1;
	rp->text = lh_malloc(cap);
	for (i = 0; i < (size_t)repeat; i++)
		memcpy(rp->text + i * len, s ? s : "", len);
	rp->text[len * repeat] = 0;
	outlen += len * repeat;
	tc = json_object_get(x, "tool_calls");
	rp->ntools = json_array_size(tc);
	rp->tool_id = lh_malloc((rp->ntools + 1) * sizeof(char *));
	rp->tool_name = lh_malloc((rp->ntools + 1) * sizeof(char *));
	rp->tool_args = lh_malloc((rp->ntools + 1) * sizeof(char *));
	for (i = 0; i < rp->ntools; i++) {
		json_t *t = json_array_get(tc, i), *a = json_object_get(t, "arguments");
		const char *id = json_string_value(json_object_get(t, "id"));
		const char *name = json_string_value(json_object_get(t, "name"));
		char idbuf[64];

		if (!id) {
			char rnd[13];

			lh_random_name(rnd, sizeof rnd);
			snprintf(idbuf, sizeof idbuf, "call_%zu_%s", i, rnd);
			id = idbuf;
		}
		rp->tool_id[i] = lh_strdup(id);
		rp->tool_name[i] = lh_strdup(name ? name : "tool");
		/* "arguments" as a string is sent verbatim (to script bad JSON) */
		if (json_is_string(a))
			rp->tool_args[i] = lh_strdup(json_string_value(a));
		else
			rp->tool_args[i] = a ? json_dumps(a, JSON_COMPACT | JSON_ENCODE_ANY) : NULL;
		if (!rp->tool_args[i])
			rp->tool_args[i] = lh_strdup("{}");
		outlen += strlen(rp->tool_args[i]);
	}
	rp->tool_custom = lh_malloc((rp->ntools + 1) * sizeof(char *));
	for (i = 0; i < rp->ntools; i++) {
		json_t *in = json_object_get(json_array_get(tc, i), "input");
		rp->tool_custom[i] = json_is_string(in) ? lh_strdup(json_string_value(in)) : NULL;
	}
	if ((s = (char *)json_string_value(json_object_get(x, "thinking"))))
		rp->thinking = lh_strdup(s);
	if ((u = json_object_get(x, "server_tool"))) {
		s = (char *)json_string_value(json_object_get(u, "name"));
		rp->server_tool = lh_strdup(s ? s : "web_search");
		rp->server_input = json_dumps(json_object_get(u, "input") ?
		    json_object_get(u, "input") : json_object(), JSON_COMPACT);
	}
	s = (char *)json_string_value(json_object_get(x, "usage_at"));
	rp->usage_x_groq = s && !strcmp(s, "x_groq");
	rp->stop = json_string_value(json_object_get(x, "stop"));
	if (!rp->stop)
		rp->stop = rp->ntools ? "tool_calls" : "end";
	rp->input_tokens = bodylen / 4 + 1;
	rp->output_tokens = outlen / 4 + 1;
	if ((u = json_object_get(x, "usage"))) {
		if (json_object_get(u, "input_tokens"))
			rp->input_tokens = json_integer_value(json_object_get(u, "input_tokens"));
		if (json_object_get(u, "output_tokens"))
			rp->output_tokens = json_integer_value(json_object_get(u, "output_tokens"));
		rp->cache_read = json_integer_value(json_object_get(u, "cache_read_tokens"));
		rp->cache_write = json_integer_value(json_object_get(u, "cache_write_tokens"));
	}
	json_decref(x);
}

static void
free_reply(struct reply *rp)
{
	size_t i;

	for (i = 0; i < rp->ntools; i++) {
		free(rp->tool_id[i]);
		free(rp->tool_name[i]);
		free(rp->tool_args[i]);
		free(rp->tool_custom[i]);
	}
	free(rp->tool_custom);
	free(rp->thinking);
	free(rp->server_tool);
	free(rp->server_input);
	free(rp->tool_id);
	free(rp->tool_name);
	free(rp->tool_args);
	free(rp->text);
}

/* Events of a streamed reply, collected before sending so that faults
 * can cut them at a given event. */
struct events {
	char **ev;
	char *is_content;        /* the event carries text or arguments */
	size_t n, cap;
	size_t content;
};

static void
add_raw(struct events *e, char *s, int content)
{
	if (e->n == e->cap) {
		e->cap = e->cap * 2 + 16;
		e->ev = lh_realloc(e->ev, e->cap * sizeof *e->ev);
		e->is_content = lh_realloc(e->is_content, e->cap);
	}
	e->is_content[e->n] = content;
	e->ev[e->n++] = s;
	e->content += content;
}

static void
add_event(struct events *e, const char *name, json_t *data, int content)
{
	char *d = json_dumps(data, JSON_COMPACT), *s;
	size_t len = strlen(d) + (name ? strlen(name) : 0) + 32;

	s = lh_malloc(len);
	if (name)
		snprintf(s, len, "event: %s\ndata: %s\n\n", name, d);
	else
		snprintf(s, len, "data: %s\n\n", d);
	free(d);
	json_decref(data);
	add_raw(e, s, content);
}

static json_t *
chunk_string(const char *s, size_t off, size_t n)
{
	json_t *j = json_stringn(s + off, n);

	return j ? j : json_string("");
}

/* Split s into pieces of about chunk bytes, never inside a UTF-8 char. */
static size_t
piece(const char *s, size_t off, size_t len, long chunk)
{
	size_t n = len - off < (size_t)chunk ? len - off : (size_t)chunk;

	while (off + n < len && ((unsigned char)s[off + n] & 0xc0) == 0x80)
		n++;
	return n;
}

static const char *
openai_finish(const char *stop)
{
	if (!strcmp(stop, "tool_calls"))
		return "tool_calls";
	if (!strcmp(stop, "max_tokens"))
		return "length";
	return "stop";
}

static const char *
anthropic_stop(const char *stop)
{
	if (!strcmp(stop, "tool_calls"))
		return "tool_use";
	if (!strcmp(stop, "max_tokens"))
		return "max_tokens";
	return "end_turn";
}

static void
openai_events(struct events *e, const struct reply *rp, const char *model,
    int with_usage, long chunk)
{
	size_t i, off, n, len = strlen(rp->text);
	json_t *base = json_pack("{s:s,s:s,s:I,s:s}", "id", "chatcmpl-mock",
	    "object", "chat.completion.chunk", "created", (json_int_t)time(NULL), "model", model);
	json_t *c;

#define CHUNK(delta, finish) (c = json_deep_copy(base), json_object_set_new(c, "choices", \
	json_pack("[{s:i,s:o,s:o}]", "index", 0, "delta", (delta), "finish_reason", (finish))), c)
	add_event(e, NULL, CHUNK(json_pack("{s:s,s:s}", "role", "assistant", "content", ""), json_null()), 0);
	for (off = 0; off < len; off += n) {
		n = piece(rp->text, off, len, chunk);
		add_event(e, NULL, CHUNK(json_pack("{s:o}", "content", chunk_string(rp->text, off, n)), json_null()), 1);
	}
	for (i = 0; i < rp->ntools; i++) {
		const char *a = rp->tool_args[i];
		size_t alen = strlen(a), step = alen / 3 + 1;

		add_event(e, NULL, CHUNK(json_pack("{s:[{s:I,s:s,s:s,s:{s:s,s:s}}]}", "tool_calls",
		    "index", (json_int_t)i, "id", rp->tool_id[i], "type", "function", "function",
		    "name", rp->tool_name[i], "arguments", ""), json_null()), 1);
		for (off = 0; off < alen; off += n) {
			n = piece(a, off, alen, step);
			add_event(e, NULL, CHUNK(json_pack("{s:[{s:I,s:{s:o}}]}", "tool_calls",
			    "index", (json_int_t)i, "function", "arguments", chunk_string(a, off, n)), json_null()), 1);
		}
	}
	add_event(e, NULL, CHUNK(json_object(), json_string(openai_finish(rp->stop))), 0);
	if (with_usage || rp->usage_x_groq) {
		json_t *u = json_pack("{s:I,s:I,s:I,s:{s:I}}",
		    "prompt_tokens", (json_int_t)(rp->input_tokens + rp->cache_read),
		    "completion_tokens", (json_int_t)rp->output_tokens,
		    "total_tokens", (json_int_t)(rp->input_tokens + rp->cache_read + rp->output_tokens),
		    "prompt_tokens_details", "cached_tokens", (json_int_t)rp->cache_read);
		c = json_deep_copy(base);
		json_object_set_new(c, "choices", json_array());
		if (rp->usage_x_groq)
			json_object_set_new(c, "x_groq", json_pack("{s:s,s:o}", "id", "req_mock", "usage", u));
		else
			json_object_set_new(c, "usage", u);
		add_event(e, NULL, c, 0);
	}
#undef CHUNK
	json_decref(base);
}

static json_t *
anthropic_usage(const struct reply *rp, long output)
{
	return json_pack("{s:I,s:I,s:I,s:I}", "input_tokens", (json_int_t)rp->input_tokens,
	    "output_tokens", (json_int_t)output,
	    "cache_read_input_tokens", (json_int_t)rp->cache_read,
	    "cache_creation_input_tokens", (json_int_t)rp->cache_write);
}

static void
anthropic_events(struct events *e, const struct reply *rp, const char *model, long chunk)
{
	size_t i, off, n, len = strlen(rp->text), block = 0;

	add_event(e, "message_start", json_pack("{s:s,s:{s:s,s:s,s:s,s:s,s:[],s:n,s:o}}",
	    "type", "message_start", "message", "id", rp->id, "type", "message",
	    "role", "assistant", "model", model, "content", "stop_reason",
	    "usage", anthropic_usage(rp, 1)), 0);
	if (rp->thinking) {
		size_t tlen = strlen(rp->thinking);

		add_event(e, "content_block_start", json_pack("{s:s,s:I,s:{s:s,s:s,s:s}}",
		    "type", "content_block_start", "index", (json_int_t)block,
		    "content_block", "type", "thinking", "thinking", "", "signature", ""), 0);
		for (off = 0; off < tlen; off += n) {
			n = piece(rp->thinking, off, tlen, chunk);
			add_event(e, "content_block_delta", json_pack("{s:s,s:I,s:{s:s,s:o}}",
			    "type", "content_block_delta", "index", (json_int_t)block, "delta",
			    "type", "thinking_delta", "thinking", chunk_string(rp->thinking, off, n)), 1);
		}
		add_event(e, "content_block_delta", json_pack("{s:s,s:I,s:{s:s,s:s}}",
		    "type", "content_block_delta", "index", (json_int_t)block, "delta",
		    "type", "signature_delta", "signature", "c2lnbmF0dXJlLW1vY2s="), 0);
		add_event(e, "content_block_stop", json_pack("{s:s,s:I}",
		    "type", "content_block_stop", "index", (json_int_t)block), 0);
		block++;
	}
	if (rp->server_tool) {
		size_t slen = strlen(rp->server_input), step = slen / 3 + 1;

		add_event(e, "content_block_start", json_pack("{s:s,s:I,s:{s:s,s:s,s:s,s:{}}}",
		    "type", "content_block_start", "index", (json_int_t)block, "content_block",
		    "type", "server_tool_use", "id", "srvtoolu_mock", "name", rp->server_tool, "input"), 1);
		for (off = 0; off < slen; off += n) {
			n = piece(rp->server_input, off, slen, step);
			add_event(e, "content_block_delta", json_pack("{s:s,s:I,s:{s:s,s:o}}",
			    "type", "content_block_delta", "index", (json_int_t)block, "delta",
			    "type", "input_json_delta", "partial_json", chunk_string(rp->server_input, off, n)), 1);
		}
		add_event(e, "content_block_stop", json_pack("{s:s,s:I}",
		    "type", "content_block_stop", "index", (json_int_t)block), 0);
		block++;
		add_event(e, "content_block_start", json_pack("{s:s,s:I,s:{s:s,s:s,s:[{s:s,s:s,s:s}]}}",
		    "type", "content_block_start", "index", (json_int_t)block, "content_block",
		    "type", "web_search_tool_result", "tool_use_id", "srvtoolu_mock", "content",
		    "type", "web_search_result", "url", "https://example.invalid/", "title", "mock"), 0);
		add_event(e, "content_block_stop", json_pack("{s:s,s:I}",
		    "type", "content_block_stop", "index", (json_int_t)block), 0);
		block++;
	}
	if (len || !rp->ntools) {
		add_event(e, "content_block_start", json_pack("{s:s,s:I,s:{s:s,s:s}}",
		    "type", "content_block_start", "index", (json_int_t)block,
		    "content_block", "type", "text", "text", ""), 0);
		add_event(e, "ping", json_pack("{s:s}", "type", "ping"), 0);
		for (off = 0; off < len; off += n) {
			n = piece(rp->text, off, len, chunk);
			add_event(e, "content_block_delta", json_pack("{s:s,s:I,s:{s:s,s:o}}",
			    "type", "content_block_delta", "index", (json_int_t)block, "delta",
			    "type", "text_delta", "text", chunk_string(rp->text, off, n)), 1);
		}
		add_event(e, "content_block_stop", json_pack("{s:s,s:I}",
		    "type", "content_block_stop", "index", (json_int_t)block), 0);
		block++;
	}
	for (i = 0; i < rp->ntools; i++, block++) {
		const char *a = rp->tool_args[i];
		size_t alen = strlen(a), step = alen / 3 + 1;

		add_event(e, "content_block_start", json_pack("{s:s,s:I,s:{s:s,s:s,s:s,s:{}}}",
		    "type", "content_block_start", "index", (json_int_t)block, "content_block",
		    "type", "tool_use", "id", rp->tool_id[i], "name", rp->tool_name[i], "input"), 1);
		for (off = 0; off < alen; off += n) {
			n = piece(a, off, alen, step);
			add_event(e, "content_block_delta", json_pack("{s:s,s:I,s:{s:s,s:o}}",
			    "type", "content_block_delta", "index", (json_int_t)block, "delta",
			    "type", "input_json_delta", "partial_json", chunk_string(a, off, n)), 1);
		}
		add_event(e, "content_block_stop", json_pack("{s:s,s:I}",
		    "type", "content_block_stop", "index", (json_int_t)block), 0);
	}
	add_event(e, "message_delta", json_pack("{s:s,s:{s:s,s:n},s:{s:I}}",
	    "type", "message_delta", "delta", "stop_reason", anthropic_stop(rp->stop),
	    "stop_sequence", "usage", "output_tokens", (json_int_t)rp->output_tokens), 0);
	add_event(e, "message_stop", json_pack("{s:s}", "type", "message_stop"), 0);
}

static json_t *
openai_body(const struct reply *rp, const char *model)
{
	json_t *msg = json_pack("{s:s,s:s}", "role", "assistant", "content", rp->text);
	json_t *calls = json_array();
	size_t i;

	for (i = 0; i < rp->ntools; i++)
		json_array_append_new(calls, json_pack("{s:s,s:s,s:{s:s,s:s}}", "id", rp->tool_id[i],
		    "type", "function", "function", "name", rp->tool_name[i], "arguments", rp->tool_args[i]));
	if (rp->ntools)
		json_object_set_new(msg, "tool_calls", calls);
	else
		json_decref(calls);
	return json_pack("{s:s,s:s,s:I,s:s,s:[{s:i,s:o,s:s}],s:{s:I,s:I,s:I,s:{s:I}}}",
	    "id", "chatcmpl-mock", "object", "chat.completion", "created", (json_int_t)time(NULL),
	    "model", model, "choices", "index", 0, "message", msg, "finish_reason", openai_finish(rp->stop),
	    "usage", "prompt_tokens", (json_int_t)(rp->input_tokens + rp->cache_read),
	    "completion_tokens", (json_int_t)rp->output_tokens,
	    "total_tokens", (json_int_t)(rp->input_tokens + rp->cache_read + rp->output_tokens),
	    "prompt_tokens_details", "cached_tokens", (json_int_t)rp->cache_read);
}

static json_t *
anthropic_body(const struct reply *rp, const char *model)
{
	json_t *content = json_array(), *input;
	size_t i;

	if (rp->thinking)
		json_array_append_new(content, json_pack("{s:s,s:s,s:s}", "type", "thinking",
		    "thinking", rp->thinking, "signature", "c2lnbmF0dXJlLW1vY2s="));
	if (rp->server_tool) {
		json_t *in = json_loads(rp->server_input, 0, NULL);

		json_array_append_new(content, json_pack("{s:s,s:s,s:s,s:o}", "type", "server_tool_use",
		    "id", "srvtoolu_mock", "name", rp->server_tool, "input", in ? in : json_object()));
		json_array_append_new(content, json_pack("{s:s,s:s,s:[{s:s,s:s,s:s}]}", "type",
		    "web_search_tool_result", "tool_use_id", "srvtoolu_mock", "content", "type",
		    "web_search_result", "url", "https://example.invalid/", "title", "mock"));
	}
	if (rp->text[0] || !rp->ntools)
		json_array_append_new(content, json_pack("{s:s,s:s}", "type", "text", "text", rp->text));
	for (i = 0; i < rp->ntools; i++) {
		if (!(input = json_loads(rp->tool_args[i], 0, NULL)))
			input = json_string(rp->tool_args[i]);
		json_array_append_new(content, json_pack("{s:s,s:s,s:s,s:o}", "type", "tool_use",
		    "id", rp->tool_id[i], "name", rp->tool_name[i], "input", input));
	}
	return json_pack("{s:s,s:s,s:s,s:s,s:o,s:s,s:n,s:o}", "id", rp->id, "type", "message",
	    "role", "assistant", "model", model, "content", content,
	    "stop_reason", anthropic_stop(rp->stop), "stop_sequence", "usage", anthropic_usage(rp, rp->output_tokens));
}

/* ---- OpenAI Responses API (/v1/responses): typed events, no [DONE] ---- */

static json_t *
responses_usage(const struct reply *rp)
{
	return json_pack("{s:I,s:{s:I},s:I,s:{s:I},s:I}",
	    "input_tokens", (json_int_t)(rp->input_tokens + rp->cache_read),
	    "input_tokens_details", "cached_tokens", (json_int_t)rp->cache_read,
	    "output_tokens", (json_int_t)rp->output_tokens,
	    "output_tokens_details", "reasoning_tokens", (json_int_t)0,
	    "total_tokens", (json_int_t)(rp->input_tokens + rp->cache_read + rp->output_tokens));
}

/* the output items of the reply, as response.completed lists them */
static json_t *
responses_output(const struct reply *rp)
{
	json_t *out = json_array();
	size_t i;

	if (rp->thinking)
		json_array_append_new(out, json_pack("{s:s,s:s,s:[{s:s,s:s}],s:n}", "type", "reasoning",
		    "id", "rs_mock", "summary", "type", "summary_text", "text", rp->thinking,
		    "encrypted_content"));
	if (rp->text[0] || !rp->ntools)
		json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:[{s:s,s:s,s:[]}]}",
		    "type", "message", "id", rp->id, "status", "completed", "role", "assistant",
		    "content", "type", "output_text", "text", rp->text, "annotations"));
	for (i = 0; i < rp->ntools; i++) {
		char id[80];

		snprintf(id, sizeof id, "fc_%s", rp->tool_id[i]);
		if (rp->tool_custom[i])
			json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type",
			    "custom_tool_call", "id", id, "status", "completed", "call_id", rp->tool_id[i],
			    "name", rp->tool_name[i], "input", rp->tool_custom[i]));
		else
			json_array_append_new(out, json_pack("{s:s,s:s,s:s,s:s,s:s,s:s}", "type",
			    "function_call", "id", id, "status", "completed", "call_id", rp->tool_id[i],
			    "name", rp->tool_name[i], "arguments", rp->tool_args[i]));
	}
	return out;
}

static json_t *
responses_object(const struct reply *rp, const char *model, const char *status, int full)
{
	json_t *r = json_pack("{s:s,s:s,s:I,s:s,s:s}", "id", rp->id, "object", "response",
	    "created_at", (json_int_t)time(NULL), "status", status, "model", model);

	json_object_set_new(r, "output", full ? responses_output(rp) : json_array());
	json_object_set_new(r, "usage", full ? responses_usage(rp) : json_null());
	if (full && !strcmp(rp->stop, "max_tokens"))
		json_object_set_new(r, "incomplete_details", json_pack("{s:s}", "reason", "max_output_tokens"));
	return r;
}

static long responses_seq;

static void
responses_event(struct events *e, const char *type, json_t *data, int content)
{
	json_object_set_new(data, "type", json_string(type));
	json_object_set_new(data, "sequence_number", json_integer(responses_seq++));
	add_event(e, type, data, content);
}

static void
responses_events(struct events *e, const struct reply *rp, const char *model, long chunk)
{
	json_t *items = responses_output(rp), *it;
	const char *final = !strcmp(rp->stop, "max_tokens") ? "incomplete" : "completed";
	size_t i, off, n;
	char done[64];

	responses_seq = 0;
	responses_event(e, "response.created", json_pack("{s:o}", "response",
	    responses_object(rp, model, "in_progress", 0)), 0);
	responses_event(e, "response.in_progress", json_pack("{s:o}", "response",
	    responses_object(rp, model, "in_progress", 0)), 0);
	json_array_foreach(items, i, it) {
		const char *type = json_string_value(json_object_get(it, "type"));
		const char *id = json_string_value(json_object_get(it, "id"));
		json_t *added = json_deep_copy(it);

		if (!strcmp(type, "message"))
			json_object_set_new(added, "content", json_array());
		else if (!strcmp(type, "function_call"))
			json_object_set_new(added, "arguments", json_string(""));
		else if (!strcmp(type, "custom_tool_call"))
			json_object_set_new(added, "input", json_string(""));
		json_object_set_new(added, "status", json_string("in_progress"));
		responses_event(e, "response.output_item.added", json_pack("{s:I,s:o}",
		    "output_index", (json_int_t)i, "item", added), 0);
		if (!strcmp(type, "message")) {
			const char *t = rp->text;
			size_t len = strlen(t);

			responses_event(e, "response.content_part.added", json_pack("{s:s,s:I,s:i,s:{s:s,s:s,s:[]}}",
			    "item_id", id, "output_index", (json_int_t)i, "content_index", 0,
			    "part", "type", "output_text", "text", "", "annotations"), 0);
			for (off = 0; off < len; off += n) {
				n = piece(t, off, len, chunk);
				responses_event(e, "response.output_text.delta", json_pack("{s:s,s:I,s:i,s:o}",
				    "item_id", id, "output_index", (json_int_t)i, "content_index", 0,
				    "delta", chunk_string(t, off, n)), 1);
			}
			responses_event(e, "response.output_text.done", json_pack("{s:s,s:I,s:i,s:s}",
			    "item_id", id, "output_index", (json_int_t)i, "content_index", 0, "text", t), 0);
			responses_event(e, "response.content_part.done", json_pack("{s:s,s:I,s:i,s:O}",
			    "item_id", id, "output_index", (json_int_t)i, "content_index", 0,
			    "part", json_array_get(json_object_get(it, "content"), 0)), 0);
		} else if (!strcmp(type, "function_call") || !strcmp(type, "custom_tool_call")) {
			int custom = !strcmp(type, "custom_tool_call");
			const char *a = json_string_value(json_object_get(it, custom ? "input" : "arguments"));
			size_t alen = strlen(a), step = alen / 3 + 1;

			for (off = 0; off < alen; off += n) {
				n = piece(a, off, alen, step);
				responses_event(e, custom ? "response.custom_tool_call_input.delta" :
				    "response.function_call_arguments.delta", json_pack("{s:s,s:I,s:o}",
				    "item_id", id, "output_index", (json_int_t)i, "delta", chunk_string(a, off, n)), 1);
			}
			snprintf(done, sizeof done, "%s", custom ? "response.custom_tool_call_input.done" :
			    "response.function_call_arguments.done");
			responses_event(e, done, json_pack("{s:s,s:I,s:s}", "item_id", id,
			    "output_index", (json_int_t)i, custom ? "input" : "arguments", a), 0);
		}
		responses_event(e, "response.output_item.done", json_pack("{s:I,s:O}",
		    "output_index", (json_int_t)i, "item", it), 0);
	}
	snprintf(done, sizeof done, "response.%s", final);
	responses_event(e, done, json_pack("{s:o}", "response",
	    responses_object(rp, model, final, 1)), 0);
	json_decref(items);
}

static const char *
reason_phrase(int status)
{
	switch (status) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 408: return "Request Timeout";
	case 409: return "Conflict";
	case 429: return "Too Many Requests";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 529: return "Overloaded";
	}
	return "Error";
}

static int
send_head(int fd, int status, const char *ctype, long length, const char *extra)
{
	char head[1024];
	char len[64] = "";

	if (length >= 0)
		snprintf(len, sizeof len, "Content-Length: %ld\r\n", length);
	snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: %s\r\n%s%s"
	    "Connection: close\r\nx-request-id: req_mock\r\n\r\n",
	    status, reason_phrase(status), ctype, len, extra ? extra : "");
	return lh_http_write_all(fd, head, strlen(head));
}

static void
send_error(int fd, int status, int anthropic, const char *type, const char *message,
    double retry_after)
{
	char extra[256] = "";
	json_t *j;
	char *s;

	if (retry_after >= 0)
		snprintf(extra, sizeof extra, "retry-after-ms: %.0f\r\nRetry-After: %.0f\r\n",
		    retry_after * 1000, ceil(retry_after));
	if (anthropic)
		j = json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "type", type, "message", message);
	else
		j = json_pack("{s:{s:s,s:s,s:s}}", "error", "message", message, "type", type, "code", type);
	s = json_dumps(j, JSON_COMPACT);
	if (send_head(fd, status, "application/json", strlen(s), extra) == 0)
		lh_http_write_all(fd, s, strlen(s));
	free(s);
	json_decref(j);
}

/* Wait for ms or until the client hangs up. */
static void
linger_ms(int fd, long ms)
{
	struct pollfd p = { fd, POLLIN, 0 };
	char buf[512];
	double end = lh_monotonic() + ms / 1000.0, left;

	while ((left = end - lh_monotonic()) > 0) {
		if (poll(&p, 1, (int)(left * 1000) + 1) <= 0)
			continue;
		if (recv(fd, buf, sizeof buf, 0) <= 0)
			return;
	}
}

/* ---- requests ---- */

struct request {
	struct lh_http_request http;    /* method, path, head, body */
	char attempt[32];
	int auth, stream, anthropic, with_usage, responses;
	json_t *json;
	const char *model;
	long turn;
};

static int
read_request(int fd, struct request *rq)
{
	const char *v, *head;
	size_t n;

	if (lh_http_read(fd, &rq->http, 64u << 20) < 0)
		return -1;
	head = rq->http.head;
	rq->auth = lh_http_header(head, "authorization", NULL) || lh_http_header(head, "x-api-key", NULL);
	if ((v = lh_http_header(head, "x-longhaul-attempt", &n)))
		snprintf(rq->attempt, sizeof rq->attempt, "%.*s", (int)n, v);
	return 0;
}

/* -d DIR: DIR/N.head (request line and headers, as sent) and DIR/N.body,
 * to see what a client really sends. Keys included: a test's mock only. */
static void
dump_request(int fd, const struct request *rq)
{
	char path[4200];
	long n;
	FILE *f;

	(void)fd;
	if (!dump_dir)
		return;
	pthread_mutex_lock(&lock);
	n = ++dumped;
	pthread_mutex_unlock(&lock);
	lh_path(path, sizeof path, "%s/%06ld.head", dump_dir, n);
	if ((f = fopen(path, "w"))) {
		/* the head without its last CRLF, then a newline */
		fprintf(f, "%.*s\n", (int)(strlen(rq->http.head) - 2), rq->http.head);
		fclose(f);
	}
	lh_path(path, sizeof path, "%s/%06ld.body", dump_dir, n);
	if ((f = fopen(path, "w"))) {
		fwrite(rq->http.body, 1, rq->http.bodylen, f);
		fclose(f);
	}
}

static int
rule_matches(const struct rule *r, const struct request *rq)
{
	size_t i;

	if (r->times >= 0 && r->fired >= r->times)
		return 0;
	if (r->api && strcmp(r->api, rq->anthropic ? "anthropic" : rq->responses ? "responses" : "openai"))
		return 0;
	if (r->turn && r->turn != rq->turn)
		return 0;
	if (r->model && (!rq->model || strcmp(r->model, rq->model)))
		return 0;
	for (i = 0; i < r->ncontains; i++)
		if (!strstr(rq->http.body, r->contains[i]))
			return 0;
	for (i = 0; i < r->nnot_contains; i++)
		if (strstr(rq->http.body, r->not_contains[i]))
			return 0;
	if (r->has_regex && regexec(&r->regex, rq->http.body, 0, NULL, 0) != 0)
		return 0;
	return 1;
}

static void
log_request(const struct request *rq, double start, long rule, int status,
    const char *fault, long concurrent)
{
	json_t *j;
	char *s;
	size_t n;

	if (log_fd < 0)
		return;
	j = json_pack("{s:f,s:f,s:s,s:s*,s:b,s:I,s:I,s:b,s:I}", "start", start, "end", lh_now(),
	    "path", rq->http.path, "model", rq->model, "stream", rq->stream, "turn", (json_int_t)rq->turn,
	    "status", (json_int_t)status, "auth", rq->auth, "active", (json_int_t)concurrent);
	json_object_set_new(j, "rule", rule >= 0 ? json_integer(rule) : json_null());
	json_object_set_new(j, "fault", fault ? json_string(fault) : json_null());
	if (rq->attempt[0])
		json_object_set_new(j, "attempt", json_integer(atol(rq->attempt)));
	s = json_dumps(j, JSON_COMPACT);
	n = strlen(s);
	s[n] = '\n';
	if (write(log_fd, s, n + 1) < 0)
		lh_warn_errno("log");
	s[n] = 0;
	free(s);
	json_decref(j);
}

static int
is_fault(const char *fault, const char *name)
{
	return fault && !strcmp(fault, name);
}

/* Send the events, in 64 KiB writes (or one by one with chunk_delay_ms);
 * a stream fault cuts them: "cut" and "stall" after half of the content
 * events (at least one), "error_after_200" and "malformed" before the
 * first content event. */
static void
send_events(int fd, struct events *ev, const struct rule *r)
{
	size_t i, content = 0, half = (ev->content + 1) / 2, cut = ev->n;
	const char *fault = r->fault;
	long pause = json_integer_value(json_object_get(r->json, "chunk_delay_ms"));
	char *buf = NULL;
	size_t len = 0, cap = 0;
	int ok = 0;

	if (is_fault(fault, "cut") || is_fault(fault, "stall")) {
		for (cut = 0; cut < ev->n && (content < half || cut == 0); cut++)
			content += ev->is_content[cut];
	} else if (is_fault(fault, "error_after_200") || is_fault(fault, "malformed"))
		cut = 1;
	for (i = 0; i < cut; i++) {
		size_t n = strlen(ev->ev[i]);

		if (len + n > cap)
			buf = lh_realloc(buf, cap = 2 * (len + n) + 65536);
		memcpy(buf + len, ev->ev[i], n);
		len += n;
		if (len >= 65536 || pause > 0) {
			if (lh_http_write_all(fd, buf, len) < 0)
				goto out;
			len = 0;
			if (pause > 0)
				sleep_ms(pause);
		}
	}
	if (len && lh_http_write_all(fd, buf, len) < 0)
		goto out;
	ok = 1;
out:
	free(buf);
	if (!ok || !fault)
		return;
	if (!strcmp(fault, "stall"))
		linger_ms(fd, r->fault_ms > 0 ? r->fault_ms : 30000);
	else if (!strcmp(fault, "error_after_200")) {
		const char *e = strstr(ev->ev[0], "event:") ?
		    "event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}\n\n" :
		    "data: {\"error\":{\"message\":\"The server is overloaded\",\"type\":\"server_error\",\"code\":\"overloaded\"}}\n\n";
		lh_http_write_all(fd, e, strlen(e));
	} else if (!strcmp(fault, "malformed"))
		lh_http_write_all(fd, "data: {\"choices\":[{\"delta\":{\"content\":\"x\"\n\n", 44);
}

/* A reply given byte for byte: "raw" (repeated "repeat" times, at most
 * MOCK_MAX_TEXT bytes in all) after a 200 of "content_type" (default
 * text/event-stream), to script what the rules cannot say otherwise:
 * malformed streams, endless lines, numbers out of range. */
static void
send_raw(int fd, json_t *reply)
{
	const char *raw = json_string_value(json_object_get(reply, "raw"));
	const char *ctype = json_string_value(json_object_get(reply, "content_type"));
	size_t n = json_string_length(json_object_get(reply, "raw"));
	json_int_t repeat = json_integer_value(json_object_get(reply, "repeat")), i;

	if (repeat < 1)
		repeat = 1;
	if (n && (size_t)repeat > MOCK_MAX_TEXT / n)
		repeat = MOCK_MAX_TEXT / n;
	if (send_head(fd, 200, ctype ? ctype : "text/event-stream", -1, NULL) != 0)
		return;
	for (i = 0; i < repeat; i++)
		if (lh_http_write_all(fd, raw, n) != 0)
			return;
}

static void *
serve(void *arg)
{
	struct conn *c = arg;
	struct request rq;
	struct reply rp;
	struct rule *r = NULL;
	json_t *reply = NULL;
	long rule = -1, concurrent;
	int status = 200, i;
	double start = lh_now();
	const char *fault = NULL;
	json_t *msgs, *m;
	size_t k, plen;

	memset(&rq, 0, sizeof rq);
	if (read_request(c->fd, &rq) < 0)
		goto done;
	pthread_mutex_lock(&lock);
	concurrent = ++active;
	if (active > max_active)
		max_active = active;
	pthread_mutex_unlock(&lock);
	start = lh_now();
	dump_request(c->fd, &rq);
	/* the endpoint without its query string (Claude Code posts to
	 * /v1/messages?beta=true) */
	plen = strcspn(rq.http.path, "?");
	rq.anthropic = plen == 12 && !strncmp(rq.http.path, "/v1/messages", plen);
	rq.responses = plen == 13 && !strncmp(rq.http.path, "/v1/responses", plen);
	if (!strcmp(rq.http.method, "GET") && plen == 10 && !strncmp(rq.http.path, "/v1/models", plen)) {
		/* the models endpoint, for pre-flights: the models the rules
		 * name (none: an empty list), not logged, since the log is of
		 * model calls */
		json_t *list = json_pack("{s:s,s:[]}", "object", "list", "data"), *data = json_object_get(list, "data");
		char *text;

		for (k = 0; k < nrules; k++)
			if (rules[k].model)
				json_array_append_new(data, json_pack("{s:s,s:s}", "id", rules[k].model, "object", "model"));
		text = json_dumps(list, JSON_COMPACT);
		if (send_head(c->fd, 200, "application/json", strlen(text), NULL) == 0)
			lh_http_write_all(c->fd, text, strlen(text));
		free(text);
		json_decref(list);
		pthread_mutex_lock(&lock);
		active--;
		pthread_mutex_unlock(&lock);
		goto done;
	}
	if (!strcmp(rq.http.method, "POST") && plen == 25 && !strncmp(rq.http.path, "/v1/messages/count_tokens", plen)) {
		json_t *j = json_pack("{s:I}", "input_tokens", (json_int_t)(rq.http.bodylen / 4 + 1));
		char *b = json_dumps(j, JSON_COMPACT);

		if (send_head(c->fd, 200, "application/json", strlen(b), NULL) == 0)
			lh_http_write_all(c->fd, b, strlen(b));
		free(b);
		json_decref(j);
		goto logit;
	}
	if (strcmp(rq.http.method, "POST") || (!rq.anthropic && !rq.responses &&
	    (plen != 20 || strncmp(rq.http.path, "/v1/chat/completions", plen)))) {
		status = 404;
		send_error(c->fd, status, rq.anthropic, "not_found_error", "no such endpoint", -1);
		goto logit;
	}
	if (!(rq.json = json_loadb(rq.http.body, rq.http.bodylen, 0, NULL)) || !json_is_object(rq.json)) {
		status = 400;
		send_error(c->fd, status, rq.anthropic, "invalid_request_error", "body is not a JSON object", -1);
		goto logit;
	}
	rq.model = json_string_value(json_object_get(rq.json, "model"));
	rq.stream = json_is_true(json_object_get(rq.json, "stream"));
	rq.with_usage = json_is_true(json_object_get(json_object_get(rq.json, "stream_options"), "include_usage"));
	msgs = json_object_get(rq.json, "messages");
	rq.turn = 1;
	json_array_foreach(msgs, k, m)
		rq.turn += !strcmp(json_string_value(json_object_get(m, "role")) ?
		    json_string_value(json_object_get(m, "role")) : "", "assistant");
	if (rq.responses) {
		/* Responses: the model's turns are runs of the items it made
		 * (reasoning, messages, calls) between the caller's items */
		int in_turn = 0;

		json_array_foreach(json_object_get(rq.json, "input"), k, m) {
			const char *t = json_string_value(json_object_get(m, "type"));
			const char *role = json_string_value(json_object_get(m, "role"));
			int model_item = (role && !strcmp(role, "assistant")) || (t && (!strcmp(t, "reasoning") ||
			    !strcmp(t, "function_call") || !strcmp(t, "custom_tool_call") ||
			    !strcmp(t, "local_shell_call")));

			rq.turn += model_item && !in_turn;
			in_turn = model_item;
		}
	}
	pthread_mutex_lock(&lock);
	for (k = 0; k < nrules; k++)
		if (rule_matches(&rules[k], &rq)) {
			r = &rules[k];
			r->fired++;
			rule = k;
			/* a rule without a reply (a fault, say) shows the reply of the
			 * next rule that matches */
			for (reply = r->reply; !reply && ++k < nrules; )
				if (rules[k].reply && rule_matches(&rules[k], &rq))
					reply = rules[k].reply;
			break;
		}
	pthread_mutex_unlock(&lock);
	if (!r) {
		status = 400;
		send_error(c->fd, status, rq.anthropic, "invalid_request_error", "llm-mock: no rule matches this request", -1);
		goto logit;
	}
	fault = r->fault;
	if (r->delay_ms > 0)
		sleep_ms(r->delay_ms);
	if (fault && (i = atoi(fault)) >= 400) {
		status = i;
		send_error(c->fd, status, rq.anthropic,
		    status == 429 ? "rate_limit_error" : status == 529 ? "overloaded_error" :
		    status >= 500 ? "api_error" : "invalid_request_error",
		    status == 429 ? "Rate limit reached, slow down" : "Injected fault", r->retry_after);
		goto logit;
	}
	if (fault && !strcmp(fault, "quota")) {
		status = 429;
		send_error(c->fd, status, rq.anthropic, "insufficient_quota",
		    "You exceeded your current quota, please check your plan and billing details", -1);
		goto logit;
	}
	if (fault && !strcmp(fault, "slow_first_byte"))
		linger_ms(c->fd, r->fault_ms > 0 ? r->fault_ms : 5000);
	if (json_is_string(json_object_get(reply, "raw"))) {
		send_raw(c->fd, reply);
		goto logit;
	}
	build_reply(&rp, reply, rq.http.body, rq.http.bodylen, r);
	if (rq.stream) {
		struct events ev = { 0 };

		if (rq.anthropic)
			anthropic_events(&ev, &rp, rq.model ? rq.model : "mock", r->chunk);
		else if (rq.responses)
			responses_events(&ev, &rp, rq.model ? rq.model : "mock", r->chunk);
		else {
			openai_events(&ev, &rp, rq.model ? rq.model : "mock", rq.with_usage, r->chunk);
			add_raw(&ev, lh_strdup("data: [DONE]\n\n"), 0);
		}
		if (send_head(c->fd, 200, "text/event-stream", -1, "Cache-Control: no-cache\r\n") == 0)
			send_events(c->fd, &ev, r);
		for (k = 0; k < ev.n; k++)
			free(ev.ev[k]);
		free(ev.ev);
		free(ev.is_content);
	} else {
		json_t *b = rq.anthropic ? anthropic_body(&rp, rq.model ? rq.model : "mock")
		    : rq.responses ? responses_object(&rp, rq.model ? rq.model : "mock",
		    strcmp(rp.stop, "max_tokens") ? "completed" : "incomplete", 1)
		    : openai_body(&rp, rq.model ? rq.model : "mock");
		char *s = json_dumps(b, JSON_COMPACT);
		size_t n = strlen(s);

		if (fault && !strcmp(fault, "error_after_200")) {
			free(s);
			s = lh_strdup(rq.anthropic ?
			    "{\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"Overloaded\"}}" :
			    "{\"error\":{\"message\":\"The server is overloaded\",\"type\":\"server_error\",\"code\":\"overloaded\"}}");
			n = strlen(s);
		} else if (fault && (!strcmp(fault, "malformed") || !strcmp(fault, "cut") || !strcmp(fault, "stall")))
			n /= 2;
		if (send_head(c->fd, 200, "application/json", strlen(s), NULL) == 0 &&
		    lh_http_write_all(c->fd, s, n) == 0 && fault && !strcmp(fault, "stall"))
			linger_ms(c->fd, r->fault_ms > 0 ? r->fault_ms : 30000);
		free(s);
		json_decref(b);
	}
	free_reply(&rp);
logit:
	pthread_mutex_lock(&lock);
	active--;
	served++;
	log_request(&rq, start, rule, status, fault, concurrent);
	pthread_mutex_unlock(&lock);
done:
	close(c->fd);
	free(c);
	lh_http_free(&rq.http);
	json_decref(rq.json);
	return NULL;
}

/* Wait for SIGTERM or SIGINT in a thread of its own, then close the
 * listening socket so that accept() in main returns. */
static void *
signal_waiter(void *arg)
{
	sigset_t *set = arg;
	int sig;

	sigwait(set, &sig);
	stopping = 1;
	shutdown(listen_fd, SHUT_RDWR);
	return NULL;
}

static void
write_portfile(const char *path, int port)
{
	char tmp[4096], line[32];
	int fd, n;

	lh_path(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
	n = snprintf(line, sizeof line, "%d\n", port);
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0644)) < 0)
		lh_die_errno(1, "%s", tmp);
	if (write(fd, line, n) != n || close(fd) != 0)
		lh_die_errno(1, "%s", tmp);
	if (rename(tmp, path) != 0)
		lh_die_errno(1, "%s", path);
}

int
main(int argc, char **argv)
{
	const char *rules_path = NULL, *portfile = NULL, *logpath = NULL;
	struct sockaddr_in addr;
	socklen_t alen = sizeof addr;
	sigset_t set;
	pthread_t tid;
	pthread_attr_t attr;
	int c, port = 0, one = 1;

	lh_std_options(argc, argv,
	    "usage: llm-mock -r RULES.jsonl [-p PORT] [-P PORTFILE] [-l LOG.jsonl] [-d DIR]\n"
	    "A scripted model server on 127.0.0.1 for tests and the demo: OpenAI\n"
	    "/v1/chat/completions and Anthropic /v1/messages, streaming or not, tool\n"
	    "calls and faults, each reply chosen by the first rule of RULES (JSON\n"
	    "lines) that matches the request. Port 0 (the default) picks a free one,\n"
	    "printed and written to PORTFILE. The rule format: llm-mock(1).\n");
	while ((c = getopt(argc, argv, "r:p:P:l:d:")) != -1)
		switch (c) {
		case 'd': dump_dir = optarg; break;
		case 'r': rules_path = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'P': portfile = optarg; break;
		case 'l': logpath = optarg; break;
		default: usage();
		}
	if (!rules_path || optind != argc)
		usage();
	load_rules(rules_path);
	if (logpath && (log_fd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644)) < 0)
		lh_die_errno(1, "%s", logpath);

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	pthread_sigmask(SIG_BLOCK, &set, NULL);

	if ((listen_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		lh_die_errno(1, "socket");
	setsockopt(listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	memset(&addr, 0, sizeof addr);
	addr.sin_family = AF_INET;
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	addr.sin_port = htons(port);
	if (bind(listen_fd, (struct sockaddr *)&addr, sizeof addr) < 0)
		lh_die_errno(1, "127.0.0.1:%d", port);
	if (listen(listen_fd, 1024) < 0 || getsockname(listen_fd, (struct sockaddr *)&addr, &alen) < 0)
		lh_die_errno(1, "listen");
	port = ntohs(addr.sin_port);
	if (portfile)
		write_portfile(portfile, port);
	printf("%d\n", port);
	if (fflush(stdout) != 0)
		lh_die_errno(1, "stdout");

	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	pthread_attr_setstacksize(&attr, 256 * 1024);
	if (pthread_create(&tid, &attr, signal_waiter, &set) != 0)
		lh_die(1, "cannot start a thread");
	while (!stopping) {
		struct conn *conn;
		int fd = accept(listen_fd, NULL, NULL);

		if (fd < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			if (stopping)
				break;
			if (errno == EMFILE || errno == ENFILE) {
				sleep_ms(10);
				continue;
			}
			lh_die_errno(1, "accept");
		}
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
		conn = lh_malloc(sizeof *conn);
		conn->fd = fd;
		if (pthread_create(&tid, &attr, serve, conn) != 0) {
			lh_warn("cannot start a thread");
			close(fd);
			free(conn);
		}
	}
	close(listen_fd);
	pthread_mutex_lock(&lock);
	if (log_fd >= 0 && close(log_fd) != 0)
		lh_die_errno(1, "%s", logpath);
	log_fd = -1;
	pthread_mutex_unlock(&lock);
	return 0;
}
