#!/bin/sh
# task-update: compare-and-swap, fencing tokens, state transitions
. "$(dirname "$0")/lib.sh"
plan 21
board-init >/dev/null
task-publish -i a -m 2 'Task A' >/dev/null

expect_code 0 'edit at the version read' -- task-update -V 1 -e '{"priority":8}' edit a
expect_eq 'makes version 2' '2 8' "$(task-show a | jq -r '"\(.version) \(.priority)"')"
task-show a >"$TRASH/before"
expect_code 3 'a stale compare-and-swap is refused' -- task-update -V 1 -e '{"priority":1}' edit a
echo 'task-update: task a: version 1 is stale (now 2)' >"$TRASH/want"
expect_file 'with its reason' "$TRASH/want" "$TRASH/err"
task-show a >"$TRASH/after"
expect_file 'and the record is as it was' "$TRASH/before" "$TRASH/after"
expect_eq 'no version was added' 2 "$(ls "$LONGHAUL_BOARD"/tasks/*/a | wc -l)"

task-claim >"$TRASH/c1"
tok=$(sed -n 2p "$TRASH/c1")
expect_eq 'the claim is version 3, its token 3' 'a 3' "$(head -n 1 "$TRASH/c1") $tok"
expect_code 3 'a wrong token cannot finish it' -- task-update -t 2 done a
expect_code 0 'the owner heartbeats' -- task-update -t "$tok" heartbeat a
expect_code 0 'a planner edits it while it is claimed' -- task-update -V 3 -e '{"title":"Task A, renamed"}' edit a
expect_code 0 'the owner fails it; attempts remain, so it is requeued' -- task-update -t "$tok" -r 'tests broke' fail a
expect_eq 'ready again, with the reason' 'ready 1 tests broke' \
	"$(task-show a | jq -r '"\(.state) \(.attempts) \(.reason)"')"
expect_code 3 'the old token is dead' -- task-update -t "$tok" heartbeat a

task-claim >"$TRASH/c2"
tok=$(sed -n 2p "$TRASH/c2")
expect_code 0 'released unworked' -- task-update -t "$tok" -r 'not mine' release a
expect_eq 'release gives the attempt back' 'ready 1' "$(task-show a | jq -r '"\(.state) \(.attempts)"')"
tok=$(task-claim | sed -n 2p)
expect_code 0 'failed again: max_attempts 2 reached' -- task-update -t "$tok" -r 'still broken' fail a
expect_eq 'fails for good' 'failed 2' "$(task-show a | jq -r '"\(.state) \(.attempts)"')"
task-show -H a | jq -r .event | tr '\n' ' ' >"$TRASH/got"
expect_eq 'the history has every version' 'publish edit claim edit fail claim release claim fail ' "$(cat "$TRASH/got")"

task-publish -i b 'Old title' >/dev/null
expect_code 0 'an edit renames a task' -- task-update -V 1 -e '{"title":"New title"}' edit b
expect_code 0 'the old title is free again' -- task-publish 'Old title'
expect_code 3 'the new one is guarded' -- task-publish 'New title'
