/* llm-forward: the model client's key, lent to an agent CLI that must
 * talk to its provider itself (Claude Code, Codex), without giving it the
 * key.
 *
 * The CLI gets a base URL that reaches this forwarder and a per-session
 * token as its "API key"; the token is worth nothing elsewhere.  For each
 * request the forwarder checks the token, waits out the fleet's cool-down
 * after a 429, takes one of the fleet's in-flight slots, refuses calls
 * past the fleet's budget (llm_budget_spent) and the session's own limits
 * (-K, -D), sends the request on with the real key, streams the reply
 * back as it arrives, reads the usage out of it on the way (Anthropic
 * Messages, OpenAI Chat Completions and Responses, streamed or not), and
 * records one line per call in the usage log, priced from prices.json.
 *
 * Invariants:
 * - the key lives only in this process, which is not dumpable
 *   (PR_SET_DUMPABLE 0: no /proc/PID/environ or mem for the same uid) and
 *   runs outside the engine's sandbox; no reply or log line carries it;
 * - a request without the session's token gets 401 and goes nowhere;
 * - requests are served one at a time: the fleet's slot is held by this
 *   process for exactly one upstream call (llm_slot_path is per process).
 *
 * Relay mode (-R): inside a sandbox without a network, listen on
 * 127.0.0.1:PORT, run the command, and carry each connection to the
 * forwarder's unix socket, which is bound into the sandbox.  The relay
 * holds no secret: it only moves bytes.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>

#include "longhaul.h"
#include "lh-llm.h"

static const char manual[] =
"usage: llm-forward [-r role] [-m model] [-K tokens] [-D dollars] [-L log] (-s socket | -p port)\n"
"       llm-forward -R socket -p port -- command [arg ...]\n"
"Lend the model client's key to an agent CLI: answer its requests on a\n"
"unix socket (-s) or 127.0.0.1:port (-p), check the session's token\n"
"($LONGHAUL_FORWARD_TOKEN: the CLI's API key), and send them on to the\n"
"role's provider with the real key, within the fleet's in-flight limit,\n"
"cool-down and budget, recording the usage of each call.\n"
"  -r role     the role whose model and key are used (default worker)\n"
"  -m model    the model (alias or provider:model), as llm-call -m\n"
"  -K tokens   refuse calls once the session has used this many tokens\n"
"  -D dollars  refuse calls once the session has spent this much\n"
"  -L file     append one JSON line per call (the session's usage)\n"
"  -R socket   relay: listen on -p port, run command, carry connections to socket\n"
"It prints \"ready PROVIDER MODEL\" once it listens. SIGTERM stops it.\n"
"Exit: 0 stopped, 2 usage, 8 error; -R: the command's exit status.\n";

static struct lh_llm_options opt = { .role = "worker", .stream = 1 };
static struct call call;
static const char *token, *log_path;
static double max_tokens = -1, max_usd = -1, spent_tokens, spent_usd;
static volatile sig_atomic_t stopping;

static void
refuse(int fd, int status, const char *type, const char *msg)
{
	char body[1024], head[256];
	json_t *j = call.m.provider[0] == 'a' ?
	    json_pack("{s:s,s:{s:s,s:s}}", "type", "error", "error", "type", type, "message", msg) :
	    json_pack("{s:{s:s,s:s,s:s}}", "error", "message", msg, "type", type, "code", type);
	char *s = json_dumps(j, JSON_COMPACT);

	snprintf(body, sizeof body, "%s", s ? s : "{}");
	free(s);
	json_decref(j);
	snprintf(head, sizeof head, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\n"
	    "Content-Length: %zu\r\nConnection: close\r\n\r\n", status,
	    status == 401 ? "Unauthorized" : status == 403 ? "Forbidden" : "Bad Request", strlen(body));
	if (lh_http_write_all(fd, head, strlen(head)) == 0)
		lh_http_write_all(fd, body, strlen(body));
}

/* ---- usage, read from the reply as it passes ---- */

