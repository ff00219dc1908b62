# t/hosts-nfs.sh: the nfs mode of t/hosts.sh (read it first), sourced by
# it. The test runs again in a network and mount namespace of its own
# (so that rpcbind's port 111 and socket, the taps and the hosts' network
# are nobody else's); there nfs-ganesha serves $HOSTS_EXPORT over NFSv3
# on TCP, and each host is a user-mode Linux kernel (t/nfs-host.sh is its
# init) reached through a tap of its own at 10.249.I.2, which mounts the
# export with its own kernel NFS client and serves ssh for on_host.
# (minutes of user-mode kernels: CI runs them once, in its plain pass)
[ -z "${LONGHAUL_TEST_NO_NFS:-}" ] ||
	skip_all "LONGHAUL_TEST_NO_NFS is set: the NFS hosts are left to another pass"
uml_modules=/usr/lib/uml/modules
command -v linux.uml >/dev/null 2>&1 && [ -d "$uml_modules" ] ||
	skip_all "user-mode Linux is missing (Debian: user-mode-linux), the hosts' NFS clients"
command -v ganesha.nfsd >/dev/null 2>&1 && ls /usr/lib/*/ganesha/libfsalvfs.so >/dev/null 2>&1 ||
	skip_all "nfs-ganesha is missing (Debian: nfs-ganesha nfs-ganesha-vfs), the NFS server"
for c in rpcbind rpcinfo mount.nfs ip unshare; do
	command -v $c >/dev/null 2>&1 || [ -x "/usr/sbin/$c" ] || [ -x "/sbin/$c" ] ||
		skip_all "$c is missing (Debian: rpcbind, nfs-common, iproute2, util-linux)"
done
[ -c /dev/net/tun ] || skip_all "/dev/net/tun is missing: no tap for the hosts' network"
[ "$(id -u)" = 0 ] || skip_all "the nfs hosts need root (taps, rpcbind, the hosts' mounts)"
if [ -z "${HOSTS_NETNS:-}" ]; then
	unshare --net --mount true 2>/dev/null ||
		skip_all "cannot make a network and mount namespace (unshare --net --mount)"
	export HOSTS_NETNS=1
	exec unshare --net --mount sh "$0" "$@"
fi
ip link set lo up
# rpcbind's socket and state, and sshd's privilege separation directory
mount -t tmpfs hosts-run /run

HOSTS_NFS_PORTS=2049,20048
hosts_ssh_dir=$(mktemp -d /tmp/lh-hosts.XXXXXX)   # short: control sockets
at_exit 'rm -rf "$hosts_ssh_dir"'

# hosts_quote ARG...: each ARG quoted for sh
hosts_quote() {
	for hosts_a in "$@"; do
		printf "'%s' " "$(printf %s "$hosts_a" | sed "s/'/'\\\\''/g")"
	done
}
# hosts_env: our exported variables, as sh assignments
hosts_env() {
	for hosts_v in $(env | sed -n 's/^\([A-Za-z_][A-Za-z0-9_]*\)=.*/\1/p' | sort -u); do
		case $hosts_v in PWD|OLDPWD|SHLVL|HOSTNAME|_|SSH_*|HOSTS_NETNS) continue ;; esac
		eval "[ -n \"\${$hosts_v+set}\" ]" || continue
		eval "printf 'export %s=%s; ' \"\$hosts_v\" \"\$(hosts_quote \"\$$hosts_v\")\""
	done
}
hosts_ssh() {
	h=$1
	shift
	ssh -F none -i "$TRASH/ssh/id" -o BatchMode=yes -o StrictHostKeyChecking=no \
		-o UserKnownHostsFile=/dev/null -o LogLevel=ERROR -o ControlMaster=auto \
		-o ControlPersist=yes -o ControlPath="$hosts_ssh_dir/$h" "root@10.249.$h.2" "$@"
}

hosts_umls= hosts_ganesha= hosts_rpcbind=
# hosts_stop: the hosts first (halted; killed when they do not), then
# the server, which may wait for its clients
hosts_stop() {
	i=1
	for p in $hosts_umls; do
		hosts_ssh $i 'kill -USR1 1' </dev/null >/dev/null 2>&1 || :
		hosts_ssh $i -O exit 2>/dev/null || :
		i=$((i + 1))
	done
	# a kernel is several processes, of a group of its own (setsid)
	for p in $hosts_umls; do
		wait_for 20 "! kill -0 $p 2>/dev/null" || :
		kill -s KILL -- -$p 2>/dev/null || :
	done
	for p in $hosts_ganesha $hosts_rpcbind; do
		kill $p 2>/dev/null || continue
		wait_for 10 "! kill -0 $p 2>/dev/null" || kill -9 $p 2>/dev/null || :
	done
}

