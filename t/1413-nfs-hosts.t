#!/bin/sh
# The board on a real NFS (t/hosts.sh's nfs mode: nfs-ganesha serving
# NFSv3 over TCP; two hosts that are kernels of their own, user-mode
# Linux, each mounting the export with its own kernel NFS client and its
# default attribute and lookup caching; HOSTS_NFS_OPTS adds options):
# the landing turn is handed between the
# hosts within the bound of board-turn(1), `task-claim -w` on one host
# wakes within its bound after a publish on the other, a late owner on
# one host is fenced by a claim on the other, and claimants and reapers
# on both claim every task exactly once. Times are taken inside the
# hosts, so that what the test's ssh to a host costs is not counted; but
# a user-mode kernel keeps a clock of its own after it boots (the two
# were 0.1-0.2 s apart), so a round's two ways, one host to the other and
# back, are averaged, which cancels the difference. A user-mode kernel
# is slow (every system call of its processes is a round of ptrace), and
# on a loaded machine slower by far: a time over the bound there is shown
# as a TODO with the numbers, not failed; what must hold whatever the
# load (one owner, one claim each, the fence) is failed.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/ssh.sh"
HOSTS_FS=nfs
: "${HOSTS_NFS_OPTS=}"
. "$T_DIR/hosts.sh"
plan 8
start_hosts 2
on_host 1 board-init >/dev/null
q=$HOSTS_EXPORT/board/turns/land
bound_ms=2000
# turns that outlive a host stalled by the machine's load
export LONGHAUL_TURN_LEASE=600
# within BOUND_MS, or a TODO naming the times
within() {
	if [ -z "$2" ]; then ok "$1"; else not_ok "$1 # TODO over user-mode kernels, loaded: $2 ms"; fi
}
# an owner for the turns of each host that outlives the commands: a
# process of that host's own
for h in 1 2; do
	eval "owner$h=\$(on_host $h sh -c 'sleep 3600 </dev/null >/dev/null 2>&1 & echo \$!')"
done
owner() { eval "echo \$owner$1"; }

# handover FROM TO: a turn held on FROM, a waiter on TO that has seen the
# holder; FROM gives it back; prints the milliseconds from just before
# the give to just after the take, both read on the hosts
handover() {
	from=$1 to=$2
	held=$(LONGHAUL_PID=$(owner "$from") on_host "$from" board-turn take land) || return 1
	rm -f "$TRASH/took"
	LONGHAUL_PID=$(owner "$to") host_spawn "$to" sh -c 'board-turn take land && date +%s%3N' >"$TRASH/took"
	taker=$HOST_PID
	wait_for 60 'ls "$q" | grep -q "^w\."' || return 1
	on_host "$to" stat "$(host_dir "$to")/board/turns/land/$held" >/dev/null || return 1
	t0=$(LONGHAUL_PID=$(owner "$from") on_host "$from" sh -c 'date +%s%3N && board-turn give land "$0"' "$held") ||
		return 1
	wait "$taker" || return 1
	echo $(( $(sed -n 2p "$TRASH/took") - t0 ))
	LONGHAUL_PID=$(owner "$to") on_host "$to" board-turn give land "$(head -n 1 "$TRASH/took")"
}
slow=
for r in 1 2; do
	ms=$(handover 1 2) && ms2=$(handover 2 1) || { slow="$slow failed"; break; }
	diag "round $r: the turn handed over in $(( (ms + ms2) / 2 )) ms (host 1 to 2: $ms ms, 2 to 1: $ms2 ms, by the hosts' clocks)"
	[ $(( (ms + ms2) / 2 )) -le $bound_ms ] || slow="$slow $(( (ms + ms2) / 2 ))"
done
case $slow in *failed*) not_ok "each handover between the hosts within $bound_ms ms" ;;
*) within "each handover between the hosts within $bound_ms ms" "$slow" ;; esac

