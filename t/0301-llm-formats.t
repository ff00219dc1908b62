#!/bin/sh
# llm-call against llm-mock: both wire formats, streamed and not, text and
# tool calls assembled from fragments, conversations, the usage log.
. "$(dirname "$0")/lib.sh"
LONGHAUL_STATE=$TRASH/state
export LONGHAUL_STATE

cat >"$TRASH/rules" <<'R'
{"match":{"contains":["BADARGS"]},"reply":{"tool_calls":[{"id":"t9","name":"bash","arguments":"{\"command\": \"ls"}]}}
{"match":{"contains":["TOOL"],"turn":1},"chunk":3,"reply":{"text":"I will build.","tool_calls":[{"id":"c1","name":"bash","arguments":{"command":"make -j2 && echo \"done ✓\""}},{"id":"c2","name":"read","arguments":{"path":"a b.txt"}}]}}
{"match":{"contains":["TOOL"],"turn":2},"reply":{"text":"built: $1"},"capture":"\"(exit [0-9]+)"}
{"match":{"contains":["TASK-"]},"capture":"TASK-([0-9]+)","reply":{"text":"task $1 done"}}
{"match":{},"chunk":2,"reply":{"text":"héllo wörld — ünïcode split across chunks"}}
R
start_mock "$TRASH/rules"
printf 'héllo wörld — ünïcode split across chunks\n' >"$TRASH/hello"

plan 24
for p in openai:gpt-4o-mini anthropic:claude-haiku-4-5; do
	for s in '' -N; do
		expect_code 0 "$p ${s:-stream}: text" -- llm-call $s -m $p hi
		expect_file "$p ${s:-stream}: text printed whole" "$TRASH/hello" "$TRASH/out"
		expect_code 0 "$p ${s:-stream}: tool calls" -- llm-call $s -j -m $p TOOL
		jq -c '[.text, .tool_calls, .stop_reason, .provider, (.usage.input_tokens > 0), .attempts]' \
			"$TRASH/out" >"$TRASH/got"
		printf '%s\n' '["I will build.",[{"id":"c1","name":"bash","arguments":{"command":"make -j2 && echo \"done ✓\""}},{"id":"c2","name":"read","arguments":{"path":"a b.txt"}}],"tool_calls","'"${p%%:*}"'",true,1]' >"$TRASH/want"
		expect_file "$p ${s:-stream}: normalized response" "$TRASH/want" "$TRASH/got"
	done
done

# a whole conversation: the tool result goes back in each format
for p in openai:m anthropic:m; do
	cat >"$TRASH/conv" <<'C'
{"system":"be brief","messages":[{"role":"user","content":"TOOL"},
 {"role":"assistant","content":"","tool_calls":[{"id":"c1","name":"bash","arguments":{"command":"make"}}]},
 {"role":"tool","tool_call_id":"c1","content":"exit 0"}],
 "tools":[{"name":"bash","description":"run","parameters":{"type":"object"}}]}
C
	expect_code 0 "$p: conversation with a tool result" -- sh -c "llm-call -C -j -m $p <'$TRASH/conv'"
	expect_eq "$p: turn 2 reply" "built: exit 0" "$(jq -r .text "$TRASH/out")"
done

expect_code 0 "arguments that are not JSON" -- llm-call -j -m openai:m BADARGS
expect_eq "kept raw, and said so" '"{\"command\": \"ls" true' \
	"$(jq -c '.tool_calls[0] | (.arguments_raw|tojson) + " " + (has("arguments_error")|tostring)' "$TRASH/out" | jq -r .)"

# concurrent agents get the reply meant for them; the usage log says who asked
for i in 1 2 3 4 5; do
	LONGHAUL_TASK=T$i LONGHAUL_AGENT=a$i llm-call -r worker -m openai:m "do TASK-$i" >"$TRASH/c$i" &
	pids="${pids:-} $!"
done
# shellcheck disable=SC2086
wait $pids
expect_eq "captured replies" "task 1 done task 2 done task 3 done task 4 done task 5 done" \
	"$(cat "$TRASH"/c1 "$TRASH"/c2 "$TRASH"/c3 "$TRASH"/c4 "$TRASH"/c5 | tr '\n' ' ' | sed 's/ $//')"
jq -r 'select(.task != null) | [.role, .task, .agent, .outcome] | join(" ")' "$TRASH"/state/usage/*.jsonl | sort >"$TRASH/got"
printf 'worker T%s a%s ok\n' 1 1 2 2 3 3 4 4 5 5 >"$TRASH/want"
expect_file "usage lines name role, task and agent" "$TRASH/want" "$TRASH/got"
