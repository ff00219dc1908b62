#!/bin/sh
# 16 processes race to claim 5,000 tasks: each is claimed exactly once
. "$(dirname "$0")/lib.sh"
plan 5
board-init >/dev/null
n=5000 racers=16

i=0
while [ $i -lt $n ]; do
	printf '{"id":"r%d","title":"task %d"}\n' $i $i
	i=$((i + 1))
done >"$TRASH/tasks"
task-publish -D -j <"$TRASH/tasks" >"$TRASH/ids" || not_ok 'publish'

r=0
while [ $r -lt $racers ]; do
	(
		while :; do
			task-claim >"$TRASH/one.$r" 2>>"$TRASH/err.$r"
			rc=$?
			[ $rc -eq 0 ] || break
			head -n 1 "$TRASH/one.$r"
		done >"$TRASH/won.$r"
		echo $rc >"$TRASH/rc.$r"
	) &
	r=$((r + 1))
done
wait

cat "$TRASH"/won.* | sort >"$TRASH/won"
sort "$TRASH/ids" >"$TRASH/want"
expect_eq 'as many claims as tasks' $n "$(wc -l <"$TRASH/won")"
expect_eq 'no task claimed twice' '' "$(uniq -d "$TRASH/won")"
expect_file 'every task claimed' "$TRASH/want" "$TRASH/won"
expect_eq 'every racer ended with "nothing to claim"' \
	"$(printf '1\n%.0s' $(seq $racers))" "$(cat "$TRASH"/rc.*)"
task-ls -j -s claimed >"$TRASH/claimed"
expect_eq 'the board agrees: all claimed, each once (version 2)' "$n 2" \
	"$(jq -s 'length' "$TRASH/claimed") $(jq -s 'map(.version)|unique|.[0]' "$TRASH/claimed")"
