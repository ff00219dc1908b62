/* lh-llm.h: the state of one model call, shared by the files of the
 * model client (src/lh-llm*.c) and by nothing else; tools use the API in
 * longhaul.h.
 */
#ifndef LH_LLM_H
#define LH_LLM_H

#include <curl/curl.h>

/* ---- growing buffers ---- */

struct buf {
	char *s;
	size_t len, cap;
};

/* ---- the call's state ---- */

/* Bounds on what a server says (lh-llm-wire.c): at most this many tool
 * calls (or content blocks) in one reply, at most this many tokens in
 * one usage field; anything beyond is a malformed reply or impossible
 * usage. */
#define LLM_MAX_TOOL_CALLS 256
#define LLM_MAX_USAGE 100000000
/* LONGHAUL_MAX_REPLY_BYTES's default: bytes of one reply, streamed or not */
#define LLM_MAX_REPLY_BYTES (256.0 * 1024 * 1024)

struct tool {
	struct buf id, name, args;
	int index;
};

struct model {
	char provider[16];      /* openai, anthropic */
	char *name, *base_url, *key, *alias;
	long max_tokens;
	int loopback;
	int responses;          /* openai-responses: OpenAI's Responses API */
};

struct call {
	const struct lh_llm_options *opt;
	struct model m;
	json_t *config;
	int resolve_only;       /* resolve the model, not the key */
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
	char usage_bad[96];     /* the usage field not believed, if any */
	size_t received;        /* bytes of this attempt's body so far */
	size_t max_reply;       /* at most this many */
	size_t request_bytes;   /* the payload: a bound on the input tokens */
	long max_tokens;        /* asked for: a bound on the output tokens */
	int fatal;              /* a permanent error, even after part of a reply */
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

extern const char *llm_secret;     /* the key, to redact */
extern char llm_slot_path[4608];   /* our in-flight file, removed on SIGTERM */

/* lh-llm.c: buffers, errors */
void llm_buf_add(struct buf *b, const char *s, size_t n);
const char *llm_buf_str(struct buf *b);
void llm_set_error(struct call *c, int retry, const char *fmt, ...);
double llm_env_number(const char *name, double dflt);

/* lh-llm-config.c: the model and the key */
json_t *llm_load_config(const char *path, char *err, size_t errsize);
int llm_resolve_model(struct call *c, char *err, size_t errsize);
const char *llm_model_spec(const struct lh_llm_options *o, json_t *config);
extern char llm_config_file[4096];

/* lh-llm-wire.c: requests and replies */
json_t *llm_openai_request(struct call *c, json_t *rq, long max_tokens, const char *system);
json_t *llm_anthropic_request(struct call *c, json_t *rq, long max_tokens, const char *system);
json_t *llm_responses_request(struct call *c, json_t *rq, long max_tokens, const char *system);
void llm_parse_body(struct call *c);
void llm_sse_feed(struct call *c, const char *p, size_t n);
void llm_sse_end(struct call *c);
void llm_flush_text(struct call *c);

/* lh-llm-fleet.c: what callers share */
double llm_cooldown_until(void);
void llm_cooldown_set(double until);
void llm_sleep_s(double s);
int llm_take_slot(struct call *c, int limit);
void llm_touch_slot(void);
void llm_release_slot(void);
void llm_on_signal(int sig);
json_t *llm_price(const struct call *c);
double llm_cost(const struct call *c);
void llm_log_usage(struct call *c, json_t *resp, int status);
int llm_budget_spent(char *err, size_t errsize);

#endif
