#include "minilib.h"

/* TODO: not written yet */
char *
str_reverse(char *s)
{
	return s;
}
