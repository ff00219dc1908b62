#!/bin/sh
# The demo end to end, checked by its outcome: every task done exactly
# once, one commit per work task on main, the gate green, the verdict stop.
. "$(dirname "$0")/lib.sh"
for tool in llm-mock llm-call agent-step longhaul-planner longhaul-worker judge; do
	command -v $tool >/dev/null 2>&1 || skip_all "$tool is not built"
done
plan 9

demo=$TRASH/demo
start=$(date +%s)
LONGHAUL_DEMO_DIR=$demo sh "$TOP/examples/demo/run" >"$TRASH/out" 2>"$TRASH/err"
expect_eq 'the demo exits 0' 0 $?
took=$(( $(date +%s) - start ))
[ "$took" -lt 90 ] && ok "it took ${took} s" || not_ok "it took ${took} s"
board=$demo/board repo=$demo/minilib.git

task-ls -b "$board" -j >"$TRASH/tasks"
expect_eq 'six work tasks and two planning tasks, all done' '6 2 done' \
	"$(jq -rs '"\(map(select(.kind == "work")) | length) \(map(select(.kind == "plan")) | length) \(map(.state) | unique | join(","))"' "$TRASH/tasks")"
jq -r .id "$TRASH/tasks" | task-show -b "$board" -H >"$TRASH/history"
expect_eq 'each task done exactly once' 'true' \
	"$(jq -s 'map(select(.event == "done")) | group_by(.id) | (length == 8 and all(length == 1))' "$TRASH/history")"
expect_eq 'the parser was planned by a sub-planner, in its area' 'src/parse src/parse' \
	"$(jq -rs --arg p "$(jq -r 'select(.kind == "plan" and .area == "src/parse") | .id' "$TRASH/tasks")" \
	'map(select(.parent == $p) | .area) | join(" ")' "$TRASH/tasks")"

first=$(git --git-dir="$repo" rev-list --max-parents=0 main)
git --git-dir="$repo" log --format='%(trailers:key=Longhaul-Task,valueonly)' "$first..main" |
	sed '/^$/d' | sort >"$TRASH/trailers"
jq -r 'select(.kind == "work") | .id' "$TRASH/tasks" | sort >"$TRASH/work"
expect_file 'one commit per work task, each naming its task once' "$TRASH/work" "$TRASH/trailers"
expect_eq 'no other commits' 6 "$(git --git-dir="$repo" rev-list --count "$first..main")"

verdict=$(ls "$board"/verdicts/*.json | tail -n 1)
expect_eq 'the verdict: stop, goal met, gate green, on the tip of main' \
	"stop true pass $(git --git-dir="$repo" rev-parse main)" \
	"$(jq -r '"\(.decision) \(.goal_met) \(.gate) \(.commit)"' "$verdict")"
expect_match 'the demo says what happened' '^Verdict of the judge' "$TRASH/out"
