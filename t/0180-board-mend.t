#!/bin/sh
# index hints are only hints: stale ones are mended when found, and
# board-reap -f rebuilds them all from the records
. "$(dirname "$0")/lib.sh"
plan 7
board-init >/dev/null
task-publish -i a 'A' >/dev/null
task-publish -i b 'B' >/dev/null
task-publish -i c 'C' >/dev/null
hints() { (cd "$LONGHAUL_BOARD" && find ready waiting claimed -type f | sort | tr '\n' ' '); }

# a stale ready hint (its claimant died before removing it) and a lost
# claimed hint (removed by hand)
task-claim -k work >"$TRASH/c"
claimed=$(sed -n 1p "$TRASH/c")
touch "$LONGHAUL_BOARD/ready/work/5/00/$claimed@1" 2>/dev/null ||
	{ mkdir -p "$LONGHAUL_BOARD/ready/work/5/00" && touch "$LONGHAUL_BOARD/ready/work/5/00/$claimed@1"; }
rm -f "$LONGHAUL_BOARD/claimed/$claimed@2"
expect_code 0 'claiming past a stale hint works' -- task-claim
expect_code 0 'and again' -- task-claim
expect_code 1 'then nothing is left' -- task-claim
expect_eq 'the stale hint was mended, not left behind' \
	"claimed/a@2 claimed/b@2 claimed/c@2 " "$(hints)"

# hand damage: hints removed, a bogus one added
rm -f "$LONGHAUL_BOARD"/claimed/*
mkdir -p "$LONGHAUL_BOARD/ready/work/5/ff" && touch "$LONGHAUL_BOARD/ready/work/5/ff/ghost"
touch "$LONGHAUL_BOARD/waiting/b"
expect_code 0 'board-reap -f rebuilds the index' -- board-reap -f
expect_eq 'from the records' "claimed/a@2 claimed/b@2 claimed/c@2 " "$(hints)"
expect_code 0 'and a plain reap is quiet after it' -- board-reap
