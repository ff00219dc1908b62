/* longhaul.h: the one header of liblonghaul, the code the tools share.
 * Names start with lh_. Split by subject:
 *   lh-util.c   errors, memory, strings, UTF-8, ids, files written safely
 *   lh-board.c  the board protocol: task records, compare-and-swap, indexes
 *   lh-wait.c   waiting for the board to change (inotify, polling fallback)
 *   lh-llm.c    the model client (OpenAI and Anthropic wire formats)
 */
#ifndef LONGHAUL_H
#define LONGHAUL_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <jansson.h>

/* ---- lh-util.c ---- */
extern const char *lh_prog;              /* set from argv[0] by lh_init */
void lh_init(int argc, char **argv);
void lh_die(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
void lh_warn(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
/* like lh_warn/lh_die, with ": strerror(errno)" appended */
void lh_warn_errno(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void lh_die_errno(int status, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 2, 3)));
void *lh_malloc(size_t n);
void *lh_realloc(void *p, size_t n);
char *lh_strdup(const char *s);
/* snprintf into a fixed buffer; dies naming what on truncation */
void lh_path(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
int lh_utf8_valid(const char *s, size_t n);
/* read a whole file or stream; NUL-terminated; NULL and errno on error */
char *lh_read_file(const char *path, size_t *len);
char *lh_read_stream(FILE *f, size_t *len);
/* random bytes as [0-9a-z] */
void lh_random_name(char *buf, size_t n);
const char *lh_hostname(void);
/* write and close stdout, dying on error (full disk is an error) */
void lh_close_stdout(void);
double lh_now(void);                       /* CLOCK_REALTIME seconds */
double lh_monotonic(void);
void lh_iso_time(double t, char *buf, size_t size);  /* 2026-11-27T19:46:55Z */
/* exit statuses shared by the board tools (documented in longhaul(7)) */
enum {
	LH_OK = 0,
	LH_NOTHING = 1,     /* nothing to claim / no such match */
	LH_USAGE = 2,       /* usage or invalid input */
	LH_CONFLICT = 3,    /* stale version, fenced token, wrong state */
	LH_NOTFOUND = 4,    /* no such task */
	LH_BADBOARD = 5,    /* board missing, newer format, corrupt record */
	LH_SYSERR = 6,      /* I/O or system error */
};

#endif
