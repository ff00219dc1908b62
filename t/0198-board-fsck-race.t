#!/bin/sh
# board-fsck next to live claimants and owners: its repairs never undo
# theirs. Every task is claimed once, every claim keeps its claimed/ hint,
# no run finds a problem (the tools keep the board consistent at every
# step, and a claim in flight is not one), and the board ends clean.
. "$(dirname "$0")/lib.sh"
plan 8
B=$LONGHAUL_BOARD
N=300
board-init >/dev/null
i=0
while [ $i -lt $N ]; do echo "{\"title\": \"task $i\"}"; i=$((i + 1)); done >"$TRASH/tasks"
task-publish -j <"$TRASH/tasks" >/dev/null

# claimants: claim until nothing is left, one file of "id token" lines each
pids=
for c in 1 2 3 4; do
	sh -c 'while task-claim >"$1.one"; do tr "\n" " " <"$1.one"; echo; done >"$1"' sh "$TRASH/claims.$c" &
	pids="$pids $!"
done
running() { for p in $pids; do kill -0 "$p" 2>/dev/null && return 0; done; return 1; }
# fsck runs meanwhile, until the claimants are through
runs=0
: >"$TRASH/statuses"
while running && [ $runs -lt 2000 ]; do
	board-fsck -q >>"$TRASH/found" 2>&1
	echo $? >>"$TRASH/statuses"
	runs=$((runs + 1))
done
wait
cat "$TRASH"/claims.? | awk '{print $1}' | sort >"$TRASH/claimed"
expect_eq 'every task claimed' $N "$(wc -l <"$TRASH/claimed")"
expect_eq 'and none twice' $N "$(sort -u "$TRASH/claimed" | wc -l)"
cat "$TRASH"/claims.? | awk '{print $1 "@" $2}' | sort >"$TRASH/claimed.hints"
expect_eq 'every claim has its claimed/ID@TOKEN hint' "$(cat "$TRASH/claimed.hints")" "$(ls "$B/claimed" | sort)"
expect_eq 'no ready hint is left' '' "$(find "$B/ready" -type f)"

# the owners say done while fsck runs
pids=
for c in 1 2 3 4; do
	sh -c 'while read -r id token; do task-update -t "$token" -m ok done "$id" || exit 1; done <"$1"' \
		sh "$TRASH/claims.$c" &
	pids="$pids $!"
done
while running && [ $runs -lt 4000 ]; do
	board-fsck -q >>"$TRASH/found" 2>&1
	echo $? >>"$TRASH/statuses"
	runs=$((runs + 1))
done
wait
expect_eq 'every done was taken' $N "$(task-ls -s done | wc -l)"
expect_eq 'fsck found nothing wrong on a board in use' '' "$(grep -v '^0$' "$TRASH/statuses")"
diag "$runs runs of board-fsck; found in passing:" "$(cat "$TRASH/found")"
expect_code 0 'the board ends clean' -- board-fsck -q
expect_eq 'with no hint at all' '' "$(find "$B/ready" "$B/waiting" "$B/claimed" -type f)"
