#!/bin/sh
# longhaul-planner with an agent CLI as its engine: the board is not in
# the CLI's sandbox (t/1507); its shell tool reaches it only through the
# planner's tools (engine-run -X, performed outside the sandbox as
# agent-step performs them), within their bounds: what it publishes
# hangs under the plan task, in its area, and nothing outside the area.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/engine.sh"
plan 10
git init -q --bare "$TRASH/repo.git"
git init -q "$TRASH/src"
(cd "$TRASH/src" && mkdir lib && echo a >lib/a.c && git add . && git commit -qm init &&
 git push -q ../repo.git HEAD:main)
board-init >/dev/null
# a command as a JSON string's contents
json_escape() { jq -n --arg c "$1" '$c' | sed 's/^"//; s/"$//'; }
: >"$TRASH/rules.jsonl"
for e in claude codex; do
	api=$(engine_api $e)
	cmd="engine-run -X publish '{\"tasks\":[{\"title\":\"escape for $e\",\"area\":\"src\"}]}'; engine-run -X publish '{\"tasks\":[{\"title\":\"tidy lib for $e\",\"area\":\"lib\"}]}'; touch \"\$LONGHAUL_BOARD/forged-$e\""
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"api":"$api","contains":["plan with $e"],"turn":1},"reply":{"tool_calls":$(engine_shell $e "$(json_escape "$cmd")")}}
{"match":{"api":"$api","contains":["plan with $e"]},"reply":{"text":"published tidy lib for $e"}}
JSON
done
start_mock
export LONGHAUL_POLL=1
for e in claude codex; do
	why=$(engine_skip $e)
	if [ -n "$why" ]; then
		for i in 1 2 3 4 5; do ok "# SKIP $e: $why"; done
		continue
	fi
	task-publish -k plan -a lib -i "plan-$e" "plan with $e" >/dev/null
	LONGHAUL_PLANNER_ENGINE=$e LONGHAUL_MODEL=$(engine_model $e) LONGHAUL_AGENT=p-$e \
		longhaul-planner -1 -R "$TRASH/repo.git" -W "$TRASH" 2>"$TRASH/$e.err" &
	p=$!
	at_exit "kill $p"
	wait_for 60 '[ "$(task-ls -P "plan-$e" | wc -l)" -eq 1 ]' &&
		ok "$e: the planner's CLI published a task" ||
		{ not_ok "$e: the planner's CLI published a task"; diag "$(cat "$TRASH/$e.err")"; }
	expect_eq "$e: under its plan, in its area" "work lib tidy lib for $e" \
		"$(task-ls -P "plan-$e" -j | jq -r '"\(.kind) \(.area) \(.title)"')"
	tr=$(ls "$LONGHAUL_BOARD"/transcripts/*/"p-$e.plan-$e".*.jsonl | head -n 1)
	expect_match "$e: the tool refused the task outside its area" \
		'escape for '"$e"'.*(outside|area)' "$tr"
	expect_eq "$e: and nothing of it reached the board" "" "$(task-ls -j | jq -r "select(.title == \"escape for $e\") | .id")"
	expect_eq "$e: its shell could not write the board" "" "$(ls "$LONGHAUL_BOARD/forged-$e" 2>/dev/null)"
	kill $p
	wait $p 2>/dev/null
	# the plan waits on its task; given back, it must not go to the next planner
	task-update -V "$(task-show "plan-$e" | jq -r .version)" -r "the test is over" cancel "plan-$e" >/dev/null
done
