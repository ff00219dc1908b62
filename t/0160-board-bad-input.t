#!/bin/sh
# bad input: one line naming tool, object and reason; a documented status;
# nothing half-written; the rest of the board keeps working
. "$(dirname "$0")/lib.sh"
plan 20
board-init >/dev/null
task-publish -i good 'Good task' >/dev/null
task-publish -i other 'Other task' >/dev/null

expect_code 2 'an id with a slash' -- task-show a/b
expect_match 'named' "^task-show: task a/b: task id may hold only" "$TRASH/err"
expect_code 2 'an id with ..' -- task-publish -i 'x..y' 'Dots'
expect_match 'named' "^task-publish: id: task id may not contain '..'" "$TRASH/err"
expect_code 2 'an id that climbs out' -- task-update -t 1 done ../good
expect_code 4 'an unknown id' -- task-show nosuch

long=$(head -c 400 /dev/zero | tr '\0' x)
expect_code 2 'an over-long title' -- task-publish "$long"
expect_eq 'one line, naming the field' 'task-publish: title: too long' "$(cat "$TRASH/err")"
expect_code 2 'invalid UTF-8 in a title' -- task-publish "$(printf 'caf\351')"
expect_eq 'one line' 'task-publish: title: not valid UTF-8' "$(cat "$TRASH/err")"
printf 'bad \377 body\n' >"$TRASH/body"
expect_code 2 'invalid UTF-8 in a body' -- task-publish -f "$TRASH/body" 'Body'
expect_code 2 'a bad commit id' -- task-update -t 1 -c 'not hex!' done good

# hand-edited and truncated records
f=$(ls "$LONGHAUL_BOARD"/tasks/*/good/000001.json)
head -c 40 "$f" >"$f.cut" && mv "$f.cut" "$f"
expect_code 5 'a truncated record is refused' -- task-show good
expect_match 'as corrupt, with where' '^task-show: task good: version 1: corrupt record: .*line 1' "$TRASH/err"
expect_code 0 'the other task still claims' -- task-claim
expect_eq 'and it is the good one' other "$(sed -n 1p "$TRASH/out")"
f=$(ls "$LONGHAUL_BOARD"/tasks/*/other/000002.json)
jq -c '.version = 7' "$f" >"$f.new" && mv "$f.new" "$f"
expect_code 5 'a hand-edited version is refused' -- task-show other
expect_match 'saying what is wrong' 'version does not match its file name' "$TRASH/err"
expect_code 5 'task-ls reports it and lists the rest' -- task-ls
expect_eq 'no temporary file left behind' '' "$(ls "$LONGHAUL_BOARD/tmp")"
