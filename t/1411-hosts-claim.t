#!/bin/sh
# Claims across two hosts (t/hosts.sh: their own hostnames, their own
# sshfs mounts of one directory, default caching, which keeps a
# directory's listing as it was for 20 s): `task-claim -w` on one host
# wakes and claims within its bound (task-claim(1)) after a publish on
# the other; a late owner on one host is fenced by a claim on the other;
# claimants and reapers on both claim every task exactly once.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/ssh.sh"
. "$T_DIR/hosts.sh"
plan 9
start_hosts 2
on_host 1 board-init >/dev/null
# the bound of task-claim(1) for a publish on another host
bound_ms=2000
now_ms() { date +%s%3N; }

# woken FROM TO N: a claimant waits on TO (its listing of ready/ made and
# cached first), FROM publishes; prints the milliseconds until TO claimed
woken() {
	from=$1 to=$2 n=$3
	# a task claimed on TO leaves TO's listing of ready/ in its cache
	on_host "$from" task-publish "warm $n" >/dev/null &&
	on_host "$to" task-claim >/dev/null || { diag "cannot publish and claim a first task" >&2; return 1; }
	rm -f "$TRASH/got"
	host_spawn "$to" task-claim -w 60 >"$TRASH/got"
	waiter=$HOST_PID
	# it listens once its inotify watch exists (made after it marked
	# where the bell was)
	wait_for 20 'ls -l /proc/$waiter/fd 2>/dev/null | grep -q inotify' ||
		{ diag "the waiter never listened" >&2; return 1; }
	on_host "$from" task-publish "cross $n" >"$TRASH/published" || return 1
	t0=$(now_ms)
	wait_for 40 '[ -s "$TRASH/got" ]' || { diag "the waiter never claimed" >&2; return 1; }
	echo $(( $(now_ms) - t0 ))
	wait "$waiter" && [ "$(head -n 1 "$TRASH/got")" = "$(cat "$TRASH/published")" ]
}
slow=
for r in 1 2; do
	ms=$(woken 1 2 "$r.1") && ms2=$(woken 2 1 "$r.2") || { slow="$slow failed"; break; }
	diag "round $r: published on host 1, claimed on host 2 in $ms ms; the other way in $ms2 ms"
	[ "$ms" -le $bound_ms ] && [ "$ms2" -le $bound_ms ] || slow="$slow $ms $ms2"
done
expect_eq "task-claim -w woken and claimed across the hosts within $bound_ms ms" "" "$slow"

# a late owner on host 1, fenced by a claim on host 2
id=$(on_host 1 task-publish "fenced") &&
on_host 1 task-claim -w 30 -l 1 >"$TRASH/late" || diag "host 1 cannot claim the task"
late_token=$(sed -n 2p "$TRASH/late")
wait_for 30 'on_host 2 board-reap >/dev/null && on_host 2 task-claim >"$TRASH/new" 2>/dev/null' ||
	diag "host 2 never claimed the lapsed task"
expect_eq "host 2 took the task whose lease lapsed on host 1" "$id" "$(head -n 1 "$TRASH/new")"
expect_code 3 "the late owner on host 1 is refused" -- \
	on_host 1 task-update -t "$late_token" done "$id"
expect_code 0 "the new owner on host 2 finishes it" -- \
	on_host 2 task-update -t "$(sed -n 2p "$TRASH/new")" done "$id"
expect_eq "owned by host 2 at the end" "longhaul-h2 done" \
	"$(on_host 1 task-show "$id" | jq -r '"\(.owner.host) \(.state)"')"

# claimants and a reaper on each host drain 120 tasks: each claimed once
awk 'BEGIN { for (i = 1; i <= 120; i++) printf "{\"title\":\"drain %d\"}\n", i }' >"$TRASH/tasks"
on_host 1 task-publish -j <"$TRASH/tasks" >"$TRASH/ids"
cat >"$TRASH/claimant.sh" <<'EOF'
# claim and finish until nothing is left for a second
while out=$(task-claim -w 1); do
	id=${out%%
*} token=${out#*
}
	task-update -t "$token" done "$id" >/dev/null || echo "refused $id" >&2
	echo "$id $(hostname)"
done
EOF
pids=
for h in 1 1 1 2 2 2; do
	on_host $h sh "$TRASH/claimant.sh" >>"$TRASH/claims.$h" 2>>"$TRASH/claimant.err" &
	pids="$pids $!"
done
reapers=
for h in 1 2; do
	on_host $h sh -c 'while [ ! -e "$0/stop" ]; do board-reap >/dev/null; sleep 0.5; done' "$TRASH" &
	reapers="$reapers $!"
done
at_exit ': >"$TRASH/stop"'
st=0
for p in $pids; do wait "$p" || st=1; done
: >"$TRASH/stop"
for p in $reapers; do wait "$p" || :; done
expect_eq "the claimants on both hosts were never refused" "" "$(cat "$TRASH/claimant.err")"
sort "$TRASH/ids" >"$TRASH/want"
cat "$TRASH"/claims.* | cut -d' ' -f1 | sort >"$TRASH/claimed"
expect_file "every task claimed exactly once" "$TRASH/want" "$TRASH/claimed"
expect_eq "by claimants of both hosts" "longhaul-h1 longhaul-h2" \
	"$(cat "$TRASH"/claims.* | cut -d' ' -f2 | sort -u | tr '\n' ' ' | sed 's/ $//')"
on_host 2 task-show -H $(cat "$TRASH/want") >"$TRASH/history"
expect_eq "each done, with one claim in its history" "" \
	"$(jq -rs 'group_by(.id)[] | select(([.[] | select(.event == "claim")] | length) != 1 or
		.[-1].state != "done") | .[0].id' "$TRASH/history")"
