#!/bin/sh
# Two workers change the same line: the second one's rebase conflicts,
# its own agent resolves the conflict, and both commits land.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 6
board-init >/dev/null
make_project
wait_a="i=0; while [ ! -e $TRASH/a-landed ] && [ \$i -lt 400 ]; do sleep 0.05; i=\$((i+1)); done"
cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["digit two"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"sed -i s/^two\$/2/ list.txt; touch $TRASH/b-edited; $wait_a"}}]}}
{"match":{"contains":["digit two"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"two is 2"}}]}}
{"match":{"contains":["digit two","conflict"],"turn":3},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"printf 'one\\\\nTWO 2\\\\nthree\\\\n' >list.txt && git add list.txt && GIT_EDITOR=true git rebase --continue"}}]}}
{"match":{"contains":["digit two"],"turn":4},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"two is 2; kept TWO from the other change"}}]}}
{"match":{"contains":["upper two"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"sed -i s/^two\$/TWO/ list.txt"}}]}}
{"match":{"contains":["upper two"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"two is TWO"}}]}}
JSON
start_mock
b=$(task-publish "digit two")
LONGHAUL_AGENT=wb longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/b.err" &
worker_b=$!
wait_for 20 '[ -e "$TRASH/b-edited" ]'
a=$(task-publish "upper two")
expect_code 0 "the first worker lands its change" -- \
	env LONGHAUL_AGENT=wa longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"
touch "$TRASH/a-landed"
wait "$worker_b"
expect_eq "the second worker resolves the conflict and lands its change" 0 "$?"
remote_show main:list.txt >"$TRASH/got"
printf 'one\nTWO 2\nthree\n' >"$TRASH/want"
expect_file "the shared branch holds both changes" "$TRASH/want" "$TRASH/got"
git --git-dir="$TRASH/remote.git" log --format=%B main >"$TRASH/log"
expect_eq "both commits landed" 2 "$(grep -c -e "^Longhaul-Task: $a\$" -e "^Longhaul-Task: $b\$" "$TRASH/log")"
expect_eq "both tasks are done" "done done" "$(task-show "$a" "$b" | jq -r .state | tr '\n' ' ' | sed 's/ $//')"
tr=$(ls "$TRASH/work/transcripts/$b".*.jsonl)
expect_match "the agent was told how to resolve it" 'git rebase --continue' "$tr"
