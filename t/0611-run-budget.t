#!/bin/sh
# longhaul-run: the run's token budget is reached in the middle of a
# cycle. The cycle ends, no model call starts once the budget is spent,
# the judge stops the run by the budget without asking the model, and
# every task is given back. The model is llm-mock: 150 tokens a reply.
. "$(dirname "$0")/lib.sh"
for t in agent-step longhaul-worker llm-call llm-mock judge; do
	command -v $t >/dev/null || skip_all "$t is not built"
done
plan 8

export HOME="$TRASH" GIT_CONFIG_NOSYSTEM=1 TMPDIR="$TRASH"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
git init -q --bare "$TRASH/repo.git"
git init -q "$TRASH/src"
(cd "$TRASH/src" && echo 0 >steps && git add . &&
 git commit -qm init && git push -q ../repo.git HEAD:main)

# the planner publishes one task and submits (300 tokens); the worker
# then steps on and on, 150 tokens a step, never submitting
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["You are the judge"]},"reply":{"text":"{\"decision\":\"continue\",\"goal_met\":false,\"reasons\":\"more\",\"focus\":\"\"}","usage":{"input_tokens":100,"output_tokens":50}}}
{"match":{"contains":["This is a planning task"],"turn":1},"reply":{"tool_calls":[{"name":"publish","arguments":{"tasks":[{"title":"count the steps"}]}}],"usage":{"input_tokens":100,"output_tokens":50}}}
{"match":{"contains":["This is a planning task"]},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"published"}}],"usage":{"input_tokens":100,"output_tokens":50}}}
JSON
for n in 1 2 3 4 5 6 7 8 9 10 11 12; do
	echo '{"match":{"contains":["count the steps"]},"times":1,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo '$n' >>steps"}}],"usage":{"input_tokens":100,"output_tokens":50}}}'
done >>"$TRASH/rules.jsonl"
start_mock
export LONGHAUL_MODEL=openai:mock OPENAI_API_KEY=test LONGHAUL_POLL=1 LONGHAUL_GRACE=10

expect_code 1 'the run stops on its budget: exit 1' -- \
	longhaul-run -R "$TRASH/repo.git" -G 'count the steps' -n 1 -j 1 -c 3 -k 1000 -W "$TRASH/work"
cp "$TRASH/err" "$TRASH/run.err"
expect_eq 'the cycle ended on the budget, and was judged' 'budget judged' \
	"$(jq -r '"\(.end) \(.state)"' "$LONGHAUL_BOARD/cycles/0001.json")"
expect_eq 'the judge stopped it by the budget, without the model' 'stop budget' \
	"$(jq -r '"\(.decision) \(.decided_by)"' "$LONGHAUL_BOARD/verdicts/0001.json")"

# every request the mock saw is a call in the usage log, and each started
# before the budget was spent: all of them but the last make < 1000 tokens
cat "$LONGHAUL_BOARD"/usage/*.jsonl >"$TRASH/usage"
calls=$(jq -s '[.[] | select(.outcome == "ok")] | length' "$TRASH/usage")
expect_eq 'every request to the model is a logged call' "$(grep -c . "$TRASH/mock.log")" "$calls"
expect_eq 'the planner, then the worker up to the budget: 7 calls' 7 "$calls"
# a call is checked against the budget when it starts (its ts, when it
# was logged, less its latency): what had ended by then was below it
# (the planner's calls and the worker's can overlap, so the order in
# which they ended says nothing)
expect_eq 'no call started once the budget was spent' true \
	"$(jq -s '[.[] | select(.outcome == "ok")] as $calls |
		[$calls[] | (.ts - .latency_s) as $start |
		 [$calls[] | select(.ts < $start) | .input_tokens + .output_tokens] | add // 0] |
		all(. < 1000)' "$TRASH/usage")"
# refused by the budget breaker; the task is then given back, by the
# worker for the budget or by the runner's stop, which sees the budget
# spent at the same time (either may come first)
expect_match 'the worker was refused a call and stopped' 'agent-step: budget spent|released: .*budget' \
	"$TRASH/work/log/0001/workers.log"
expect_eq 'no task is left claimed' '' "$(task-ls -s claimed)"
