/* lh-llm.c: the model client behind llm-call.
 *
 * One call: resolve the model for a role (config file < environment <
 * options), check the budget, wait out a shared cool-down, take a shared
 * in-flight slot, send the request in the provider's wire format, parse
 * the reply (SSE or JSON) into the normalized response, retry what is
 * worth retrying, and append one line to this host's usage log.
 *
 * This file holds the call itself (attempts, retries, HTTP); the rest of
 * the client is split by subject:
 *   lh-llm-config.c   the model and the key of a role, pre-flight, listing
 *   lh-llm-wire.c     both wire formats: requests, replies, SSE
 *   lh-llm-fleet.c    what callers share: cool-down, in-flight slots,
 *                     usage log, prices, budget
 *   lh-schema.c       the JSON Schema subset for structured output
 *   lh-llm.h          the call's state, shared by these files only
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
#include "lh-llm.h"

#ifndef LH_VERSION
#define LH_VERSION "unknown"
#endif
void
llm_buf_add(struct buf *b, const char *s, size_t n)
{
	if (b->len + n + 1 > b->cap) {
		b->cap = (b->len + n + 1) * 2;
		b->s = lh_realloc(b->s, b->cap);
	}
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

const char *
llm_buf_str(struct buf *b)
{
	return b->s ? b->s : "";
}

char llm_slot_path[4608];   /* our in-flight file, removed on SIGTERM */
const char *llm_secret;     /* the key, to redact */

/* Replace every occurrence of the key in s (in place, same length). */
static char *
redact(char *s)
{
	char *p;
	size_t n;

	if (!s || !llm_secret || (n = strlen(llm_secret)) < 4)
		return s;
	while ((p = strstr(s, llm_secret)))
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

void
llm_set_error(struct call *c, int retry, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof c->err, fmt, ap);
	va_end(ap);
	redact(c->err);
	c->err_retry = retry;
	c->err_perm = !retry;
}

double
llm_env_number(const char *name, double dflt)
{
	const char *v = getenv(name);
	char *end;
	double d;

	if (!v || !*v)
		return dflt;
	d = strtod(v, &end);
	return *end || d < 0 ? dflt : d;
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
		char *sp = strchr(line, ' '), *end;
		long st = sp ? strtol(sp + 1, &end, 10) : 0;

		c->http_status = st >= 100 && st <= 999 ? st : 0;
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
	size_t len = size * n, take;

	c->last_byte = lh_monotonic();
	take = len < c->max_reply - c->received ? len : c->max_reply - c->received;
	/* streamed or not, a reply has a size limit: an endless stream is
	 * never idle, and one endless line would never be parsed. What came
	 * within the limit is used: a partial reply is kept. */
	c->received += take;
	if (c->http_status == 200 && c->streaming) {
		llm_sse_feed(c, p, take);
		llm_flush_text(c);
	} else
		llm_buf_add(&c->body, p, take);
	if (take < len && !c->err[0]) {
		llm_set_error(c, 0, "reply larger than %zu bytes (LONGHAUL_MAX_REPLY_BYTES)", c->max_reply);
		c->fatal = 1;
	}
	if (take < len)
		return 0;
	/* stop reading once the call failed mid-stream */
	return c->err[0] && c->streaming ? 0 : len;
}

