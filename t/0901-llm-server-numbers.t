#!/bin/sh
# Numbers from a server are not believed blindly: negative or absurd
# usage fails the call and is counted at what it may have cost at most
# (so the budget still trips); overflowing counts and tool call indices
# are rejected; a reply, streamed or not, has a size limit.
. "$(dirname "$0")/lib.sh"
LONGHAUL_STATE=$TRASH/state
LONGHAUL_LLM_ATTEMPTS=1
export LONGHAUL_STATE LONGHAUL_LLM_ATTEMPTS

cat >"$TRASH/rules" <<'R'
{"match": {"model": "negative"}, "reply": {"text": "cheap", "usage": {"input_tokens": -1000000, "output_tokens": -50}}}
{"match": {"model": "absurd"}, "reply": {"text": "dear", "usage": {"input_tokens": 1000000000000, "output_tokens": 5}}}
{"match": {"model": "overflow"}, "reply": {"raw": "data: {\"choices\": [{\"index\": 0, \"delta\": {\"content\": \"hi\"}, \"finish_reason\": \"stop\"}]}\n\ndata: {\"choices\": [], \"usage\": {\"prompt_tokens\": -9223372036854775807, \"completion_tokens\": 1, \"prompt_tokens_details\": {\"cached_tokens\": 9223372036854775807}}}\n\ndata: [DONE]\n\n"}}
{"match": {"model": "index"}, "reply": {"raw": "data: {\"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"index\": 2147483647, \"id\": \"call_a\", \"function\": {\"name\": \"bash\", \"arguments\": \"{}\"}}]}}]}\n\ndata: {\"choices\": [{\"index\": 0, \"delta\": {\"tool_calls\": [{\"id\": \"call_b\", \"function\": {\"name\": \"bash\", \"arguments\": \"{}\"}}]}}]}\n\ndata: {\"choices\": [{\"index\": 0, \"delta\": {}, \"finish_reason\": \"tool_calls\"}]}\n\ndata: [DONE]\n\n"}}
{"match": {"model": "big"}, "chunk": 100, "reply": {"text": "0123456789", "repeat": 1000}}
{"match": {"model": "endless"}, "reply": {"raw": "data: xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx", "repeat": 100000}}
{"match": {}, "reply": {"text": "fine", "usage": {"input_tokens": 10, "output_tokens": 2}}}
R
start_mock "$TRASH/rules"
log=$TRASH/state/usage/$(hostname).jsonl
last_log() { tail -n 1 "$log" | jq -c "$1"; }

plan 24
for p in openai anthropic; do
	expect_code 3 "$p: negative usage is a permanent error" -- llm-call -j -M 100 -m $p:negative hi
	expect_match "$p: said so" '^llm-call: impossible usage in the reply: (input|prompt)_tokens is -1000000' "$TRASH/err"
	# counted as the request's bytes and max_tokens, never below zero
	if [ "$(last_log '.input_tokens > 100 and .output_tokens == 100')" = true ]; then
		ok "$p: counted conservatively"
	else
		not_ok "$p: counted conservatively"; diag "$(tail -n 1 "$log")"
	fi
	expect_eq "$p: the reply is kept" '"cheap"' "$(jq -c .text "$TRASH/out")"
done
expect_code 3 "absurd usage is a permanent error" -- llm-call -N -M 7 -m openai:absurd hi
expect_eq "counted at the bound, not at the server's word" 7 "$(last_log .output_tokens)"
expect_code 3 "prompt - cached overflowing: rejected" -- llm-call -m openai:overflow hi
expect_match "said so" 'impossible usage in the reply: prompt_tokens is -9223372036854775807' "$TRASH/err"
if [ "$(last_log '.input_tokens >= 0 and .cache_read_tokens >= 0')" = true ]; then
	ok "no negative count logged"; else not_ok "no negative count logged"; diag "$(tail -n 1 "$log")"; fi

# the budget sees what a lying server's call may have cost, not less
rm -rf "$TRASH/state/usage"
mkdir "$TRASH/share"
echo '{"openai:negative": {"input": 1, "output": 1}, "openai:fine": {"input": 1, "output": 1}}' >"$TRASH/share/prices.json"
LONGHAUL_SHARE=$TRASH/share llm-call -M 100 -m openai:negative hi >/dev/null 2>&1
LONGHAUL_SHARE=$TRASH/share LONGHAUL_BUDGET_USD=0.0001 \
	expect_code 5 "budget spent after negative usage" -- llm-call -m openai:fine hi

rm -rf "$TRASH/state/usage"
expect_code 1 "tool call index 2147483647: a malformed reply" -- llm-call -j -m openai:index hi
expect_match "said so" 'tool call index 2147483647 out of range' "$TRASH/err"

LONGHAUL_MAX_REPLY_BYTES=3000
export LONGHAUL_MAX_REPLY_BYTES
expect_code 3 "streamed reply over the limit: permanent" -- llm-call -j -m openai:big hi
expect_match "said so" 'reply larger than 3000 bytes \(LONGHAUL_MAX_REPLY_BYTES\)' "$TRASH/err"
expect_eq "the partial reply is kept" 'true true' \
	"$(jq -r '[(.text | length) > 100 and (.text | length) < 3000, .incomplete] | map(tostring) | join(" ")' "$TRASH/out")"
expect_code 3 "anthropic too" -- llm-call -j -m anthropic:big hi
expect_code 3 "non-streamed reply over the limit" -- llm-call -N -m openai:big hi
expect_code 3 "one endless SSE line: cut at the limit" -- llm-call -m openai:endless hi
expect_eq "one request, not retried" 1 "$(jq -s '[.[] | select(.model == "endless")] | length' "$TRASH/mock.log")"
unset LONGHAUL_MAX_REPLY_BYTES
expect_code 0 "within the default limit" -- llm-call -m openai:big hi
