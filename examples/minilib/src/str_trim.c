#include "minilib.h"

/* TODO: not written yet */
char *
str_trim(char *s)
{
	return s;
}
