#!/bin/sh
# judge: a spent budget stops the run without asking the model; a model
# that gives no valid verdict is an error (exit 2), or with -F the gate
# decides.
. "$(dirname "$0")/lib.sh"
command -v llm-mock >/dev/null 2>&1 || skip_all "llm-mock is not built"
plan 11

git init -q --bare "$TRASH/repo.git"
git init -q -b main "$TRASH/work"
(cd "$TRASH/work" && echo 'all: ; true' >Makefile && git add Makefile &&
	git -c user.name=t -c user.email=t@t commit -qm 'a project' &&
	git push -q "$TRASH/repo.git" main) >/dev/null 2>&1
board-init >/dev/null

cat >"$TRASH/rules.jsonl" <<'RULES'
{"match":{"contains":["You are the judge","cycle-bad"]},"reply":{"text":"I think we should go on."}}
{"match":{"contains":["You are the judge"]},"reply":{"text":"{\"decision\":\"continue\",\"goal_met\":false,\"reasons\":\"more to do\",\"focus\":\"tests\"}"}}
RULES
start_mock
export LONGHAUL_JUDGE_MODEL=openai:mock OPENAI_API_KEY=test LONGHAUL_LLM_ATTEMPTS=1
# a budget in USD needs a price for the model
echo '{"prices": {"openai:mock": {"input": 0, "output": 0}}}' >"$TRASH/config.json"
export LONGHAUL_CONFIG="$TRASH/config.json"
export LONGHAUL_REPO="$TRASH/repo.git" TMPDIR="$TRASH"

expect_code 0 'within the budget the model decides: continue' -- \
	env LONGHAUL_BUDGET_USD=1 judge -c 1 -g make
expect_eq 'the model was asked once' 1 "$(grep -c . "$TRASH/mock.log")"

# the run spent $2 and 9000 tokens so far
mkdir -p "$LONGHAUL_BOARD/usage"
echo '{"ts":1,"role":"worker","model":"mock","input_tokens":8000,"output_tokens":1000,"cost_usd":2.0,"outcome":"ok"}' \
	>>"$LONGHAUL_BOARD/usage/elsewhere.jsonl"
expect_code 1 'dollar budget spent: stop' -- env LONGHAUL_BUDGET_USD=1.5 judge -c 2 -g make
expect_eq 'decided by the budget, not the model' 'stop budget null' \
	"$(jq -r '"\(.decision) \(.decided_by) \(.model)"' "$TRASH/out")"
expect_code 1 'token budget spent: stop' -- env LONGHAUL_BUDGET_TOKENS=9000 judge -c 3 -g make
expect_eq 'the model was not asked again' 1 "$(grep -c . "$TRASH/mock.log")"
expect_eq 'the verdict says how much was spent' 'true true' \
	"$(jq -r '"\(.facts.usage.run.tokens > 9000) \(.facts.usage.run.cost_usd >= 2)"' "$LONGHAUL_BOARD/verdicts/3.json")"

expect_code 2 'a model that answers no valid verdict: error' -- \
	judge -c cycle-bad -a 2 -G 'the goal of cycle-bad' -g make
expect_eq 'no verdict written on error' '' "$(ls "$LONGHAUL_BOARD/verdicts" | grep bad)"
expect_code 1 'with -F the green gate decides: stop' -- \
	judge -F -c cycle-bad -a 1 -G 'the goal of cycle-bad' -g make
OPENAI_BASE_URL=http://127.0.0.1:9/v1 \
	expect_code 2 'a model that cannot be reached: error' -- judge -c 4 -g make
