/* lh-util.c: errors, memory, strings, UTF-8, time and the other small
 * things every longhaul tool needs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "longhaul.h"

const char *lh_prog = "longhaul";

void
lh_init(int argc, char **argv)
{
	const char *slash;

	(void)argc;
	if (argv && argv[0]) {
		slash = strrchr(argv[0], '/');
		lh_prog = slash ? slash + 1 : argv[0];
	}
}

/* LeakSanitizer (CI's sanitizer run) asks this at exit. Tools that live
 * long (agent-step -A, llm-mock, board-turn), or whose work runs in a
 * long-lived caller (llm-call's), must free what each call or request
 * takes: for them, and for anything not named here, a leak is an error.
 * The short-lived ones below leave their memory to exit(). */
int __lsan_is_turned_off(void);

int
__lsan_is_turned_off(void)
{
	static const char *short_lived[] = { "board-init", "board-reap", "task-claim", "task-ls",
	    "task-publish", "task-show", "task-update", "judge", "llm-usage", NULL };
	const char **p;

	for (p = short_lived; *p; p++)
		if (!strcmp(lh_prog, *p))
			return 1;
	return 0;
}

static void
vreport(const char *fmt, va_list ap, int errnum)
{
	fprintf(stderr, "%s: ", lh_prog);
	vfprintf(stderr, fmt, ap);
	if (errnum)
		fprintf(stderr, ": %s", strerror(errnum));
	fputc('\n', stderr);
}

void
lh_warn(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, 0);
	va_end(ap);
}

void
lh_warn_errno(const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vreport(fmt, ap, e);
	va_end(ap);
}

void
lh_die(int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vreport(fmt, ap, 0);
	va_end(ap);
	exit(status);
}

void
lh_die_errno(int status, const char *fmt, ...)
{
	va_list ap;
	int e = errno;

	va_start(ap, fmt);
	vreport(fmt, ap, e);
	va_end(ap);
	exit(status);
}

void *
lh_malloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p)
		lh_die(LH_SYSERR, "out of memory");
	return p;
}

void *
lh_realloc(void *p, size_t n)
{
	p = realloc(p, n ? n : 1);
	if (!p)
		lh_die(LH_SYSERR, "out of memory");
	return p;
}

char *
lh_strdup(const char *s)
{
	size_t n = strlen(s) + 1;

	return memcpy(lh_malloc(n), s, n);
}

void
lh_path(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= size)
		lh_die(LH_USAGE, "%.60s...: path too long", buf);
}

/* Strict UTF-8: no overlongs, no surrogates, nothing above U+10FFFF,
 * no NUL (a NUL cannot travel in a JSON string we hand to C). */
int
lh_utf8_valid(const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str, *end = s + n;
	unsigned c, need, min;

	while (s < end) {
		c = *s++;
		if (c == 0)
			return 0;
		if (c < 0x80)
			continue;
		if (c >= 0xc2 && c <= 0xdf) { need = 1; min = 0x80; c &= 0x1f; }
		else if (c >= 0xe0 && c <= 0xef) { need = 2; min = 0x800; c &= 0x0f; }
		else if (c >= 0xf0 && c <= 0xf4) { need = 3; min = 0x10000; c &= 0x07; }
		else
			return 0;
		if ((size_t)(end - s) < need)
			return 0;
		while (need--) {
			if ((*s & 0xc0) != 0x80)
				return 0;
			c = (c << 6) | (*s++ & 0x3f);
		}
		if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
			return 0;
	}
	return 1;
}

