#!/bin/sh
# The landing turn across two hosts (t/hosts.sh: their own hostnames and
# their own sshfs mounts of one directory, default caching, which keeps a
# removed name visible to stat() for 20 s): a turn given back on one host
# is taken by the waiter on the other within the bound of board-turn(1),
# and the limit of n holders at a time holds across the hosts.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/ssh.sh"
. "$T_DIR/hosts.sh"
plan 7
start_hosts 2
on_host 1 board-init >/dev/null
q=$HOSTS_EXPORT/board/turns/land
# the bound of board-turn(1) for a turn given back on another host
bound_ms=2000
now_ms() { date +%s%3N; }

# handover FROM TO: a turn held on FROM, a waiter on TO that has seen it;
# FROM gives it back; prints the milliseconds until TO holds the turn
handover() {
	from=$1 to=$2
	held=$(LONGHAUL_PID=$$ on_host "$from" board-turn take land) || return 1
	rm -f "$TRASH/took"
	LONGHAUL_PID=$$ on_host "$to" board-turn take land >"$TRASH/took" &
	taker=$!
	# the waiter is in the queue, behind the holder it has looked at
	wait_for 20 'ls "$q" | grep -q "^w\."' || return 1
	on_host "$to" stat "$(host_dir "$to")/board/turns/land/$held" >/dev/null || return 1
	on_host "$from" board-turn give land "$held" || return 1
	t0=$(now_ms)
	wait_for 30 '[ -s "$TRASH/took" ]' || return 1
	echo $(( $(now_ms) - t0 ))
	wait "$taker" || return 1
	on_host "$to" board-turn give land "$(cat "$TRASH/took")"
}

slow=
for r in 1 2 3; do
	ms=$(handover 1 2) && ms2=$(handover 2 1) || { slow="$slow failed"; break; }
	diag "round $r: host 1 to host 2 in $ms ms, host 2 to host 1 in $ms2 ms"
	[ "$ms" -le $bound_ms ] && [ "$ms2" -le $bound_ms ] || slow="$slow $ms $ms2"
done
expect_eq "each handover between the hosts within $bound_ms ms" "" "$slow"
expect_eq "the queue is empty after" "" "$(ls "$q")"

# runner HOST N LIMIT: N turns of at most LIMIT holders on HOST; each
# holder leaves a file in the export while it holds the turn and counts
# those present, over the other host's mount too
cat >"$TRASH/hold.sh" <<'EOF'
in=$1/holding
mkdir -p "$in"
: >"$in/$(hostname).$$"
n=$(ls "$in" | wc -l)
echo "$n" >>"$1/counts.$(hostname)"
sleep 0.2
rm "$in/$(hostname).$$"
EOF
runner() {
	i=0
	while [ $i -lt "$2" ]; do
		on_host "$1" board-turn -n "$3" run "land$3" sh "$TRASH/hold.sh" "$HOSTS_EXPORT" || return 1
		i=$((i + 1))
	done
}
for limit in 1 2; do
	rm -f "$HOSTS_EXPORT"/counts.*
	pids=
	for h in 1 2 1 2 $( [ $limit = 2 ] && echo 1 2); do
		runner $h 3 $limit &
		pids="$pids $!"
	done
	st=0
	for p in $pids; do wait "$p" || st=1; done
	expect_eq "limit $limit: every runner had its turns" 0 $st
	most=$(cat "$HOSTS_EXPORT"/counts.* | sort -n | tail -n 1)
	expect_eq "limit $limit: at most $limit held a turn at once, on either host (most: $most)" \
		yes "$([ "$most" -ge 1 ] && [ "$most" -le $limit ] && echo yes)"
done
expect_eq "both hosts ran under the turns" 2 "$(ls "$HOSTS_EXPORT" | grep -c '^counts\.')"
