#!/bin/sh
# claimants that finish, fail, release or abandon their tasks, racing
# reapers (one rebuilding every hint with -f): afterwards no task is lost,
# every claim is findable, and the board drains
. "$(dirname "$0")/lib.sh"
plan 4
board-init >/dev/null
seq 120 | sed 's/.*/{"id":"c&","title":"churn &","max_attempts":1000}/' | task-publish -j >/dev/null

w=1
while [ $w -le 4 ]; do
	(
		i=0
		while [ $i -lt 60 ]; do
			out=$(task-claim -l 1 2>>"$TRASH/err") || { i=$((i + 1)); continue; }
			set -- $out
			case $(( (i + w) % 4 )) in
			0) task-update -t "$2" -m ok done "$1" ;;
			1) task-update -t "$2" -r 'try again' fail "$1" ;;
			2) task-update -t "$2" release "$1" ;;
			3) : ;;         # abandoned: its lease runs out
			esac 2>>"$TRASH/update.err"
			i=$((i + 1))
		done
	) &
	w=$((w + 1))
done
( i=0; while [ $i -lt 40 ]; do board-reap >/dev/null 2>>"$TRASH/err"; i=$((i + 1)); done ) &
( i=0; while [ $i -lt 15 ]; do board-reap -f >/dev/null 2>>"$TRASH/err"; i=$((i + 1)); done ) &
wait
expect_eq 'no tool reported an error' '' "$(cat "$TRASH/err")"

# every claimed task is findable: its hint claimed/ID@TOKEN is there
missing=$(task-ls -j -s claimed | jq -r '"\(.id)@\(.lease.token)"' | while read -r h; do
	[ -e "$LONGHAUL_BOARD/claimed/$h" ] || echo "$h"; done)
expect_eq 'every claim has its hint' '' "$missing"

# drain: once the leases ran out a plain reap gives back the abandoned
# ones, and claiming finishes everything
touch "$TRASH/start"
wait_for 10 '[ $(( $(date +%s) - $(stat -c %Y "$TRASH/start") )) -ge 2 ]'
board-reap >/dev/null
while out=$(task-claim); do
	set -- $out
	task-update -t "$2" done "$1"
done
expect_eq 'nothing is left but done tasks' 120 "$(task-ls -j -s done | jq -s length)"
expect_eq 'all of them' 120 "$(task-ls -j | jq -s length)"
