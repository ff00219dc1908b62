#!/bin/sh
# a task with dependencies becomes claimable only once they are done
. "$(dirname "$0")/lib.sh"
plan 9
board-init >/dev/null
task-publish -i base 'Base' >/dev/null
task-publish -i lib 'Library' >/dev/null
task-publish -i app -d base -d lib 'App on both' >/dev/null

expect_eq 'the dependent waits' 'waiting' "$(task-ls -j | jq -r 'select(.id=="app").shown_state')"
done_one() {
	task-claim >"$TRASH/c" || return 1
	id=$(sed -n 1p "$TRASH/c")
	task-update -t "$(sed -n 2p "$TRASH/c")" done "$id" || return 1
	echo "$id"
}
first=$(done_one)
expect_eq 'one dependency done' 0 $?
task-claim >"$TRASH/c"
expect_eq 'the other is claimed, never the dependent' 'base lib' \
	"$(printf '%s\n' "$first" "$(sed -n 1p "$TRASH/c")" | sort | tr '\n' ' ' | sed 's/ $//')"
expect_code 1 'while one dependency is claimed, nothing is claimable' -- task-claim
task-update -t "$(sed -n 2p "$TRASH/c")" -r 'gave up' fail "$(sed -n 1p "$TRASH/c")"
expect_code 0 'requeued dependency claimed again' -- task-claim
cp "$TRASH/out" "$TRASH/c"
expect_code 0 'and done' -- task-update -t "$(sed -n 2p "$TRASH/c")" done "$(sed -n 1p "$TRASH/c")"
expect_code 0 'now the dependent is claimable' -- task-claim
expect_eq 'it is the dependent' app "$(sed -n 1p "$TRASH/out")"
expect_code 4 'a dependency on a missing task is refused at publish' -- task-publish -d nosuch 'Orphan'
