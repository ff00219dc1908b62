#!/bin/sh
# two publishers of one title in one area: exactly one wins, however they
# interleave; a name is taken over only when its task failed for good,
# was given up, or never appeared for longer than the abandon time
. "$(dirname "$0")/lib.sh"
plan 10
board-init >/dev/null
pairs=200

i=0
while [ $i -lt $pairs ]; do
	( task-publish -a race "Title $i" >/dev/null 2>"$TRASH/e.$i.a"; echo $? >"$TRASH/rc.$i.a" ) &
	( task-publish -a race "Title $i" >/dev/null 2>"$TRASH/e.$i.b"; echo $? >"$TRASH/rc.$i.b" ) &
	i=$((i + 1))
	[ $((i % 8)) -ne 0 ] || wait
done
wait
both=0 i=0
while [ $i -lt $pairs ]; do
	[ "$(cat "$TRASH/rc.$i.a" "$TRASH/rc.$i.b" | sort | tr -d '\n')" = 03 ] || both=$((both + 1))
	i=$((i + 1))
done
expect_eq 'of every racing pair one published and one was refused (3)' 0 "$both"
expect_eq 'one task per title' "$pairs" "$(task-ls -j -a race | jq -s 'map(.title) | unique | length')"
expect_eq 'and no more' "$pairs" "$(task-ls -j -a race | jq -s length)"

# a publisher that took the name and died before writing its task
expect_code 0 'a first publish' -- task-publish -i first 'Taken'
h=$(grep -lx first "$LONGHAUL_BOARD"/names/* | head -n 1)
printf 'ghost\n' >"$TRASH/g"
task-update -V 1 -r 'gone' cancel first
# the name is free now (failed for good); a publisher takes generation 2
# and "dies" before writing: its name without a task
ln "$TRASH/g" "$h.2"
expect_code 3 'a name whose task is not written yet is not taken over' -- task-publish 'Taken'
expect_match 'saying whose it is' "^task-publish: title 'Taken': duplicate of task ghost in area ''$" "$TRASH/err"
touch -d '@'$(( $(stat -c %Y "$h.2") - 700 )) "$h.2"
expect_code 0 'once older than the abandon time it is' -- task-publish -i third 'Taken'
expect_eq 'as a new generation, the old ones kept' "first ghost third" \
	"$(cat "$h" "$h.2" "$h.3" | tr '\n' ' ' | sed 's/ $//')"

# an edit that renames gives the name back
task-update -V 1 -e '{"title":"Renamed"}' edit third
expect_code 0 'a renamed task gives its title back' -- task-publish -i fourth 'Taken'
expect_code 3 'and holds its new one' -- task-publish 'Renamed'
