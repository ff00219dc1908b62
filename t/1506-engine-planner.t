#!/bin/sh
# longhaul-planner with an agent CLI as its engine: the CLI's shell tool
# publishes on the board it was given (-e LONGHAUL_BOARD binds it into
# the sandbox), under the plan task, in its area.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/engine.sh"
plan 4
git init -q --bare "$TRASH/repo.git"
git init -q "$TRASH/src"
(cd "$TRASH/src" && mkdir lib && echo a >lib/a.c && git add . && git commit -qm init &&
 git push -q ../repo.git HEAD:main)
board-init >/dev/null
: >"$TRASH/rules.jsonl"
for e in claude codex; do
	api=$(engine_api $e)
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"api":"$api","contains":["plan with $e"],"turn":1},"reply":{"tool_calls":$(engine_shell $e "task-publish -a lib 'tidy lib for $e'")}}
{"match":{"api":"$api","contains":["plan with $e"]},"reply":{"text":"published tidy lib for $e"}}
JSON
done
start_mock
export LONGHAUL_POLL=1
for e in claude codex; do
	why=$(engine_skip $e)
	if [ -n "$why" ]; then
		ok "# SKIP $e: $why"; ok "# SKIP $e: $why"
		continue
	fi
	task-publish -k plan -i "plan-$e" "plan with $e" >/dev/null
	LONGHAUL_PLANNER_ENGINE=$e LONGHAUL_MODEL=$(engine_model $e) LONGHAUL_AGENT=p-$e \
		longhaul-planner -1 -R "$TRASH/repo.git" -W "$TRASH" 2>"$TRASH/$e.err" &
	p=$!
	at_exit "kill $p"
	wait_for 60 '[ "$(task-ls -P "plan-$e" | wc -l)" -eq 1 ]' &&
		ok "$e: the planner's CLI published a task" ||
		{ not_ok "$e: the planner's CLI published a task"; diag "$(cat "$TRASH/$e.err")"; }
	expect_eq "$e: under its plan, in its area" "work lib tidy lib for $e" \
		"$(task-ls -P "plan-$e" -j | jq -r '"\(.kind) \(.area) \(.title)"')"
	kill $p
	wait $p 2>/dev/null
	# the plan waits on its task; given back, it must not go to the next planner
	task-update -V "$(task-show "plan-$e" | jq -r .version)" -r "the test is over" cancel "plan-$e" >/dev/null
done
