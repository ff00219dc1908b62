#!/bin/sh
# Tool calls in odd shapes, in replies and in transcripts sent back: an
# Anthropic tool_use without "input", a call with neither arguments nor
# raw arguments, a call whose invalid JSON arguments were kept as text.
# Each gets {} as its arguments on the wire, and nothing leaks per call
# (which the sanitizer run of CI, with leak detection, checks: agent-step
# -A and llm-mock live long).
. "$(dirname "$0")/lib.sh"
LONGHAUL_STATE=$TRASH/state
LONGHAUL_LLM_ATTEMPTS=1
export LONGHAUL_STATE LONGHAUL_LLM_ATTEMPTS
cat >"$TRASH/rules.jsonl" <<'R'
{"match":{"model":"noinput"},"reply":{"raw":"{\"type\":\"message\",\"content\":[{\"type\":\"tool_use\",\"id\":\"toolu_1\",\"name\":\"bash\"}],\"stop_reason\":\"tool_use\",\"usage\":{\"input_tokens\":5,\"output_tokens\":3}}","content_type":"application/json"}}
{"match":{"api":"openai","contains":"\"id\":\"c1\",\"type\":\"function\",\"function\":{\"name\":\"bash\",\"arguments\":\"{}\"}"},"reply":{"tool_calls":[{"id":"s1","name":"submit","arguments":{"note":"ok"}}]}}
{"match":{"api":"anthropic","contains":"{\"type\":\"tool_use\",\"id\":\"c1\",\"name\":\"bash\",\"input\":{}}"},"reply":{"tool_calls":[{"id":"s1","name":"submit","arguments":{"note":"ok"}}]}}
{"match":{"api":"openai","contains":"\"arguments\":\"{\\\"command\\\": \\\"ls\""},"reply":{"tool_calls":[{"id":"s1","name":"submit","arguments":{"note":"ok"}}]}}
{"fault":"400"}
R
start_mock
mkdir "$TRASH/wt"

plan 6
expect_code 0 "anthropic tool_use without input" -- llm-call -N -j -m anthropic:noinput hi
expect_eq "its arguments are {}" '{"id":"toolu_1","name":"bash","arguments":{}}' "$(jq -c '.tool_calls[0]' "$TRASH/out")"

# a transcript whose first call has no arguments, or invalid ones kept
transcript() {
	cat <<T
{"type":"system","content":"You are a worker."}
{"type":"user","content":"# Task t1: T"}
{"type":"assistant","content":"","tool_calls":[$1],"action":{"tool":"bash","id":"c1","error":"Format error: bash needs a command"}}
{"type":"tool","tool_call_id":"c1","content":"Format error: bash needs a command","format_error":true}
T
}
for p in openai anthropic; do
	transcript '{"id":"c1","name":"bash"}' >"$TRASH/tr-$p-none.jsonl"
	LONGHAUL_MODEL=$p:m expect_code 1 "$p: a call without arguments is sent with {}" -- \
		agent-step -T "$TRASH/tr-$p-none.jsonl" -d "$TRASH/wt"
done
transcript '{"id":"c1","name":"bash","arguments_raw":"{\"command\": \"ls","arguments_error":"not valid JSON"}' >"$TRASH/tr-raw.jsonl"
LONGHAUL_MODEL=anthropic:m expect_code 1 "anthropic: a call with invalid arguments is sent with {}" -- \
	agent-step -T "$TRASH/tr-raw.jsonl" -d "$TRASH/wt"
transcript '{"id":"c1","name":"bash","arguments_raw":"{\"command\": \"ls","arguments_error":"not valid JSON"}' >"$TRASH/tr-raw2.jsonl"
LONGHAUL_MODEL=openai:m expect_code 1 "openai: invalid arguments are sent as they came" -- \
	agent-step -T "$TRASH/tr-raw2.jsonl" -d "$TRASH/wt"
