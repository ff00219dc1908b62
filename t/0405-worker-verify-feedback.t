#!/bin/sh
# longhaul-worker runs the verification itself: a failure goes back to
# the agent with its output, the agent fixes it, the fix lands.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 5
board-init >/dev/null
make_project
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["add five"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo fiv >>list.txt"}}]}}
{"match":{"contains":["add five"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"added five"}}]}}
{"match":{"contains":["add five","failed","no five"],"turn":3},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"sed -i s/^fiv$/five/ list.txt"}}]}}
{"match":{"contains":["add five"],"turn":4},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"added five, spelt right"}}]}}
JSON
start_mock
id=$(task-publish -v 'grep -qx five list.txt || { echo no five; exit 1; }' "add five")

expect_code 0 "the worker gets the task done" -- \
	longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"
tr=$(ls "$TRASH/work/transcripts/$id".*.jsonl)
jq -r 'select(.type == "user" and .feedback) | .content' "$tr" >"$TRASH/fb"
expect_match "the agent was told the verification failed" 'failed' "$TRASH/fb"
expect_match "with the command's output" '^no five$' "$TRASH/fb"
remote_show main:list.txt >"$TRASH/got"
printf 'one\ntwo\nthree\nfive\n' >"$TRASH/want"
expect_file "the fixed change landed" "$TRASH/want" "$TRASH/got"
expect_eq "with the last handoff note" "added five, spelt right" "$(task-show "$id" | jq -r .result.note)"
