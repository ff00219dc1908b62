#!/bin/sh
# agent-step ends the work when the agent is stuck: the same command or
# the same error again and again, or commands that never change the
# worktree.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 7
make_project
git clone -q "$TRASH/remote.git" "$TRASH/wt"
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["same command"]},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo $$ >>../pids"}}]}}
JSON
for turn in 1 2 3 4 5 6; do
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["same error"],"turn":$turn},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo failing; false # try $turn"}}]}}
{"match":{"contains":["no change"],"turn":$turn},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"sed -n ${turn}p list.txt"}}]}}
JSON
done
start_mock
n=0
task() { n=$((n + 1)); echo "{\"id\":\"S$n\",\"title\":\"$1\",\"body\":\"x\"}" >"$TRASH/task.json"; }
# step N: run agent-step until it stops or N steps; the last status in $st
steps() {
	i=0
	while [ "$i" -lt "$1" ]; do
		i=$((i + 1)); st=0
		agent-step -T "$TRASH/$n.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt" -R 3 -M 4 >"$TRASH/out" || st=$?
		[ "$st" -eq 0 ] || break
	done
}

task "same command"
steps 10
expect_eq "the same command three times is stuck" 5 "$st"
expect_eq "after three steps" 3 "$i"
expect_eq "and it says why" "stuck: the same command 3 times in a row" "$(cat "$TRASH/out")"

task "same error"
steps 10
expect_eq "the same failing output three times is stuck" "5 3" "$st $i"
expect_eq "and it says why" "stuck: the same error 3 times in a row" "$(cat "$TRASH/out")"

task "no change"
steps 10
expect_eq "four commands without a change in the worktree is stuck" "5 4" "$st $i"

echo "try something else" >"$TRASH/fb"
agent-step -T "$TRASH/$n.jsonl" -u "$TRASH/fb"
steps 1
expect_eq "feedback gives the agent another chance" 0 "$st"
