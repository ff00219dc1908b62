#!/bin/sh
# scale-worker.sh: tasks completed per minute by the real worker with 1,
# 4, 16 and 64 workers on this machine, side by side in the same run with
# a baseline that coordinates through one shared JSON file under a lock.
#
# The workload: a project whose files/tNNNN.txt are one file per task; a
# board of tasks "append the line done to files/tNNNN.txt", each verified
# by `grep -qx done files/tNNNN.txt`, the gate `test -d files`; llm-mock
# answers every call after SCALE_DELAY_MS (2 s), five calls a task (four
# bash steps, then submit), the task's number captured from the request
# so each agent edits its own file. `longhaul-worker -j W` runs against
# one bare repository and one board (LONGHAUL_FSYNC=0: a scratch board),
# with W x SCALE_PER_WORKER tasks, so that every worker does at least two.
# The clock runs from the start of the workers to the last task done.
#
#   longhaul  the board tools (task-claim, task-update, task-show), and
#             the board's turn (board-turn) to land one after another
#   jsonfile  the same worker, with task-claim, task-update and task-show
#             replaced by jsonfile-board (t/perf/jsonfile-board.c): every
#             task in one JSON file, each claim, heartbeat and done a
#             read-modify-write of the whole file under an exclusive flock
#             (fsync off too), each read under a shared one
#   noturn    longhaul without the turn (LONGHAUL_PUSH_TURN=0): every
#             worker fetches, rebases, verifies and pushes when it is
#             ready, and retries when rejected (not run by default)
#
# Every run checks itself: each task's Longhaul-Task trailer is on the
# branch exactly once, each task is done exactly once (one done version
# in its history), and every task's file has its line.
#
# The toolkit's CPU: the workers run under reaper (t/perf/reaper.c), a
# child subreaper that adds up the CPU time of every process they start,
# orphans included (git, jq, llm-call, agent-step, the board tools, the
# agent's commands); the CPU of the agent's commands is measured apart
# (the same commands, run as agent-step runs them) and taken off. The
# model server's CPU is not counted (it is read from /proc and shown).
#
# Knobs (environment):
#   SCALE_FULL=1          the bigger run: 4 tasks per worker
#   SCALE_WORKERS         worker counts ("1 4 16 64")
#   SCALE_PER_WORKER      tasks per worker (2; FULL: 4)
#   SCALE_DELAY_MS        the model's delay per call (2000)
#   SCALE_APPROACHES      "longhaul jsonfile"
#   SCALE_TIMEOUT         give up on a run after this many seconds (600)
#   SCALE_DIR             scratch directory (t/perf/out/scratch)
#   SCALE_WRAP            a profiler to run the workers under, e.g.
#                         "perf record -g -o perf.data --" or
#                         "strace -f -qq -e trace=execve -o execs"
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$here/out
bin=$out/bin
PATH=$top:$top/bin:$bin:$PATH
export PATH
unset LONGHAUL_AGENT LONGHAUL_AREA LONGHAUL_LEASE LONGHAUL_PUBLISH_MAX LONGHAUL_IN_FLIGHT \
    LONGHAUL_BUDGET_USD LONGHAUL_BUDGET_TOKENS LONGHAUL_CONFIG OPENAI_API_KEY ANTHROPIC_API_KEY

full=${SCALE_FULL:-0}
[ "$full" = 1 ] || full=0
workers=${SCALE_WORKERS:-1 4 16 64}
per=${SCALE_PER_WORKER:-$([ $full = 1 ] && echo 4 || echo 2)}
delay=${SCALE_DELAY_MS:-2000}
approaches=${SCALE_APPROACHES:-longhaul jsonfile}
limit=${SCALE_TIMEOUT:-600}

die() { echo "scale-worker: $*" >&2; exit 1; }

