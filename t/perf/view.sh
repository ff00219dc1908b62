#!/bin/sh
# view.sh: what it costs to look at a big run.
#   board-status on a board of 100,000 tasks and a usage log of 1,000,000
#   lines: the first run (nothing cached: every record and the whole log
#   read), then refreshes from the cache (one stat per task, the logs'
#   new bytes), one shot and -j; the median of 5.
#   longhaul-report on a board of 10,000 tasks with a transcript per
#   claim and 100,000 usage lines: the time (median of 3) and the size.
# The boards are made by fake-board (t/perf/fake-board.c) in a scratch
# directory on disk, removed at the end (the 100,000 tasks are 300,000
# files: removing them takes minutes on a busy disk).
# Knobs: LONGHAUL_BENCH_STATUS_TASKS (100000), LONGHAUL_BENCH_STATUS_LINES
# (1000000), LONGHAUL_BENCH_REPORT_TASKS (10000), LONGHAUL_BENCH_REPORT_LINES
# (100000), LONGHAUL_BENCH_DISK (default t/perf/out/scratch).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$here/out bin=$here/out/bin
PATH=$top:$top/bin:$bin:$PATH
export PATH LONGHAUL_SHARE="$top/share"
unset LONGHAUL_BOARD LONGHAUL_WORKDIR LONGHAUL_REMOTE LONGHAUL_BUDGET_USD
st_tasks=${LONGHAUL_BENCH_STATUS_TASKS:-100000} st_lines=${LONGHAUL_BENCH_STATUS_LINES:-1000000}
rp_tasks=${LONGHAUL_BENCH_REPORT_TASKS:-10000} rp_lines=${LONGHAUL_BENCH_REPORT_LINES:-100000}
for t in board-status board-init longhaul-report jq; do
	command -v $t >/dev/null || { echo "view: $t not found (run make first)" >&2; exit 1; }
done
mkdir -p "$bin"
[ "$bin/fake-board" -nt "$here/fake-board.c" ] ||
	${CC:-cc} -O2 -Wall -Wextra -Wno-format-truncation -o "$bin/fake-board" "$here/fake-board.c"
scratch=${LONGHAUL_BENCH_DISK:-$out/scratch}/view.$$
mkdir -p "$scratch"
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
export XDG_CACHE_HOME="$scratch/cache"

# secs CMD...: "WALL CPU", the seconds of one run (CPU: user and system
# of the command, from the shell's times), output thrown away. The
# machine may be shared: CPU seconds are what a run costs, wall seconds
# what one waited.
secs() {
	t0=$(date +%s.%N)
	cpu=$(sh -c '"$@" >/dev/null; times' sh "$@" | sed -n 2p |
		awk '{ for (i = 1; i <= 2; i++) { split($i, p, "m"); s += p[1] * 60 + p[2] } } END { printf "%.3f", s }')
	t1=$(date +%s.%N)
	echo "$t0 $t1 $cpu" | awk '{ printf "%.3f %s\n", $2 - $1, $3 }'
}
# median COLUMN of the lines on stdin
median() { awk -v c="$1" '{ print $c }' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
runs() { n=$1; shift; i=0; while [ "$i" -lt "$n" ]; do secs "$@"; i=$((i + 1)); done; }
both() { printf '%s s wall, %s s CPU' "$(median 1 <"$1")" "$(median 2 <"$1")"; }

echo "machine: $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(uname -r)"
b=$scratch/status-board w=$scratch/status-work
board-init -b "$b" >/dev/null
echo "making a board of $st_tasks tasks and $st_lines usage lines..."
t=$(secs fake-board "$b" "$w" "$st_tasks" "$st_lines" | cut -d' ' -f1)
echo "  made in $t s; $(du -sh "$b" | cut -f1) on disk, usage log $(cat "$b"/usage/*.jsonl | wc -c) bytes"
# (the files are in the page cache: fake-board just wrote them)
secs board-status -b "$b" -W "$w" >"$scratch/cold"
runs 5 board-status -b "$b" -W "$w" >"$scratch/warm"
runs 5 board-status -j -b "$b" -W "$w" >"$scratch/json"
# with -w the state stays in memory: 1 refresh, then 11; the difference
# over 10 is what each refresh after the first costs
secs board-status -j -w 0.01 -n 1 -b "$b" -W "$w" >"$scratch/w1"
secs board-status -j -w 0.01 -n 11 -b "$b" -W "$w" >"$scratch/w11"
agents=$(board-status -j -b "$b" -W "$w" | jq '.agents | length')
# one changed task and one new line of usage, then a refresh
id=$(ls "$b/claimed" | head -n 1)
v=$(ls "$(ls -d "$b"/tasks/*/"$id")" | tail -n 1 | cut -c1-6)
task-update -b "$b" -t "$(expr "$v" + 0)" -r bench release "$id" >/dev/null
tail -n 1 "$b/usage/node0.jsonl" >>"$b/usage/node0.jsonl"
secs board-status -b "$b" -W "$w" >"$scratch/changed"
echo "board-status, $st_tasks tasks, $st_lines usage lines, $agents live agents:"
echo "  first run, nothing cached     $(both "$scratch/cold")"
echo "  refresh from the cache        $(both "$scratch/warm") (median of 5)"
echo "  refresh, -j                   $(both "$scratch/json") (median of 5)"
echo "  refresh after a change        $(both "$scratch/changed")"
paste "$scratch/w1" "$scratch/w11" | awk '{ printf "  each refresh of -w            %.3f s wall, %.3f s CPU (10 refreshes)\n", ($3 - $1) / 10, ($4 - $2) / 10 }'
echo "  cache                         $(wc -c <"$(ls "$XDG_CACHE_HOME"/longhaul/board-status.* | head -n 1)") bytes"
rm -rf "$b" "$w" "$XDG_CACHE_HOME"

b=$scratch/report-board w=$scratch/report-work
board-init -b "$b" >/dev/null
echo "making a board of $rp_tasks tasks, a transcript per claim, $rp_lines usage lines..."
export FAKE_ALL_TRANSCRIPTS=1
t=$(secs fake-board "$b" "$w" "$rp_tasks" "$rp_lines" | cut -d' ' -f1)
unset FAKE_ALL_TRANSCRIPTS
echo "  made in $t s; $(ls "$w/transcripts" | wc -l) transcripts"
runs 3 longhaul-report -b "$b" -W "$w" -o "$scratch/report.html" >"$scratch/report"
echo "longhaul-report, $rp_tasks tasks:"
echo "  time                          $(both "$scratch/report") (median of 3)"
echo "  size                          $(wc -c <"$scratch/report.html") bytes"
echo "load at the end: $(cut -d' ' -f1-3 /proc/loadavg)"
