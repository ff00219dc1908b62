#!/bin/sh
# A landed task never ends failed: board-reap -R REPO, before it fails a
# task for good (its attempts used up, its lease expired), looks for the
# task's Longhaul-Task trailer on the branch and marks it done with that
# commit instead. Plain board-reap fails it, as before.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 9
board-init >/dev/null
make_project
printf '{"title":"landed %s","max_attempts":1}\n' a b c | task-publish -j >"$TRASH/ids"
{ read -r a && read -r b && read -r c; } <"$TRASH/ids"
d=$(printf '{"title":"not landed","max_attempts":1}\n' | task-publish -j)
for i in 1 2 3 4; do task-claim -l 1 >/dev/null; done
# a and c landed (their workers died before the done); b's trailer names
# another task that merely contains its id, d did not land
git clone -q "$TRASH/remote.git" "$TRASH/clone"
(cd "$TRASH/clone" &&
 echo a >a && git add a && git commit -qm "landed a" -m "Longhaul-Task: $a" &&
 echo b >b && git add b && git commit -qm "not b" -m "Longhaul-Task: ${b}x" &&
 echo c >c && git add c && git commit -qm "landed c" -m "Longhaul-Task: $c" &&
 git push -q origin HEAD:main)
ca=$(git -C "$TRASH/clone" rev-parse HEAD~2) cc=$(git -C "$TRASH/clone" rev-parse HEAD)
wait_for 30 '[ "$(board-reap -n | wc -l)" -eq 4 ]' || { echo "Bail out! the leases did not expire"; exit 1; }

expect_code 2 "board-reap -R: not a repository" -- board-reap -R "$TRASH/nothing"
expect_code 2 "board-reap -R -B: no such branch" -- board-reap -R "$TRASH/remote.git" -B nope
# plain board-reap, on a copy of the board
cp -a "$LONGHAUL_BOARD" "$TRASH/board2"
expect_code 0 "plain board-reap" -- board-reap -b "$TRASH/board2"
expect_eq "fails them all for good" "failed failed failed failed" \
	"$(for t in $a $b $c $d; do task-show -b "$TRASH/board2" -f state "$t"; done | paste -sd' ' -)"
expect_code 0 "board-reap -R" -- board-reap -R "$TRASH/remote.git"
expect_eq "prints the four" "$(printf '%s\n' $a $b $c $d | sort)" "$(sort "$TRASH/out")"
expect_eq "the landed ones are done with their commits" "done $ca done $cc" \
	"$(for t in $a $c; do task-show "$t" | jq -r '"\(.state) \(.result.commit)"'; done | paste -sd' ' -)"
expect_eq "the others failed for good" "failed failed" \
	"$(task-show -f state "$b") $(task-show -f state "$d")"
expect_eq "a done written once" 1 "$(task-show -H "$a" | jq -r 'select(.event == "done") | .id' | wc -l)"
