#!/bin/sh
# Structured output checked against its schema; the budget breaker;
# llm-usage sums; config file, environment and option precedence.
. "$(dirname "$0")/lib.sh"
LONGHAUL_STATE=$TRASH/state
export LONGHAUL_STATE

cat >"$TRASH/rules" <<'R'
{"match":{"contains":["GOOD"]},"reply":{"text":"{\"verdict\":\"go\",\"score\":7}"}}
{"match":{"contains":["BAD"]},"reply":{"text":"{\"verdict\":\"maybe\"}"}}
{"match":{},"reply":{"text":"model $1","usage":{"input_tokens":100,"output_tokens":50}},"capture":"\"model\":\"([^\"]*)\""}
R
start_mock "$TRASH/rules"
cat >"$TRASH/schema" <<'S'
{"type":"object","required":["verdict","score"],"additionalProperties":false,
 "properties":{"verdict":{"enum":["go","stop"]},"score":{"type":"integer","minimum":0}}}
S

plan 18
for m in openai:m anthropic:m; do
	expect_code 0 "$m: reply matches the schema" -- llm-call -j -S "$TRASH/schema" -m $m GOOD
	expect_eq "$m: parsed value in .json" '{"verdict":"go","score":7}' "$(jq -c .json "$TRASH/out")"
	expect_code 6 "$m: reply does not match" -- llm-call -j -S "$TRASH/schema" -m $m BAD
done
expect_match "the violation is named" 'missing required \\"score\\"|not one of the enum' "$TRASH/out"

# config file < environment < option
cat >"$TRASH/config.json" <<C
{"models":{"big":{"provider":"anthropic","model":"big-model"},"small":{"provider":"openai","model":"small-model","max_tokens":99}},
 "roles":{"planner":"big","worker":"small","judge":"openai:judge-model"},"in_flight":4}
C
LONGHAUL_CONFIG=$TRASH/config.json
export LONGHAUL_CONFIG
expect_code 0 "role from config" -- llm-call -r planner x
expect_eq "planner: the alias's model" "model big-model" "$(cat "$TRASH/out")"
LONGHAUL_WORKER_MODEL=big expect_code 0 "environment beats config" -- llm-call -r worker x
expect_eq "worker from the environment" "model big-model" "$(cat "$TRASH/out")"
LONGHAUL_MODEL=small expect_code 0 "option beats environment" -- llm-call -r judge -m openai:opt-model x
expect_eq "model from -m" "model opt-model" "$(cat "$TRASH/out")"
expect_code 2 "no such alias: usage error" -- llm-call -m nosuch x

# budget: a price table where the model "pricey" costs $1000/M input and
# $2000/M output tokens
unset LONGHAUL_CONFIG
mkdir "$TRASH/share"
echo '{"pricey": {"input": 1000, "output": 2000, "cache_read": 0, "cache_write": 0}}' >"$TRASH/share/prices.json"
LONGHAUL_SHARE=$TRASH/share
expect_code 0 "a priced call" -- llm-call -j -m openai:pricey x
n=$(wc -l <"$TRASH/mock.log")
LONGHAUL_BUDGET_USD=0.1 expect_code 5 "budget spent: exit 5" -- llm-call -m openai:pricey x
expect_eq "nothing was sent" "$n" "$(wc -l <"$TRASH/mock.log")"
llm-usage -g model >"$TRASH/sum"
expect_eq "llm-usage by model and total" '{"by":"model","calls":1,"cost_usd":0.2,"model":"pricey","input_tokens":100,"output_tokens":50,"cache_read_tokens":0,"cache_write_tokens":0}' "$(jq -c 'select(.model == "pricey")' "$TRASH/sum")"
