#!/bin/sh
# board-init and how every tool finds, and refuses, a board
. "$(dirname "$0")/lib.sh"
plan 8

expect_code 0 'board-init makes a board' -- board-init
expect_eq 'it prints the board' "$LONGHAUL_BOARD" "$(cat "$TRASH/out")"
expect_eq 'format file' 'longhaul-board 2' "$(cat "$LONGHAUL_BOARD/format")"
expect_code 0 'board-init again leaves it as it is' -- board-init

expect_code 5 'a missing board is refused' -- task-ls -b "$TRASH/nowhere"
echo "task-ls: $TRASH/nowhere: not a board (no format file; see board-init)" >"$TRASH/want"
expect_file 'with a one-line reason' "$TRASH/want" "$TRASH/err"

mkdir -p "$TRASH/new" && echo 'longhaul-board 3' >"$TRASH/new/format"
expect_code 5 'a board of a newer format is refused' -- task-claim -b "$TRASH/new"
echo "task-claim: $TRASH/new: written by a newer longhaul (board format 3; this one knows 2)" >"$TRASH/want"
expect_file 'saying so' "$TRASH/want" "$TRASH/err"
