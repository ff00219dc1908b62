#!/bin/sh
# board-claim.sh: claims per second with 1, 8 and 32 racing claimants over
# 10,000 tasks, each claim one process exec'd the way a shell user runs it,
# side by side in the same run with
#   longhaul  task-claim
#   (a)       jsonfile-claim: one JSON file of all tasks, read-modify-written
#             under flock by a process per claim
#   (b)       the sqlite3 command-line tool, one BEGIN IMMEDIATE transaction
#             per process, WAL journal, busy timeout
#   (c)       the floor: rename-claim, one rename(2) per process
# on tmpfs and on disk, with fsync (sqlite synchronous=FULL) and without
# (LONGHAUL_FSYNC=0, sqlite synchronous=OFF). The four approaches run one
# after the other for each cell, in an order that rotates from cell to
# cell, so that drift of the machine hits them all alike.
#
# Every run checks itself: each claimed task was claimed exactly once (no
# id twice in the driver's output, the number of claimed records equals
# the number of claims) and none was lost (claimed + ready = tasks).
#
# Knobs (environment):
#   LONGHAUL_BENCH_FULL=1     the bigger run: 3 repetitions, no time cap
#                             (every task claimed), tmpfs with fsync too
#   LONGHAUL_BENCH_TASKS      tasks per run (10000)
#   LONGHAUL_BENCH_PROCS      racing claimants ("1 8 32")
#   LONGHAUL_BENCH_SECONDS    time cap per run, 0 for none (5; FULL: 0)
#   LONGHAUL_BENCH_SLOW_SECONDS  time cap for (a), which needs minutes for
#                             10,000 claims (2; FULL: 30)
#   LONGHAUL_BENCH_REPEAT     repetitions; the table shows the median (1; FULL: 3)
#   LONGHAUL_BENCH_TMPFS      a directory on tmpfs (default: under /dev/shm)
#   LONGHAUL_BENCH_DISK       a directory on disk (default: t/perf/out/scratch)
#   LONGHAUL_BENCH_SQLITE_JOURNAL  wal (default) or delete
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
tasks=${LONGHAUL_BENCH_TASKS:-10000}
procs=${LONGHAUL_BENCH_PROCS:-1 8 32}
cap=${LONGHAUL_BENCH_SECONDS:-$([ $full = 1 ] && echo 0 || echo 5)}
slowcap=${LONGHAUL_BENCH_SLOW_SECONDS:-$([ $full = 1 ] && echo 30 || echo 2)}
repeat=${LONGHAUL_BENCH_REPEAT:-$([ $full = 1 ] && echo 3 || echo 1)}
journal=${LONGHAUL_BENCH_SQLITE_JOURNAL:-wal}

die() { echo "board-claim: $*" >&2; exit 1; }

# build NAME [LIBS...]: compile t/perf/NAME.c unless it is up to date
build() {
	name=$1; shift
	[ "$bin/$name" -nt "$here/$name.c" ] ||
		${CC:-cc} -O2 -Wall -Wextra -o "$bin/$name" "$here/$name.c" "$@" ||
		die "cannot build $name"
}
mkdir -p "$bin"
build race
build jsonfile-claim -ljansson
build rename-claim
for t in task-claim task-publish task-ls board-init sqlite3 jq; do
	command -v $t >/dev/null || die "$t not found (run make first)"
done

scratch=
cleanup() { [ -z "$scratch" ] || rm -rf $scratch; }
trap cleanup EXIT
trap 'exit 130' INT TERM

# where to run: NAME DIR pairs
places=
if [ -n "${LONGHAUL_BENCH_TMPFS:-}" ]; then
	tmpfs=$LONGHAUL_BENCH_TMPFS/longhaul-bench.$$
elif [ "$(stat -f -c %T /dev/shm 2>/dev/null)" = tmpfs ]; then
	tmpfs=/dev/shm/longhaul-bench.$$
else
	tmpfs=
	echo "# no tmpfs found (set LONGHAUL_BENCH_TMPFS): tmpfs runs skipped"
fi
disk=${LONGHAUL_BENCH_DISK:-$out/scratch}/longhaul-bench.$$
for d in $tmpfs $disk; do
	mkdir -p "$d" || die "cannot make $d"
	scratch="$scratch $d"
done

sql_claim="BEGIN IMMEDIATE;
UPDATE tasks SET state = 'claimed', version = version + 1, attempts = attempts + 1,
    owner = 'vm/' || abs(random() % 100000), lease_token = version + 1,
    lease_expires = strftime('%Y-%m-%dT%H:%M:%SZ', 'now', '+600 seconds')
  WHERE id = (SELECT id FROM tasks WHERE state = 'ready' ORDER BY priority DESC LIMIT 1)
  RETURNING id;
COMMIT;"