char *
lh_read_stream(FILE *f, size_t *len)
{
	size_t cap = 8192, n = 0, r;
	char *buf = lh_malloc(cap);

	while ((r = fread(buf + n, 1, cap - n - 1, f)) > 0) {
		n += r;
		if (cap - n < 2)
			buf = lh_realloc(buf, cap *= 2);
	}
	if (ferror(f)) {
		free(buf);
		return NULL;
	}
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

char *
lh_read_file(const char *path, size_t *len)
{
	size_t cap = 4096, n = 0;
	ssize_t r;
	char *buf;
	int fd, e;

	if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return NULL;
	buf = lh_malloc(cap);
	for (;;) {
		if (cap - n < 2)
			buf = lh_realloc(buf, cap *= 2);
		r = read(fd, buf + n, cap - n - 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			e = errno;
			free(buf);
			close(fd);
			errno = e;
			return NULL;
		}
		if (r == 0)
			break;
		n += r;
	}
	close(fd);
	buf[n] = 0;
	if (len)
		*len = n;
	return buf;
}

void
lh_random_name(char *buf, size_t n)
{
	static const char digits[] = "0123456789abcdefghijklmnopqrstuvwxyz";
	unsigned char raw[64];
	size_t i;
	int fd, got = 0;

	if (n == 0)
		return;
	if (n - 1 > sizeof raw)
		n = sizeof raw + 1;
	if ((fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC)) >= 0) {
		got = read(fd, raw, n - 1) == (ssize_t)(n - 1);
		close(fd);
	}
	if (!got) {
		struct timespec ts;
		unsigned long x;

		clock_gettime(CLOCK_MONOTONIC, &ts);
		x = (unsigned long)ts.tv_nsec ^ ((unsigned long)getpid() << 16);
		for (i = 0; i < n - 1; i++) {
			x = x * 6364136223846793005UL + 1442695040888963407UL;
			raw[i] = x >> 33;
		}
	}
	for (i = 0; i < n - 1; i++)
		buf[i] = digits[raw[i] % 36];
	buf[n - 1] = 0;
}

const char *
lh_hostname(void)
{
	static char host[256];
	char *dot;

	if (!host[0]) {
		if (gethostname(host, sizeof host - 1) != 0 || !host[0])
			strcpy(host, "localhost");
		if ((dot = strchr(host, '.')))
			*dot = 0;
	}
	return host;
}

void
lh_close_stdout(void)
{
	if (fflush(stdout) != 0 || ferror(stdout) || fclose(stdout) != 0)
		lh_die_errno(LH_SYSERR, "stdout");
}

double
lh_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

double
lh_monotonic(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

void
lh_iso_time(double t, char *buf, size_t size)
{
	time_t secs = (time_t)t;
	struct tm tm;

	gmtime_r(&secs, &tm);
	strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

void
lh_help(int argc, char **argv, const char *manual)
{
	int i;

	lh_init(argc, argv);
	for (i = 1; i < argc && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "--help")) {
			fputs(manual, stdout);
			lh_close_stdout();
			exit(0);
		}
}

void
lh_usage(const char *usage)
{
	fprintf(stderr, "usage: %s\n", usage);
	exit(LH_USAGE);
}

/* mkdir -p */
int
lh_mkdirs(const char *path)
{
	char buf[PATH_MAX];
	char *p;

	if (mkdir(path, 0777) == 0 || errno == EEXIST)
		return 0;
	if (errno != ENOENT)
		return -1;
	lh_path(buf, sizeof buf, "%s", path);
	for (p = buf + 1; *p; p++) {
		if (*p != '/')
			continue;
		*p = 0;
		if (mkdir(buf, 0777) != 0 && errno != EEXIST)
			return -1;
		*p = '/';
	}
	return mkdir(buf, 0777) == 0 || errno == EEXIST ? 0 : -1;
}

/* The file system's now: touch path (made if missing) and read its mtime
 * back. futimens(NULL) asks the server to use its own time (NFS
 * SET_TO_SERVER_TIME), so on NFS this is the server's clock. -1 on error. */
double
lh_file_clock(const char *path)
{
	struct stat st;
	int fd;

	if ((fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0644)) < 0)
		return -1;
	if (futimens(fd, NULL) != 0 || fstat(fd, &st) != 0) {
		close(fd);
		return -1;
	}
	close(fd);
	return st.st_mtim.tv_sec + st.st_mtim.tv_nsec / 1e9;
}

/* A number in [0, 1) for jitter; seeded per process, not for secrets. */
double
lh_jitter(void)
{
	static unsigned long x;
	char r[9];

	if (!x) {
		lh_random_name(r, sizeof r);
		x = strtoul(r, NULL, 36) ^ (unsigned long)getpid() ^ (unsigned long)(lh_now() * 1e6);
	}
	x = x * 6364136223846793005UL + 1442695040888963407UL;
	return (x >> 11) / (double)(1UL << 53);
}
