#!/bin/sh
# board-turn: a first-come, first-served queue of at most n at a time; a
# dead holder's turn lapses at once on its host, a silent one elsewhere
# after the lease; bad input is refused with a reason.
. "$(dirname "$0")/lib.sh"
plan 24
board-init >/dev/null
q=$LONGHAUL_BOARD/turns

LONGHAUL_PID=$$
export LONGHAUL_PID
t=$(board-turn take push-main)
printf '%s\n' "$t" >"$TRASH/t"
expect_match "take prints a ticket" '^a\.[0-9]{17}\.' "$TRASH/t"
expect_code 1 "a second take waits, then times out with 1" -- board-turn -w 0.3 take push-main
expect_code 0 "give gives it back" -- board-turn give push-main "$t"
expect_code 4 "a ticket given back twice: 4" -- board-turn give push-main "$t"
expect_match "naming the ticket and why" "board-turn: $t: no such ticket in push-main" "$TRASH/err"

# first come, first served: five runners queue behind a held turn
t=$(board-turn take fifo)
for i in 1 2 3 4 5; do
	board-turn run fifo sh -c "echo $i >>'$TRASH/order'" &
	wait_for 10 "[ \$(ls '$q/fifo' | wc -l) -gt $i ]"
done
board-turn give fifo "$t"
wait
expect_eq "turns are taken in the order of arrival" "1 2 3 4 5" "$(echo $(cat "$TRASH/order"))"

# one at a time, and n at a time
for i in $(seq 12); do
	board-turn run one sh -c "echo s >>'$TRASH/one'; sleep 0.02; echo e >>'$TRASH/one'" &
	board-turn -n 3 run three sh -c "echo s >>'$TRASH/three'; sleep 0.1; echo e >>'$TRASH/three'" &
done
wait
most() { awk '/s/ { n++; if (n > m) m = n } /e/ { n-- } END { print m }' "$1"; }
expect_eq "never two holders at once" 1 "$(most "$TRASH/one")"
expect_eq "with -n 3, three at once and never more" 3 "$(most "$TRASH/three")"

# a holder killed with -9 on this host: its turn lapses at once
sh -c 'LONGHAUL_PID=$$ board-turn take dead >/dev/null; exec sleep 60' &
holder=$!
wait_for 10 "ls '$q/dead' 2>/dev/null | grep -q '^a\\.'"
kill -9 $holder
expect_code 0 "a dead holder's turn lapses at once" -- board-turn -w 3 take dead

# another host's turns: judged by their lease alone
mkdir -p "$q/far"
touch "$q/far/a.00000000000000001.elsewhere.1.abcdefgh"
expect_code 1 "another host's fresh turn is respected" -- board-turn -w 0.3 take far
touch -d '-2 minutes' "$q/far/a.00000000000000001.elsewhere.1.abcdefgh"
expect_code 0 "and skipped once untouched for the lease" -- board-turn -l 60 -w 3 take far
expect_eq "the lapsed entry is removed" "" "$(ls "$q/far" | grep elsewhere)"

# a holder that takes long keeps its turn by touching it
t=$(board-turn -l 2 take slow)
for i in 1 2 3; do sleep 1; board-turn touch slow "$t"; done
expect_code 1 "a turn touched within its lease is kept past it" -- board-turn -l 2 -w 0.5 take slow
sleep 2.5
expect_code 0 "and lapses once untouched for the lease" -- board-turn -l 2 -w 3 take slow
expect_code 4 "touching a lapsed turn says so" -- board-turn touch slow "$t"

# keep: touches while its owner lives, ends with it, and after -m
sh -c 'export LONGHAUL_PID=$$
	t=$(board-turn -l 2 take kept) && board-turn -l 2 keep kept "$t" &
	echo $! >"$1/keeper"; sleep 4' sh "$TRASH" &
owner=$!
sleep 3
expect_code 1 "keep holds a turn past its lease while its owner lives" -- board-turn -l 2 -w 0.3 take kept
wait $owner
wait_for 3 '! kill -0 "$(cat "$TRASH/keeper")" 2>/dev/null' &&
	ok "and ends when its owner does" || not_ok "and ends when its owner does"
t=$(board-turn take capped)
board-turn -l 0.6 -m 1 keep capped "$t" &
keeper=$!
sleep 2
expect_eq "with -m it gives up touching in time" "" "$(kill -0 $keeper 2>/dev/null && echo alive)"
board-turn give capped "$t"
expect_code 4 "keep of a lapsed turn: 4" -- board-turn keep capped "$t"

expect_code 7 "run exits with the command's status" -- board-turn run st sh -c 'exit 7'
expect_code 127 "127 when the command is not found" -- board-turn run st no-such-command-here
expect_code 2 "a queue name with a slash is refused" -- board-turn take a/b
expect_match "with the reason" "board-turn: queue 'a/b': may hold only" "$TRASH/err"
expect_code 2 "a ticket that is not one is refused" -- board-turn give push-main ../../tasks
