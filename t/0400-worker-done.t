#!/bin/sh
# longhaul-worker does a task end to end: the agent's commands change
# files, the worker verifies, commits, pushes and marks the task done.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 9
board-init >/dev/null
make_project
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["add four"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo four >> list.txt && git diff --stat"}}]}}
{"match":{"contains":["add four"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended four to list.txt"}}]}}
JSON
start_mock
id=$(task-publish -v 'grep -qx four list.txt' -v 'test -f README' "add four")

expect_code 0 "the worker does one task and exits 0" -- \
	longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work" -g 'test -s list.txt'
task-show "$id" >"$TRASH/rec"
expect_eq "the task is done" done "$(jq -r .state "$TRASH/rec")"
expect_eq "its result is the shared branch's head" \
	"$(git --git-dir="$TRASH/remote.git" rev-parse main)" "$(jq -r .result.commit "$TRASH/rec")"
expect_eq "with the agent's handoff note" "appended four to list.txt" "$(jq -r .result.note "$TRASH/rec")"
remote_show main:list.txt >"$TRASH/got"
printf 'one\ntwo\nthree\nfour\n' >"$TRASH/want"
expect_file "the agent's change landed" "$TRASH/want" "$TRASH/got"
git --git-dir="$TRASH/remote.git" log -1 --format=%B main >"$TRASH/msg"
expect_match "the commit names the task" "^Longhaul-Task: $id\$" "$TRASH/msg"
token=$(task-show -H "$id" | jq -r 'select(.event == "claim") | .lease.token')
expect_match "and its fencing token" "^Longhaul-Token: $token\$" "$TRASH/msg"
expect_eq "the landed worktree and its branch are removed" "" \
	"$(ls -d "$TRASH"/work/*/"$id" 2>&1 >/dev/null | grep -v 'No such'; git --git-dir="$TRASH/work/$(hostname)-worker/repo.git" branch)"
expect_eq "nothing quarantined" "" "$(ls "$TRASH/work/quarantine")"
