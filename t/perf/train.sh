#!/bin/sh
# train.sh: landing through the merge train against serial landing and
# against a shared JSON file under a lock, side by side in one run.
#
# The workload: W workers (64) on tasks that touch disjoint files (task
# N appends a line "done" to files/tN.txt), the model (llm-mock) at
# TRAIN_DELAY_MS (2000) a call, five calls a task; a gate of V seconds
# (10, then 30): `sleep V`, then a real check of the whole tree: no file
# holds a line "bad", and at most one holds a line "half". Task N writes
# "bad" too when N % 40 == 7 (it breaks the gate alone) and "half" when
# N % 40 == 27 (two of those break it only together): 5% of the tasks.
# A task sent back (a failed verification) has its agent delete the line
# and submit again. The ways:
#
#   serial  longhaul-worker -L serial -g GATE: each landing runs the gate
#           on the new parent in the landing turn, one after another
#   train   longhaul-worker -L train -g GATE: the merge train
#           (land-train(1)), batches up to TRAIN_MAX (32), TRAIN_PARALLEL
#           (32) prefixes tested at a time: every prefix of a stack at
#           once, so a red one is bisected in the same round
#   lock    the way that failed for the system we learn from: W agents
#           (shell loops) take an flock on one shared JSON file of tasks
#           and hold it across one model call while they decide what to
#           claim; then the other four calls, a commit, git push (fetch
#           and rebase when rejected, no gate: that system tolerated a
#           red branch), and done marked under the lock. It has no gate,
#           so it runs once, not once per V.
#
# Each run lasts max(TRAIN_SECONDS, TRAIN_ROUNDS x V) seconds (the lock's
# TRAIN_SECONDS) from the start of the
# workers (the warm-up included: the first landings wait for the model)
# and is then stopped. Measured from the run's own logs: landed commits
# (a post-receive hook in the remote logs each update of main with the
# time), landed per hour over the window; submit-to-landed latency, the
# submit being the first time the task's verification command passed
# (it logs the time), median and 95th percentile over the tasks landed;
# gate runs (the gate logs each) per landed commit; red tips: every
# commit of main's first-parent history checked against the breakage
# rule; and exactly once (no task's file changed by two landed commits,
# no trailer twice).
#
# LONGHAUL_SANDBOX=off in every run: the verification and the gate log to
# files of the benchmark's (a sandbox would hide them), the same for
# every way; LONGHAUL_FSYNC=0 (a scratch board).
#
# Knobs: TRAIN_WORKERS (64), TRAIN_GATES ("10 30"), TRAIN_WAYS ("serial
# train lock"), TRAIN_SECONDS (90), TRAIN_DELAY_MS (2000), TRAIN_MAX (32),
# TRAIN_PARALLEL (32), TRAIN_ROUNDS (12), TRAIN_DIR (scratch, t/perf/out/scratch),
# TRAIN_KEEP (set: the workers' log of each run kept as out/train-WAY-V.log). The table
# goes to stdout and t/perf/out/train.tsv; t/perf/plot-train makes the
# SVG of doc/train.md from that file.
set -u
here=$(cd "$(dirname "$0")" && pwd)
top=$(cd "$here/../.." && pwd)
out=$here/out
PATH=$top:$top/bin:$PATH
export PATH
unset LONGHAUL_AGENT LONGHAUL_AREA LONGHAUL_LEASE LONGHAUL_CONFIG OPENAI_API_KEY ANTHROPIC_API_KEY \
    LONGHAUL_BUDGET_USD LONGHAUL_BUDGET_TOKENS LONGHAUL_LAND
workers=${TRAIN_WORKERS:-64}
gates=${TRAIN_GATES:-10 30}
ways=${TRAIN_WAYS:-serial train lock}
seconds=${TRAIN_SECONDS:-90} rounds=${TRAIN_ROUNDS:-12}
delay=${TRAIN_DELAY_MS:-2000}
die() { echo "train: $*" >&2; exit 1; }
for t in longhaul-worker land-train agent-step llm-call llm-mock task-publish board-init jq git flock; do
	command -v $t >/dev/null || die "$t not found (run make first)"
