#!/bin/sh
# cross-host.sh: the board on one host's local disk against the board on
# two hosts' sshfs mounts of one directory (t/hosts.sh: hosts of their
# own name, default caching), side by side in one run:
#   claims/s       CLAIMS tasks claimed and done by 4 claimants (4 on the
#                  one host; 2 on each of the two), to the last done
#   landed/hour    TASKS tasks done by 4 workers (a scripted model that
#                  writes a new file and submits), each landed on the
#                  branch through the landing turn; the remote is a local
#                  path in both, so that the board is what differs;
#                  timed to the last commit on the branch (1 s steps)
#   handover       HANDOVERS turns given back on one host and taken by a
#                  waiter on the other (that has seen the holder): median
#                  and slowest, against the bound of board-turn(1)
# Each checks that every task was claimed once and landed once, and the
# run fails when one was not. Needs sshd, sshfs, /dev/fuse and unshare
# (and says so when one is missing).
# Knobs: LONGHAUL_BENCH_CLAIMS (300), LONGHAUL_BENCH_TASKS (16),
# LONGHAUL_BENCH_HANDOVERS (10 each way).
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
T_DIR=$top/t
PATH=$top:$top/bin:$PATH
claims=${LONGHAUL_BENCH_CLAIMS:-300}
tasks=${LONGHAUL_BENCH_TASKS:-16}
handovers=${LONGHAUL_BENCH_HANDOVERS:-10}
bound_ms=2000
TRASH=$(mktemp -d "${TMPDIR:-/tmp}/cross-host.XXXXXX")
t_cleanups=
at_exit() { t_cleanups="$t_cleanups $1;"; }
trap 'eval "$t_cleanups"; rm -rf "$TRASH"' EXIT
trap 'exit 130' INT TERM
skip_all() { echo "cross-host: skipped: $1"; exit 0; }
die() { echo "cross-host: $*" >&2; exit 1; }
wait_for() {
	limit=$1; shift
	end=$(( $(date +%s) + limit ))
	while ! eval "$1"; do [ "$(date +%s)" -lt "$end" ] || return 1; sleep 0.05; done
}
for t in task-claim task-publish board-turn longhaul-worker llm-mock; do
	command -v $t >/dev/null || die "$t not found (run make first)"
done
. "$T_DIR/ssh.sh"
. "$T_DIR/hosts.sh"
export LONGHAUL_SHARE=$top/share LONGHAUL_FSYNC=0 HOME=$TRASH GIT_CONFIG_NOSYSTEM=1
export GIT_AUTHOR_NAME=bench GIT_AUTHOR_EMAIL=bench@example.invalid
export GIT_COMMITTER_NAME=bench GIT_COMMITTER_EMAIL=bench@example.invalid
unset LONGHAUL_AGENT OPENAI_API_KEY ANTHROPIC_API_KEY LONGHAUL_BUDGET_USD LONGHAUL_BUDGET_TOKENS
start_hosts 2
now_ms() { date +%s%3N; }

