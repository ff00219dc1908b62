#!/bin/sh
# A worker killed with -9 in the middle of a task: once its lease runs
# out the task is redone by another worker, and the dead worker's
# worktree is quarantined when its slot starts again, not lost.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 7
board-init >/dev/null
make_project
hold="if [ \$LONGHAUL_AGENT = w1 ]; then touch started; i=0; while [ \$i -lt 200 ]; do sleep 0.05; i=\$((i+1)); done; fi"
cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["slow task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo partial >partial.txt; $hold"}}]}}
{"match":{"contains":["slow task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"wrote partial.txt"}}]}}
JSON
start_mock
id=$(task-publish -v 'test -f partial.txt' "slow task")
work() { longhaul-worker -1 -l 2 -R "$TRASH/remote.git" -W "$TRASH/work" "$@"; }
LONGHAUL_AGENT=w1 work 2>"$TRASH/w1.err" &
w1=$!
wait_for 20 '[ -e "$TRASH/work/w1/tree/started" ]'
step=$(ps -o pid= --ppid "$w1")
kill -9 "$w1" $step
pgid=$(jq -r 'select(.type == "run") | .pgid' "$TRASH"/work/transcripts/"$id".*.jsonl)
kill -9 -"$pgid"
expect_eq "the worker died holding the task" claimed "$(task-show "$id" | jq -r .state)"

wait_for 20 '[ -n "$(board-reap)" ]'
expect_eq "its lease ran out: the task is ready again" ready "$(task-show "$id" | jq -r .state)"
LONGHAUL_AGENT=w2 expect_code 0 "another worker does it" -- work
expect_eq "and it is done" done "$(task-show "$id" | jq -r .state)"

LONGHAUL_AGENT=w1 expect_code 1 "the dead worker's slot starts again, finds nothing to do" -- work -w 1
expect_match "it says where it put the unpushed work" "quarantined in .*/quarantine/$id" "$TRASH/err"
expect_eq "the worktree is kept, with the partial work" partial \
	"$(cat "$TRASH"/work/quarantine/"$id".*/partial.txt)"