mkdir -p "$bin" "$bin/jsonfile"
build() {
	name=$1; shift
	[ "$bin/$name" -nt "$here/$name.c" ] ||
		${CC:-cc} -O2 -Wall -Wextra -o "$bin/$name" "$here/$name.c" "$@" ||
		die "cannot build $name"
}
build reaper
build jsonfile-board -ljansson
ln -sf ../jsonfile-board "$bin/jsonfile/task-claim"
ln -sf ../jsonfile-board "$bin/jsonfile/task-update"
ln -sf ../jsonfile-board "$bin/jsonfile/task-show"
for t in longhaul-worker agent-step llm-call llm-mock task-claim task-update task-ls \
    task-show task-publish board-init jq git; do
	command -v $t >/dev/null || die "$t not found (run make first)"
done

scratch=${SCALE_DIR:-$out/scratch}/scale-worker.$$
mkdir -p "$scratch" || die "cannot make $scratch"
mock=
cleanup() {
	[ -z "$mock" ] || kill "$mock" 2>/dev/null
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

export LONGHAUL_FSYNC=0 LONGHAUL_SHARE="$top/share" GIT_CONFIG_NOSYSTEM=1 HOME="$scratch/home"
export LONGHAUL_MODEL=openai:mock
mkdir -p "$HOME"
git config --global init.defaultBranch main
git config --global advice.detachedHead false
git config --global user.name bench
git config --global user.email bench@example.invalid

# the model: four bash steps, then submit; $1 is the task's number
cat >"$scratch/rules.jsonl" <<EOF
{"match":{"turn":1},"capture":"SCALE-([0-9]+)","delay_ms":$delay,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"ls files | head -3; cat files/t\$1.txt"}}]}}
{"match":{"turn":2},"capture":"SCALE-([0-9]+)","delay_ms":$delay,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo done >> files/t\$1.txt"}}]}}
{"match":{"turn":3},"capture":"SCALE-([0-9]+)","delay_ms":$delay,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"grep -qx done files/t\$1.txt && echo verified"}}]}}
{"match":{"turn":4},"capture":"SCALE-([0-9]+)","delay_ms":$delay,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"git status --short"}}]}}
{"match":{"turn":5},"capture":"SCALE-([0-9]+)","delay_ms":$delay,"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended done to files/t\$1.txt"}}]}}
EOF

# seconds since the epoch, with fractions
now() { date +%s.%N; }
# cpu FILE: user+sys seconds from a reaper report
cpu() { awk '{ print $2 + $4 }' "$1"; }

# project DIR N: a bare repository DIR/remote.git with files/t0001.txt...
project() {
	git init -q "$1/seed"
	(cd "$1/seed" && mkdir files &&
	 i=1 && while [ $i -le "$2" ]; do printf 'task %04d\n' $i >"files/t$(printf %04d $i).txt"; i=$((i + 1)); done &&
	 echo "the scaling benchmark's project" >README &&
	 git add . && git commit -qm "the start") || die "cannot make the project"
	git clone -q --bare "$1/seed" "$1/remote.git" || die "cannot clone the project"
}

# the CPU of the agent's own commands for one task, run as agent-step runs
# them (bash -c in the worktree), measured apart: seconds per task
project "$scratch/calib" 1
git clone -q "$scratch/calib/remote.git" "$scratch/calib/wt"
cat >"$scratch/calib/cmds" <<'EOF'
i=0
while [ $i -lt 20 ]; do
	bash -c 'ls files | head -3; cat files/t0001.txt'
	bash -c 'echo done >> files/t0001.txt'
	bash -c 'grep -qx done files/t0001.txt && echo verified'
	bash -c 'git status --short'
	git checkout -q files
	i=$((i + 1))
done >/dev/null
EOF
(cd "$scratch/calib/wt" && reaper "$scratch/calib/ru" sh "$scratch/calib/cmds") || die "calibration failed"
agent_cpu=$(awk '{ printf "%.4f", ($2 + $4) / 20 }' "$scratch/calib/ru")

results=$out/scale-worker.tsv
: >"$results"

