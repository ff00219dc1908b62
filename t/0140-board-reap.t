#!/bin/sh
# kill -9 of a claimant: its lease runs out, board-reap requeues the task,
# another claimant finishes it, and the dead one's late "done" is refused
. "$(dirname "$0")/lib.sh"
plan 8
board-init >/dev/null
task-publish -i job 'A job' >/dev/null

# a worker that claims with a one-second lease, then hangs
sh -c 'task-claim -l 1 >"$1"; exec sleep 600' sh "$TRASH/claim" &
pid=$!
at_exit "kill -9 $pid"
wait_for 10 '[ -s "$TRASH/claim" ] && [ "$(wc -l <"$TRASH/claim")" -eq 2 ]' || not_ok 'claimed'
old=$(sed -n 2p "$TRASH/claim")
kill -9 $pid
expect_code 1 'nothing else to claim while the lease holds' -- task-claim
expect_code 0 'a reaper before the lease ends changes nothing' -- board-reap -n

wait_for 20 'board-reap >"$TRASH/reaped" && [ -s "$TRASH/reaped" ]'
expect_eq 'after the lease, board-reap requeues it' job "$(cat "$TRASH/reaped")"
expect_match 'saying why' 'lease of .* expired' "$(task-show job >"$TRASH/rec"; echo "$TRASH/rec")"
expect_code 0 'a second reaper finds nothing more' -- board-reap

task-claim >"$TRASH/claim2"
new=$(sed -n 2p "$TRASH/claim2")
expect_code 0 'another claimant completes it' -- task-update -t "$new" -c 0123abc -m 'did it' done job
expect_code 3 'the dead owner'"'"'s late done is refused' -- task-update -t "$old" done job
expect_eq 'the result stands' 'done 0123abc did it' \
	"$(task-show job | jq -r '"\(.state) \(.result.commit) \(.result.note)"')"
