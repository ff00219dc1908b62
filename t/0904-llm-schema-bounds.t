#!/bin/sh
# The schema's bounds are numbers from the caller's file: compared as
# numbers, a negative one is not cast into a huge size.
. "$(dirname "$0")/lib.sh"
LONGHAUL_STATE=$TRASH/state
export LONGHAUL_STATE
cat >"$TRASH/rules.jsonl" <<'R'
{"match":{"model":"str"},"reply":{"text":"\"abc\""}}
{"match":{"model":"arr"},"reply":{"text":"[1]"}}
R
start_mock

plan 5
expect_code 0 "minLength -1: any length" -- llm-call -m openai:str -S '{"type":"string","minLength":-1}' x
expect_code 6 "maxLength -1: no length" -- llm-call -m openai:str -S '{"type":"string","maxLength":-1}' x
expect_code 6 "minItems 1.5: one item is too few" -- llm-call -m openai:arr -S '{"type":"array","minItems":1.5}' x
expect_code 0 "maxItems 1.5: one item is fine" -- llm-call -m openai:arr -S '{"type":"array","maxItems":1.5}' x
expect_code 0 "a bound that is not a number: no bound" -- llm-call -m openai:str -S '{"type":"string","maxLength":"3"}' x
