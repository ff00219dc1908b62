#!/bin/sh
# longhaul-planner with an agent CLI as its engine: the board is not in
# the CLI's sandbox (t/1507); its shell tool reaches it only through the
# planner's tools (engine-run -X, performed outside the sandbox as
# agent-step performs them), within their bounds: what it publishes
# hangs under the plan task, in its area, and nothing outside the area;
# bash (which has no command: it would run outside the sandbox) is not
# one of them.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/engine.sh"
plan 18
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
	cmd="engine-run -X publish '{\"tasks\":[{\"title\":\"escape for $e\",\"area\":\"src\"}]}'; engine-run -X publish '{\"tasks\":[{\"title\":\"tidy lib for $e\",\"area\":\"lib\"}]}'; touch \"\$LONGHAUL_BOARD/forged-$e\"; engine-run -X bash '{\"command\":\"touch $TRASH/outside-$e\"}'; engine-run -X show '{}'"
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
		for i in 1 2 3 4 5 6 7; do ok "# SKIP $e: $why"; done
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
	# the command's result is written when its last part is done, after
	# the publish that the wait above saw: wait for the session's end
	wait_for 60 '[ -n "$(jq -r "select(.action.tool == \"submit\") | .type" "$tr")" ]' ||
		diag "$e: the session did not end: $(tail -c 600 "$tr")"
	jq -r 'select(.type == "tool") | .content' "$tr" >"$TRASH/$e.tools"
	expect_match "$e: the tool refused the task outside its area" \
		"^task-publish: line 1: area 'src': outside this planner's area 'lib'" "$TRASH/$e.tools"
	expect_eq "$e: and nothing of it reached the board" "" "$(task-ls -j | jq -r "select(.title == \"escape for $e\") | .id")"
	expect_eq "$e: its shell could not write the board" "" "$(ls "$LONGHAUL_BOARD/forged-$e" 2>/dev/null)"
	expect_eq "$e: bash is not a tool of the harness" "bash: no such tool of the harness /" \
		"$(jq -r 'select(.type == "tool") | .content' "$tr" | grep -o '^bash: no such tool of the harness') /$(ls "$TRASH/outside-$e" 2>/dev/null)"
	expect_match "$e: a missing argument is said" '^show: missing argument id' "$TRASH/$e.tools"
	kill $p
	wait $p 2>/dev/null
	# the plan waits on its task; given back, it must not go to the next planner
	task-update -V "$(task-show "plan-$e" | jq -r .version)" -r "the test is over" cancel "plan-$e" >/dev/null
done
# outside a run there are no tools; a request must be a JSON object
expect_code 2 "-X without the harness's socket: usage" -- env -u LONGHAUL_TOOLS engine-run -X tasks '{}'
expect_match "says why" '^engine-run: -X tasks: no tools of the harness here' "$TRASH/err"
LONGHAUL_TOOLS=$TRASH/none expect_code 2 "-X with arguments that are not a JSON object: usage" -- engine-run -X tasks '[1]'
LONGHAUL_TOOLS=$TRASH/none expect_code 8 "-X when the harness cannot be reached: error" -- engine-run -X tasks '{}'
