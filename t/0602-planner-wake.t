#!/bin/sh
# A planner publishes a task, sleeps until it finishes, and is woken with
# the worker's handoff note in its next session; its final report becomes
# the plan task's result. The model is llm-mock, scripted.
. "$(dirname "$0")/lib.sh"
for t in agent-step llm-call llm-mock; do
	command -v $t >/dev/null || skip_all "$t is not built"
done
plan 9

export HOME="$TRASH" GIT_CONFIG_NOSYSTEM=1
git init -q --bare "$TRASH/repo.git"
git init -q "$TRASH/src"
(cd "$TRASH/src" && echo hello >README && git add README &&
 git -c user.name=t -c user.email=t@t commit -qm init && git push -q ../repo.git HEAD:main)
board-init >/dev/null

cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["added the greeting"],"turn":1},"reply":{"tool_calls":[{"name":"tasks","arguments":{"parent":"plan-1"}}]}}
{"match":{"contains":["added the greeting"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"goal met: the worker added the greeting"}}]}}
{"match":{"contains":["plan: greet","no tasks yet"],"turn":1},"reply":{"tool_calls":[{"name":"publish","arguments":{"tasks":[{"area":"doc","verify":["grep -q hi README"],"title":"say hi in the README"}]}}]}}
{"match":{"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"published the greeting task"}}]}}
JSON
start_mock
export LONGHAUL_MODEL=openai:mock
export LONGHAUL_POLL=2

task-publish -k plan -i plan-1 'plan: greet' >/dev/null
longhaul-planner -1 -R "$TRASH/repo.git" -W "$TRASH" 2>"$TRASH/planner.err" &
planner=$!
at_exit "kill $planner"

wait_for 20 '[ "$(task-ls -P plan-1 | wc -l)" -eq 1 ]' &&
	ok 'the planner published a task under its plan' ||
	not_ok 'the planner published a task under its plan'
child=$(task-ls -P plan-1 -j | jq -r .id)
expect_eq 'in its area, with its verification' 'doc grep -q hi README' \
	"$(task-show "$child" | jq -r '.area + " " + .verify[0]')"
wait_for 20 'grep -qs submit "$LONGHAUL_BOARD"/transcripts/0/*.plan-1.*.1.jsonl' &&
	ok 'the planner submitted and sleeps' || not_ok 'the planner submitted and sleeps'

# a worker does the task
token=$(task-claim -k work | sed -n 2p)
expect_code 0 'the worker finishes the task' -- \
	task-update -t "$token" -m 'added the greeting' done "$child"

wait_for 30 '! kill -0 $planner 2>/dev/null' &&
	ok 'the planner ended its plan task' || not_ok 'the planner ended its plan task'
wait $planner
expect_eq 'it exited 0' 0 $?
expect_eq 'the plan task is done' done "$(task-show plan-1 | jq -r .state)"
expect_match 'the handoff note reached its next session' 'added the greeting' \
	"$(ls "$LONGHAUL_BOARD"/transcripts/0/*.plan-1.*.2.jsonl)"
task-show plan-1 | jq -r .result.note >"$TRASH/note"
expect_match 'its report is the result of the plan task' 'goal met' "$TRASH/note"