done
mkdir -p "$out"
scratch=${TRAIN_DIR:-$out/scratch}/train.$$
mkdir -p "$scratch" || die "cannot make $scratch"
mock= pids=
cleanup() {
	[ -z "$mock" ] || kill "$mock" 2>/dev/null
	for p in $pids; do kill -9 "$p" 2>/dev/null; done
	rm -rf "$scratch"
}
trap cleanup EXIT
trap 'exit 130' INT TERM
export LONGHAUL_FSYNC=0 LONGHAUL_SANDBOX=off LONGHAUL_SHARE="$top/share" GIT_CONFIG_NOSYSTEM=1 HOME="$scratch/home"
export LONGHAUL_MODEL=openai:mock LONGHAUL_TRAIN_MAX=${TRAIN_MAX:-32} LONGHAUL_TRAIN_PARALLEL=${TRAIN_PARALLEL:-32}
# a wait for the turn of a few minutes is normal here
export LONGHAUL_PUSH_ATTEMPTS=1000
mkdir -p "$HOME"
git config --global init.defaultBranch main
git config --global advice.detachedHead false
git config --global user.name bench
git config --global user.email bench@example.invalid

# the model: five calls a task; $1 the task's number, $2 what it writes;
# sent back, it deletes the line that broke the gate and submits again
rules=$scratch/rules.jsonl
{
	printf '{"match":{"contains":["LOCKBENCH"]},"delay_ms":%s,"reply":{"text":"ok"}}\n' "$delay"
	c='"capture":"BENCH-([0-9]+) WRITE:([a-z]+)","delay_ms":'$delay
	printf '{"match":{"turn":1},%s,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"ls files | head -3; cat files/t$1.txt"}}]}}\n' "$c"
	printf '{"match":{"turn":2},%s,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo done >>files/t$1.txt; [ $2 = done ] || echo $2 >>files/t$1.txt"}}]}}\n' "$c"
	printf '{"match":{"turn":3},%s,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"grep -qx done files/t$1.txt && echo verified"}}]}}\n' "$c"
	printf '{"match":{"turn":4},%s,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"git status --short"}}]}}\n' "$c"
	printf '{"match":{"turn":6},%s,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"sed -i \\"/^bad$/d; /^half$/d\\" files/t$1.txt"}}]}}\n' "$c"
	for turn in 5 7 8 9 10 11 12 13; do
		printf '{"match":{"turn":%s},%s,"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"files/t$1.txt"}}]}}\n' "$turn" "$c"
	done
} >"$rules"

now() { date +%s.%N; }
what_for() { n=$(echo "$1" | sed 's/^0*//'); n=${n:-0}; if [ $((n % 40)) -eq 7 ]; then echo bad; elif [ $((n % 40)) -eq 27 ]; then echo half; else echo done; fi; }

# project DIR N: DIR/remote.git with files/t0001.txt..., the hooks: the
# post-receive one logs every update of main with its time
project() {
	git init -q "$1/seed"
	(cd "$1/seed" && mkdir files &&
	 i=1 && while [ $i -le "$2" ]; do printf 'task %04d\n' $i >"files/t$(printf %04d $i).txt"; i=$((i + 1)); done &&
	 git add . && git commit -qm "the start") >/dev/null || die "cannot make the project"
	git clone -q --bare "$1/seed" "$1/remote.git" || die "cannot clone the project"
	cat >"$1/remote.git/hooks/post-receive" <<EOF
#!/bin/sh
while read -r old new ref; do
	[ "\$ref" != refs/heads/main ] || echo "\$(date +%s.%N) \$old \$new" >>"$1/updates"
done
EOF
	chmod +x "$1/remote.git/hooks/post-receive"
}

