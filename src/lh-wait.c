/* lh-wait.c: waiting for the board to change. Linux inotify on the
 * board's root, where every change that makes work claimable or a task
 * finished touches the file "bell". inotify does not see changes made by
 * other NFS clients and can overflow, so a wake-up is only a hint to look
 * again and the caller always polls too, with a bounded timeout. */
#include <limits.h>
#include <poll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "longhaul.h"

void
lh_wait_bell(struct lh_board *b, double timeout)
{
	static int fd = -1;
	char buf[4096] __attribute__((aligned(8)));
	struct pollfd pfd;

	if (fd < 0) {
		if ((fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) >= 0 &&
		    inotify_add_watch(fd, b->dir, IN_CLOSE_WRITE | IN_ATTRIB |
		    IN_CREATE | IN_MOVED_TO) < 0) {
			close(fd);
			fd = -2;
		}
		if (fd == -1)
			fd = -2;
	}
	if (fd < 0) {
		poll(NULL, 0, (int)(timeout * 1000));
		return;
	}
	pfd.fd = fd;
	pfd.events = POLLIN;
	if (poll(&pfd, 1, (int)(timeout * 1000)) > 0)
		while (read(fd, buf, sizeof buf) > 0)
			;
}
