#!/bin/sh
# The budget cannot be reset: the run's total never goes back when a
# usage log is truncated, replaced or removed (and agents, sandboxed,
# cannot reach the logs: t/0701).
. "$(dirname "$0")/lib.sh"
command -v llm-mock >/dev/null 2>&1 || skip_all "llm-mock is not built"
plan 6
board-init >/dev/null
cat >"$TRASH/rules.jsonl" <<'RULES'
{"match":{},"reply":{"text":"fine","usage":{"input_tokens":1000,"output_tokens":500}}}
RULES
start_mock
export LONGHAUL_MODEL=openai:mock
log=$LONGHAUL_BOARD/usage/$(hostname).jsonl
tokens() { llm-usage -t | jq -r .tokens; }
llm-call hi >/dev/null && llm-call hi >/dev/null
expect_eq 'two calls spent 3000 tokens' 3000 "$(tokens)"
: >"$log"
expect_eq 'the log truncated: still 3000' 3000 "$(tokens)"
llm-call hi >/dev/null
expect_eq 'a call after it counts on top' 4500 "$(tokens)"
rm -f "$log"
expect_eq 'the log removed: still 4500' 4500 "$(tokens)"
export LONGHAUL_BUDGET_TOKENS=4000
expect_code 5 'and the budget stays spent' -- llm-call hi
printf '{"input_tokens":1}\n' >"$log.new" && mv "$log.new" "$log"
expect_eq 'the log replaced: never less' 4501 "$(tokens)"
