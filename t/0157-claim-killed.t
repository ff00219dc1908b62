#!/bin/sh
# a claimant killed at any step of its claim leaves a task that a plain
# board-reap gives back once the lease runs out; a reaper never removes
# the claimed hint of a claim in flight
. "$(dirname "$0")/lib.sh"
cc -shared -fPIC -o "$TRASH/inject.so" "$T_DIR/fault/inject.c" -ldl 2>"$TRASH/cc.err" ||
	skip_all 'no C compiler for the fault shim'
plan 9

# one board per step: claim with a one-second lease, killed at call N
n=1
while [ $n -lt 200 ]; do
	b=$TRASH/b$n
	board-init -b "$b" >/dev/null && task-publish -b "$b" -i t 'The task' >/dev/null
	rm -f "$TRASH/hit"
	LD_PRELOAD=$TRASH/inject.so LH_FAULT_CALL=any LH_FAULT_N=$n LH_FAULT_KILL=1 \
		LH_FAULT_PATH=$b LH_FAULT_HIT=$TRASH/hit task-claim -b "$b" -l 1 >/dev/null 2>&1
	[ -e "$TRASH/hit" ] || break
	n=$((n + 1))
done
last=$n
expect_eq 'the claim was killed at every step until it ran through' 1 "$([ $last -gt 3 ] && echo 1)"
diag "killed at each of $((last - 1)) steps"

# wait out the one-second lease by the file server's clock
touch "$TRASH/start"
wait_for 10 '[ $(( $(date +%s) - $(stat -c %Y "$TRASH/start") )) -ge 2 ]'
bad=
n=1
while [ $n -lt "$last" ]; do
	b=$TRASH/b$n
	board-reap -b "$b" >/dev/null 2>>"$TRASH/reap.err"
	task-claim -b "$b" >"$TRASH/claim.$n" 2>>"$TRASH/claim.err" || bad="$bad $n"
	n=$((n + 1))
done
expect_eq 'after one plain board-reap the task is claimable, whenever the claimant died' '' "$bad"
expect_eq 'and the reaper said nothing wrong' '' "$(cat "$TRASH/reap.err" "$TRASH/claim.err")"

# a publisher killed at any step: its task is there and claimable, or
# not there at all
n=1 bad=
while [ $n -lt 200 ]; do
	b=$TRASH/p$n
	board-init -b "$b" >/dev/null
	rm -f "$TRASH/hit"
	LD_PRELOAD=$TRASH/inject.so LH_FAULT_CALL=any LH_FAULT_N=$n LH_FAULT_KILL=1 \
		LH_FAULT_PATH=$b LH_FAULT_HIT=$TRASH/hit task-publish -b "$b" -i p 'Published' >/dev/null 2>&1
	[ -e "$TRASH/hit" ] || break
	if task-show -b "$b" p >/dev/null 2>&1; then
		task-claim -b "$b" >/dev/null 2>&1 || bad="$bad $n"
	else
		[ "$(task-ls -b "$b" 2>&1)" = '' ] || bad="$bad $n"
	fi
	n=$((n + 1))
done
expect_eq 'a publisher was killed at every step' 1 "$([ $n -gt 3 ] && echo 1)"
expect_eq 'leaving its task claimable or absent, never stuck' '' "$bad"

# a claim in flight: its hint is made, its version not yet written
board-init >/dev/null
task-publish -i f 'In flight' >/dev/null
: >"$LONGHAUL_BOARD/claimed/f@2"
board-reap -f >/dev/null
expect_eq 'board-reap -f leaves the hint of a claim in flight' yes \
	"$([ -e "$LONGHAUL_BOARD/claimed/f@2" ] && echo yes)"
task-claim -l 1 >"$TRASH/c"
touch "$TRASH/start"
wait_for 10 '[ $(( $(date +%s) - $(stat -c %Y "$TRASH/start") )) -ge 2 ]'
expect_eq 'and the claim that lands there is reaped when its lease runs out' f "$(board-reap)"
expect_eq 'the task is ready again' ready "$(task-show -f state f)"

# a reaper removing a stale claimed hint while a claim lands: a release
# killed before moving its hint leaves claimed/ stale; the reaper, stopped
# just before it removes that hint, resumes after a new claim
board-init -b "$TRASH/r" >/dev/null
task-publish -b "$TRASH/r" -i z 'Raced' >/dev/null
set -- $(task-claim -b "$TRASH/r")
LD_PRELOAD=$TRASH/inject.so LH_FAULT_CALL=rename LH_FAULT_N=1 LH_FAULT_KILL=1 \
	LH_FAULT_PATH="$TRASH/r" task-update -b "$TRASH/r" -t "$2" release z 2>/dev/null
rm -f "$TRASH/hit"
LD_PRELOAD=$TRASH/inject.so LH_FAULT_CALL=unlink LH_FAULT_N=1 LH_FAULT_STOP=1 \
	LH_FAULT_PATH="$TRASH/r/claimed/" LH_FAULT_HIT="$TRASH/hit" board-reap -b "$TRASH/r" >/dev/null &
reaper=$!
wait_for 20 '[ -e "$TRASH/hit" ] && ps -o stat= -p $reaper | grep -q T' || not_ok 'the reaper did not stop'
task-claim -b "$TRASH/r" -l 1 >"$TRASH/c2"
kill -CONT $reaper
wait $reaper
touch "$TRASH/start"
wait_for 10 '[ $(( $(date +%s) - $(stat -c %Y "$TRASH/start") )) -ge 2 ]'
expect_eq 'the claim that landed meanwhile is reaped when its lease runs out' z "$(board-reap -b "$TRASH/r")"