struct pass {
	int fd;                 /* the client */
	int head_sent, client_gone, sse;
	long status;
	struct buf headers;     /* the upstream's headers worth passing on */
	struct buf line;        /* SSE: the line being assembled */
	struct buf body;        /* a JSON body, parsed at the end */
	double retry_after;
	json_int_t input, output, cache_read, cache_write;
	int usage_seen, final_seen;
};

static void
usage_from(struct pass *p, json_t *u, int responses)
{
	json_t *v;

	if (!json_is_object(u))
		return;
	p->usage_seen = 1;
	if ((v = json_object_get(u, "prompt_tokens"))) {
		/* Chat Completions: cached tokens are part of the prompt */
		json_int_t cached = json_integer_value(json_object_get(
		    json_object_get(u, "prompt_tokens_details"), "cached_tokens"));
		p->input = json_integer_value(v) - cached;
		p->cache_read = cached;
		p->output = json_integer_value(json_object_get(u, "completion_tokens"));
		return;
	}
	if (responses) {
		json_int_t cached = json_integer_value(json_object_get(
		    json_object_get(u, "input_tokens_details"), "cached_tokens"));
		p->input = json_integer_value(json_object_get(u, "input_tokens")) - cached;
		p->cache_read = cached;
		p->output = json_integer_value(json_object_get(u, "output_tokens"));
		return;
	}
	/* Anthropic: a running total, each field when present */
	if ((v = json_object_get(u, "input_tokens")))
		p->input = json_integer_value(v);
	if ((v = json_object_get(u, "output_tokens")))
		p->output = json_integer_value(v);
	if ((v = json_object_get(u, "cache_read_input_tokens")))
		p->cache_read = json_integer_value(v);
	if ((v = json_object_get(u, "cache_creation_input_tokens")))
		p->cache_write = json_integer_value(v);
}

static void
usage_of_event(struct pass *p, json_t *j)
{
	const char *type = json_string_value(json_object_get(j, "type"));

	if (type && !strcmp(type, "message_start"))
		usage_from(p, json_object_get(json_object_get(j, "message"), "usage"), 0);
	else if (type && !strcmp(type, "message_delta"))
		usage_from(p, json_object_get(j, "usage"), 0);
	else if (type && !strcmp(type, "message_stop"))
		p->final_seen = 1;
	else if (type && !strncmp(type, "response.", 9)) {
		if (!strcmp(type, "response.completed") || !strcmp(type, "response.incomplete") ||
		    !strcmp(type, "response.failed"))
			p->final_seen = 1;
		usage_from(p, json_object_get(json_object_get(j, "response"), "usage"), 1);
	} else if (json_is_object(json_object_get(j, "usage")))
		usage_from(p, json_object_get(j, "usage"), 0);
	else if (json_is_object(json_object_get(json_object_get(j, "x_groq"), "usage")))
		usage_from(p, json_object_get(json_object_get(j, "x_groq"), "usage"), 0);
}

static void
sse_line(struct pass *p, const char *s, size_t n)
{
	json_t *j;

	if (n >= 5 && !memcmp(s, "data:", 5)) {
		s += 5, n -= 5;
		while (n && *s == ' ')
			s++, n--;
		if (n == 6 && !memcmp(s, "[DONE]", 6))
			p->final_seen = 1;
		else if ((j = json_loadb(s, n, 0, NULL))) {
			usage_of_event(p, j);
			json_decref(j);
		}
	}
}

static void
scan(struct pass *p, const char *s, size_t n)
{
	const char *end = s + n, *nl;

	if (!p->sse) {
		llm_buf_add(&p->body, s, n);
		return;
	}
	while (s < end) {
		if (!(nl = memchr(s, '\n', end - s))) {
			llm_buf_add(&p->line, s, end - s);
			return;
		}
		llm_buf_add(&p->line, s, nl - s);
		if (p->line.len && p->line.s[p->line.len - 1] == '\r')
			p->line.len--;
		sse_line(p, p->line.s, p->line.len);
		p->line.len = 0;
		s = nl + 1;
	}
}