# fixtures made once: the records of a fresh board, as one JSON array for
# (a) and as rows for (b)
fixtures=$disk/fixtures
mkdir -p "$fixtures"
LONGHAUL_BOARD=$fixtures/board LONGHAUL_FSYNC=0
export LONGHAUL_BOARD LONGHAUL_FSYNC
board-init >/dev/null || die "board-init failed"
# bodies like a planner's, a few hundred bytes
seq "$tasks" | awk '{ printf "{\"title\":\"task %d\",\"body\":\"Benchmark task %d: change the code, run the tests, push the result; a body of a few hundred bytes as planners write them, with the files to touch and the checks to pass.\"}\n", $1, $1 }' \
    >"$fixtures/tasks.jsonl"
task-publish -j -D <"$fixtures/tasks.jsonl" >/dev/null || die "publish failed"
task-ls -j | jq -c -s 'map(del(.shown_state))' >"$fixtures/tasks.json" ||
	die "cannot make the JSON file"
jq -r '.[] | [.id, .title, .body] | @csv' "$fixtures/tasks.json" >"$fixtures/tasks.csv"
rm -f "$fixtures/tasks.db"
sqlite3 "$fixtures/tasks.db" >/dev/null <<EOF || die "cannot make the sqlite database"
PRAGMA journal_mode = $journal;
CREATE TABLE tasks (id TEXT PRIMARY KEY, version INTEGER NOT NULL DEFAULT 1,
    state TEXT NOT NULL DEFAULT 'ready', kind TEXT NOT NULL DEFAULT 'work',
    priority INTEGER NOT NULL DEFAULT 5, title TEXT, body TEXT,
    attempts INTEGER NOT NULL DEFAULT 0, owner TEXT, lease_token INTEGER,
    lease_expires TEXT);
CREATE INDEX claimable ON tasks (state, priority);
CREATE TABLE csv (id, title, body);
.mode csv
.import $fixtures/tasks.csv csv
INSERT INTO tasks (id, title, body) SELECT id, title, body FROM csv;
DROP TABLE csv;
VACUUM;
EOF

results=$out/board-claim.tsv
: >"$results"

# run FS SYNC PROCS APPROACH REP: one timed run and its check
run() {
	fs=$1 sync=$2 p=$3 what=$4 rep=$5
	case $fs in tmpfs) base=$tmpfs ;; *) base=$disk ;; esac
	w=$base/run
	rm -rf "$w" && mkdir -p "$w"
	if [ "$sync" = fsync ]; then unset LONGHAUL_FSYNC; s=-s; level=FULL
	else LONGHAUL_FSYNC=0; export LONGHAUL_FSYNC; s=; level=OFF; fi
	t=$cap
	case $what in
	longhaul)
		LONGHAUL_BOARD=$w/board
		export LONGHAUL_BOARD
		board-init >/dev/null &&
		LONGHAUL_FSYNC=0 task-publish -j -D <"$fixtures/tasks.jsonl" >/dev/null ||
			die "publish failed"
		set -- task-claim ;;
	jsonfile)
		cp "$fixtures/tasks.json" "$w/tasks.json"
		t=$slowcap
		set -- jsonfile-claim $s "$w/tasks.json" ;;
	sqlite)
		cp "$fixtures/tasks.db" "$w/tasks.db"
		# -e 99: sqlite3 exits 1 on errors (retried), 0 with no output when none is left
		set -- -e 99 sqlite3 -cmd '.timeout 600000' -cmd "PRAGMA synchronous = $level" \
		    "$w/tasks.db" "$sql_claim" ;;
	floor)
		mkdir "$w/ready" "$w/claimed"
		(cd "$w/ready" && seq 0 $((tasks - 1)) | xargs touch)
		set -- -N "$tasks" rename-claim $s "$w" {} ;;
	esac
	sync
	line=$(race -p "$p" -t "$t" -o "$w/ids" "$@" 2>"$w/err") ||
		{ echo "# $what: race failed: $line"; head -5 "$w/err"; }
	claims=${line#*claims=}; claims=${claims%% *}
	rate=${line#*rate=}
	case $what in
	longhaul)
		claimed=$(task-ls -s claimed | wc -l)
		ready=$(task-ls -s ready | wc -l) ;;
	jsonfile)
		claimed=$(jq '[.[] | select(.state == "claimed")] | length' "$w/tasks.json")
		ready=$(jq '[.[] | select(.state == "ready")] | length' "$w/tasks.json") ;;
	sqlite)
		claimed=$(sqlite3 "$w/tasks.db" "SELECT count(*) FROM tasks WHERE state = 'claimed'")
		ready=$(sqlite3 "$w/tasks.db" "SELECT count(*) FROM tasks WHERE state = 'ready'") ;;
	floor)
		claimed=$(ls "$w/claimed" | wc -l)
		ready=$(ls "$w/ready" | wc -l) ;;
	esac
	dups=$(sort "$w/ids" | uniq -d | wc -l)
	ids=$(wc -l <"$w/ids")
	if [ "$dups" -eq 0 ] && [ "$ids" -eq "$claims" ] && [ "$claimed" -eq "$claims" ] &&
	    [ $((claimed + ready)) -eq "$tasks" ]; then check=ok; else check=FAILED; fi
	printf '%-5s %-7s P=%-2s %-9s claims=%-5s in %6ss  %8s/s  exactly-once:%s (claimed %s, dup ids %s, ready %s)\n' \
	    "$fs" "$sync" "$p" "$what" "$claims" "$(echo "$line" | sed 's/.*seconds=\([^ ]*\).*/\1/')" \
	    "$rate" "$check" "$claimed" "$dups" "$ready"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$fs" "$sync" "$p" "$what" "$rep" "$rate" "$check" >>"$results"
	# removed at the end, not now: on ext4 without a journal, creating
	# files is slow for a while after many were unlinked (each recently
	# freed inode is checked), which would slow whichever run comes next
	mv "$w" "$base/done.$cell.$what"
}

