#!/bin/sh
# Two commits that break the gate only together: the first adds x to
# its file, the second y to its own, and the gate fails when both are
# there. Each alone passes; stacked, the second is the culprit: the
# first lands, the second goes back to its agent with the gate's output,
# and the third, queued after it, lands as well. No tip of main is red.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
plan 8
export LONGHAUL_SANDBOX=off
board-init >/dev/null
train_project 3
train_rules '{"match":{"contains":["TRAIN-0001"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo done x >>files/t0001.txt"}}]}}
{"match":{"contains":["TRAIN-0002"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo done y >>files/t0002.txt"}}]}}
{"match":{"contains":["TRAIN-0002","merge train","both x and y"],"turn":3},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"sed -i s/y// files/t0002.txt"}}]}}
{"match":{"turn":4},"capture":"TRAIN-([0-9]+)","reply":{"tool_calls":[{"name":"submit","arguments":{"note":"fixed files/t$1.txt"}}]}}'
start_mock
together='! { grep -q x files/t0001.txt && grep -q y files/t0002.txt; }'
gate="echo run >>'$TRASH/gate.log'; if grep -q x files/t0001.txt && grep -q y files/t0002.txt; then echo both x and y; exit 1; fi"
hold_turn
queue_up 1 1 -g "$gate"
queue_up 1 2 -g "$gate"
queue_up 1 3 -g "$gate"
# each alone passes: the queued commits, on the old tip
for t in 1 2; do
	c=$(git --git-dir="$TRASH/remote.git" for-each-ref --format='%(objectname)' refs/longhaul/queue | while read -r c; do
		git --git-dir="$TRASH/remote.git" show -s --format=%s "$c" | grep -q "TRAIN-000$t" && echo "$c"; done)
	rm -rf "$TRASH/alone" && mkdir "$TRASH/alone"
	git --git-dir="$TRASH/remote.git" archive "$c" | tar -x -C "$TRASH/alone"
	if (cd "$TRASH/alone" && eval "$together"); then ok "task $t's commit alone passes the gate"; else not_ok "task $t's commit alone passes the gate"; fi
done
release_turn
wait_workers
expect_eq "every worker landed its task" 0 "$bad"
id1=$(task-ls | awk '/TRAIN-0001/ { print $1 }') id2=$(task-ls | awk '/TRAIN-0002/ { print $1 }')
jq -r 'select(.type == "user" and .feedback) | .content' "$TRASH/work/transcripts/$id2".*.jsonl >"$TRASH/fb"
expect_match "the second was sent back with the gate's output" '^both x and y$' "$TRASH/fb"
expect_eq "the first was not" "" "$(jq -r 'select(.feedback) | .content' "$TRASH/work/transcripts/$id1".*.jsonl)"
expect_eq "the second landed last, fixed" "$id2" \
    "$(git --git-dir="$TRASH/remote.git" show -s --format='%(trailers:key=Longhaul-Task,valueonly)' main | head -n 1)"
if trailers_once 3; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)"; fi
if first_parent_green "$together"; then ok "no tip of main was ever red"
else not_ok "no tip of main was ever red"; diag "$(cat "$TRASH/red")"; fi
