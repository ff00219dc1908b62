#!/bin/sh
# agent-step stops before a model call once a limit is reached: steps,
# wall time, tokens, dollars; the run's budget in llm-call too. The
# worker fails such a task with the reason.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 12
make_project
git clone -q "$TRASH/remote.git" "$TRASH/wt"
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["slow"]},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"sleep 1; echo slept >>../slept"}}]}}
{"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo $RANDOM >>notes"}}]}}
JSON
start_mock
n=0
task() { n=$((n + 1)); echo "{\"id\":\"L$n\",\"title\":\"$1\",\"body\":\"x\"}" >"$TRASH/task.json"; }
step() { agent-step -T "$TRASH/$n.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt" "$@"; }

task steps
step -n 2 >/dev/null; step -n 2 >/dev/null
expect_code 3 "the step limit ends the work" -- step -n 2
expect_eq "and says which limit" "limit reached: 2 steps" "$(cat "$TRASH/out")"
expect_eq "no model call was made for the third step" 2 \
	"$(grep -c '"type":"assistant"' "$TRASH/$n.jsonl")"
LONGHAUL_MAX_STEPS=1 expect_code 3 "the limit can come from the environment" -- step

task slow
step -W 1 >/dev/null
expect_code 3 "the wall time limit ends the work" -- step -W 1
expect_match "and says so" '^limit reached: [0-9]+ seconds$' "$TRASH/out"

task tokens
step -K 100 >/dev/null
expect_code 3 "the token limit ends the work" -- step -K 100
expect_match "and says so" '^limit reached: [0-9]+ tokens$' "$TRASH/out"

task dollars
# a model with a price: the scripted server answers for any name
LONGHAUL_MODEL=openai:gpt-4o step -D 0.001 >/dev/null
LONGHAUL_MODEL=openai:gpt-4o expect_code 3 "the cost limit ends the work" -- step -D 0.001
expect_match "and says so" '^limit reached: \$[0-9.]+ spent$' "$TRASH/out"

task budget
LONGHAUL_BUDGET_TOKENS=1 step >/dev/null 2>&1
LONGHAUL_BUDGET_TOKENS=1 expect_code 7 "a spent budget of the run stops the work" -- step

board-init >/dev/null
id=$(task-publish "steps task")
longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work" -- -n 2 2>"$TRASH/err"
expect_eq "the worker fails a task that reached a limit, with the reason" \
	"fail/limit reached: 2 steps" "$(task-show -H "$id" | jq -rs '.[-1].event + "/" + .[-1].reason')"
