#!/bin/sh
# a task whose dependency failed for good fails too, with the reason, and
# so do its own dependents: a run drains; it holds when the process that
# failed the dependency died before telling anyone
. "$(dirname "$0")/lib.sh"
plan 8
board-init >/dev/null
task-publish -i base -m 1 'Base' >/dev/null
task-publish -i mid -d base 'Middle' >/dev/null
task-publish -i top -d mid 'Top' >/dev/null
task-publish -i other 'Other' >/dev/null
# claim base itself: the only ready ones are base and other
while :; do
	task-claim >"$TRASH/c" || break
	[ "$(sed -n 1p "$TRASH/c")" = base ] && break
done
expect_eq 'base is claimed' base "$(sed -n 1p "$TRASH/c")"
expect_code 0 'its only attempt fails' -- task-update -t "$(sed -n 2p "$TRASH/c")" -r 'cannot be done' fail base
expect_eq 'base failed for good' failed "$(task-show -f state base)"
expect_eq 'its dependents failed, each saying why' \
	'mid failed dependency base failed top failed dependency mid failed' \
	"$(task-show mid top | jq -r '[.id, .state, .reason] | join(" ")' | tr '\n' ' ' | sed 's/ $//')"
expect_eq 'nothing waits any more' '' "$(task-ls -s waiting)"

# the failer died before failing the dependents: a record failed by hand
task-publish -i a2 'A2' >/dev/null
task-publish -i b2 -d a2 'B2' >/dev/null
d=$(ls -d "$LONGHAUL_BOARD"/tasks/*/a2)
jq -c '.version = 2 | .state = "failed" | .event = "cancel" | .reason = "by hand"' "$d/000001.json" >"$LONGHAUL_BOARD/tmp/x"
ln "$LONGHAUL_BOARD/tmp/x" "$d/000002.json" && rm "$LONGHAUL_BOARD/tmp/x"
expect_eq 'until someone looks, the dependent waits' waiting "$(task-ls -j | jq -r 'select(.id=="b2").shown_state')"
expect_code 0 'a plain board-reap' -- board-reap
expect_eq 'fails it' 'failed dependency a2 failed' "$(task-show b2 | jq -r '[.state, .reason] | join(" ")')"
