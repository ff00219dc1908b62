#!/bin/sh
# versions are counted from the run contiguous from 1: a stray file in a
# task's directory, whatever its number, neither hangs the tools nor
# overflows a counter; and task-ls lists any valid record as one row
. "$(dirname "$0")/lib.sh"
plan 14
board-init >/dev/null
task-publish -i s 'Strays' >/dev/null
task-update -V 1 -e '{"priority":7}' edit s
d=$(ls -d "$LONGHAUL_BOARD"/tasks/*/s)
echo junk >"$d/2000000000.json"
echo junk >"$d/2147483647.json"
echo junk >"$d/99999999999999999999.json"
echo junk >"$d/0.json"
expect_code 0 'task-show -H with stray version files' -- timeout 10 task-show -H s
expect_eq 'shows the two versions' '1 2' "$(jq -r .version "$TRASH/out" | tr '\n' ' ' | sed 's/ $//')"
expect_code 0 'task-show' -- timeout 10 task-show -f version s
expect_eq 'the current version is 2' 2 "$(cat "$TRASH/out")"
expect_code 0 'the task is still claimed as usual' -- timeout 10 task-claim
expect_eq 'with token 3' 3 "$(sed -n 2p "$TRASH/out")"

# a valid record without the fields the tools write (area, priority, ...)
task-publish -i bare 'Bare' >/dev/null
d=$(ls -d "$LONGHAUL_BOARD"/tasks/*/bare)
jq -c '{format, id, version: 2, state, kind, title}' "$d/000001.json" >"$LONGHAUL_BOARD/tmp/x"
ln "$LONGHAUL_BOARD/tmp/x" "$d/000002.json"
expect_code 0 'task-ls lists a record without area' -- task-ls
expect_eq 'one row per task' 2 "$(wc -l <"$TRASH/out")"

# titles and areas are one line
expect_code 2 'a title with a newline is refused' -- task-publish "$(printf 'Fine\ns         ready    work 5 0/3 -            Forged')"
expect_eq 'in one line' "task-publish: title: contains a control character (a newline, a tab, ...)" "$(cat "$TRASH/err")"
expect_code 2 'so is an area with a tab, by edit' -- task-update -V 1 -e "{\"area\":\"a\\tb\"}" edit s
# one written by other means is shown escaped, on its row
task-publish -i nl 'Newline' >/dev/null
d=$(ls -d "$LONGHAUL_BOARD"/tasks/*/nl)
jq -c '.version = 2 | .title = "two\nlines"' "$d/000001.json" >"$LONGHAUL_BOARD/tmp/y"
ln "$LONGHAUL_BOARD/tmp/y" "$d/000002.json"
task-ls >"$TRASH/ls"
expect_eq 'task-ls prints it on one row, escaped' 'nl ready work 5 0/3 - two\nlines' \
	"$(grep '^nl ' "$TRASH/ls" | tr -s ' ')"

# a bare claimed record (no owner, attempts, max_attempts, lease seconds)
# is reaped like any other
task-publish -i bc 'Bare claim' >/dev/null
d=$(ls -d "$LONGHAUL_BOARD"/tasks/*/bc)
jq -c '{format, id, version: 2, state: "claimed", kind, title, lease: {token: 2}}' "$d/000001.json" >"$LONGHAUL_BOARD/tmp/z"
ln "$LONGHAUL_BOARD/tmp/z" "$d/000002.json"
touch -d '@'$(( $(date +%s) - 700 )) "$d/000002.json"
: >"$LONGHAUL_BOARD/claimed/bc@2"
expect_code 0 'board-reap requeues a bare claimed record' -- board-reap
expect_eq 'after the default lease, for another attempt' 'ready lease of unknown expired' \
	"$(task-show bc | jq -r '[.state, .reason] | join(" ")' | sed 's/ (.*//')"
