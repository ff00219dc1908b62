#!/bin/sh
# task-publish's guard rails for planners: LONGHAUL_NO_PLAN refuses
# planning tasks, LONGHAUL_PARENT is the default parent, LONGHAUL_AREA
# confines publishing to one area.
. "$(dirname "$0")/lib.sh"
plan 10
board-init >/dev/null

root=$(task-publish -k plan 'plan: the goal')
expect_code 0 'a plan task may be published without LONGHAUL_NO_PLAN' -- \
	task-publish -k plan -a lib 'plan: lib'
expect_code 3 'LONGHAUL_NO_PLAN=1 refuses -k plan' -- \
	env LONGHAUL_NO_PLAN=1 task-publish -k plan -a doc 'plan: doc'
expect_match 'and says why' 'no sub-planning' "$TRASH/err"
expect_code 3 'LONGHAUL_NO_PLAN=1 refuses kind plan in a -j batch' -- \
	sh -c 'echo "{\"title\":\"plan: tests\",\"kind\":\"plan\"}" | LONGHAUL_NO_PLAN=1 task-publish -j'
expect_code 0 'LONGHAUL_NO_PLAN=1 still publishes work' -- \
	env LONGHAUL_NO_PLAN=1 task-publish -a doc 'write the manual'
expect_code 0 'LONGHAUL_NO_PLAN=0 allows planning' -- \
	env LONGHAUL_NO_PLAN=0 task-publish -k plan -a doc 'plan: doc'

id=$(LONGHAUL_PARENT=$root task-publish 'a child')
expect_eq 'LONGHAUL_PARENT is the default parent' "$root" \
	"$(task-show "$id" | jq -r .parent)"
other=$(task-publish 'other parent')
id=$(LONGHAUL_PARENT=$root task-publish -P "$other" 'an explicit parent')
expect_eq '-P overrides LONGHAUL_PARENT' "$other" \
	"$(task-show "$id" | jq -r .parent)"

expect_code 3 'LONGHAUL_AREA refuses another area' -- \
	env LONGHAUL_AREA=lib task-publish -a doc 'outside'
expect_code 0 'LONGHAUL_AREA allows what is under it' -- \
	env LONGHAUL_AREA=lib task-publish -a lib/io 'inside'
