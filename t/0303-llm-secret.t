#!/bin/sh
# The API key never shows: not in output, errors, verbose traces, the
# usage log or the server's log. Keys from a key command; no key, no call.
. "$(dirname "$0")/lib.sh"
LONGHAUL_STATE=$TRASH/state
export LONGHAUL_STATE

cat >"$TRASH/rules" <<'R'
{"match":{"model":"deny"},"fault":"401"}
{"match":{"model":"flaky"},"fault":"429","retry_after":0.05,"times":1}
{"match":{},"reply":{"text":"fine"}}
R
start_mock "$TRASH/rules"
KEY=sk-test-SECRET0123456789abcdef
OPENAI_API_KEY=$KEY ANTHROPIC_API_KEY=$KEY
export OPENAI_API_KEY ANTHROPIC_API_KEY

plan 11
: >"$TRASH/all"
for m in openai:flaky anthropic:flaky openai:ok anthropic:ok; do
	expect_code 0 "$m -v" -- llm-call -v -m $m "hello $m"
	cat "$TRASH/out" "$TRASH/err" >>"$TRASH/all"
done
expect_code 3 "401 is permanent" -- llm-call -v -j -m openai:deny hi
cat "$TRASH/out" "$TRASH/err" >>"$TRASH/all"
expect_match "the trace shows the auth header, redacted" 'Authorization: \[redacted\]' "$TRASH/all"
expect_match "and Anthropic's" 'x-api-key: \[redacted\]' "$TRASH/all"
cat "$TRASH"/state/usage/*.jsonl "$TRASH/mock.log" >>"$TRASH/all"
if grep -q SECRET "$TRASH/all"; then not_ok "key absent from outputs and logs"; grep SECRET "$TRASH/all" | head -3 | sed 's/^/# /'; else ok "key absent from outputs and logs"; fi
expect_match "the server saw an auth header" '"auth":true' "$TRASH/mock.log"

# a key from a command; not echoed either
unset OPENAI_API_KEY
LONGHAUL_KEY_COMMAND="echo $KEY" expect_code 0 "key command" -- llm-call -v -m openai:ok hi
if grep -q SECRET "$TRASH/out" "$TRASH/err"; then not_ok "key command's key absent"; else ok "key command's key absent"; fi
