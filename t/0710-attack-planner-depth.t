#!/bin/sh
# The depth of planning is counted by parents (longhaul-planner), and a
# planner at the deepest level may publish no plan task (LONGHAUL_NO_PLAN).
# Its edit tool must keep those bounds too: a task of its area made a
# plan at the deepest level, or moved to the root (or under any other
# task), would be planned again, deeper and deeper, without end.
. "$(dirname "$0")/lib.sh"
plan 7
board-init >/dev/null
task-publish -k plan -a lib -i plan-lib 'plan the library' >/dev/null
task-publish -a lib -P plan-lib -i lib-work 'tidy lib' >/dev/null
# the environment longhaul-planner gives a planner at the deepest level
planner() { LONGHAUL_AREA=lib LONGHAUL_PARENT=plan-lib LONGHAUL_NO_PLAN=1 "$@"; }
planner expect_code 3 'a planner at the deepest level cannot make a task a plan' -- \
	task-update -V 1 -e '{"kind":"plan"}' edit lib-work
expect_match 'saying why' 'no sub-planning at this depth' "$TRASH/err"
planner expect_code 3 'nor move a task to the root' -- task-update -V 1 -e '{"parent":null}' edit lib-work
expect_match 'saying why' "stay under its plan" "$TRASH/err"
planner expect_code 3 'nor under another task' -- task-update -V 1 -e '{"parent":"plan-lib","title":"x"}' edit lib-work
expect_eq 'the task is as it was' 'work plan-lib tidy lib 1' \
	"$(task-show lib-work | jq -r '"\(.kind) \(.parent) \(.title) \(.version)"')"
LONGHAUL_AREA=lib LONGHAUL_PARENT=plan-lib LONGHAUL_NO_PLAN=0 expect_code 0 \
	'above the deepest level it may, as it may publish one' -- task-update -V 1 -e '{"kind":"plan"}' edit lib-work
