/* lh-http.c: the HTTP/1.1 requests that longhaul's own servers read
 * (llm-forward from an agent CLI, llm-mock from the tools under test),
 * one request a connection, answered with Connection: close.
 *
 * Only what those clients send is understood: a request line, headers,
 * and a body of exactly Content-Length bytes. A request with a
 * Transfer-Encoding is refused rather than read wrongly: taking the
 * bytes after the head as a body of Content-Length would let a chunked
 * body pass for something else. Sizes are bounded (the head, the body,
 * the target) and everything read is NUL-terminated, so the parsers
 * after this one work on strings. The input is anybody's on the
 * loopback: t/fuzz/mock-http feeds it.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>
#include <sys/socket.h>

#include "longhaul.h"

#define HEAD_MAX (1 << 20)

const char *
lh_http_header(const char *head, const char *name, size_t *len)
{
	const char *p = head;
	size_t n = strlen(name);

	/* a header line follows a CRLF: the request line is never one */
	while ((p = strstr(p, "\r\n"))) {
		p += 2;
		if (!strncasecmp(p, name, n) && p[n] == ':') {
			p += n + 1;
			while (*p == ' ' || *p == '\t')
				p++;
			if (len)
				*len = strcspn(p, "\r\n");
			return p;
		}
	}
	return NULL;
}

int
lh_http_write_all(int fd, const char *s, size_t n)
{
	ssize_t w;

	while (n > 0) {
		if ((w = send(fd, s, n, MSG_NOSIGNAL)) < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		s += w;
		n -= w;
	}
	return 0;
}

/* METHOD SP TARGET SP HTTP/1.x, each part fitting its buffer */
static int
request_line(const char *head, struct lh_http_request *rq)
{
	size_t m = strcspn(head, " \r\n"), t;
	const char *target;

	if (m == 0 || m >= sizeof rq->method || head[m] != ' ')
		return -1;
	target = head + m + 1;
	if ((t = strcspn(target, " \r\n")) == 0 || t >= sizeof rq->path || target[t] != ' ' ||
	    strncmp(target + t + 1, "HTTP/1.", 7))
		return -1;
	memcpy(rq->method, head, m);
	rq->method[m] = 0;
	memcpy(rq->path, target, t);
	rq->path[t] = 0;
	return 0;
}

/* Content-Length: digits only; 0 when absent, -1 when malformed or past max */
static long long
content_length(const char *head, size_t max)
{
	const char *v;
	size_t len, i;
	unsigned long long n = 0;

	if (!(v = lh_http_header(head, "content-length", &len)))
		return 0;
	while (len > 0 && (v[len - 1] == ' ' || v[len - 1] == '\t'))
		len--;
	if (len == 0)
		return -1;
	for (i = 0; i < len; i++) {
		if (v[i] < '0' || v[i] > '9')
			return -1;
		n = n * 10 + (unsigned)(v[i] - '0');
		if (n > max)
			return -1;
	}
	return (long long)n;
}

/* the CRLF CRLF that ends the head, in s[0..n) */
static char *
blank_line(char *s, size_t n)
{
	size_t i;

	for (i = 0; i + 4 <= n; i++)
		if (s[i] == '\r' && !memcmp(s + i, "\r\n\r\n", 4))
			return s + i;
	return NULL;
}

int
lh_http_read(int fd, struct lh_http_request *rq, size_t max_body)
{
	size_t cap = 8192, n = 0, from, have;
	char *buf = lh_malloc(cap), *end;
	const char *v;
	long long want;
	ssize_t r;

	memset(rq, 0, sizeof *rq);
	for (;;) {
		if (n + 1 >= cap) {
			if (cap >= HEAD_MAX)
				goto bad;
			buf = lh_realloc(buf, cap *= 2);
		}
		if ((r = read(fd, buf + n, cap - n - 1)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto bad;
		from = n > 3 ? n - 3 : 0;
		n += r;
		buf[n] = 0;
		if ((end = blank_line(buf + from, n - from)))
			break;
	}
	/* a NUL would cut the head short for the parsers after us */
	if (memchr(buf, 0, (size_t)(end - buf)))
		goto bad;
	end[2] = 0;     /* the head keeps its last CRLF: every line ends so */
	if (request_line(buf, rq) < 0 || lh_http_header(buf, "transfer-encoding", NULL) ||
	    (want = content_length(buf, max_body)) < 0)
		goto bad;
	if ((v = lh_http_header(buf, "expect", NULL)) && !strncasecmp(v, "100-continue", 12) &&
	    lh_http_write_all(fd, "HTTP/1.1 100 Continue\r\n\r\n", 25) < 0)
		goto bad;
	end += 4;
	have = n - (size_t)(end - buf);
	rq->body = lh_malloc((size_t)want + 1);
	memcpy(rq->body, end, have < (size_t)want ? have : (size_t)want);
	while (have < (size_t)want) {
		if ((r = read(fd, rq->body + have, (size_t)want - have)) < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			goto bad;
		have += r;
	}
	rq->body[want] = 0;
	rq->bodylen = (size_t)want;
	rq->head = buf;
	return 0;
bad:
	free(buf);
	free(rq->body);
	memset(rq, 0, sizeof *rq);
	return -1;
}

void
lh_http_free(struct lh_http_request *rq)
{
	free(rq->head);
	free(rq->body);
	rq->head = rq->body = NULL;
}
