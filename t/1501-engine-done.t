#!/bin/sh
# Each agent CLI as the worker's engine, driven by llm-mock over loopback
# through llm-forward: a file changed by the CLI's own tool, verified,
# landed, done with the CLI's final reply as the note; every model call
# in the usage log, priced; the real key reaches the provider and nothing
# the CLI's tools can read holds it.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/engine.sh"
plan 18
board-init >/dev/null
make_project
agent=w1
export LONGHAUL_AGENT=$agent
sentinel=sk-sentinel-$$-do-not-leak
# the key where a careless harness would leave it: our environment, a
# file in our home, the board's config
export ANTHROPIC_API_KEY=$sentinel OPENAI_API_KEY=$sentinel
mkdir -p "$TRASH/.config" && echo "$sentinel" >"$TRASH/.config/key"
# (the probe greps for the key's pattern, not the key: its own command
# line is in /proc too)
probe='{ env; cat /proc/[0-9]*/environ /proc/[0-9]*/cmdline; cat $HOME/.config/key; cat '"$TRASH"'/.config/key; ls -R '"$LONGHAUL_BOARD"'; } >/tmp/probe 2>&1; grep -ac ANTHROPIC_API_KEY /tmp/probe; grep -ac do-not-lea[k] /tmp/probe; cp /tmp/probe probe.txt'
for e in claude codex; do
	why=$(engine_skip $e)
	if [ -n "$why" ]; then
		for i in 1 2 3 4 5 6 7 8 9; do ok "# SKIP $e: $why"; done
		continue
	fi
	api=$(engine_api $e)
	cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"api":"$api","contains":["write hello $e"],"turn":1},"reply":{"thinking":"a file, then a probe","tool_calls":$(engine_write $e hello.txt "hello from $e")}}
{"match":{"api":"$api","contains":["write hello $e"],"turn":2},"reply":{"tool_calls":$(engine_shell $e "$(printf %s "$probe" | sed 's/"/\\"/g')")}}
{"match":{"api":"$api","contains":["write hello $e"],"turn":3},"reply":{"text":"wrote hello.txt with $e"}}
JSON
	rm -rf "$TRASH/dump" && mkdir "$TRASH/dump"
	llm-mock -r "$TRASH/rules.jsonl" -P "$TRASH/port.$e" -l "$TRASH/mock.$e.log" -d "$TRASH/dump" >/dev/null 2>&1 &
	mock=$!
	at_exit "kill $mock"
	wait_for 10 '[ -s "$TRASH/port.$e" ]'
	export ANTHROPIC_BASE_URL=http://127.0.0.1:$(cat "$TRASH/port.$e") OPENAI_BASE_URL=http://127.0.0.1:$(cat "$TRASH/port.$e")/v1
	id=$(task-publish -v "grep -qx 'hello from $e' hello.txt" "write hello $e")
	LONGHAUL_WORKER_ENGINE=$e LONGHAUL_MODEL=$(engine_model $e) \
		expect_code 0 "$e: the worker gets the task done" -- \
		longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"
	expect_eq "$e: the file its tool wrote landed" "hello from $e" "$(remote_show main:hello.txt)"
	expect_eq "$e: done, its final reply the note" "done wrote hello.txt with $e" \
		"$(task-show "$id" | jq -r '.state + " " + .result.note')"
	tr=$(ls "$TRASH/work/transcripts/$id".*.jsonl)
	expect_eq "$e: the transcript has its steps: two tool calls, their results, the submit" \
		"assistant tool assistant tool submit" \
		"$(jq -r 'if .action.tool == "submit" then "submit" elif .action.tool then "assistant" elif .type == "tool" then "tool" else empty end' "$tr" | tr '\n' ' ' | sed 's/ $//')"
	calls=$(grep -c '"status":200' "$TRASH/mock.$e.log")
	expect_eq "$e: every model call in the usage log, priced, for the task" "$calls $calls" \
		"$(jq -s --arg t "$id" '[.[] | select(.task == $t and .cost_usd > 0 and .input_tokens > 0)] | length' "$LONGHAUL_BOARD"/usage/*.jsonl) $(jq -s '[.[] | select(.type == "usage")] | length' "$tr")"
	expect_match "$e: llm-usage counts it" "$(engine_model $e | cut -d: -f2)" "$(llm-usage -g model >"$TRASH/u" 2>&1; echo "$TRASH/u")"
	expect_eq "$e: the real key reached the provider, nothing else did" "yes" \
		"$(grep -l -- "$sentinel" "$TRASH"/dump/*.head >/dev/null && ! grep -L -- "$sentinel" "$TRASH"/dump/*.head | grep -q . && echo yes)"
	remote_show main:probe.txt >"$TRASH/probe"
	expect_match "$e: the probe ran (it sees the token)" 'ANTHROPIC_API_KEY|OPENAI_API_KEY' "$TRASH/probe"
	expect_eq "$e: and found no key" 0 "$(grep -ac -- "$sentinel" "$TRASH/probe")"
	kill $mock
done
