#!/bin/sh
# several reapers at once over many expired leases: each task is requeued
# exactly once, and a late owner racing them either wins or is refused
. "$(dirname "$0")/lib.sh"
plan 5
board-init >/dev/null
n=60
seq $n | sed 's/.*/{"id":"e&","title":"expiring &"}/' | task-publish -D -j >/dev/null
i=0
while [ $i -lt $n ]; do
	task-claim -l 1 >>"$TRASH/claims" || break
	i=$((i + 1))
done
expect_eq 'all claimed with a one-second lease' $((2 * n)) "$(wc -l <"$TRASH/claims")"
wait_for 20 'board-reap -n >"$TRASH/due" && [ "$(wc -l <"$TRASH/due")" -eq $n ]' ||
	not_ok 'leases did not expire'

# four reapers and the late owners of every task, all at once
for r in 1 2 3 4; do board-reap >"$TRASH/reaped.$r" 2>&1 & done
paste -d ' ' - - <"$TRASH/claims" | while read -r id tok; do
	task-update -t "$tok" done "$id" 2>/dev/null && echo "$id"
done >"$TRASH/late-done" &
wait

cat "$TRASH"/reaped.* "$TRASH/late-done" | sort >"$TRASH/acted"
expect_eq 'each task handled once, by a reaper or by its owner' $n "$(sort -u "$TRASH/acted" | wc -l)"
expect_eq 'never by two' '' "$(uniq -d "$TRASH/acted")"
for id in $(seq $n | sed 's/^/e/'); do task-show -H "$id"; done |
	jq -r 'select(.event=="requeue" or .event=="done") | .id' | sort >"$TRASH/events"
expect_file 'the histories agree: one requeue or done per task' "$TRASH/acted" "$TRASH/events"
expect_eq 'the board agrees' "$n" \
	"$(task-ls -j -s ready,done | jq -s length)"