static size_t
on_header(char *s, size_t size, size_t n, void *arg)
{
	struct pass *p = arg;
	size_t len = size * n;
	static const char *pass_on[] = { "content-type:", "request-id:", "x-request-id:",
	    "retry-after:", "retry-after-ms:", "x-should-retry:", "anthropic-", "x-ratelimit-",
	    "openai-", NULL };
	const char **k;

	if (len > 5 && !strncmp(s, "HTTP/", 5)) {
		p->headers.len = 0;     /* a 100 Continue, or a redirect */
		p->status = atol(s + strcspn(s, " "));
		return len;
	}
	for (k = pass_on; *k; k++)
		if (!strncasecmp(s, *k, strlen(*k))) {
			llm_buf_add(&p->headers, s, len);
			break;
		}
	if (!strncasecmp(s, "content-type:", 13) && strstr(s, "event-stream"))
		p->sse = 1;
	if (!strncasecmp(s, "retry-after:", 12))
		p->retry_after = atof(s + 12);
	return len;
}

static void
send_head(struct pass *p)
{
	char line[128];

	if (p->head_sent)
		return;
	p->head_sent = 1;
	snprintf(line, sizeof line, "HTTP/1.1 %ld %s\r\n", p->status ? p->status : 502,
	    p->status == 200 ? "OK" : "Upstream");
	if (lh_http_write_all(p->fd, line, strlen(line)) < 0 ||
	    (p->headers.len && lh_http_write_all(p->fd, p->headers.s, p->headers.len) < 0) ||
	    lh_http_write_all(p->fd, "Connection: close\r\n\r\n", 21) < 0)
		p->client_gone = 1;
}

static size_t
on_body(char *s, size_t size, size_t n, void *arg)
{
	struct pass *p = arg;
	size_t len = size * n;

	send_head(p);
	scan(p, s, len);
	if (!p->client_gone && lh_http_write_all(p->fd, s, len) < 0)
		p->client_gone = 1;
	/* the CLI hung up (it was stopped): stop the upstream call too */
	return p->client_gone ? 0 : len;
}

/* ---- one request ---- */

static int
token_ok(const char *head)
{
	const char *v;
	size_t n, t = strlen(token), i;
	unsigned char diff = 0;

	if ((v = lh_http_header(head, "x-api-key", &n)) == NULL) {
		if (!(v = lh_http_header(head, "authorization", &n)) || n < 7 || strncasecmp(v, "Bearer ", 7))
			return 0;
		v += 7, n -= 7;
	}
	if (n != t)
		return 0;
	for (i = 0; i < n; i++)
		diff |= v[i] ^ token[i];
	return diff == 0;
}

static void
record(const char *model, long http, double latency, int outcome, struct pass *p)
{
	struct call c = call;
	json_t *resp, *line;
	char *s;
	int fd;

	c.input = p->input;
	c.output = p->output;
	c.cache_read = p->cache_read;
	c.cache_write = p->cache_write;
	if (model && *model)
		c.m.name = (char *)model;
	resp = json_pack("{s:{s:I,s:I,s:I,s:I},s:f,s:f,s:i}", "usage",
	    "input_tokens", p->input, "output_tokens", p->output,
	    "cache_read_tokens", p->cache_read, "cache_write_tokens", p->cache_write,
	    "cost_usd", llm_cost(&c), "latency_s", latency, "attempts", 1);
	llm_log_usage(&c, resp, outcome);
	spent_tokens += p->input + p->output + p->cache_read + p->cache_write;
	spent_usd += json_real_value(json_object_get(resp, "cost_usd"));
	if (log_path) {
		line = json_pack("{s:f,s:s,s:s,s:I,s:O,s:O,s:b}", "time", lh_now(), "provider", c.m.provider,
		    "model", c.m.name, "status", (json_int_t)http, "usage", json_object_get(resp, "usage"),
		    "cost_usd", json_object_get(resp, "cost_usd"), "complete", outcome == 0);
		if ((s = json_dumps(line, JSON_COMPACT))) {
			size_t len = strlen(s);
			s[len] = '\n';
			if ((fd = open(log_path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600)) < 0 ||
			    write(fd, s, len + 1) != (ssize_t)(len + 1) || close(fd) != 0)
				lh_warn_errno("%s", log_path);
			free(s);
		}
		json_decref(line);
	}
	json_decref(resp);
}

