#!/bin/sh
# agent-step -M sees a command change the worktree when it changes the
# contents of a file already modified, or of an untracked file, or stages
# a file; commands that change nothing are counted.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 4
make_project
# a linked worktree, as a worker's: its index is the agent's to write
git clone -q --bare "$TRASH/remote.git" "$TRASH/wt.git"
git -C "$TRASH/wt.git" worktree add -q "$TRASH/wt" main
for turn in 1 2 3 4 5 6; do
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["TASK-EDITS"],"turn":$turn},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"case $turn in 1|2) echo $turn >>list.txt ;; 3|4) echo $turn >>'new file.txt' ;; 5) git add list.txt ;; 6) echo $turn >>list.txt ;; esac"}}]}}
{"match":{"contains":["TASK-LOOKS"],"turn":$turn},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"cat list.txt 'new file.txt' # $turn"}}]}}
JSON
done
start_mock
# steps TITLE: run agent-step on a task until it stops or 6 steps
steps() {
	echo "{\"id\":\"T-$1\",\"title\":\"$1\",\"body\":\"x\"}" >"$TRASH/task.json"
	i=0
	while [ "$i" -lt 6 ]; do
		i=$((i + 1)); st=0
		agent-step -T "$TRASH/$1.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt" -M 2 >"$TRASH/out" || st=$?
		[ "$st" -eq 0 ] || break
	done
}
steps TASK-EDITS
expect_eq "six commands that each change something are not stuck" "0 6" "$st $i"
expect_eq "and every step has its own tree" 6 \
	"$(jq -r 'select(.type == "tool") | .tree' "$TRASH/TASK-EDITS.jsonl" | sort -u | wc -l)"
steps TASK-LOOKS
expect_eq "two commands that change nothing are stuck" "5 2" "$st $i"
expect_eq "and it says why" "stuck: 2 commands without a change in the worktree" "$(cat "$TRASH/out")"
