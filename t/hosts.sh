# t/hosts.sh: two or three "hosts" on this machine for the tests of
# longhaul across machines, sourced after t/lib.sh and t/ssh.sh. One
# directory ($HOSTS_EXPORT) is served by the test's sshd; each host has
# its own sshfs mount of it with sshfs's default caching (its own
# attribute, directory and name caches, as two NFS clients have) and its
# own hostname (a UTS namespace of its own). Skips the test, with the
# reason, where sshfs, FUSE or UTS namespaces are missing; installs
# nothing. What it starts it stops: its mounts with fusermount -u, the
# sshd through t/ssh.sh.
#
#   start_hosts N          mount $TRASH/hostI for I in 1..N (board at
#                          $TRASH/hostI/board, the export's board/)
#   on_host I cmd [arg...] run cmd as host I: hostname longhaul-hI,
#                          LONGHAUL_BOARD on host I's mount ($HOSTS_BOARD,
#                          default board, below the export; a new name for
#                          a new board, since a mount's cache may still
#                          show a removed one)
#   host_spawn I cmd [arg...]  the same in the background; $HOST_PID is
#                          cmd's own pid (to wait for, to look at)
#   host_dir I             host I's mount point
command -v sshfs >/dev/null 2>&1 || skip_all "sshfs is missing (Debian: sshfs)"
HOSTS_FUSERMOUNT=$(command -v fusermount3 || command -v fusermount) ||
	skip_all "fusermount is missing (Debian: fuse3)"
[ -c /dev/fuse ] || skip_all "/dev/fuse is missing (modprobe fuse)"
command -v unshare >/dev/null 2>&1 || skip_all "unshare is missing (Debian: util-linux)"
# as root a UTS namespace of its own; else one inside a user namespace
if unshare --uts sh -c 'hostname longhaul-probe' 2>/dev/null; then
	HOSTS_UNSHARE="unshare --uts"
elif unshare --user --map-root-user --uts sh -c 'hostname longhaul-probe' 2>/dev/null; then
	HOSTS_UNSHARE="unshare --user --map-root-user --uts"
else
	skip_all "cannot make a UTS namespace (unshare --uts) to give a host its name"
fi
HOSTS_EXPORT=$TRASH/export
HOSTS_N=0

host_dir() { echo "$TRASH/host$1"; }

start_hosts() {
	[ -n "${SSH_PORT:-}" ] || start_sshd
	mkdir -p "$HOSTS_EXPORT"
	i=1
	while [ "$i" -le "$1" ]; do
		mkdir -p "$TRASH/host$i"
		sshfs "$(id -un)@127.0.0.1:$HOSTS_EXPORT" "$TRASH/host$i" -p "$SSH_PORT" -F none \
			-o IdentityFile="$TRASH/ssh/id",BatchMode=yes,StrictHostKeyChecking=no \
			-o UserKnownHostsFile=/dev/null,LogLevel=ERROR 2>"$TRASH/sshfs$i.err" ||
			skip_all "sshfs cannot mount: $(tail -n 1 "$TRASH/sshfs$i.err")"
		# lazily at the end: a process of the test may still have it open
		at_exit "$HOSTS_FUSERMOUNT -u '$TRASH/host$i' 2>/dev/null || $HOSTS_FUSERMOUNT -u -z '$TRASH/host$i'"
		HOSTS_N=$i
		i=$((i + 1))
	done
	wait_for 10 '[ -d "$TRASH/host$HOSTS_N/." ] && mountpoint -q "$TRASH/host$HOSTS_N"' ||
		skip_all "sshfs mount of $TRASH/host$HOSTS_N does not answer"
}

on_host() {
	h=$1
	shift
	LONGHAUL_BOARD=$TRASH/host$h/${HOSTS_BOARD:-board} $HOSTS_UNSHARE sh -c 'hostname "$0" && exec "$@"' "longhaul-h$h" "$@"
}

host_spawn() {
	h=$1
	shift
	(LONGHAUL_BOARD=$TRASH/host$h/${HOSTS_BOARD:-board} exec $HOSTS_UNSHARE sh -c 'hostname "$0" && exec "$@"' "longhaul-h$h" "$@") &
	HOST_PID=$!
}