static int
on_progress(void *arg, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
	struct call *c = arg;
	double now = lh_monotonic();

	(void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
	if (now - c->lease_touched > 5) {
		llm_touch_slot();
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
	c->usage_bad[0] = 0;
	c->received = 0;
	c->fatal = 0;
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

/* The reply of one exchange is in (rc, what on_header and on_body saw):
 * judge it. Sets c->err when the attempt failed. */
static void
finish_attempt(struct call *c, CURLcode rc, const char *errbuf)
{
	json_t *j;
	const char *msg = NULL;

	if (c->fatal)
		goto usage;
	if (c->err[0] && (c->streaming || c->http_status == 200))
		goto usage;     /* an error inside the reply */
	if (rc != CURLE_OK) {
		if (rc == CURLE_ABORTED_BY_CALLBACK && c->idle_fired)
			llm_set_error(c, 1, "no data for %g s (idle timeout)", c->idle);
		else if (rc == CURLE_ABORTED_BY_CALLBACK)
			llm_set_error(c, 0, "deadline passed");
		else
			llm_set_error(c, 1, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
		if (c->http_status == 200 && c->content_seen)
			c->err_retry = 0;   /* partial reply: reported, not retried */
		goto usage;
	}
	if (c->http_status == 200) {
		if (c->streaming) {
			llm_sse_end(c);
			if (!c->err[0] && !c->done && !c->finished)
				llm_set_error(c, !c->content_seen, "stream ended before its final event");
		} else {
			llm_parse_body(c);
			llm_flush_text(c);
		}
		goto usage;
	}
	if ((j = json_loadb(llm_buf_str(&c->body), c->body.len, 0, NULL)))
		msg = json_string_value(json_object_get(json_object_get(j, "error"), "message"));
	llm_set_error(c, 0, "HTTP %ld: %.300s", c->http_status, msg ? msg : llm_buf_str(&c->body));
	json_decref(j);
	switch (c->http_status) {
	case 408: case 409: case 429:
		c->err_retry = 1;
		break;
	default:
		c->err_retry = c->http_status >= 500;
	}
	if (c->http_status == 429 && (contains_ci(llm_buf_str(&c->body), "insufficient_quota") ||
	    contains_ci(llm_buf_str(&c->body), "billing") || contains_ci(llm_buf_str(&c->body), "spend limit") ||
	    contains_ci(llm_buf_str(&c->body), "credit balance")))
		c->err_retry = 0;
	if (c->should_retry >= 0)
		c->err_retry = c->should_retry;
	c->err_perm = !c->err_retry;
usage:
	/* usage not to be believed (negative, absurd, not a number): the
	 * call fails, and counts what it may have cost at most, so that a
	 * server, or anything between it and us, cannot push the recorded
	 * spend down: the request's bytes as input tokens (a token is at
	 * least a byte), max_tokens as output */
	if (c->usage_bad[0]) {
		if (c->input < (json_int_t)c->request_bytes)
			c->input = c->request_bytes;
		if (c->output < c->max_tokens)
			c->output = c->max_tokens;
		if (!c->fatal) {
			llm_set_error(c, 0, "impossible usage in the reply: %s (counted as %lld input and %lld output tokens)",
			    c->usage_bad, (long long)c->input, (long long)c->output);
			c->fatal = 1;
		}
	}
}

/* One HTTP exchange; sets c->err when it failed. */
static void
attempt(struct call *c, const char *url, const char *payload, struct curl_slist *headers)
{
	CURLcode rc;
	char errbuf[CURL_ERROR_SIZE] = "";

	curl_easy_setopt(c->curl, CURLOPT_URL, url);
	curl_easy_setopt(c->curl, CURLOPT_POSTFIELDS, payload);
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, headers);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, errbuf);
	rc = curl_easy_perform(c->curl);
	finish_attempt(c, rc, errbuf);
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
		t = json_pack("{s:s,s:s}", "id", tl->id.len ? tl->id.s : id, "name", llm_buf_str(&tl->name));
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
	    "text", llm_buf_str(&c->text), c->text.len, "tool_calls", tool_calls_json(c),
	    "stop_reason", c->stop[0] ? c->stop : "other",
	    "usage", "input_tokens", c->input, "output_tokens", c->output,
	    "cache_read_tokens", c->cache_read, "cache_write_tokens", c->cache_write,
	    "cost_usd", llm_cost(c), "provider", c->m.provider, "model", c->m.name,
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
	llm_secret = NULL;
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
	if (!(c.config = llm_load_config(opt->config, err, sizeof err)))
		return fail_early(response, LH_LLM_USAGE, err);
	if (llm_resolve_model(&c, err, sizeof err) < 0) {
		status = strstr(err, "key") ? LH_LLM_PERMANENT : LH_LLM_USAGE;
		free_call(&c);
		return fail_early(response, status, redact(err));
	}
	/* a model without a price would cost $0 and never reach the budget */
	if (llm_env_number("LONGHAUL_BUDGET_USD", -1) >= 0) {
		if (!(value = llm_price(&c))) {
			snprintf(err, sizeof err, "%s:%s: no price, so the budget in USD cannot be kept: give one in the "
			    "\"prices\" of %.200s, or a budget in tokens", c.m.provider, c.m.name,
			    llm_config_file[0] ? llm_config_file : "~/.config/longhaul/config.json");
			free_call(&c);
			return fail_early(response, LH_LLM_USAGE, err);
		}
		json_decref(value);
	}
	if (llm_budget_spent(err, sizeof err)) {
		free_call(&c);
		return fail_early(response, LH_LLM_BUDGET, err);
	}
	max_attempts = opt->max_attempts > 0 ? opt->max_attempts : (int)fmin(llm_env_number("LONGHAUL_LLM_ATTEMPTS", 6), 1000);
	if (max_attempts < 1)
		max_attempts = 1;
	deadline_s = opt->deadline > 0 ? opt->deadline : llm_env_number("LONGHAUL_DEADLINE", 0);
	c.deadline = deadline_s > 0 ? started + deadline_s : 0;
	idle = opt->idle_timeout > 0 ? opt->idle_timeout : llm_env_number("LONGHAUL_IDLE_TIMEOUT", 120);
	limit = (int)fmax(-1, fmin(1e6, llm_env_number("LONGHAUL_IN_FLIGHT",
	    json_integer_value(json_object_get(c.config, "in_flight")))));

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
	if (c.m.responses) {
		body = llm_responses_request(&c, request, max_tokens, system);
		lh_path(url, sizeof url, "%s/responses", c.m.base_url);
		if (c.m.key) {
			lh_path(header, sizeof header, "Authorization: Bearer %s", c.m.key);
			headers = curl_slist_append(headers, header);
		}
	} else if (c.m.provider[0] == 'o') {
		body = llm_openai_request(&c, request, max_tokens, system);
		lh_path(url, sizeof url, "%s/chat/completions", c.m.base_url);
		if (c.m.key) {
			lh_path(header, sizeof header, "Authorization: Bearer %s", c.m.key);
			headers = curl_slist_append(headers, header);
		}
	} else {
		body = llm_anthropic_request(&c, request, max_tokens, system);
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
	c.request_bytes = payload ? strlen(payload) : 0;
	c.max_tokens = max_tokens;
	c.max_reply = (size_t)fmin(llm_env_number("LONGHAUL_MAX_REPLY_BYTES", LLM_MAX_REPLY_BYTES), 1e15);
	if (c.max_reply < 1)
		c.max_reply = LLM_MAX_REPLY_BYTES;
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
	curl_easy_setopt(c.curl, CURLOPT_USERAGENT, "longhaul-llm-call/" LH_VERSION);
	curl_easy_setopt(c.curl, CURLOPT_CONNECTTIMEOUT_MS, (long)(llm_env_number("LONGHAUL_CONNECT_TIMEOUT", 10) * 1000));
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
	old_term = signal(SIGTERM, llm_on_signal);
	old_int = signal(SIGINT, llm_on_signal);
	old_hup = signal(SIGHUP, llm_on_signal);
	trace(&c, "model %s:%s at %s%s", c.m.provider, c.m.name, url, c.m.key ? "" : " (no key)");

	for (;;) {
		struct curl_slist *h = NULL, *p;
		char attempt_header[64];

		reset_attempt(&c);
		n++;
		/* a shared cool-down after someone's 429 */
		if ((wait = llm_cooldown_until() - lh_now()) > 0) {
			wait = fmin(wait, 120);
			if (c.deadline > 0 && lh_monotonic() + wait > c.deadline) {
				llm_set_error(&c, 1, "cool-down after a 429 outlasts the deadline");
				n--;
				break;
			}
			trace(&c, "shared cool-down: waiting %.2f s", wait);
			llm_sleep_s(wait);
		}
		if (llm_take_slot(&c, limit) < 0) {
			llm_set_error(&c, 1, "deadline passed waiting for an in-flight slot");
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
		llm_release_slot();
		if (!c.err[0])
			break;
		trace(&c, "attempt %d failed: %s", n, c.err);
		if (!c.err_retry || (opt->on_text && c.emitted) || n >= max_attempts)
			break;
		wait = c.retry_after >= 0 && c.retry_after <= 120 ? c.retry_after
		    : lh_jitter() * fmin(8, 0.5 * pow(2, n - 1));
		if (c.http_status == 429 || c.http_status == 529)
			llm_cooldown_set(lh_now() + wait);
		now = lh_monotonic();
		if (c.deadline > 0 && now + wait > c.deadline) {
			trace(&c, "no time left for another attempt");
			break;
		}
		trace(&c, "retrying in %.3f s", wait);
		llm_sleep_s(wait);
	}
	curl_slist_free_all(headers);
	free(payload);

	*response = response_json(&c, n, started);
	if (!c.err[0])
		status = LH_LLM_OK;
	else if (c.fatal)
		status = LH_LLM_PERMANENT;
	else if (c.content_seen && c.http_status == 200)
		status = LH_LLM_INCOMPLETE;
	else if (c.err_perm && strcmp(c.err, "deadline passed"))
		status = LH_LLM_PERMANENT;
	else
		status = LH_LLM_TEMPORARY;
	if (status == LH_LLM_INCOMPLETE || (c.fatal && c.content_seen && !c.done && !c.finished))
		json_object_set_new(*response, "incomplete", json_true());
	if (c.err[0])
		json_object_set_new(*response, "error", json_string(c.err));
	if (!status && schema) {
		const char *t = llm_buf_str(&c.text);
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
	llm_log_usage(&c, *response, status);
	free_call(&c);
	signal(SIGTERM, old_term);
	signal(SIGINT, old_int);
	signal(SIGHUP, old_hup);
	return status;
}
