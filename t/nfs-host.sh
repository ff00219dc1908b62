#!/bin/sh
# t/nfs-host.sh: the init (PID 1) of one host of t/hosts.sh's nfs mode, a
# user-mode Linux kernel whose root is this machine's / (hostfs) and
# whose own NFS client mounts the test's NFS server. The kernel hands it
# the lh_* words of its command line as variables: lh_host (its number),
# lh_trash (the test's directory), lh_export (the exported directory),
# lh_mount (where to mount it), lh_ports (NFS port,mount port), lh_opts
# (more mount options, or "-"). Then it serves ssh on its own address for
# on_host. What fails is written to lh_trash/uml/fail.HOST, and it halts.
export PATH=/usr/sbin:/usr/bin:/sbin:/bin
fail() {
	echo "$*" >"$lh_trash/uml/fail.$lh_host"
	halt -f
}
mount -t proc proc /proc && mount -t sysfs sys /sys && mount -t tmpfs run /run && mkdir -p /run/sshd &&
	mkdir -p /dev/pts && mount -t devpts devpts /dev/pts || fail "cannot mount proc, sys, run"
hostname "longhaul-h$lh_host"
# the modules of this kernel (Debian's user-mode-linux) where modprobe
# looks for them, without writing this machine's /lib
mkdir -p /run/mods/lib/modules && mount --bind /usr/lib/uml/modules /run/mods/lib/modules &&
	modprobe -d /run/mods nfsv3 2>"$lh_trash/uml/modprobe.$lh_host" ||
	fail "modprobe nfsv3: $(tail -n 1 "$lh_trash/uml/modprobe.$lh_host")"
# its address on its own tap; 127.0.0.0/8 is routed to the test's
# namespace, so that the test's model and sshd at 127.0.0.1 answer here
ip link set lo up && ip link set eth0 up && ip addr add "10.249.$lh_host.2/24" dev eth0 &&
	sysctl -q -w net.ipv4.conf.all.route_localnet=1 net.ipv4.conf.eth0.route_localnet=1 &&
	ip addr del 127.0.0.1/8 dev lo && ip route add 127.0.0.0/8 via "10.249.$lh_host.1" dev eth0 ||
	fail "cannot set up the network"
opts=vers=3,proto=tcp,port=${lh_ports%,*},mountport=${lh_ports#*,},mountproto=tcp,nolock
[ "$lh_opts" = - ] || opts=$opts,$lh_opts
mount -t nfs -o "$opts" "10.249.$lh_host.1:$lh_export" "$lh_mount" 2>"$lh_trash/uml/mount.$lh_host" ||
	fail "mount -t nfs -o $opts: $(tail -n 1 "$lh_trash/uml/mount.$lh_host")"
/usr/sbin/sshd -f "$lh_trash/uml/sshd_config.$lh_host" -E "$lh_trash/uml/sshd.$lh_host.log" ||
	fail "sshd did not start: $(tail -n 1 "$lh_trash/uml/sshd.$lh_host.log")"
: >"$lh_trash/uml/ready.$lh_host"
# SIGUSR1 halts this kernel (halt(8) of a systemd machine needs systemd)
trap 'halt -f' USR1
while :; do sleep 1000 & wait $!; done
