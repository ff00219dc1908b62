/* mock-http: the HTTP requests llm-mock reads (src/llm-mock.c, serve,
 * and src/lh-http.c, lh_http_read, which llm-forward reads them with
 * too): the request line, headers, Content-Length,
 * Expect, the body as JSON, the rules matched against it, the reply
 * sent. The request arrives on one end of a socket pair; a thread
 * drains the reply from the other.
 *
 * Input: the request as it comes off the wire.
 */
#include "mock.h"

static const char rules_text[] =
    "{\"match\":{\"contains\":\"tools\"},\"reply\":{\"text\":\"ok $1\",\"tool_calls\":[{\"name\":\"bash\",\"arguments\":{\"command\":\"ls\"}}]},\"capture\":\"(t[a-z]*)\"}\n"
    "{\"match\":{\"api\":\"anthropic\",\"turn\":2},\"reply\":{\"text\":\"second turn\"},\"chunk\":3}\n"
    "{\"match\":{\"regex\":\"fault[0-9]\"},\"fault\":500,\"times\":1}\n"
    "{\"match\":{\"contains\":\"quota\"},\"fault\":\"quota\"}\n"
    "{\"match\":{\"model\":\"bad\"},\"fault\":\"error_after_200\"}\n"
    "{\"match\":{\"not_contains\":\"never\"},\"reply\":{\"text\":\"hello\",\"usage\":{\"input_tokens\":-5}}}\n";

static void *
drain(void *arg)
{
	int fd = *(int *)arg;
	char buf[65536];

	while (read(fd, buf, sizeof buf) > 0)
		;
	return NULL;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct conn *c;
	pthread_t tid;
	int sv[2];
	size_t off = 0;
	ssize_t w;

	if (!nrules) {
		const char *p = rules_text, *nl;
		char err[300];

		for (; *p; p = nl + 1) {
			nl = strchr(p, '\n');
			rules = lh_realloc(rules, (nrules + 1) * sizeof *rules);
			if (rule_parse(&rules[nrules], p, nl - p, nrules + 1, err, sizeof err) < 0) {
				fprintf(stderr, "rule %zu: %s\n", nrules + 1, err);
				abort();
			}
			nrules++;
		}
		signal(SIGPIPE, SIG_IGN);
	}
	/* "times" would run out over the run: each input starts afresh */
	for (size_t k = 0; k < nrules; k++)
		rules[k].fired = 0;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		abort();
	while (off < size && (w = write(sv[0], data + off, size - off)) > 0)
		off += w;
	shutdown(sv[0], SHUT_WR);
	if (pthread_create(&tid, NULL, drain, &sv[0]) != 0)
		abort();
	if (setjmp(fuzz_jmp))
		abort();
	c = lh_malloc(sizeof *c);
	c->fd = sv[1];
	serve(c);       /* closes sv[1], frees c */
	pthread_join(tid, NULL);
	close(sv[0]);
	return 0;
}
