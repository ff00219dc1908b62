/* fuzz.h: what the fuzz harnesses share (t/fuzz/NAME.c, built by `make
 * fuzz` with clang's libFuzzer, AddressSanitizer and UBSan; see
 * doc/fuzz.md).
 *
 * A harness that #includes a tool's or the library's .c file defines
 * FUZZ_CATCH_DIE first: that file's lh_die() calls then come back to
 * the harness (longjmp) instead of ending the process, since dying on
 * bad input is a tool's documented answer, not a finding.
 */
#ifndef FUZZ_H
#define FUZZ_H

#define _XOPEN_SOURCE 700   /* nftw */

#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <ftw.h>
#include <sys/stat.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef FUZZ_CATCH_DIE
static jmp_buf fuzz_jmp;
static int fuzz_died;

static void fuzz_die(int status, const char *fmt, ...) __attribute__((unused))
	__attribute__((noreturn, format(printf, 2, 3)));
static void fuzz_die_errno(int status, const char *fmt, ...) __attribute__((unused))
	__attribute__((noreturn, format(printf, 2, 3)));

static void
fuzz_die(int status, const char *fmt, ...)
{
	(void)status, (void)fmt;
	fuzz_died = 1;
	longjmp(fuzz_jmp, 1);
}

static void
fuzz_die_errno(int status, const char *fmt, ...)
{
	(void)status, (void)fmt;
	fuzz_died = 1;
	longjmp(fuzz_jmp, 1);
}

#define lh_die fuzz_die
#define lh_die_errno fuzz_die_errno
#endif

/* data[0..size) as a NUL-terminated string (the caller frees it) */
static inline char *
fuzz_string(const uint8_t *data, size_t size)
{
	char *s = malloc(size + 1);

	if (!s)
		abort();
	memcpy(s, data, size);
	s[size] = 0;
	return s;
}

/* Write data to path (a file of the harness's own scratch directory). */
static inline void
fuzz_write_file(const char *path, const void *data, size_t size)
{
	FILE *f = fopen(path, "w");

	if (!f || (size && fwrite(data, 1, size, f) != size) || fclose(f) != 0) {
		perror(path);
		abort();
	}
}

static int
fuzz_rm(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st, (void)flag, (void)ftw;
	return remove(path);
}

static char fuzz_dir[64];

static void
fuzz_cleanup(void)
{
	if (fuzz_dir[0])
		nftw(fuzz_dir, fuzz_rm, 16, FTW_DEPTH | FTW_PHYS);
}

/* A scratch directory of this process, made once, removed at exit. */
static inline const char *
fuzz_scratch(void)
{
	if (!fuzz_dir[0]) {
		snprintf(fuzz_dir, sizeof fuzz_dir, "/tmp/lh-fuzz.XXXXXX");
		if (!mkdtemp(fuzz_dir)) {
			perror(fuzz_dir);
			abort();
		}
		atexit(fuzz_cleanup);
	}
	return fuzz_dir;
}

#endif
