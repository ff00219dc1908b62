# t/hosts.sh: two or three "hosts" on this machine for the tests of
# longhaul across machines, sourced after t/lib.sh and t/ssh.sh, each
# with its own hostname, its own client of one shared directory
# ($HOSTS_EXPORT) and that client's default caching (its own attribute,
# directory and name caches). HOSTS_FS says which filesystem:
#   sshfs (default)  the test's sshd serves the directory; each host is a
#                    UTS namespace of its own with its own sshfs mount
#   nfs              an NFS server in user space (nfs-ganesha, its VFS
#                    backend, NFSv3 over TCP) serves it; each host is a
#                    user-mode Linux kernel (Debian's user-mode-linux,
#                    the machine's / as its root) whose own kernel NFS
#                    client mounts it, default options plus
#                    $HOSTS_NFS_OPTS; the test runs in a network
#                    namespace of its own, where a tap reaches each host
#                    and 127.0.0.1 of the hosts is the test's
# Skips the test, with the reason, where the filesystem cannot be served
# or mounted; installs nothing (.ci/run does). What it starts it stops:
# sshfs mounts with fusermount -u; the NFS server, rpcbind and the hosts'
# kernels; the sshd through t/ssh.sh.
#
#   start_hosts N          mount $TRASH/hostI for I in 1..N (board at
#                          $TRASH/hostI/board, the export's board/)
#   on_host I cmd [arg...] run cmd as host I: hostname longhaul-hI,
#                          LONGHAUL_BOARD on host I's mount ($HOSTS_BOARD,
#                          default board, below the export; a new name for
#                          a new board, since a mount's cache may still
#                          show a removed one); the environment, the
#                          directory, stdin, stdout and the exit status
#                          are the caller's
#   host_spawn I cmd [arg...]  the same in the background; $HOST_PID is
#                          its pid here (to wait for)
#   host_inotify I         true when a process of host I started by
#                          host_spawn ($HOST_PID) watches with inotify
#   host_dir I             host I's mount point
HOSTS_FS=${HOSTS_FS:-sshfs}
HOSTS_EXPORT=$TRASH/export
HOSTS_N=0

host_dir() { echo "$TRASH/host$1"; }

case $HOSTS_FS in
sshfs) ;;
nfs) . "$T_DIR/hosts-nfs.sh"; return 0 ;;
*) echo "Bail out! HOSTS_FS=$HOSTS_FS: not sshfs or nfs"; exit 1 ;;
esac
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

host_inotify() { ls -l "/proc/$HOST_PID/fd" 2>/dev/null | grep -q inotify; }
