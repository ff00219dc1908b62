#!/bin/sh
# A push that the remote refuses (here a non-bare repository whose
# checked-out branch git will not update) is not tried again: the task
# fails at once, and its reason carries git's own words. A push that
# only lost a race is still tried again (t/0406, t/0413).
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 5
board-init >/dev/null
git init -q "$TRASH/nonbare"
(cd "$TRASH/nonbare" && echo one >list.txt && git add . && git commit -qm start)
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo two >>list.txt"}}]}}
{"match":{"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"two"}}]}}
JSON
start_mock
id=$(task-publish -v 'grep -qx two list.txt' "add two")
before=$(git -C "$TRASH/nonbare" rev-parse main)
LONGHAUL_PUSH_ATTEMPTS=20 LONGHAUL_AGENT=w expect_code 3 "the task fails" -- \
	longhaul-worker -1 -R "$TRASH/nonbare" -W "$TRASH/work"
task-show "$id" | jq -r .reason >"$TRASH/reason"
expect_match "at once, not tried again" '^push refused, not tried again: ' "$TRASH/reason"
expect_match "in git's words" '\[remote rejected\] HEAD -> main \(branch is currently checked out\)' "$TRASH/reason"
expect_eq "requeued after its one attempt" "ready 1" "$(task-show "$id" | jq -r '"\(.state) \(.attempts)"')"
expect_eq "nothing landed" "$before" "$(git -C "$TRASH/nonbare" rev-parse main)"
