#!/bin/sh
# A record is judged by one rule, lh_record_check, in the tools and in
# board-fsck alike. Its kind names a directory of ready/, so a kind that
# is not work or plan (a hand edit, or anybody who can write the board)
# makes the record corrupt: no tool follows it out of the board, where
# ready/../../escape once made one ($TRASH/escape/5/SHARD/bad@2).
. "$(dirname "$0")/lib.sh"
command -v jq >/dev/null || skip_all "jq is missing"
plan 9
board-init >/dev/null
task-publish -i good 'Good' >/dev/null
task-publish -i bad 'Bad' >/dev/null
d=$(ls -d "$LONGHAUL_BOARD"/tasks/*/bad)
jq -c '.version = 2 | .kind = "../../escape"' "$d/000001.json" >"$LONGHAUL_BOARD/tmp/x"
ln "$LONGHAUL_BOARD/tmp/x" "$d/000002.json"
rm "$LONGHAUL_BOARD/tmp/x"

expect_code 5 'task-show refuses the record' -- task-show bad
expect_eq 'and says why' "task-show: task bad: version 2: corrupt record: kind is not work or plan" \
	"$(cat "$TRASH/err")"
expect_code 5 'board-reap -f reports it (exit 5) and goes on' -- board-reap -f
expect_eq 'no hint outside the board' "" "$(find "$TRASH" -name 'bad@*' ! -path "$LONGHAUL_BOARD/*")"
expect_eq 'nor one for the bad record inside it' "" "$(find "$LONGHAUL_BOARD" -name 'bad@2')"
expect_code 0 'the good task is still claimed' -- task-claim
expect_eq 'the good one' good "$(sed -n 1p "$TRASH/out")"
expect_code 1 'board-fsck sees the same corruption (restored from version 1)' -- board-fsck -q
expect_eq 'in the same words' \
	"board-fsck: tasks/$(basename "$(dirname "$d")")/bad/000002.json: corrupt current record: kind is not work or plan; version 3 restores version 1 (repaired)" \
	"$(sed -n 1p "$TRASH/out")"
