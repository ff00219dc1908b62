#!/bin/sh
# What a URL remote costs per landing, against a remote in the file
# system (whose objects the worker borrows and whose branch it reads in
# place): one worker does N tasks (the scripted model submits at once,
# one verification command) with the shared repository given as a path,
# as a file:// URL, as a git:// URL (git daemon on loopback) and as an
# ssh:// URL (an sshd of its own on loopback, t/ssh.sh), the last with the
# worker's shared ssh connection and without it (ControlMaster=no given
# by the user), side by side in one run. Prints wall and CPU seconds per
# task; for git://, the fetches (upload-pack) and pushes (receive-pack)
# per task from the daemon's log; for ssh://, the logins per task from
# sshd's log. A landing should cost at most a fetch and a push.
# Then, on a repository already at the remote's tip, what the claim-time
# fetch costs against an ls-remote of the branch, milliseconds each.
# Run from the top of the tree after make: sh t/perf/remote-cost.sh [N]
set -eu
top=$(cd "$(dirname "$0")/../.." && pwd)
PATH="$top:$top/bin:$PATH"
n=${1:-20}
dir=$(mktemp -d /tmp/remote-cost.XXXXXX)
mock= gitd= t_cleanups=
# the shims t/ssh.sh needs of t/lib.sh
TRASH=$dir
at_exit() { t_cleanups="$t_cleanups $1;"; }
# where sshd cannot run, the rows of ssh are left out, saying why
ssh_skip=
skip_all() { [ -n "$ssh_skip" ] || echo "remote-cost: no ssh rows: $1" >&2; ssh_skip=1; }
wait_for() {
	end=$(( $(date +%s) + $1 ))
	while ! eval "$2"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.05; done
}
# (the workers' shared ssh connections end with the sshd)
trap 'kill $mock $gitd 2>/dev/null; for s in "$dir"/work/*/ssh/*; do [ -S "$s" ] && ssh -o ControlPath="$s" -O exit x 2>/dev/null; done; eval "$t_cleanups"; rm -rf "$dir"' EXIT
trap 'exit 130' INT TERM
if command -v ssh >/dev/null 2>&1 && { command -v sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ]; }; then
	. "$top/t/ssh.sh"
else
	skip_all "ssh or sshd is missing (Debian: openssh-client, openssh-server)"
fi
export LONGHAUL_SHARE=$top/share LONGHAUL_FSYNC=0 HOME=$dir GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
unset LONGHAUL_AGENT OPENAI_API_KEY ANTHROPIC_API_KEY LONGHAUL_BUDGET_USD LONGHAUL_BUDGET_TOKENS
git init -q -b main "$dir/seed"
(cd "$dir/seed" && seq 1 1000 >numbers && git add . && git commit -qm start)
echo '{"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"nothing to do"}}]}}' >"$dir/rules"
llm-mock -r "$dir/rules" -P "$dir/port" >/dev/null &
mock=$!
i=0
until [ -s "$dir/port" ]; do i=$((i + 1)); [ $i -lt 200 ] || exit 1; sleep 0.05; done
export LONGHAUL_MODEL=openai:mock OPENAI_BASE_URL=http://127.0.0.1:$(cat "$dir/port")/v1
port=$(( 20000 + $(od -An -N2 -tu2 /dev/urandom) % 20000 ))
git daemon --listen=127.0.0.1 --port="$port" --base-path="$dir" --export-all \
	--enable=receive-pack --reuseaddr --verbose 2>"$dir/gitd.log" &
gitd=$!

