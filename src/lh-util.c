/* lh-util.c: errors, memory, strings, UTF-8, time and the other small
 * things every longhaul tool needs. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdlib.h>
#include <signal.h>
#include <string.h>
#include <sys/prctl.h>
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

void
lh_printable(char *s)
{
	int utf8 = lh_utf8_valid(s, strlen(s));

	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f || (!utf8 && (unsigned char)*s >= 0x80))
			*s = '?';
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

#ifndef LH_SHAREDIR
#define LH_SHAREDIR "/usr/local/share/longhaul"
#endif
#ifndef LH_VERSION
#define LH_VERSION "unknown"
#endif

/* The options every tool has, looked for before getopt sees argv: -h and
 * --help print the manual, --version the version. Only the options
 * before the first operand (or --) are looked at, so a command that a
 * tool runs keeps its own -h. */
void
lh_std_options(int argc, char **argv, const char *manual)
{
	int i;

	lh_init(argc, argv);
	for (i = 1; i < argc && argv[i][0] == '-' && argv[i][1] && strcmp(argv[i], "--"); i++)
		if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help")) {
			fputs(manual, stdout);
			lh_close_stdout();
			exit(0);
		} else if (!strcmp(argv[i], "--version")) {
			printf("%s (longhaul) %s\n", lh_prog, LH_VERSION);
			lh_close_stdout();
			exit(0);
		}
}

/* The directory of prompts and prices: $LONGHAUL_SHARE, else found from
 * where this program is (/proc/self/exe), so that an installed tree works
 * wherever it was installed, staged or not: BINDIR/../share/longhaul, then
 * a source tree's share/ beside the built tools, then the PREFIX it was
 * built for. */
const char *
lh_share_dir(void)
{
	static char dir[PATH_MAX];
	static const char *const beside[] = { "../share/longhaul", "share" };
	char exe[PATH_MAX], probe[2 * PATH_MAX], *slash;
	const char *env = getenv("LONGHAUL_SHARE");
	struct stat st;
	ssize_t n;
	size_t i;

	if (env && *env)
		return env;
	if (dir[0])
		return dir;
	if ((n = readlink("/proc/self/exe", exe, sizeof exe - 1)) > 0) {
		exe[n] = 0;
		if ((slash = strrchr(exe, '/')))
			*slash = 0;
		for (i = 0; i < sizeof beside / sizeof *beside; i++) {
			snprintf(probe, sizeof probe, "%s/%s/prompts", exe, beside[i]);
			if (stat(probe, &st) == 0 && S_ISDIR(st.st_mode) &&
			    realpath(probe, dir) && (slash = strrchr(dir, '/'))) {
				*slash = 0;
				return dir;
			}
		}
	}
	snprintf(dir, sizeof dir, "%s", LH_SHAREDIR);
	return dir;
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

/* Is pid gone: no such process, or a zombie waiting for its parent? */
static int
gone(long pid)
{
	char path[64], *stat, *p;
	int dead;

	if (kill((pid_t)pid, 0) < 0 && errno == ESRCH)
		return 1;
	snprintf(path, sizeof path, "/proc/%ld/stat", pid);
	if (!(stat = lh_read_file(path, NULL)))
		return 0;
	/* "pid (comm) S ...": the state follows the last ')' */
	dead = (p = strrchr(stat, ')')) && p[1] == ' ' && p[2] == 'Z';
	free(stat);
	return dead;
}

/* A tool started by a worker ($LONGHAUL_PID set) dies with its parent:
 * PR_SET_PDEATHSIG, then a second look, since a parent that died before
 * the prctl sends nothing. A tool whose owner is gone already ends at
 * once. SIGTERM, so that the tool's own handler cleans up (agent-step
 * kills its command's group, board-turn leaves its queue). */
void
lh_die_with_parent(void)
{
	const char *env = getenv("LONGHAUL_PID");
	pid_t parent = getppid();
	long owner;

	if (!env || (owner = atol(env)) <= 1)
		return;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM) < 0)
		lh_warn_errno("prctl");
	if (getppid() != parent || parent == 1 || gone(owner))
		raise(SIGTERM);
}
