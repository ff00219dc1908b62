#!/bin/sh
# Two tasks make the same change: the second worker's rebase drops its
# commit (the change is already upstream). It must not call that done
# with somebody else's commit, and its work must not be deleted.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 6
board-init >/dev/null
make_project
wait_a="i=0; while [ ! -e $TRASH/a-landed ] && [ \$i -lt 400 ]; do sleep 0.05; i=\$((i+1)); done"
cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["first copy"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo four >>list.txt; touch $TRASH/b-edited; $wait_a"}}]}}
{"match":{"contains":["first copy"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"added four"}}]}}
{"match":{"contains":["second copy"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo four >>list.txt"}}]}}
{"match":{"contains":["second copy"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"added four"}}]}}
JSON
start_mock
b=$(task-publish -m 1 "add four, first copy")
LONGHAUL_AGENT=wb longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/b.err" &
worker_b=$!
wait_for 20 '[ -e "$TRASH/b-edited" ]'
a=$(task-publish "add four, second copy")
expect_code 0 "the other worker lands the same change first" -- \
	env LONGHAUL_AGENT=wa longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"
touch "$TRASH/a-landed"
wait "$worker_b"
expect_eq "the worker whose commit was dropped reports a failure" 3 "$?"
expect_eq "its task is not done" failed "$(task-show "$b" | jq -r .state)"
expect_match "saying why" 'the rebase dropped the commit' "$TRASH/b.err"
git --git-dir="$TRASH/remote.git" log --format=%B main >"$TRASH/log"
expect_eq "no commit claims its task" 0 "$(grep -c "^Longhaul-Task: $b\$" "$TRASH/log")"
expect_eq "its work is quarantined, not deleted" 1 \
	"$(ls -d "$TRASH"/work/quarantine/"$b"* 2>/dev/null | wc -l)"