# one WAY REMOTE: a fresh board and shared repository, N tasks, one worker
one() {
	rm -rf "$dir/board" "$dir/work" "$dir/$1.git"
	git clone -q --bare "$dir/seed" "$dir/$1.git"
	export LONGHAUL_BOARD=$dir/board
	board-init >/dev/null
	i=0
	while [ $i -lt "$n" ]; do i=$((i + 1)); task-publish -D -v 'test -s numbers' "task $i" >/dev/null; done
	: >"$dir/gitd.log"
	logins0=$(grep -c 'Accepted publickey' "$dir/ssh/sshd.log" 2>/dev/null || :)
	/usr/bin/time -f '%e %U %S' -o "$dir/time" \
		longhaul-worker -w 1 -R "$2" -W "$dir/work" 2>"$dir/err" || :
	[ "$(task-ls -s done | wc -l)" -eq "$n" ] || { echo "$1: not every task done" >&2; cat "$dir/err" >&2; exit 1; }
	read -r wall user sys <<EOT
$(tail -n 1 "$dir/time")
EOT
	fetches=$(grep -c 'Request upload-pack' "$dir/gitd.log" || :)
	pushes=$(grep -c 'Request receive-pack' "$dir/gitd.log" || :)
	logins=$(( $(grep -c 'Accepted publickey' "$dir/ssh/sshd.log" 2>/dev/null || :) - ${logins0:-0} ))
	awk -v w="$1" -v n="$n" -v wall="$wall" -v cpu="$(echo "$user + $sys" | bc)" -v f="$fetches" -v p="$pushes" -v l="$logins" \
	    'BEGIN { printf "%-10s %8.3f %8.3f %8s %8s %8s\n", w, wall / n, cpu / n,
	        w == "git" ? sprintf("%.2f", f / n) : "-", w == "git" ? sprintf("%.2f", p / n) : "-",
	        w ~ /^ssh/ ? sprintf("%.2f", l / n) : "-" }'
}

# ms WAY NAME URL GIT-COMMAND...: milliseconds a run of the git command
# takes in a repository at URL's tip, the median of 15 (the first, which
# may open a shared connection, not counted)
ms() {
	way=$1 name=$2 url=$3
	shift 3
	rm -rf "$dir/probe.git"
	git init -q --bare "$dir/probe.git"
	git -C "$dir/probe.git" remote add origin "$url"
	git -C "$dir/probe.git" fetch -q origin
	k=0
	while [ $k -lt 16 ]; do
		k=$((k + 1))
		a=$(date +%s%N)
		git -C "$dir/probe.git" "$@" >/dev/null
		b=$(date +%s%N)
		[ $k -eq 1 ] || echo $(( (b - a) / 1000 ))
	done | sort -n | awk -v w="$way" -v c="$name" 'NR == 8 { printf "%-10s %-10s %8.1f\n", w, c, $1 / 1000 }'
}
i=0
until git ls-remote "git://127.0.0.1:$port/seed/.git" >/dev/null 2>&1; do
	i=$((i + 1)); [ $i -lt 100 ] || { echo "git daemon does not answer" >&2; exit 1; }; sleep 0.1
done
[ -n "$ssh_skip" ] || start_sshd
echo "remote-cost: $n tasks a way, one worker; seconds per task"
printf '%-10s %8s %8s %8s %8s %8s\n' way wall cpu fetches pushes logins
one path "$dir/path.git"
one file "file://$dir/file.git"
one git "git://127.0.0.1:$port/git.git"
if [ -z "$ssh_skip" ]; then
	GIT_SSH_COMMAND="$SSH_CMD -o ControlMaster=no" one ssh "ssh://127.0.0.1:$SSH_PORT$dir/ssh.git"
	GIT_SSH_COMMAND=$SSH_CMD one ssh-shared "ssh://127.0.0.1:$SSH_PORT$dir/ssh-shared.git"
fi

# the claim-time fetch against an ls-remote, on a repository at the tip
echo "remote-cost: a repository already at the tip; milliseconds a command (median of 15)"
printf '%-10s %-10s %8s\n' way command ms
for c in fetch ls-remote; do
	set -- fetch -q origin
	[ $c = fetch ] || set -- ls-remote -q origin refs/heads/main
	ms git $c "git://127.0.0.1:$port/git.git" "$@"
	[ -z "$ssh_skip" ] || continue
	GIT_SSH_COMMAND=$SSH_CMD ms ssh $c "ssh://127.0.0.1:$SSH_PORT$dir/ssh.git" "$@"
	# one connection kept open for the probe, as the worker's is
	mkdir -p "$dir/probe-ssh"
	GIT_SSH_COMMAND="$SSH_CMD -o ControlMaster=auto -o ControlPersist=60 -o ControlPath=$dir/probe-ssh/m" \
	    ms ssh-shared $c "ssh://127.0.0.1:$SSH_PORT$dir/ssh.git" "$@"
	ssh -o ControlPath="$dir/probe-ssh/m" -O exit x 2>/dev/null || :
done
