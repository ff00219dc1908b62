#!/bin/sh
# agent-step runs commands under bubblewrap (the default; -s insists):
# no network, nothing writable but the worktree and /tmp. A worker stopped with SIGTERM
# gives its task back and keeps the work.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 7
board-init >/dev/null
make_project
# a linked worktree, as a worker's (a .git directory inside the tree is
# read-only in the sandbox)
git clone -q --bare "$TRASH/remote.git" "$TRASH/wt.git"
git -C "$TRASH/wt.git" worktree add -q "$TRASH/wt" main
hold="touch started; i=0; while [ \$i -lt 200 ]; do sleep 0.05; i=\$((i+1)); done"
cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["boxed"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo in >inside; git add inside; echo out >$TRASH/outside; echo x >/dev/tcp/127.0.0.1/\$(cat $TRASH/port) && echo connected"}}]}}
{"match":{"contains":["held task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo partial >partial.txt; $hold"}}]}}
JSON
start_mock
echo '{"id":"B1","title":"boxed","body":"x"}' >"$TRASH/task.json"
if bwrap --ro-bind / / --unshare-net true 2>/dev/null; then
	agent-step -s -T "$TRASH/tr.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt"
	expect_eq "the worktree is writable" in "$(cat "$TRASH/wt/inside")"
	expect_eq "its git directory too" inside "$(git -C "$TRASH/wt" diff --cached --name-only)"
	expect_eq "nothing else is" no "$(test -e "$TRASH/outside" && echo yes || echo no)"
	expect_eq "there is no network" "" "$(jq -r 'select(.type == "tool") | .content' "$TRASH/tr.jsonl" | grep connected)"
else
	for i in 1 2 3 4; do ok "# SKIP bwrap cannot make namespaces here"; done
fi

id=$(task-publish "held task")
longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/w.err" &
w=$!
wait_for 20 'ls "$TRASH"/work/*/tree/started >/dev/null 2>&1'
kill -TERM "$w"
wait "$w"
expect_eq "the stopped worker exits 130" 130 "$?"
expect_eq "its task is given back" ready/release "$(task-show "$id" | jq -r '.state + "/" + .event')"
expect_eq "its work is kept" partial "$(cat "$TRASH"/work/quarantine/"$id".*/partial.txt)"
