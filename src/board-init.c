/* board-init: make a directory into a longhaul board (or check that it is
 * one). Idempotent, so scripts can run it before every use. */
#include <stdlib.h>
#include <unistd.h>

#include "longhaul.h"

static const char usage[] = "board-init [-b board | board]";
static const char manual[] =
"usage: board-init [-b board | board]\n"
"Create the board directory (default $LONGHAUL_BOARD, else .longhaul) with\n"
"its subdirectories and format file; a board that exists is left as it is.\n"
"Prints the board's path. See longhaul-board(5).\n";

int
main(int argc, char **argv)
{
	struct lh_board b;
	const char *dir = NULL;
	int c, r;

	lh_std_options(argc, argv, manual);
	while ((c = getopt(argc, argv, "b:")) != -1)
		switch (c) {
		case 'b': dir = optarg; break;
		default: lh_usage(usage);
		}
	if (optind + 1 == argc && !dir)
		dir = argv[optind++];
	if (optind != argc)
		lh_usage(usage);
	if (!dir)
		dir = getenv("LONGHAUL_BOARD");
	if (!dir || !*dir)
		dir = ".longhaul";
	if ((r = lh_board_init(dir)) != LH_OK)
		return r;
	lh_board_open(&b, dir);
	puts(b.dir);
	lh_close_stdout();
	return 0;
}
