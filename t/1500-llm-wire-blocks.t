#!/bin/sh
# What agent CLIs and other servers send, parsed right: an Anthropic
# stream with thinking blocks and the server's own tool blocks (only
# tool_use blocks are tool calls), an OpenAI-compatible stream with its
# usage under x_groq (Groq's place), and llm-mock answering what the CLIs
# ask for (a query string on the path, count_tokens, the Responses API).
. "$(dirname "$0")/lib.sh"
LONGHAUL_STATE=$TRASH/state
export LONGHAUL_STATE
command -v jq >/dev/null || skip_all "jq is missing"
command -v curl >/dev/null || skip_all "curl is missing"
cat >"$TRASH/rules" <<'R'
{"match":{"contains":["SEARCH"]},"reply":{"thinking":"I should search first.","server_tool":{"name":"web_search","input":{"query":"longhaul"}},"text":"Found it.","tool_calls":[{"id":"c1","name":"bash","arguments":{"command":"ls"}}],"usage":{"input_tokens":100,"output_tokens":20}}}
{"match":{"contains":["SERVERONLY"]},"reply":{"server_tool":{"name":"web_search","input":{"query":"x"}},"text":"just text","usage":{"input_tokens":10,"output_tokens":2}}}
{"match":{"api":"responses","contains":["RESP"],"turn":1},"reply":{"thinking":"first a look","text":"Looking.","tool_calls":[{"id":"r1","name":"bash","arguments":{"command":"ls -l"}}],"usage":{"input_tokens":50,"output_tokens":5,"cache_read_tokens":10}}}
{"match":{"api":"responses","contains":["RESP","total 0"],"turn":2},"reply":{"text":"empty directory"}}
{"match":{"contains":["GROQ"]},"reply":{"text":"fast","usage_at":"x_groq","usage":{"input_tokens":123,"output_tokens":45}}}
{"match":{},"reply":{"thinking":"hmm","text":"plain","usage":{"input_tokens":7,"output_tokens":3}}}
R
start_mock "$TRASH/rules"
port=$(cat "$TRASH/port")
plan 19

for s in '' -N; do
	expect_code 0 "anthropic ${s:-stream}: thinking, a server tool and a tool call" -- \
		llm-call $s -j -m anthropic:claude-sonnet-4-5 SEARCH
	expect_eq "anthropic ${s:-stream}: the text without the thinking, one tool call, the usage" \
		'"Found it." [{"id":"c1","name":"bash","arguments":{"command":"ls"}}] 100 20' \
		"$(jq -c '.text, .tool_calls, .usage.input_tokens, .usage.output_tokens' "$TRASH/out" | tr '\n' ' ' | sed 's/ $//')"
done
expect_code 0 "anthropic stream: a server tool alone" -- llm-call -j -m anthropic:m SERVERONLY
expect_eq "is no tool call of ours" '"just text" [] "end"' \
	"$(jq -c '.text, (.tool_calls // []), .stop_reason' "$TRASH/out" | tr '\n' ' ' | sed 's/ $//')"

expect_code 0 "openai stream: usage under x_groq" -- llm-call -j -m openai:llama GROQ
expect_eq "is counted" "123 45" "$(jq -r '"\(.usage.input_tokens) \(.usage.output_tokens)"' "$TRASH/out")"
expect_eq "and logged" "123 45" \
	"$(tail -n 1 "$TRASH"/state/usage/*.jsonl | jq -r '"\(.input_tokens) \(.output_tokens)"')"

# llm-call speaks the Responses API too (openai-responses:MODEL)
for s in '' -N; do
	expect_code 0 "responses ${s:-stream}: text and a tool call" -- llm-call $s -j -m openai-responses:gpt-5 RESP
	expect_eq "responses ${s:-stream}: normalized" \
		'"Looking." [{"id":"r1","name":"bash","arguments":{"command":"ls -l"}}] "tool_calls" 50 10 5 "openai"' \
		"$(jq -c '.text, .tool_calls, .stop_reason, .usage.input_tokens, .usage.cache_read_tokens, .usage.output_tokens, .provider' "$TRASH/out" | tr '\n' ' ' | sed 's/ $//')"
done
cat >"$TRASH/conv" <<'C'
{"system":"be brief","messages":[{"role":"user","content":"RESP"},
 {"role":"assistant","content":"","tool_calls":[{"id":"r1","name":"bash","arguments":{"command":"ls -l"}}]},
 {"role":"tool","tool_call_id":"r1","content":"total 0"}],
 "tools":[{"name":"bash","description":"run","parameters":{"type":"object"}}]}
C
expect_code 0 "responses: a conversation with a tool result" -- sh -c "llm-call -C -j -m openai-responses:gpt-5 <'$TRASH/conv'"
expect_eq "responses: turn 2 reply" "empty directory" "$(jq -r .text "$TRASH/out")"

# llm-mock: what Claude Code and Codex send
curl -s -o "$TRASH/body" -w '%{http_code}\n' -H 'anthropic-beta: interleaved-thinking-2025-05-14' \
	-d '{"model":"m","max_tokens":10,"thinking":{"type":"enabled","budget_tokens":5},"messages":[{"role":"user","content":"hi"}]}' \
	"http://127.0.0.1:$port/v1/messages?beta=true" >"$TRASH/code"
expect_eq "llm-mock: a path with a query string, thinking asked for" '200 "thinking" "text"' \
	"$(cat "$TRASH/code") $(jq -c '.content[].type' "$TRASH/body" | tr '\n' ' ' | sed 's/ $//')"
curl -s -d '{"model":"m","messages":[{"role":"user","content":"hi"}]}' \
	"http://127.0.0.1:$port/v1/messages/count_tokens?beta=true" >"$TRASH/body"
expect_eq "llm-mock: count_tokens" number "$(jq -r '.input_tokens | type' "$TRASH/body")"
curl -s -d '{"model":"gpt-5","input":[{"role":"user","content":[{"type":"input_text","text":"hi"}]}]}' \
	"http://127.0.0.1:$port/v1/responses" >"$TRASH/body"
expect_eq "llm-mock: the Responses API" '"completed" ["reasoning","message"] "plain" 7' \
	"$(jq -c '.status, [.output[].type], .output[1].content[0].text, .usage.input_tokens' "$TRASH/body" | tr '\n' ' ' | sed 's/ $//')"
curl -s -N -d '{"model":"gpt-5","stream":true,"input":[{"role":"user","content":"hi"}]}' \
	"http://127.0.0.1:$port/v1/responses" >"$TRASH/sse"
sed -n 's/^event: //p' "$TRASH/sse" | uniq >"$TRASH/got"
cat >"$TRASH/want" <<'E'
response.created
response.in_progress
response.output_item.added
response.output_item.done
response.output_item.added
response.content_part.added
response.output_text.delta
response.output_text.done
response.content_part.done
response.output_item.done
response.completed
E
expect_file "llm-mock: the Responses API streamed, its events in order" "$TRASH/want" "$TRASH/got"
