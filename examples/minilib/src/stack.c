#include "minilib.h"

/* TODO: not written yet */
void stack_init(struct stack *st) { (void)st; }
int stack_push(struct stack *st, int v) { (void)st; (void)v; return -1; }
int stack_pop(struct stack *st, int *v) { (void)st; (void)v; return -1; }