# woken FROM TO N: a claimant waits on TO, its listing of ready/ cached
# first; FROM publishes; prints the milliseconds from just before the
# publish to just after the claim
woken() {
	from=$1 to=$2 n=$3
	on_host "$from" task-publish "warm $n" >/dev/null && on_host "$to" task-claim >/dev/null || return 1
	rm -f "$TRASH/got"
	host_spawn "$to" sh -c 'task-claim -w 60 && date +%s%3N' >"$TRASH/got"
	waiter=$HOST_PID
	wait_for 60 'host_inotify "$to"' || return 1
	on_host "$from" sh -c 'date +%s%3N && task-publish "$0"' "cross $n" >"$TRASH/published" || return 1
	wait "$waiter" || return 1
	echo $(( $(tail -n 1 "$TRASH/got") - $(head -n 1 "$TRASH/published") ))
	[ "$(head -n 1 "$TRASH/got")" = "$(tail -n 1 "$TRASH/published")" ]
}
slow=
for r in 1 2; do
	ms=$(woken 1 2 "$r.1") && ms2=$(woken 2 1 "$r.2") || { slow="$slow failed"; break; }
	diag "round $r: published on one host, claimed on the other in $(( (ms + ms2) / 2 )) ms (1 to 2: $ms ms, 2 to 1: $ms2 ms)"
	[ $(( (ms + ms2) / 2 )) -le $bound_ms ] || slow="$slow $(( (ms + ms2) / 2 ))"
done
case $slow in *failed*) not_ok "task-claim -w woken and claimed across the hosts within $bound_ms ms" ;;
*) within "task-claim -w woken and claimed across the hosts within $bound_ms ms" "$slow" ;; esac

# a late owner on host 1, fenced by a claim on host 2
id=$(on_host 1 task-publish "fenced") &&
on_host 1 task-claim -w 30 -l 1 >"$TRASH/late" || diag "host 1 cannot claim the task"
late_token=$(sed -n 2p "$TRASH/late")
wait_for 60 'on_host 2 sh -c "board-reap >/dev/null && task-claim" >"$TRASH/new" 2>/dev/null' ||
	diag "host 2 never claimed the lapsed task"
expect_eq "host 2 took the task whose lease lapsed on host 1" "$id" "$(head -n 1 "$TRASH/new")"
expect_code 3 "the late owner on host 1 is refused" -- \
	on_host 1 task-update -t "$late_token" done "$id"
expect_code 0 "the new owner on host 2 finishes it" -- \
	on_host 2 task-update -t "$(sed -n 2p "$TRASH/new")" done "$id"

# two claimants and a reaper on each host drain 40 tasks
awk 'BEGIN { for (i = 1; i <= 40; i++) printf "{\"title\":\"drain %d\"}\n", i }' >"$TRASH/tasks"
on_host 1 task-publish -j <"$TRASH/tasks" >"$TRASH/ids"
cat >"$TRASH/claimant.sh" <<'EOF'
while out=$(task-claim -w 2); do
	id=${out%%
*} token=${out#*
}
	task-update -t "$token" done "$id" >/dev/null || echo "refused $id" >&2
	echo "$id $(hostname)"
done
EOF
pids=
for h in 1 1 2 2; do
	on_host $h sh "$TRASH/claimant.sh" >>"$TRASH/claims.$h" 2>>"$TRASH/claimant.err" &
	pids="$pids $!"
done
reapers=
for h in 1 2; do
	on_host $h sh -c 'while [ ! -e "$0/stop" ]; do board-reap >/dev/null; sleep 0.5; done' "$TRASH" &
	reapers="$reapers $!"
done
at_exit ': >"$TRASH/stop"'
t0=$(date +%s%N)
for p in $pids; do wait "$p" || :; done
diag "40 tasks claimed and done by 4 claimants on 2 hosts in $(( ($(date +%s%N) - t0) / 1000000 )) ms:" \
	"$(wc -l <"$TRASH/claims.1") by host 1, $(wc -l <"$TRASH/claims.2") by host 2"
: >"$TRASH/stop"
for p in $reapers; do wait "$p" || :; done
expect_eq "the claimants on both hosts were never refused" "" "$(cat "$TRASH/claimant.err")"
sort "$TRASH/ids" >"$TRASH/want"
cat "$TRASH"/claims.* | cut -d' ' -f1 | sort >"$TRASH/claimed"
expect_file "every task claimed exactly once" "$TRASH/want" "$TRASH/claimed"
expect_eq "each done, with one claim in its history" "" \
	"$(on_host 2 task-show -H $(cat "$TRASH/want") |
	   jq -rs 'group_by(.id)[] | select(([.[] | select(.event == "claim")] | length) != 1 or
		.[-1].state != "done") | .[0].id')"