# lock_agent DIR K END: one agent of the lock baseline, until END
lock_agent() {
	d=$1 k=$2 end=$3
	git clone -q "$d/remote.git" "$d/lock/$k" 2>/dev/null || return 1
	cd "$d/lock/$k" || return 1
	while [ "$(date +%s)" -lt "$end" ]; do
		# under the lock: one model call to decide, then the claim
		# (at most until the end: a waiter left past it would live on)
		left=$((end - $(date +%s)))
		[ "$left" -gt 0 ] || break
		n=$(flock -w "$left" "$d/tasks.lock" sh -c '
			llm-call -N "LOCKBENCH which task should agent '"$k"' take?" >/dev/null || exit 1
			n=$(jq -r "map(select(.state == \"ready\"))[0].n // empty" "$1")
			[ -n "$n" ] || exit 1
			jq -c --arg n "$n" "map(if .n == \$n then .state = \"claimed\" else . end)" "$1" >"$1.new" &&
			    mv "$1.new" "$1" && echo "$n"' sh "$d/tasks.json") || { sleep 1; continue; }
		i=0
		while [ $i -lt 4 ]; do llm-call -N "LOCKBENCH work on $n, step $i" >/dev/null; i=$((i + 1)); done
		git pull -q --rebase origin main 2>/dev/null
		echo done >>"files/t$n.txt"
		w=$(what_for "$n")
		[ "$w" = done ] || echo "$w" >>"files/t$n.txt"
		git commit -qam "lock task $n

Longhaul-Task: lock-$n" || continue
		echo "$n $(now)" >>"$d/submits"
		until git push -q origin HEAD:main 2>/dev/null; do
			[ "$(date +%s)" -lt "$end" ] || return 0
			git pull -q --rebase origin main 2>/dev/null || { git rebase --abort 2>/dev/null; git reset -q --hard origin/main; break; }
		done
		flock -w 10 "$d/tasks.lock" sh -c 'jq -c --arg n "$2" "map(if .n == \$n then .state = \"done\" else . end)" "$1" >"$1.new" && mv "$1.new" "$1"' \
		    sh "$d/tasks.json" "$n"
	done
}

results=$out/train.tsv
: >"$results"

# run WAY V: one run, its numbers and checks
run() {
	way=$1 v=$2
	window=$seconds
	[ "$way" = lock ] || [ "$window" -ge $((rounds * v)) ] || window=$((rounds * v))
	# more tasks than the window can land: a worker never waits for work
	n=$(( workers * (window / 10 + 2) ))
	d=$scratch/run
	rm -rf "$d" && mkdir -p "$d/lock"
	project "$d" "$n"
	: >"$d/updates" && : >"$d/submits" && : >"$d/gates"
	export LONGHAUL_BOARD=$d/board
	board-init >/dev/null || die "board-init failed"
	if [ "$way" != lock ]; then
		cp "$top/share/hooks/pre-receive" "$d/remote.git/hooks/pre-receive"
		git --git-dir="$d/remote.git" config longhaul.board "$LONGHAUL_BOARD"
		i=1
		while [ $i -le "$n" ]; do
			t=$(printf %04d $i)
			printf '{"title":"bench task %s","body":"Append a line reading done to files/t%s.txt. BENCH-%s WRITE:%s.","verify":["grep -qx done files/t%s.txt && echo %s $(date +%%s.%%N) >>%s/submits"],"max_attempts":20}\n' \
			    "$t" "$t" "$t" "$(what_for "$t")" "$t" "$t" "$d"
			i=$((i + 1))
		done | task-publish -j >/dev/null || die "publish failed"
	else
		jq -n -c --argjson n "$n" '[range(1; $n + 1) | {n: ("000" + tostring | .[-4:]), state: "ready"}]' >"$d/tasks.json"
	fi
	gate="echo \$(date +%s.%N) >>$d/gates; sleep $v; ! grep -qx bad files/*.txt && [ \$(grep -lx half files/*.txt | wc -l) -lt 2 ]"
	llm-mock -r "$rules" -P "$d/port" >/dev/null 2>"$d/mock.err" &
	mock=$!
	i=0
	while [ ! -s "$d/port" ]; do
		i=$((i + 1)); [ $i -lt 200 ] || die "llm-mock did not start"
		sleep 0.05
	done
	export OPENAI_BASE_URL="http://127.0.0.1:$(cat "$d/port")/v1"
	load=$(cut -d' ' -f1 /proc/loadavg)
	t0=$(now)
	end=$(( ${t0%.*} + window ))
	pids=
	if [ "$way" = lock ]; then
		k=1
		while [ $k -le "$workers" ]; do
			( lock_agent "$d" "$k" "$end" ) >/dev/null 2>&1 &
			pids="$pids $!"
			k=$((k + 1))
		done
	else
		longhaul-worker -j "$workers" -L "$way" -R "$d/remote.git" -W "$d/work" -g "$gate" 2>"$d/worker.log" &
		pids=$!
	fi
	while [ "$(date +%s)" -lt "$end" ]; do sleep 0.5; done
	for p in $pids; do kill -TERM "$p" 2>/dev/null; done
	for p in $pids; do wait "$p" 2>/dev/null; done
	pids=
	kill "$mock" 2>/dev/null
	wait "$mock" 2>/dev/null
	mock=

	# landings in the window: each update's commits, by the file they touch
	: >"$d/landed"
	while read -r t old new; do
		awk -v t="$t" -v t0="$t0" -v w="$window" 'BEGIN { exit !(t - t0 <= w) }' || continue
		git --git-dir="$d/remote.git" log --format=%H --name-only "$old..$new" |
		    sed -n 's|^files/t\([0-9]*\)\.txt$|\1|p' | while read -r f; do echo "$f $t"; done >>"$d/landed"
	done <"$d/updates"
	landed=$(wc -l <"$d/landed")
	twice=$(awk '{ print $1 }' "$d/landed" | sort | uniq -d | wc -l)
	trailers=$(git --git-dir="$d/remote.git" log --format='%(trailers:key=Longhaul-Task,valueonly)' main | grep . | sort | uniq -d | wc -l)
	# latency: from the first submit to the landing
	lat=$(awk 'NR == FNR { if (!($1 in s)) s[$1] = $2; next } ($1 in s) { print $2 - s[$1] }' "$d/submits" "$d/landed" | sort -n |
	    awk '{ a[NR] = $1 } END { if (!NR) { print "- -"; exit }
	        m = a[int((NR + 1) / 2)]; p = a[int(NR * 0.95 + 0.999)]; if (p == "") p = a[NR]; printf "%.1f %.1f\n", m, p }')
	runs=$(awk -v t0="$t0" -v w="$window" '$1 - t0 <= w' "$d/gates" | wc -l)
	# every tip of the first-parent history against the breakage rule
	red=0 tips=0
	for c in $(git --git-dir="$d/remote.git" rev-list --first-parent main); do
		tips=$((tips + 1))
		if git --git-dir="$d/remote.git" grep -q -e '^bad$' "$c" -- files ||
		    [ "$(git --git-dir="$d/remote.git" grep -l -e '^half$' "$c" -- files | wc -l)" -ge 2 ]; then
			red=$((red + 1))
		fi
	done
	per_hour=$(awk -v n="$landed" -v w="$window" 'BEGIN { printf "%.0f", n * 3600 / w }')
	per_landed=$(awk -v r="$runs" -v n="$landed" -v way="$way" 'BEGIN { if (way == "lock") print "-"; else if (n) printf "%.2f", r / n; else print "-" }')
	check=ok
	[ "$twice" -eq 0 ] && [ "$trailers" -eq 0 ] || check=FAILED
	printf '%-6s V=%-3s %3ss (load %s): %4s landed, %6s/h; latency median %5s s, p95 %5s s; gate runs %4s (%s per landed); red tips %s of %s; exactly once: %s\n' \
	    "$way" "$([ "$way" = lock ] && echo - || echo "$v")" "$window" "$load" "$landed" "$per_hour" ${lat} "$runs" "$per_landed" "$red" "$tips" "$check"
	printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$way" "$v" "$window" "$landed" "$per_hour" ${lat} "$runs" "$per_landed" "$red" "$check" >>"$results"
	[ -z "${TRAIN_KEEP:-}" ] || cp "$d/worker.log" "$out/train-$way-$v.log" 2>/dev/null
	rm -rf "$d"
}

echo "# train: $workers workers, model ${delay} ms x 5 calls a task, gates V = $gates s, 5% of tasks break the gate; train max ${LONGHAUL_TRAIN_MAX}, parallel ${LONGHAUL_TRAIN_PARALLEL}"
echo "# machine: $(nproc) CPUs, $(uname -sr), load $(cut -d' ' -f1-3 /proc/loadavg)"
failed=
for v in $gates; do
	for way in $ways; do
		[ "$way" != lock ] || [ "$v" = "${gates%% *}" ] || continue
		run "$way" "$v"
	done
done
echo
awk -F '\t' -v w="$workers" -v ideal="$(awk -v d="$delay" 'BEGIN { print 3600000 / (5 * d) }')" '
{ rate[$1, $2] = $5; printf "%s V=%s: %s landed an hour, the pace of %.1f of the %d agents at full speed (%.0f an hour each)\n", $1, ($1 == "lock" ? "-" : $2), $5, $5 / ideal, w, ideal; if ($1 == "lock") lock = $5; if ($11 != "ok") bad = 1
  if ($1 != "lock" && $10 > 0) red = 1; vs[$2] = 1 }
END {
	for (v in vs) if ((("serial", v) in rate) && (("train", v) in rate) && rate["serial", v] > 0)
		printf "V = %s s: the train lands %.1f times the commits an hour of serial landing\n", v, rate["train", v] / rate["serial", v]
	printf "no red tip on main with a gate (serial, train): %s\n", red ? "NO" : "yes"
	printf "exactly once in every run: %s\n", bad ? "NO" : "yes"
	exit bad || red
}' "$results"
