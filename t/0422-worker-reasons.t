#!/bin/sh
# A task given back always says why: when agent-step dies before it can
# say so on stdout (here a prompt that is not there), the reason is its
# exit status and the last line of its stderr, which the worker passes
# on too. Its usage status 2 stops the worker (exit 2) instead of
# claiming the next task to die the same way. task-update refuses an
# empty reason for fail, release and cancel.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 12
board-init >/dev/null
make_project
echo '{"match":{},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"n"}}]}}' >"$TRASH/rules.jsonl"
start_mock
first=$(task-publish -p 5 "the first task")
second=$(task-publish -p 1 "the second task")

LONGHAUL_AGENT=w expect_code 2 "agent-step's usage error stops the worker: exit 2" -- \
	longhaul-worker -w 1 -R "$TRASH/remote.git" -W "$TRASH/work" -- -p "$TRASH/no-prompt.md"
expect_eq "the task was given back" ready "$(task-show -f state "$first")"
task-show "$first" | jq -r .reason >"$TRASH/reason"
expect_match "with agent-step's status and last word as the reason" \
	"^agent-step exited 2: agent-step: $TRASH/no-prompt.md: No such file or directory\$" "$TRASH/reason"
expect_match "which the worker passed on to its stderr" \
	"^agent-step: $TRASH/no-prompt.md: No such file or directory\$" "$TRASH/err"
expect_match "and said" "^longhaul-worker: w: $first: released: agent-step exited 2: " "$TRASH/err"
expect_eq "the next task was not claimed" "1 ready" \
	"$(task-show "$second" | jq -r '"\(.version) \(.state)"')"

tok=$(task-claim -l 60 | sed -n 2p)
for a in release fail; do
	expect_code 2 "task-update -r '' $a: refused" -- task-update -t "$tok" -r '' "$a" "$first"
	expect_eq "in one line" "task-update: $a: the reason (-r) is empty" "$(cat "$TRASH/err")"
done
v=$(task-show -f version "$second")
expect_code 2 "task-update -r '' cancel: refused" -- task-update -V "$v" -r '' cancel "$second"
expect_eq "nothing was written" "claimed ready" \
	"$(task-show -f state "$first") $(task-show -f state "$second")"
