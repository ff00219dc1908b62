#!/bin/sh
# A board-turn take killed while it waits frees its place in the queue
# at once, although its owner (the worker) lives on: those behind it do
# not wait out the turn's lease. A take whose worker is killed dies with
# it. The owner drops what a take killed after its admission left.
. "$(dirname "$0")/lib.sh"
plan 7
board-init >/dev/null
running() { [ -n "$1" ] && [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
q=$LONGHAUL_BOARD/turns/q
waiting() { ls "$q" | grep -c '^w\.'; }
export LONGHAUL_PID=$$
first=$(board-turn -l 30 take q)
expect_eq "the first takes the turn" 0 "$?"
board-turn -l 30 take q >/dev/null &
second=$!
wait_for 10 '[ "$(waiting)" = 1 ]' || diag "the second does not wait"
kill -9 "$second"
wait "$second"
board-turn -l 30 -w 10 take q >"$TRASH/third" &
third=$!
wait_for 10 '[ "$(waiting)" -ge 1 ]'
board-turn give q "$first"
wait "$third"
expect_eq "the turn passes to the third at once, not after 30 s" 0 "$?"
board-turn give q "$(cat "$TRASH/third")"
expect_eq "the queue is empty" "" "$(ls "$q")"

# a take whose worker dies
first=$(board-turn -l 30 take q)
sh -c 'LONGHAUL_PID=$$; export LONGHAUL_PID; board-turn -l 30 take q >/dev/null & echo $! >"$TRASH/take.pid"; wait' &
worker=$!
wait_for 10 '[ "$(waiting)" = 1 ]' || diag "the take does not wait"
kill -9 "$worker"
wait "$worker"
if wait_for 10 '! running "$(cat "$TRASH/take.pid")"'; then ok "a take dies with its worker"; else not_ok "a take dies with its worker"; kill "$(cat "$TRASH/take.pid")"; fi
expect_eq "and leaves the queue" 0 "$(waiting)"
board-turn give q "$first"

# an admitted turn whose ticket its owner never learnt
board-turn -l 30 take q >/dev/null
board-turn -l 30 take r >/dev/null
expect_code 0 "drop: the owner gives back what it holds" -- board-turn drop q
expect_eq "of that queue alone" ":1" "$(ls "$q"):$(ls "$LONGHAUL_BOARD/turns/r" | wc -l)"
