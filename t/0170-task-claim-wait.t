#!/bin/sh
# task-claim -w waits for work and wakes when it is published
. "$(dirname "$0")/lib.sh"
plan 5
board-init >/dev/null

expect_code 1 'without -w, nothing to claim exits 1 at once' -- task-claim
expect_code 1 '-w with a timeout gives up' -- task-claim -w 0.3

task-claim -k plan -w 60 >"$TRASH/got" 2>"$TRASH/err" &
pid=$!
at_exit "kill $pid"
task-publish -i w1 'Work, not for a planner' >/dev/null
task-publish -i p1 -k plan 'A plan' >/dev/null
wait $pid
expect_eq 'the waiting planner wakes and claims' 0 $?
expect_eq 'the plan task, not the work' p1 "$(sed -n 1p "$TRASH/got")"
expect_code 0 'the work is still there' -- task-claim -k work