# the scripted model: write a file of a new name, then submit
cat >"$TRASH/rules" <<'EOF'
{"match":{"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo done >\"f-$(date +%s%N)-$$.txt\""}}]}}
{"match":{"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"wrote a file"}}]}}
EOF
llm-mock -r "$TRASH/rules" -P "$TRASH/port" >/dev/null 2>&1 &
mock=$!
at_exit 'kill $mock 2>/dev/null'
wait_for 10 '[ -s "$TRASH/port" ]' || die "llm-mock did not start"
export LONGHAUL_MODEL=openai:mock OPENAI_BASE_URL=http://127.0.0.1:$(cat "$TRASH/port")/v1

# setup local|hosts: the board's path on each host, the remote
# (a new board each time: a mount's cache may still show a removed one)
setup() {
	# (each bench runs in a subshell of its own: a name from the clock)
	setups=$(date +%s%N)
	HOSTS_BOARD=board.$setups
	rm -rf "$TRASH/local"
	if [ "$1" = local ]; then
		mkdir -p "$TRASH/local"
		base=$TRASH/local
		run() { shift; LONGHAUL_BOARD=$TRASH/local/board "$@"; }
		spawn() { shift; LONGHAUL_BOARD=$TRASH/local/board "$@" & pids="$pids $!"; }
		hostlist="1 1 1 1"
	else
		base=$HOSTS_EXPORT
		run() { on_host "$@"; }
		spawn() { on_host "$@" & pids="$pids $!"; }
		hostlist="1 2 1 2"
	fi
	run 1 board-init >/dev/null
	rm -rf "$TRASH/seed"
	git init -q -b main "$TRASH/seed"
	(cd "$TRASH/seed" && echo start >README && git add . && git commit -qm start)
	remote=$base/remote.$setups.git
	git clone -q --bare "$TRASH/seed" "$remote"
}

cat >"$TRASH/claimant.sh" <<'EOF'
while out=$(task-claim -w 30); do
	id=${out%%
*} token=${out#*
}
	task-update -t "$token" done "$id" >/dev/null || echo "refused $id" >&2
	echo "$id $(date +%s%3N)"
done
EOF

# claims WHERE: claims per second
bench_claims() {
	setup "$1"
	awk -v n="$claims" 'BEGIN { for (i = 1; i <= n; i++) printf "{\"title\":\"claim %d\"}\n", i }' |
		run 1 task-publish -j | sort >"$TRASH/want"
	rm -f "$TRASH"/claimed.*
	t0=$(now_ms)
	k=0 pids=
	for h in $hostlist; do
		k=$((k + 1))
		spawn "$h" sh "$TRASH/claimant.sh" >"$TRASH/claimed.$k" 2>>"$TRASH/claims.err"
	done
	for p in $pids; do wait "$p"; done
	# the claimants wait 30 s for more (a claimant's listing of ready/
	# may hide another host's tasks for 20 s): timed to the last done
	ms=$(( $(cat "$TRASH"/claimed.* | cut -d' ' -f2 | sort -n | tail -n 1) - t0 ))
	cut -d' ' -f1 "$TRASH"/claimed.* | sort | cmp -s - "$TRASH/want" ||
		die "$1: not every task claimed exactly once"
	echo "$claims $ms" | awk '{ printf "%.0f", $1 / ($2 / 1000) }'
}

# landed WHERE: landed commits per hour
bench_landed() {
	setup "$1"
	i=0
	while [ $i -lt "$tasks" ]; do i=$((i + 1)); run 1 task-publish -D "land $i" >/dev/null; done
	t0=$(now_ms)
	k=0 pids=
	for h in $hostlist; do
		k=$((k + 1))
		LONGHAUL_AGENT=bench$k spawn "$h" longhaul-worker -w 30 -R "$remote" \
			-W "$TRASH/work.$1.$k" >/dev/null 2>>"$TRASH/workers.$1.err"
	done
	for p in $pids; do wait "$p"; done
	# timed to the last landing's commit (workers wait 30 s for more)
	ms=$(( $(git --git-dir="$remote" log -1 --format=%ct main) * 1000 - t0 ))
	done=$(run 1 task-ls -s done | wc -l)
	[ "$done" -eq "$tasks" ] || die "$1: $done of $tasks tasks done (see $TRASH/workers.$1.err)"
	n=$(git --git-dir="$remote" log --format='%(trailers:key=Longhaul-Task,valueonly)' main |
		grep . | sort | uniq -c | awk '$1 == 1' | wc -l)
	[ "$n" -eq "$tasks" ] || die "$1: $n of $tasks tasks on the branch exactly once"
	echo "$tasks $ms" | awk '{ printf "%.0f", $1 / ($2 / 3600000) }'
}

# handover FROM TO: milliseconds from a give on FROM to the take on TO
handover() {
	q=$HOSTS_EXPORT/$HOSTS_BOARD/turns/bench
	held=$(LONGHAUL_PID=$$ on_host "$1" board-turn take bench) || die "cannot take a turn"
	rm -f "$TRASH/took"
	LONGHAUL_PID=$$ on_host "$2" board-turn take bench >"$TRASH/took" &
	taker=$!
	wait_for 20 'ls "$q" | grep -q "^w\."' || die "no waiter"
	on_host "$2" stat "$(host_dir "$2")/$HOSTS_BOARD/turns/bench/$held" >/dev/null
	on_host "$1" board-turn give bench "$held"
	t0=$(now_ms)
	wait_for 60 '[ -s "$TRASH/took" ]' || die "the turn was never taken"
	echo $(( $(now_ms) - t0 ))
	wait "$taker"
	on_host "$2" board-turn give bench "$(cat "$TRASH/took")"
}

echo "cross-host: $(nproc) cpus, load $(cut -d' ' -f1-3 /proc/loadavg); sshfs $(sshfs --version 2>&1 | sed -n 's/^SSHFS version //p'), default options"
c_local=$(bench_claims local) || exit 1
c_hosts=$(bench_claims hosts) || exit 1
l_local=$(bench_landed local) || exit 1
l_hosts=$(bench_landed hosts) || exit 1
setup hosts
: >"$TRASH/handovers"
i=0
while [ $i -lt "$handovers" ]; do
	i=$((i + 1))
	handover 1 2 >>"$TRASH/handovers" && handover 2 1 >>"$TRASH/handovers" || exit 1
done
sort -n "$TRASH/handovers" >"$TRASH/h.sorted"
med=$(awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }' "$TRASH/h.sorted")
max=$(tail -n 1 "$TRASH/h.sorted")
printf '%-34s %14s %14s\n' "" "one host, disk" "two hosts, sshfs"
printf '%-34s %14s %14s\n' "claims/s ($claims tasks, 4 claimants)" "$c_local" "$c_hosts"
printf '%-34s %14s %14s\n' "landed/hour ($tasks tasks, 4 workers)" "$l_local" "$l_hosts"
printf '%-34s %14s %14s\n' "turn handover between hosts, ms" "-" "median $med, max $max"
echo "landing across two hosts: $(echo "$l_hosts $l_local" | awk '{ printf "%.0f%%", 100 * $1 / $2 }') of one host's (target: at least 50%)"
[ "$max" -le $bound_ms ] || { echo "cross-host: a handover took $max ms, over the bound of $bound_ms ms" >&2; exit 1; }