# run APPROACH W: one timed run and its checks
run() {
	what=$1 w=$2 n=$(($2 * per))
	d=$scratch/run
	rm -rf "$d" && mkdir -p "$d"
	project "$d" "$n"
	LONGHAUL_BOARD=$d/board
	export LONGHAUL_BOARD
	board-init >/dev/null || die "board-init failed"
	i=1
	while [ $i -le "$n" ]; do
		t=$(printf %04d $i)
		printf '{"title":"scale task SCALE-%s","body":"Append a line reading done to files/t%s.txt.","verify":["grep -qx done files/t%s.txt"]}\n' "$t" "$t" "$t"
		i=$((i + 1))
	done >"$d/tasks.jsonl"
	task-publish -j <"$d/tasks.jsonl" >"$d/ids" || die "publish failed"
	path=$PATH turn=1
	[ "$what" != noturn ] || turn=0
	if [ "$what" = jsonfile ]; then
		task-ls -j | jq -c -s 'map(del(.shown_state))' >"$d/tasks.json" || die "cannot make the JSON file"
		LONGHAUL_JSONFILE=$d/tasks.json
		export LONGHAUL_JSONFILE
		path=$bin/jsonfile:$PATH
	fi
	llm-mock -r "$scratch/rules.jsonl" -P "$d/port" -l "$d/mock.log" >/dev/null &
	mock=$!
	i=0
	while [ ! -s "$d/port" ]; do
		i=$((i + 1)); [ $i -lt 200 ] || die "llm-mock did not start"
		sleep 0.05
	done
	export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$d/port")/v1"
	sync
	t0=$(now)
	PATH=$path LONGHAUL_PUSH_TURN=$turn reaper "$d/rusage" ${SCALE_WRAP:-} longhaul-worker -j "$w" -R "$d/remote.git" -W "$d/work" \
	    -g 'test -d files' 2>"$d/worker.log" &
	workers_pid=$!
	end=$(( $(date +%s) + limit ))
	while :; do
		if [ "$what" = jsonfile ]; then
			# not jq: it would cost the machine more CPU than the tools measured
			done_n=$(grep -o '"state":"done"' "$d/tasks.json" | wc -l)
		else
			done_n=$(task-ls -s done | wc -l)
		fi
		[ "$done_n" -lt "$n" ] || break
		[ "$(date +%s)" -lt "$end" ] || { echo "# $what W=$w: timed out with $done_n of $n done"; break; }
		sleep 0.2
	done
	t1=$(now)
	if [ -n "${SCALE_WRAP:-}" ]; then
		# a profiler might not pass the signal on: end its child
		kill -TERM "$(pgrep -n -f "longhaul-worker -j $w -R $d/remote.git")"
	else
		kill -TERM "$workers_pid"
	fi
	wait "$workers_pid"
	mock_cpu=$(awk '{ printf "%.2f", ($14 + $15) / 100 }' "/proc/$mock/stat")
	kill "$mock"
	wait "$mock" 2>/dev/null
	mock=

	# the checks: on the branch exactly once, done exactly once, nothing lost
	git --git-dir="$d/remote.git" log --format='%(trailers:key=Longhaul-Task,valueonly)' main |
		sed '/^$/d' | sort >"$d/landed"
	sort "$d/ids" >"$d/want"
	dup=$(uniq -d "$d/landed" | wc -l)
	lost=$(sort -u "$d/landed" | comm -23 "$d/want" - | wc -l)
	if [ "$what" = jsonfile ]; then
		done_once=$(jq '[.[] | select(.state == "done")] | length' "$d/tasks.json")
	else
		done_once=0
		while read -r id; do
			[ "$(task-show -H "$id" | jq -s '[.[] | select(.state == "done")] | length')" != 1 ] ||
				done_once=$((done_once + 1))
		done <"$d/ids"
	fi
	git --git-dir="$d/remote.git" archive main files | tar -xO | grep -cx done >"$d/lines" || :
	lines=$(cat "$d/lines")
	if [ "$dup" -eq 0 ] && [ "$lost" -eq 0 ] && [ "$done_once" -eq "$n" ] && [ "$lines" -eq "$n" ]; then
		check=ok
	else
		check=FAILED
	fi
	secs=$(echo "$t0 $t1" | awk '{ printf "%.1f", $2 - $1 }')
	rate=$(echo "$n $secs" | awk '{ printf "%.2f", $1 * 60 / $2 }')
	tcpu=$(cpu "$d/rusage")
	per_task=$(echo "$tcpu $n $agent_cpu" | awk '{ printf "%.3f", $1 / $2 - $3 }')
	calls=$(wc -l <"$d/mock.log")
	printf '%-8s W=%-2s tasks=%-3s in %6ss  %7s tasks/min  exactly-once:%s (dup %s, lost %s, done once %s, lines %s)  cpu/task %ss  model calls %s (mock cpu %ss)\n' \
	    "$what" "$w" "$n" "$secs" "$rate" "$check" "$dup" "$lost" "$done_once" "$lines" "$per_task" "$calls" "$mock_cpu"
	[ "$check" = ok ] || { echo "# worker log tail:"; tail -5 "$d/worker.log" | sed 's/^/#   /'; }
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$what" "$w" "$n" "$secs" "$rate" "$per_task" "$check" >>"$results"
	rm -rf "$d"
}

