/* minilib: small string, stack and parsing functions. */
#ifndef MINILIB_H
#define MINILIB_H
#include <stddef.h>

/* reverse s in place; returns s */
char *str_reverse(char *s);
/* the number of words in s: runs of characters other than space, tab, newline */
int str_count_words(const char *s);
/* remove leading and trailing spaces, tabs and newlines in place; returns s */
char *str_trim(char *s);

/* a stack of at most STACK_MAX ints */
#define STACK_MAX 64
struct stack {
	int items[STACK_MAX];
	int size;
};
void stack_init(struct stack *st);
/* push v: 0, or -1 when the stack is full */
int stack_push(struct stack *st, int v);
/* pop into *v: 0, or -1 when the stack is empty */
int stack_pop(struct stack *st, int *v);

/* parse a decimal integer, optionally signed, the whole string: 0 and
 * *out set, or -1 when s is not one */
int parse_int(const char *s, int *out);
/* the sum of a comma-separated list of integers ("1,2,-3"): 0 and *out
 * set, or -1 when an item is not an integer */
int parse_sum(const char *s, int *out);
#endif
