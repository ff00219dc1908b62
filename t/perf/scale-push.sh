#!/bin/sh
# scale-push.sh: the push path alone. P pushers (1, 8, 32), each with its
# own clone of one bare repository, commit to files of their own and land
# them on the one branch, in two ways side by side (t/perf/pusher):
#
#   turn  the way longhaul-worker lands: in the board's turn push-main,
#         read the remote's tip (objects borrowed), rebase the commit with
#         merge-tree, push, give the turn back
#   race  the way it landed before turns: fetch, rebase onto origin/main,
#         push; on a rejection sleep rand() x 2^min(n,3) / 4 seconds and go
#         round again (the commits that needed 8 or more are counted)
#
# Each pusher starts commits for SCALE_PUSH_SECONDS and then finishes the
# one in flight; the clock stops when the last one is done.
#
# Reported: commits landed per minute, rejected pushes per landed commit,
# the most rejections one commit met, CPU seconds per landed commit (all
# the pushers' processes, under reaper), and the check: each commit's
# Longhaul-Task trailer is on the branch exactly once and every commit a
# pusher saw land is there (no lost, no duplicated commits).
#
# Knobs (environment):
#   SCALE_FULL=1          the bigger run: 120 s per count
#   SCALE_PUSHERS         pusher counts ("1 8 32")
#   SCALE_PUSH_SECONDS    seconds of new commits per run (30; FULL: 120)
#   SCALE_PUSH_WAYS       "turn race"
#   SCALE_DIR             scratch directory (t/perf/out/scratch)
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$here/out
bin=$out/bin
PATH=$top:$top/bin:$bin:$PATH
export PATH

full=${SCALE_FULL:-0}
[ "$full" = 1 ] || full=0
pushers=${SCALE_PUSHERS:-1 8 32}
seconds=${SCALE_PUSH_SECONDS:-$([ $full = 1 ] && echo 120 || echo 30)}
ways=${SCALE_PUSH_WAYS:-turn race}

die() { echo "scale-push: $*" >&2; exit 1; }

mkdir -p "$bin"
[ "$bin/reaper" -nt "$here/reaper.c" ] ||
	${CC:-cc} -O2 -Wall -Wextra -o "$bin/reaper" "$here/reaper.c" || die "cannot build reaper"

scratch=${SCALE_DIR:-$out/scratch}/scale-push.$$
mkdir -p "$scratch" || die "cannot make $scratch"
trap 'rm -rf "$scratch"' EXIT
trap 'exit 130' INT TERM
export GIT_CONFIG_NOSYSTEM=1 HOME="$scratch/home"
mkdir -p "$HOME"
git config --global init.defaultBranch main
git config --global user.name bench
git config --global user.email bench@example.invalid

results=$out/scale-push.tsv
: >"$results"

# run WAY P: one timed run and its checks
run() {
	way=$1 p=$2 d=$scratch/run
	rm -rf "$d" && mkdir -p "$d"
	LONGHAUL_BOARD=$d/board LONGHAUL_FSYNC=0
	export LONGHAUL_BOARD LONGHAUL_FSYNC
	board-init >/dev/null || die "board-init failed"
	git init -q "$d/seed" && (cd "$d/seed" && mkdir files && echo seed >files/seed.txt &&
	    git add . && git commit -qm "the start") || die "cannot make the project"
	git clone -q --bare "$d/seed" "$d/remote.git" || die "cannot clone"
	i=1
	while [ $i -le "$p" ]; do
		# turn: the clone borrows the remote's objects, as the worker does
		git clone -q $([ "$way" = turn ] && echo --shared) "$d/remote.git" "$d/p$i" ||
		    die "cannot clone"
		i=$((i + 1))
	done
	cat >"$d/all" <<EOF
stop=\$(( \$(date +%s) + $seconds ))
i=1
while [ \$i -le $p ]; do
	sh "$here/pusher" "$d" p\$i "\$stop" $way &
	i=\$((i + 1))
done
wait
EOF
	sync
	t0=$(date +%s.%N)
	# the pushers as one shell under reaper, for their CPU time
	reaper "$d/rusage" sh "$d/all" || echo "# a pusher failed"
	t1=$(date +%s.%N)

	cat "$d"/p*.landed 2>/dev/null | sort >"$d/landed"
	git --git-dir="$d/remote.git" log --format='%(trailers:key=Longhaul-Task,valueonly)' main |
		sed '/^$/d' | sort >"$d/branch"
	landed=$(wc -l <"$d/landed")
	dup=$(uniq -d "$d/branch" | wc -l)
	cut -d' ' -f1 "$d/landed" >"$d/ids"
	lost=$(comm -23 "$d/ids" "$d/branch" | wc -l)
	extra=$(comm -13 "$d/ids" "$d/branch" | wc -l)
	if [ "$dup" -eq 0 ] && [ "$lost" -eq 0 ] && [ "$extra" -eq 0 ] && [ "$landed" -gt 0 ]; then
		check=ok
	else
		check=FAILED
	fi
	secs=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
	stats=$(awk -v secs="$secs" -v cpu="$(awk '{ print $2 + $4 }' "$d/rusage")" '
	    { r += $2; if ($2 > max) max = $2; if ($2 >= 8) over++ }
	    END { printf "%.1f %.2f %d %d %.3f", NR * 60 / secs, NR ? r / NR : 0, max, over, NR ? cpu / NR : 0 }' "$d/landed")
	set -- $stats
	printf '%-4s P=%-2s landed=%-5s in %6ss  %7s commits/min (%s/h)  rejections/commit %s (max %s, >= 8: %s)  cpu/commit %ss  exactly-once:%s (dup %s, lost %s, extra %s)\n' \
	    "$way" "$p" "$landed" "$secs" "$1" "$(echo "$1" | awk '{ printf "%.0f", $1 * 60 }')" "$2" "$3" "$4" "$5" "$check" "$dup" "$lost" "$extra"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$way" "$p" "$landed" "$secs" "$1" "$2" "$3" "$4" "$5" "$check" >>"$results"
	rm -rf "$d"
}

echo "# scale-push: pushers $pushers, ways $ways, ${seconds}s of commits each run; full=$full"
echo "# machine: $(nproc) CPUs, $(uname -sr), load $(cut -d" " -f1-3 /proc/loadavg); scratch: $(stat -f -c %T "$scratch"); $(git --version)"
for p in $pushers; do
	for way in $ways; do
		run "$way" "$p"
	done
done

echo
echo "the push path: P pushers, one branch"
awk -F '\t' '
{ if ($10 != "ok") bad = 1; row[++n] = $0; if ($1 == "turn" && $2 == 32) at32 = $5 * 60 }
END {
	printf "| way | pushers | landed | seconds | commits/min | commits/h | rejections/commit | max | >= 8 | CPU s/commit |\n"
	printf "| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n"
	for (i = 1; i <= n; i++) {
		split(row[i], f, "\t")
		printf "| %s | %d | %d | %.1f | %.1f | %.0f | %.2f | %d | %d | %.3f |\n", f[1], f[2], f[3], f[4], f[5], f[5] * 60, f[6], f[7], f[8], f[9]
	}
	if (at32 != "")
		printf "\ntarget: %.0f commits/h with 32 pushers landing in turns (>= 1000: %s)\n", at32, (at32 >= 1000 ? "met" : "MISSED")
	printf "exactly once, none lost, in every run: %s\n", bad ? "NO" : "yes"
	exit bad
}' "$results"