start_hosts() {
	[ -n "${SSH_PORT:-}" ] || start_sshd
	mkdir -p "$HOSTS_EXPORT" "$TRASH/uml" "$TRASH/nfs"
	at_exit hosts_stop
	rpcbind -f -w 2>"$TRASH/nfs/rpcbind.err" &
	hosts_rpcbind=$!
	cat >"$TRASH/nfs/ganesha.conf" <<EOF
NFS_CORE_PARAM {
	NFS_Port = ${HOSTS_NFS_PORTS%,*};
	MNT_Port = ${HOSTS_NFS_PORTS#*,};
	Enable_NLM = false;
	Enable_RQUOTA = false;
	Enable_UDP = false;
	Protocols = 3;
}
NFSV4 { RecoveryBackend = fs; RecoveryRoot = $TRASH/nfs/recovery; Graceless = true; }
EXPORT {
	Export_Id = 1;
	Path = $HOSTS_EXPORT;
	Pseudo = /export;
	Access_Type = RW;
	Squash = No_Root_Squash;
	Protocols = 3;
	Transports = TCP;
	SecType = sys;
	FSAL { Name = VFS; }
}
LOG { Default_Log_Level = EVENT; }
EOF
	wait_for 10 'rpcinfo -p 127.0.0.1 >/dev/null 2>&1' ||
		skip_all "rpcbind did not start: $(tail -n 1 "$TRASH/nfs/rpcbind.err")"
	ganesha.nfsd -F -f "$TRASH/nfs/ganesha.conf" -L "$TRASH/nfs/ganesha.log" \
		-p "$TRASH/nfs/ganesha.pid" >/dev/null 2>&1 &
	hosts_ganesha=$!
	wait_for 30 'rpcinfo -t 127.0.0.1 mountd 3 >/dev/null 2>&1' ||
		skip_all "nfs-ganesha did not start: $(grep -E 'FATAL|MAJ' "$TRASH/nfs/ganesha.log" | tail -n 1)"
	i=1
	while [ "$i" -le "$1" ]; do
		mkdir -p "$TRASH/host$i"
		ip tuntap add dev "lhtap$i" mode tap && ip addr add "10.249.$i.1/24" dev "lhtap$i" &&
			ip link set "lhtap$i" up &&
			sysctl -q -w net.ipv4.conf.all.route_localnet=1 "net.ipv4.conf.lhtap$i.route_localnet=1" ||
			skip_all "cannot make the tap of host $i"
		cat >"$TRASH/uml/sshd_config.$i" <<EOF
ListenAddress 10.249.$i.2
HostKey $TRASH/ssh/host_key
AuthorizedKeysFile $TRASH/ssh/authorized_keys
PidFile /run/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
MaxSessions 100
MaxStartups 100
EOF
		setsid linux.uml mem=512M "umid=lh$i" "uml_dir=$TRASH/uml" rootfstype=hostfs rootflags=/ rw \
			"init=$T_DIR/nfs-host.sh" "eth0=tuntap,lhtap$i" con=null con0=null,fd:1 \
			"lh_host=$i" "lh_trash=$TRASH" "lh_export=$HOSTS_EXPORT" "lh_mount=$TRASH/host$i" \
			"lh_ports=$HOSTS_NFS_PORTS" "lh_opts=${HOSTS_NFS_OPTS:--}" \
			</dev/null >"$TRASH/uml/console.$i" 2>&1 &
		hosts_umls="$hosts_umls $!"
		HOSTS_N=$i
		i=$((i + 1))
	done
	i=1
	while [ "$i" -le "$HOSTS_N" ]; do
		wait_for 120 "[ -e '$TRASH/uml/fail.$i' ] || [ -e '$TRASH/uml/ready.$i' ]" ||
			skip_all "host $i did not start: $(tail -n 1 "$TRASH/uml/console.$i")"
		[ ! -e "$TRASH/uml/fail.$i" ] || skip_all "host $i: $(cat "$TRASH/uml/fail.$i")"
		wait_for 60 "hosts_ssh $i true 2>/dev/null" ||
			skip_all "cannot log in to host $i: $(tail -n 1 "$TRASH/uml/sshd.$i.log")"
		i=$((i + 1))
	done
}

on_host() {
	h=$1
	shift
	hosts_ssh "$h" "$(hosts_env) export LONGHAUL_BOARD=$(hosts_quote "$TRASH/host$h/${HOSTS_BOARD:-board}"); cd $(hosts_quote "$PWD")&& exec $(hosts_quote "$@")"
}

host_spawn() {
	on_host "$@" &
	HOST_PID=$!
}

host_inotify() { hosts_ssh "$1" 'ls -l /proc/[0-9]*/fd 2>/dev/null | grep -q inotify'; }
