#!/bin/sh
# share/hooks/pre-receive in the shared repository: the remote itself
# refuses a second commit of a task and one whose token is not the task's
# current claim; a worker lands through it as before.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 12
board-init >/dev/null
make_project
cp "$TOP/share/hooks/pre-receive" "$TRASH/remote.git/hooks/pre-receive"
git --git-dir="$TRASH/remote.git" config longhaul.board "$LONGHAUL_BOARD"
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["add four"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo four >>list.txt"}}]}}
{"match":{"contains":["add four"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended four"}}]}}
JSON
start_mock
id=$(task-publish "add four")
expect_code 0 "a worker lands through the hook" -- \
	longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"
expect_eq "the task is done" done "$(task-show -f state "$id")"

git clone -q "$TRASH/remote.git" "$TRASH/clone"
# commit TASK TOKEN: a commit in the clone that names the task
commit() {
	echo "$1 $2" >>"$TRASH/clone/list.txt"
	git -C "$TRASH/clone" commit -qam "a change" -m "Longhaul-Task: $1
Longhaul-Token: $2"
}
push() { git -C "$TRASH/clone" push -q origin HEAD:main; }
token=$(task-show -H "$id" | jq -r 'select(.event == "claim") | .lease.token')
commit "$id" "$token"
expect_code 1 "a second commit of a landed task is refused" -- push
expect_match "saying why" "task $id: already on main" "$TRASH/err"
git -C "$TRASH/clone" reset -q --hard origin/main

id2=$(task-publish "add five")
set -- $(LONGHAUL_AGENT=x task-claim)
commit "$id2" $(($2 + 1))
expect_code 1 "a commit whose token is not the claim is refused" -- push
expect_match "saying why" "task $id2: token $(($2 + 1)) is not its claim \(it is claimed under token $2\)" "$TRASH/err"
git -C "$TRASH/clone" reset -q --hard origin/main
commit "$id2" "$2"
commit "$id2" "$2"
expect_code 1 "two commits of one task in one push are refused" -- push
git -C "$TRASH/clone" reset -q --hard HEAD~1
expect_code 0 "one commit under the claim's token lands" -- push
echo other >>"$TRASH/clone/README"
git -C "$TRASH/clone" commit -qam "a change by hand"
expect_code 0 "a commit that names no task lands" -- push

# a lock left by a receive-pack killed while it held it
echo stale >"$TRASH/remote.git/refs/heads/main.lock"
echo more >>"$TRASH/clone/README"
git -C "$TRASH/clone" commit -qam "another change by hand"
expect_code 1 "a stale lock refuses pushes" -- push
git --git-dir="$TRASH/remote.git" config longhaul.removeStaleLocks true
expect_code 0 "with longhaul.removeStaleLocks, the hook removes it and the push lands" -- push
expect_eq "the lock is gone" "" "$(ls "$TRASH/remote.git/refs/heads" | grep lock)"
