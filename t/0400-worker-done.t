#!/bin/sh
# longhaul-worker does a task end to end: the agent's commands change
# files, the worker verifies, commits, pushes and marks the task done.
# Its next task gets the same worktree back, at the new tip, with nothing
# left of the last one. A remote in this filesystem is borrowed from, one
# given as a URL fetched from. Two workers of one name are not.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 22
board-init >/dev/null
make_project
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["add four"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo four >> list.txt && echo '*.tmp' >.gitignore && echo x >scratch.tmp && git diff --stat"}}]}}
{"match":{"contains":["add four"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended four to list.txt"}}]}}
{"match":{"contains":["add five"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo five >> list.txt"}}]}}
{"match":{"contains":["add five"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended five"}}]}}
{"match":{"contains":["add seven"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo seven >> list.txt"}}]}}
{"match":{"contains":["add seven"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended seven"}}]}}
{"match":{"contains":["add six"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo six >> list.txt"}}]}}
{"match":{"contains":["add six"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended six"}}]}}
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
home=$TRASH/work/$(hostname)-worker
expect_eq "the landed task's branch is gone, its worktree kept clean" "" \
	"$(git --git-dir="$home/repo.git" branch; git -C "$home/tree" status --porcelain)"
expect_eq "nothing quarantined" "" "$(ls "$TRASH/work/quarantine")"

inode=$(stat -c %i "$home/tree")
id2=$(task-publish -v 'grep -qx five list.txt' -v '! test -e scratch.tmp' "add five")
expect_code 0 "the next task, in the same worktree" -- \
	longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"
expect_eq "it is done (nothing of the last task was left: scratch.tmp was gone)" done \
	"$(task-show "$id2" | jq -r .state)"
expect_eq "the worktree is the same directory" "$inode" "$(stat -c %i "$home/tree")"
printf 'one\ntwo\nthree\nfour\nfive\n' >"$TRASH/want"
remote_show main:list.txt >"$TRASH/got"
expect_file "it started from the new tip" "$TRASH/want" "$TRASH/got"
expect_eq "the local remote's objects are borrowed, not copied" "$TRASH/remote.git/objects" \
	"$(cat "$home/repo.git/objects/info/alternates")"

id3=$(task-publish -v 'grep -qx six list.txt' "add six")
LONGHAUL_AGENT=url expect_code 0 "a remote given as a URL is fetched from" -- \
	longhaul-worker -1 -R "file://$TRASH/remote.git" -W "$TRASH/work"
expect_eq "the task is done, on top of the others, with nothing borrowed" "done six " \
	"$(task-show -f state "$id3") $(remote_show main:list.txt | tail -1) $(cat "$TRASH/work/url/repo.git/objects/info/alternates" 2>/dev/null)"

# a lock left in the kept worktree by a git killed with -9
touch "$(git -C "$home/tree" rev-parse --path-format=absolute --git-path index.lock)"
id4=$(task-publish -v 'grep -qx seven list.txt' "add seven")
expect_code 0 "a kept worktree that will not check out is made again" -- \
	longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"
expect_eq "and the task is done" "done seven" "$(task-show -f state "$id4") $(remote_show main:list.txt | tail -1)"

LONGHAUL_AGENT=dup longhaul-worker -w 20 -R "$TRASH/remote.git" -W "$TRASH/work" 2>/dev/null &
first=$!
wait_for 10 '[ -d "$TRASH/work/dup" ]'
LONGHAUL_AGENT=dup expect_code 4 "a second worker of the same name is refused" -- \
	longhaul-worker -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"
expect_match "saying so" "longhaul-worker: dup: another worker of this name runs on the board" "$TRASH/err"
kill -TERM $first
wait $first
expect_eq "the first one goes on until stopped" 130 $?
LONGHAUL_AGENT=dup expect_code 1 "then the name is free again" -- \
	longhaul-worker -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"
