#!/bin/sh
# A conflict inside a stack: two queued commits append to the same file.
# Stacked on the first, the second conflicts with it, not with the
# branch: it waits for the first's outcome; once the first has landed it
# conflicts with the branch, and its agent resolves the rebase as it
# would a serial worker's; then it lands. The others of the stack land.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
plan 6
export LONGHAUL_SANDBOX=off
board-init >/dev/null
train_project 3
train_rules '{"match":{"contains":["TRAIN-0002"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo done >>files/t0002.txt; echo two >>files/t0001.txt"}}]}}
{"match":{"contains":["TRAIN-0002","conflict"],"turn":3},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"printf \"task 0001\\ndone\\ntwo\\n\" >files/t0001.txt && git add files/t0001.txt && GIT_EDITOR=true git rebase --continue"}}]}}
{"match":{"turn":4},"capture":"TRAIN-([0-9]+)","reply":{"tool_calls":[{"name":"submit","arguments":{"note":"resolved files/t0001.txt"}}]}}'
start_mock
gate="echo run >>'$TRASH/gate.log'"
hold_turn
queue_up 1 1 -g "$gate"
queue_up 1 2 -g "$gate"
queue_up 1 3 -g "$gate"
release_turn
wait_workers
expect_eq "every worker landed its task" 0 "$bad"
id2=$(task-ls | awk '/TRAIN-0002/ { print $1 }')
tr=$(ls "$TRASH/work/transcripts/$id2".*.jsonl)
expect_match "the second's agent was told how to resolve the rebase" 'git rebase --continue' "$tr"
printf 'task 0001\ndone\ntwo\n' >"$TRASH/want"
remote_show main:files/t0001.txt >"$TRASH/got"
expect_file "main holds both changes of the file" "$TRASH/want" "$TRASH/got"
expect_eq "the second landed last" "$id2" \
    "$(git --git-dir="$TRASH/remote.git" show -s --format='%(trailers:key=Longhaul-Task,valueonly)' main | head -n 1)"
expect_eq "it was not sent back twice" 1 "$(jq -r 'select(.type == "user" and .feedback) | .content' "$tr" | grep -c 'the rebase stopped on a conflict')"
if trailers_once 3; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)"; fi
