#include "minilib.h"

/* TODO: not written yet */
int
parse_int(const char *s, int *out)
{
	(void)s; (void)out;
	return -1;
}
