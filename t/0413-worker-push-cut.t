#!/bin/sh
# git push killed after the remote updated its branch (here: while the
# remote's post-receive runs): the worker does not take the push for
# rejected; it reads the branch back, finds its commit there and marks
# the task done, so that nobody lands it again.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 5
board-init >/dev/null
make_project
cat >"$TRASH/remote.git/hooks/post-receive" <<SH
#!/bin/sh
[ ! -e "$TRASH/blocked" ] || exit 0
touch "$TRASH/blocked" "$TRASH/in-post"
i=0; while [ ! -e "$TRASH/go" ] && [ \$i -lt 400 ]; do sleep 0.05; i=\$((i+1)); done
SH
chmod +x "$TRASH/remote.git/hooks/post-receive"
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["the task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo \"by $LONGHAUL_AGENT\" >>list.txt"}}]}}
{"match":{"contains":["the task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended a line"}}]}}
JSON
start_mock
id=$(task-publish "the task")
LONGHAUL_AGENT=wa longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/a.err" &
a=$!
wait_for 30 '[ -e "$TRASH/in-post" ]' || diag "the push did not reach post-receive"
pushes=$(ps -eo pid=,args= | awk '$2 == "git" && / push -q origin / { print $1 }')
[ -n "$pushes" ] || diag "no git push found"
kill -9 $pushes
touch "$TRASH/go"
wait "$a"
expect_eq "the worker whose push was cut short ends well" 0 "$?"
landed=$(git --git-dir="$TRASH/remote.git" rev-parse main)
expect_eq "the task is done with the commit that landed" "done $landed" \
	"$(task-show -f state "$id") $(task-show -f result.commit "$id")"
expect_code 1 "another worker finds nothing to redo" -- \
	env LONGHAUL_AGENT=wb longhaul-worker -1 -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"
git --git-dir="$TRASH/remote.git" log --format=%B main >"$TRASH/log"
expect_eq "the task is on main once" 1 "$(grep -c "^Longhaul-Task: $id\$" "$TRASH/log")"
expect_eq "nothing was quarantined" "" "$(ls "$TRASH/work/quarantine")"
