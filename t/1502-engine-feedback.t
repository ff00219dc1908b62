#!/bin/sh
# A verification failure goes back to the same session of the CLI (its
# resume), with the command's output; the CLI fixes it; the fix lands
# with the last note.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/engine.sh"
plan 10
board-init >/dev/null
make_project
agent=w1
export LONGHAUL_AGENT=$agent
: >"$TRASH/rules.jsonl"
for e in claude codex; do
	api=$(engine_api $e)
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"api":"$api","contains":["add five with $e"],"turn":1},"reply":{"tool_calls":$(engine_shell $e "echo ${e}fiv >>list.txt")}}
{"match":{"api":"$api","contains":["add five with $e"],"turn":2},"reply":{"text":"added five"}}
{"match":{"api":"$api","contains":["add five with $e","failed","no ${e}five"],"turn":3},"reply":{"tool_calls":$(engine_shell $e "sed -i s/^${e}fiv\$/${e}five/ list.txt")}}
{"match":{"api":"$api","contains":["add five with $e"],"turn":4},"reply":{"text":"added five, spelt right"}}
JSON
done
start_mock
for e in claude codex; do
	why=$(engine_skip $e)
	if [ -n "$why" ]; then
		for i in 1 2 3 4 5; do ok "# SKIP $e: $why"; done
		continue
	fi
	git --git-dir="$TRASH/remote.git" show main:list.txt >"$TRASH/before"
	id=$(task-publish -v "grep -qx ${e}five list.txt || { echo no ${e}five; exit 1; }" "add five with $e")
	LONGHAUL_WORKER_ENGINE=$e LONGHAUL_MODEL=$(engine_model $e) \
		expect_code 0 "$e: the worker gets the task done" -- \
		longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"
	tr=$(ls "$TRASH/work/transcripts/$id".*.jsonl)
	jq -r 'select(.type == "user" and .feedback) | .content' "$tr" >"$TRASH/fb"
	expect_match "$e: it was told the verification failed, with the output" "^no ${e}five\$" "$TRASH/fb"
	expect_eq "$e: the feedback went to the same session" "null $(jq -r 'select(.session) | .session' "$tr" | sort -u)" \
		"$(jq -r 'select(.start) | .start.resume' "$tr" | tr '\n' ' ' | sed 's/ $//')"
	{ cat "$TRASH/before"; echo ${e}five; } >"$TRASH/want"
	remote_show main:list.txt >"$TRASH/got"
	expect_file "$e: the fixed change landed" "$TRASH/want" "$TRASH/got"
	expect_eq "$e: with the last note" "added five, spelt right" "$(task-show "$id" | jq -r .result.note)"
done
