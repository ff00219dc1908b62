#!/bin/sh
# Publishing into an empty board while claimants empty it: claimants remove
# the index directories they find empty, and a publish must make its hint
# anyway, or the task is ready and nobody can find it.
. "$(dirname "$0")/lib.sh"
plan 4
board-init >/dev/null
n=400 racers=6

r=0
while [ $r -lt $racers ]; do
	(
		: >"$TRASH/won.$r"
		while :; do
			if task-claim >"$TRASH/one.$r" 2>>"$TRASH/err.$r"; then
				head -n 1 "$TRASH/one.$r" >>"$TRASH/won.$r"
			elif [ -e "$TRASH/published" ]; then
				# all are out: what is left unclaimed now stays so
				task-claim >"$TRASH/one.$r" 2>>"$TRASH/err.$r" &&
				    head -n 1 "$TRASH/one.$r" >>"$TRASH/won.$r" || break
			fi
		done
	) &
	r=$((r + 1))
done
: >"$TRASH/pub.err"
pubs=
for p in 1 2; do
	i=0
	while [ $i -lt $((n / 2)) ]; do
		task-publish -D "task $p.$i" 2>>"$TRASH/pub.err" || echo "publish $p.$i: $?" >>"$TRASH/pub.err"
		i=$((i + 1))
	done >"$TRASH/ids.$p" &
	pubs="$pubs $!"
done
wait $pubs
touch "$TRASH/published"
wait

expect_eq 'every publish succeeded without a word' '' "$(cat "$TRASH/pub.err")"
cat "$TRASH"/won.* | sort >"$TRASH/won"
expect_eq 'no task claimed twice' '' "$(uniq -d "$TRASH/won")"
expect_eq 'every task was found and claimed' $n "$(wc -l <"$TRASH/won")"
expect_eq 'the board agrees: nothing left ready' '' "$(task-ls -s ready)"
