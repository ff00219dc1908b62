#!/bin/sh
# board-latency.sh: the latency of one claim (one task-claim process, as a
# shell user runs it) on a board holding 100 open tasks versus one holding
# 100,000. Claims are sequential, in rounds of 20 that alternate between
# the two boards, and after each round 20 new tasks are published on the
# board that lost them, so both stay at their size; publishing is not
# timed. Prints the median, 90th percentile and mean per claim, the ratio
# big/small, and checks that every claim took a different task and that
# the number of claimed records is the number of claims.
#
# Knobs (environment):
#   LONGHAUL_BENCH_FULL=1        also on disk, and with fsync on
#   LONGHAUL_BENCH_SMALL         tasks on the small board (100)
#   LONGHAUL_BENCH_BIG           tasks on the big board (100000)
#   LONGHAUL_BENCH_CLAIMS        claims per board (400)
#   LONGHAUL_BENCH_LATENCY_FS    where: "tmpfs", "disk" or "tmpfs disk"
#                                (tmpfs; FULL: tmpfs disk)
#   LONGHAUL_BENCH_TMPFS, LONGHAUL_BENCH_DISK as for board-claim.sh
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$here/out
bin=$out/bin
PATH=$top:$bin:$PATH
export PATH
unset LONGHAUL_AGENT LONGHAUL_AREA LONGHAUL_LEASE LONGHAUL_PUBLISH_MAX

full=${LONGHAUL_BENCH_FULL:-0}
[ "$full" = 1 ] || full=0
small=${LONGHAUL_BENCH_SMALL:-100}
big=${LONGHAUL_BENCH_BIG:-100000}
claims=${LONGHAUL_BENCH_CLAIMS:-400}
round=20
where=${LONGHAUL_BENCH_LATENCY_FS:-$([ $full = 1 ] && echo tmpfs disk || echo tmpfs)}
syncs=$([ $full = 1 ] && echo nofsync fsync || echo nofsync)

die() { echo "board-latency: $*" >&2; exit 1; }

mkdir -p "$bin"
[ "$bin/race" -nt "$here/race.c" ] ||
	${CC:-cc} -O2 -Wall -Wextra -o "$bin/race" "$here/race.c" || die "cannot build race"
for t in task-claim task-publish task-ls board-init; do
	command -v $t >/dev/null || die "$t not found (run make first)"
done

scratch=
cleanup() { [ -z "$scratch" ] || rm -rf $scratch; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# tasks FIRST COUNT: COUNT task lines for task-publish -j
tasks() {
	awk -v first="$1" -v n="$2" 'BEGIN { for (i = first; i < first + n; i++)
		printf "{\"title\":\"task %d\",\"body\":\"Benchmark task %d: change the code, run the tests, push the result; a body of a few hundred bytes as planners write them, with the files to touch and the checks to pass.\"}\n", i, i }'
}

# stats FILE: median p90 mean of the numbers in FILE
stats() {
	sort -n "$1" | awk '{ v[NR] = $1; s += $1 } END {
		printf "%d %d %d\n", v[int((NR + 1) / 2)], v[int(NR * 0.9 + 0.5)], s / NR }'
}

echo "# board-latency: sequential claims, $claims per board in rounds of $round, boards of $small and $big open tasks"
echo "# machine: $(nproc) CPUs, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-5s %-7s %8s %10s %8s %8s %8s  %s\n' fs fsync tasks claims median p90 mean "exactly-once"
status=0
serial=0
for fs in $where; do
	case $fs in
	tmpfs)
		if [ -n "${LONGHAUL_BENCH_TMPFS:-}" ]; then d=$LONGHAUL_BENCH_TMPFS
		elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then d=/dev/shm
		else echo "# no tmpfs found (set LONGHAUL_BENCH_TMPFS): skipped"; continue; fi ;;
	disk) d=${LONGHAUL_BENCH_DISK:-$out/scratch} ;;
	*) die "unknown place $fs" ;;
	esac
	d=$d/longhaul-latency.$$
	mkdir -p "$d" || die "cannot make $d"
	scratch="$scratch $d"
	LONGHAUL_FSYNC=0
	export LONGHAUL_FSYNC
	for n in $small $big; do
		LONGHAUL_BOARD=$d/board.$n board-init >/dev/null || die "board-init failed"
		tasks 0 $n | LONGHAUL_BOARD=$d/board.$n task-publish -j -D >/dev/null ||
			die "publishing $n tasks failed"
	done
	for sync in $syncs; do
		for n in $small $big; do : >"$d/lat.$n" && : >"$d/ids.$n"; done
		done_claims=0
		while [ $done_claims -lt "$claims" ]; do
			for n in $small $big; do
				LONGHAUL_BOARD=$d/board.$n
				export LONGHAUL_BOARD
				if [ "$sync" = fsync ]; then unset LONGHAUL_FSYNC
				else LONGHAUL_FSYNC=0; export LONGHAUL_FSYNC; fi
				race -n $round -L "$d/round" -o "$d/round.ids" task-claim >/dev/null ||
					die "claiming failed on the board of $n"
				cat "$d/round" >>"$d/lat.$n"
				cat "$d/round.ids" >>"$d/ids.$n"
				tasks $((n + serial)) $round |
					LONGHAUL_FSYNC=0 task-publish -j -D >/dev/null || die "republishing failed"
			done
			serial=$((serial + round))
			done_claims=$((done_claims + round))
		done
		for n in $small $big; do
			LONGHAUL_BOARD=$d/board.$n
			export LONGHAUL_BOARD
			got=$(wc -l <"$d/ids.$n")
			dups=$(sort "$d/ids.$n" | uniq -d | wc -l)
			claimed=$(task-ls -s claimed | wc -l)
			open=$(task-ls -s ready | wc -l)
			if [ "$dups" -eq 0 ] && [ "$got" -eq "$claims" ]; then check=ok; else check=FAILED status=1; fi
			set -- $(stats "$d/lat.$n")
			eval "median_$n=$1"
			printf '%-5s %-7s %8s %10s %6sus %6sus %6sus  %s (dup ids %s; board now: %s claimed, %s ready)\n' \
			    "$fs" "$sync" "$n" "$got" "$1" "$2" "$3" "$check" "$dups" "$claimed" "$open"
		done
		eval "s=\$median_$small b=\$median_$big"
		awk -v s="$s" -v b="$b" -v fs="$fs" -v sync="$sync" -v small="$small" -v big="$big" 'BEGIN {
			printf "  %s %s: median at %d tasks / at %d tasks = %.2fx (<= 1.5x: %s)\n",
			    fs, sync, big, small, b / s, b <= 1.5 * s ? "met" : "MISSED" }'
	done
	rm -rf "$d"
done
exit $status
