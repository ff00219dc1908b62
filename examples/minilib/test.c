/* minilib's tests: ./test-minilib [name] runs one function's or all. */
#include <stdio.h>
#include <string.h>
#include "minilib.h"

static int failed;
#define CHECK(name, cond) do { if (!(cond)) { printf("FAIL %s: %s\n", name, #cond); failed++; } } while (0)

static void
test_str_reverse(void)
{
	char a[] = "hello", b[] = "", c[] = "ab";
	CHECK("str_reverse", !strcmp(str_reverse(a), "olleh"));
	CHECK("str_reverse", !strcmp(str_reverse(b), ""));
	CHECK("str_reverse", !strcmp(str_reverse(c), "ba"));
}

static void
test_str_count_words(void)
{
	CHECK("str_count_words", str_count_words("") == 0);
	CHECK("str_count_words", str_count_words("one") == 1);
	CHECK("str_count_words", str_count_words("  two\twords\n") == 2);
}

static void
test_str_trim(void)
{
	char a[] = "  hi there \n", b[] = "   ", c[] = "x";
	CHECK("str_trim", !strcmp(str_trim(a), "hi there"));
	CHECK("str_trim", !strcmp(str_trim(b), ""));
	CHECK("str_trim", !strcmp(str_trim(c), "x"));
}

static void
test_stack(void)
{
	struct stack st;
	int v = 0, i;
	stack_init(&st);
	CHECK("stack", stack_pop(&st, &v) == -1);
	CHECK("stack", stack_push(&st, 1) == 0 && stack_push(&st, 2) == 0);
	CHECK("stack", stack_pop(&st, &v) == 0 && v == 2);
	CHECK("stack", stack_pop(&st, &v) == 0 && v == 1);
	for (i = 0; i < STACK_MAX; i++)
		stack_push(&st, i);
	CHECK("stack", stack_push(&st, 99) == -1);
}

static void
test_parse_int(void)
{
	int v = 0;
	CHECK("parse_int", parse_int("42", &v) == 0 && v == 42);
	CHECK("parse_int", parse_int("-7", &v) == 0 && v == -7);
	CHECK("parse_int", parse_int("4x", &v) == -1);
	CHECK("parse_int", parse_int("", &v) == -1);
}

static void
test_parse_sum(void)
{
	int v = 0;
	CHECK("parse_sum", parse_sum("1,2,3", &v) == 0 && v == 6);
	CHECK("parse_sum", parse_sum("10,-4", &v) == 0 && v == 6);
	CHECK("parse_sum", parse_sum("1,,2", &v) == -1);
}

static const struct { const char *name; void (*fn)(void); } tests[] = {
	{ "str_reverse", test_str_reverse }, { "str_count_words", test_str_count_words },
	{ "str_trim", test_str_trim }, { "stack", test_stack },
	{ "parse_int", test_parse_int }, { "parse_sum", test_parse_sum },
};

int
main(int argc, char **argv)
{
	size_t i;

	for (i = 0; i < sizeof tests / sizeof tests[0]; i++)
		if (argc < 2 || !strcmp(argv[1], tests[i].name))
			tests[i].fn();
	printf("%s\n", failed ? "FAILED" : "all tests passed");
	return failed != 0;
}