settings=
[ -z "$tmpfs" ] || settings="tmpfs:nofsync"
[ -z "$tmpfs" ] || [ $full = 0 ] || settings="$settings tmpfs:fsync"
settings="$settings disk:nofsync disk:fsync"
approaches="longhaul jsonfile sqlite floor"

echo "# board-claim: $tasks tasks; claimants: $procs; cap ${cap}s per run (0: none), ${slowcap}s for (a); $repeat repetition(s); sqlite journal $journal"
echo "# machine: $(nproc) CPUs, $(uname -sr), load $(cut -d" " -f1-3 /proc/loadavg); tmpfs: ${tmpfs:-none}; disk: $(stat -f -c %T "$disk") ($(df -P "$disk" | awk 'NR == 2 { print $1 }'))"
cell=0
rep=1
while [ $rep -le "$repeat" ]; do
	for setting in $settings; do
		for p in $procs; do
			# rotate the order of the approaches from cell to cell
			order=$approaches i=0
			while [ $i -lt $((cell % 4)) ]; do
				order="${order#* } ${order%% *}"
				i=$((i + 1))
			done
			for what in $order; do
				run "${setting%:*}" "${setting#*:}" "$p" "$what" "$rep"
			done
			cell=$((cell + 1))
		done
	done
	rep=$((rep + 1))
done

# the table: medians over the repetitions, and the ratios the issue asks for
echo
echo "claims per second (median of $repeat), one process per claim"
awk -F '\t' '
function verdict(met) { return met ? "met" : "MISSED" }
function median(key,    n, i, j, t, v) {
	n = split(all[key], v, " ")
	for (i = 2; i <= n; i++)
		for (j = i; j > 1 && v[j] + 0 < v[j - 1] + 0; j--) { t = v[j]; v[j] = v[j - 1]; v[j - 1] = t }
	return n % 2 ? v[(n + 1) / 2] : (v[n / 2] + v[n / 2 + 1]) / 2
}
{
	key = $1 SUBSEP $2 SUBSEP $3
	if (!(key in seen)) { seen[key] = 1; order[++nkeys] = key }
	all[key SUBSEP $4] = all[key SUBSEP $4] " " $6
	if ($7 != "ok") bad = 1
}
END {
	printf "| fs | fsync | claimants | longhaul | (a) json+flock | (b) sqlite3 | (c) rename floor | longhaul/(a) | longhaul/(b) | (c)/longhaul |\n"
	printf "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
	for (k = 1; k <= nkeys; k++) {
		split(order[k], f, SUBSEP)
		l = median(order[k] SUBSEP "longhaul"); a = median(order[k] SUBSEP "jsonfile")
		b = median(order[k] SUBSEP "sqlite"); c = median(order[k] SUBSEP "floor")
		on = f[2] == "fsync" ? "on" : "off"
		ra = a > 0 ? l / a : 0; rb = b > 0 ? l / b : 0; rc = l > 0 ? c / l : 0
		printf "| %s | %s | %d | %.0f | %.1f | %.0f | %.0f | %.0fx | %.2fx | %.2fx |\n",
		    f[1], on, f[3], l, a, b, c, ra, rb, rc
		if (f[3] == 32) {
			t1 = t1 sprintf("  %s fsync %s: longhaul/(a) %.0fx (>= 20x: %s), longhaul/(b) %.2fx (>= 1x: %s)",
			    f[1], on, l / a, verdict(l >= 20 * a), l / b, verdict(l >= b))
			if (f[2] != "fsync")
				t1 = t1 sprintf(", (c)/longhaul %.2fx (<= 2x: %s)", c / l, verdict(c <= 2 * l))
			t1 = t1 "\n"
		}
	}
	printf "\ntargets at 32 claimants:\n%s", t1
	printf "exactly once, none lost, in every run: %s\n", bad ? "NO" : "yes"
	exit bad
}' "$results"
