/* rename-claim: the floor (c), a process that does nothing but rename one
 * task file and exit.
 *
 *	rename-claim [-s] DIR NAME
 *
 * Renames DIR/ready/NAME to DIR/claimed/NAME and prints NAME; with -s it
 * fsyncs DIR/claimed afterwards. Exits 1 when DIR/ready/NAME is gone, 2 on
 * error.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

int
main(int argc, char **argv)
{
	char from[4096], to[4096];
	int fd, sync = 0;

	if (argc == 4 && !strcmp(argv[1], "-s"))
		sync = 1, argv++, argc--;
	if (argc != 3) {
		fputs("usage: rename-claim [-s] DIR NAME\n", stderr);
		return 2;
	}
	snprintf(from, sizeof from, "%s/ready/%s", argv[1], argv[2]);
	snprintf(to, sizeof to, "%s/claimed/%s", argv[1], argv[2]);
	if (rename(from, to) != 0)
		return errno == ENOENT ? 1 : 2;
	if (sync) {
		snprintf(to, sizeof to, "%s/claimed", argv[1]);
		if ((fd = open(to, O_RDONLY)) < 0 || fsync(fd) != 0 || close(fd) != 0)
			return 2;
	}
	printf("%s\n", argv[2]);
	return fflush(stdout) == 0 ? 0 : 2;
}
