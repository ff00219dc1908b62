# t/ssh.sh: an sshd on a free port of 127.0.0.1 for this test alone,
# sourced after t/lib.sh: start_sshd sets SSH_PORT and SSH_CMD (an ssh
# command line that logs in as this user without questions) and stops the
# daemon at the end. Skips the test where sshd cannot run.
command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || skip_all "sshd is missing (Debian: openssh-server)"
command -v ssh >/dev/null 2>&1 || skip_all "ssh is missing (Debian: openssh-client)"

# free_port: a TCP port of 127.0.0.1 that nothing listens on
free_port() {
	while :; do
		p=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
		! (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && echo $p && return
	done
}

start_sshd() {
	sshdir=$TRASH/ssh
	mkdir -p "$sshdir" && chmod 700 "$sshdir"
	ssh-keygen -q -t ed25519 -N '' -f "$sshdir/host_key" </dev/null
	ssh-keygen -q -t ed25519 -N '' -f "$sshdir/id" </dev/null
	cp "$sshdir/id.pub" "$sshdir/authorized_keys"
	SSH_PORT=$(free_port)
	cat >"$sshdir/sshd_config" <<CONF
Port $SSH_PORT
ListenAddress 127.0.0.1
HostKey $sshdir/host_key
AuthorizedKeysFile $sshdir/authorized_keys
PidFile $sshdir/sshd.pid
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
StrictModes no
UsePAM no
PermitUserEnvironment no
Subsystem sftp internal-sftp
CONF
	# the privilege separation directory a fresh machine may lack
	[ -d /run/sshd ] || mkdir -p /run/sshd 2>/dev/null || :
	"$(command -v sshd || echo /usr/sbin/sshd)" -f "$sshdir/sshd_config" -E "$sshdir/sshd.log" ||
		skip_all "sshd did not start: $(tail -n 1 "$sshdir/sshd.log")"
	at_exit 'kill "$(cat "$TRASH/ssh/sshd.pid")" 2>/dev/null'
	SSH_CMD="ssh -F none -p $SSH_PORT -i $sshdir/id -o BatchMode=yes -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o LogLevel=ERROR"
	wait_for 10 '$SSH_CMD 127.0.0.1 true 2>/dev/null' || skip_all "cannot log in to the test's sshd: $(tail -n 2 "$sshdir/sshd.log")"
}