static void
serve(int fd)
{
	static const char *drop[] = { "host:", "authorization:", "x-api-key:", "content-length:",
	    "connection:", "accept-encoding:", "expect:", "keep-alive:", "transfer-encoding:", NULL };
	struct lh_http_request rq;
	struct pass p = { .fd = fd, .retry_after = -1 };
	struct curl_slist *h = NULL;
	char url[4400], err[512], key[4200], *line, *next;
	const char *path, **d;
	size_t n;
	double started = lh_monotonic(), wait;
	json_t *body;
	const char *model = NULL;
	CURLcode cr;
	CURL *curl;
	int outcome, limit;

	if (lh_http_read(fd, &rq, 256u << 20) < 0 || strcmp(rq.method, "POST")) {
		lh_http_free(&rq);
		refuse(fd, 400, "invalid_request_error", "llm-forward: a POST with a Content-Length, please");
		return;
	}
	if (!token_ok(rq.head)) {
		refuse(fd, 401, "authentication_error", "llm-forward: not this session's token");
		goto out;
	}
	if (llm_budget_spent(err, sizeof err)) {
		refuse(fd, 403, "permission_error", err);
		goto out;
	}
	if ((max_tokens >= 0 && spent_tokens >= max_tokens) || (max_usd >= 0 && spent_usd >= max_usd)) {
		snprintf(err, sizeof err, "the session's limit is reached: %.0f tokens, $%.4f",
		    spent_tokens, spent_usd);
		refuse(fd, 403, "permission_error", err);
		goto out;
	}
	body = json_loadb(rq.body, rq.bodylen, 0, NULL);
	model = json_string_value(json_object_get(body, "model"));
	model = model ? lh_strdup(model) : NULL;
	json_decref(body);
	/* the CLI's path under our base URL, onto the provider's base URL
	 * (one /v1 between them) */
	path = rq.path;
	n = strlen(call.m.base_url);
	if (n >= 3 && !strcmp(call.m.base_url + n - 3, "/v1") && !strncmp(path, "/v1/", 4))
		path += 3;
	lh_path(url, sizeof url, "%s%s", call.m.base_url, path);
	for (line = strstr(rq.head, "\r\n") + 2; *line; line = next + 2) {
		if (!(next = strstr(line, "\r\n")))
			break;
		*next = 0;
		for (d = drop; *d && strncasecmp(line, *d, strlen(*d)); d++)
			;
		if (!*d && *line)
			h = curl_slist_append(h, line);
	}
	if (call.m.key) {
		if (call.m.provider[0] == 'a')
			lh_path(key, sizeof key, "x-api-key: %s", call.m.key);
		else
			lh_path(key, sizeof key, "Authorization: Bearer %s", call.m.key);
		h = curl_slist_append(h, key);
		memset(key, 0, sizeof key);
	}
	h = curl_slist_append(h, "Expect:");
	if ((wait = llm_cooldown_until() - lh_now()) > 0)
		llm_sleep_s(wait < 120 ? wait : 120);
	limit = (int)llm_env_number("LONGHAUL_IN_FLIGHT",
	    json_integer_value(json_object_get(call.config, "in_flight")));
	llm_take_slot(&call, limit);
	curl = curl_easy_init();
	curl_easy_setopt(curl, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(curl, CURLOPT_URL, url);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDS, rq.body);
	curl_easy_setopt(curl, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)rq.bodylen);
	curl_easy_setopt(curl, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(curl, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(curl, CURLOPT_HEADERDATA, &p);
	curl_easy_setopt(curl, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(curl, CURLOPT_WRITEDATA, &p);
	curl_easy_setopt(curl, CURLOPT_ACCEPT_ENCODING, "");
	curl_easy_setopt(curl, CURLOPT_CONNECTTIMEOUT_MS,
	    (long)(llm_env_number("LONGHAUL_CONNECT_TIMEOUT", 10) * 1000));
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_LIMIT, 1L);
	curl_easy_setopt(curl, CURLOPT_LOW_SPEED_TIME,
	    (long)llm_env_number("LONGHAUL_IDLE_TIMEOUT", 120));
	cr = curl_easy_perform(curl);
	curl_easy_cleanup(curl);
	curl_slist_free_all(h);
	llm_release_slot();
	if (p.sse && p.line.len)
		sse_line(&p, p.line.s, p.line.len);
	if (!p.sse && p.body.len) {
		json_t *j = json_loadb(p.body.s, p.body.len, 0, NULL);
		const char *object = json_string_value(json_object_get(j, "object"));

		usage_from(&p, json_object_get(j, "usage"), object && !strcmp(object, "response"));
		p.final_seen = j != NULL;
		json_decref(j);
	}
	if (cr != CURLE_OK && !p.head_sent) {
		/* the provider cannot be reached: the CLI retries a 502 */
		p.status = 502;
		refuse(fd, 502, "api_error", "llm-forward: the provider cannot be reached");
	}
	send_head(&p);
	if (p.status == 429 || p.status == 529)
		llm_cooldown_set(lh_now() + (p.retry_after > 0 && p.retry_after <= 120 ?
		    p.retry_after : lh_jitter() * 2));
	outcome = p.status == 200 ? (p.final_seen && cr == CURLE_OK ? 0 : 4) :
	    p.status == 429 || p.status >= 500 ? 1 : 3;
	record(model, p.status, lh_monotonic() - started, outcome, &p);
	free((char *)model);
	free(p.headers.s);
	free(p.line.s);
	free(p.body.s);
out:
	lh_http_free(&rq);
}

/* ---- relay mode, inside the sandbox ---- */

static int
connect_unix(const char *path)
{
	struct sockaddr_un a = { .sun_family = AF_UNIX };
	int fd;

	if (strlen(path) >= sizeof a.sun_path)
		return -1;
	strcpy(a.sun_path, path);
	if ((fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0)
		return -1;
	if (connect(fd, (struct sockaddr *)&a, sizeof a) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

static void
shuttle(int a, const char *sock)
{
	struct pollfd pf[2];
	char buf[65536];
	int b, open_a = 1, open_b = 1, i;
	ssize_t n;

	if ((b = connect_unix(sock)) < 0)
		_exit(1);
	pf[0].fd = a;
	pf[1].fd = b;
	while (open_a || open_b) {
		pf[0].events = open_a ? POLLIN : 0;
		pf[1].events = open_b ? POLLIN : 0;
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		for (i = 0; i < 2; i++) {
			if (!(pf[i].revents & (POLLIN | POLLHUP | POLLERR)))
				continue;
			n = read(pf[i].fd, buf, sizeof buf);
			if (n <= 0) {
				shutdown(pf[!i].fd, SHUT_WR);
				if (i == 0)
					open_a = 0;
				else
					open_b = 0;
				/* the forwarder closes once it has answered */
				if (i == 1)
					open_a = 0;
			} else if (lh_http_write_all(pf[!i].fd, buf, n) < 0)
				open_a = open_b = 0;
		}
	}
	_exit(0);
}

static int
relay(const char *sock, int port, char **argv)
{
	struct sockaddr_in a = { .sin_family = AF_INET };
	struct pollfd pf;
	int lfd, one = 1, st, fd;
	pid_t engine, pid;

	/* a group of our own: the shuttles are killed with it, nobody else */
	setpgid(0, 0);
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	a.sin_port = htons(port);
	if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
	    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0)
		lh_die_errno(8, "127.0.0.1:%d", port);
	if ((engine = fork()) < 0)
		lh_die_errno(8, "fork");
	if (engine == 0) {
		execvp(argv[0], argv);
		lh_die_errno(127, "%s", argv[0]);
	}
	pf.fd = lfd;
	pf.events = POLLIN;
	for (;;) {
		while ((pid = waitpid(-1, &st, WNOHANG)) > 0)
			if (pid == engine) {
				kill(0, SIGTERM);       /* the shuttles of this group */
				return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
			}
		if (poll(&pf, 1, 200) <= 0)
			continue;
		if ((fd = accept(lfd, NULL, NULL)) < 0)
			continue;
		if ((pid = fork()) == 0) {
			signal(SIGTERM, SIG_DFL);
			prctl(PR_SET_PDEATHSIG, SIGKILL);
			close(lfd);
			shuttle(fd, sock);
		}
		close(fd);
	}
}

/* ---- main ---- */

static void
on_stop(int sig)
{
	(void)sig;
	stopping = 1;
}

int
main(int argc, char **argv)
{
	const char *sock = NULL, *relay_sock = NULL;
	char err[512];
	int c, port = -1, lfd, fd;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "+r:m:K:D:L:s:p:R:")) != -1)
		switch (c) {
		case 'r': opt.role = optarg; break;
		case 'm': opt.model = optarg; break;
		case 'K': max_tokens = atof(optarg); break;
		case 'D': max_usd = atof(optarg); break;
		case 'L': log_path = optarg; break;
		case 's': sock = optarg; break;
		case 'p': port = atoi(optarg); break;
		case 'R': relay_sock = optarg; break;
		default: lh_usage("llm-forward [-r role] [-m model] [-K tokens] [-D dollars] [-L log] (-s socket | -p port)");
		}
	if (relay_sock) {
		if (port <= 0 || optind >= argc)
			lh_usage("llm-forward -R socket -p port -- command [arg ...]");
		signal(SIGTERM, SIG_IGN);
		return relay(relay_sock, port, argv + optind);
	}
	if ((!sock) == (port < 0) || optind != argc)
		lh_usage("llm-forward [-r role] [-m model] [-K tokens] [-D dollars] [-L log] (-s socket | -p port)");
	/* before the key is read: nobody of our uid may read our memory */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		lh_die_errno(8, "prctl");
	if (!(token = getenv("LONGHAUL_FORWARD_TOKEN")) || strlen(token) < 16)
		lh_die(2, "LONGHAUL_FORWARD_TOKEN: not set (16 characters at least)");
	token = lh_strdup(token);
	call.opt = &opt;
	if (!(call.config = llm_load_config(NULL, err, sizeof err)))
		lh_die(2, "%s", err);
	if (llm_resolve_model(&call, err, sizeof err) < 0)
		lh_die(2, "%s", err);
	/* no child of ours (there are none) and no dump inherits these */
	unsetenv("LONGHAUL_FORWARD_TOKEN");
	unsetenv("ANTHROPIC_API_KEY");
	unsetenv("OPENAI_API_KEY");
	curl_global_init(CURL_GLOBAL_DEFAULT);
	if (sock) {
		struct sockaddr_un a = { .sun_family = AF_UNIX };

		if (strlen(sock) >= sizeof a.sun_path)
			lh_die(2, "%s: path too long for a socket", sock);
		strcpy(a.sun_path, sock);
		unlink(sock);
		if ((lfd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0)
			lh_die_errno(8, "%s", sock);
	} else {
		struct sockaddr_in a = { .sin_family = AF_INET };
		socklen_t alen = sizeof a;
		int one = 1;

		a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
		a.sin_port = htons(port);
		if ((lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0)) < 0 ||
		    setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
		    bind(lfd, (struct sockaddr *)&a, sizeof a) < 0 || listen(lfd, 64) < 0 ||
		    getsockname(lfd, (struct sockaddr *)&a, &alen) < 0)
			lh_die_errno(8, "127.0.0.1:%d", port);
		port = ntohs(a.sin_port);
	}
	{
		struct sigaction sa = { .sa_handler = on_stop };   /* no SA_RESTART: accept returns */
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
		sigaction(SIGHUP, &sa, NULL);
	}
	signal(SIGPIPE, SIG_IGN);
	if (port >= 0)
		printf("ready %s %s %d\n", call.m.provider, call.m.name, port);
	else
		printf("ready %s %s\n", call.m.provider, call.m.name);
	lh_close_stdout();
	while (!stopping) {
		if ((fd = accept(lfd, NULL, NULL)) < 0) {
			if (errno == EINTR || errno == ECONNABORTED)
				continue;
			lh_die_errno(8, "accept");
		}
		serve(fd);
		close(fd);
	}
	if (sock)
		unlink(sock);
	return 0;
}