echo "# scale-worker: workers $workers, $per tasks each; model delay ${delay} ms x 5 calls a task; LONGHAUL_FSYNC=0; full=$full"
echo "# machine: $(nproc) CPUs, $(uname -sr), load $(cut -d" " -f1-3 /proc/loadavg); scratch: $(stat -f -c %T "$scratch")"
echo "# the agent's own commands: ${agent_cpu}s CPU a task (taken off cpu/task)"
for w in $workers; do
	for what in $approaches; do
		run "$what" "$w"
	done
done

echo
echo "tasks per minute (model: 5 calls x ${delay} ms a task; ideal per worker $(echo "$delay" | awk '{ printf "%.1f", 60000 / ($1 * 5) }'))"
awk -F '\t' -v approaches="$approaches" '
{
	rate[$1, $2] = $5; cpu[$1, $2] = $6
	if (!($2 in seen)) { seen[$2] = 1; ws[++nw] = $2 }
	if ($7 != "ok") bad = 1
}
END {
	na = split(approaches, a, " ")
	printf "| workers |"
	for (i = 1; i <= na; i++) printf " %s tasks/min | %s efficiency | %s CPU s/task |", a[i], a[i], a[i]
	printf "\n| ---: |"
	for (i = 1; i <= na; i++) printf " ---: | ---: | ---: |"
	printf "\n"
	for (k = 1; k <= nw; k++) {
		w = ws[k]
		printf "| %d |", w
		for (i = 1; i <= na; i++) {
			r1 = rate[a[i], ws[1]] / ws[1]
			e = r1 > 0 ? rate[a[i], w] / (w * r1) : 0
			eff[a[i], w] = e
			printf " %.1f | %.2f | %.3f |", rate[a[i], w], e, cpu[a[i], w]
		}
		printf "\n"
	}
	if ((("longhaul", 16) in eff) || (("longhaul", 64) in eff)) {
		printf "\ntargets (longhaul): "
		if (("longhaul", 16) in eff)
			printf "efficiency at 16 %.2f (>= 0.85: %s)  ", eff["longhaul", 16], (eff["longhaul", 16] >= 0.85 ? "met" : "MISSED")
		if (("longhaul", 64) in eff)
			printf "at 64 %.2f (>= 0.6: %s)", eff["longhaul", 64], (eff["longhaul", 64] >= 0.6 ? "met" : "MISSED")
		printf "\n"
	}
	printf "exactly once, none lost, in every run: %s\n", bad ? "NO" : "yes"
	exit bad
}' "$results"
