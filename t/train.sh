# t/train.sh: fixtures for the merge train's tests (t/16xx), sourced
# after t/lib.sh and t/agent.sh: a project of one file a task in a bare
# remote with longhaul's pre-receive hook, tasks, train workers, and
# the landing turn held by the test so that a queue can form first.

# train_project N: $TRASH/remote.git with files/t0001.txt..tN.txt, the
# hook installed and pointed at the board
train_project() {
	git init -q "$TRASH/seed"
	(cd "$TRASH/seed" && mkdir files &&
	 i=1 && while [ $i -le "$1" ]; do printf 'task %04d\n' $i >"files/t$(printf %04d $i).txt"; i=$((i + 1)); done &&
	 git add . && git commit -qm "the start")
	git clone -q --bare "$TRASH/seed" "$TRASH/remote.git"
	cp "$TOP/share/hooks/pre-receive" "$TRASH/remote.git/hooks/pre-receive"
	git --git-dir="$TRASH/remote.git" config longhaul.board "$LONGHAUL_BOARD"
}

# train_tasks N [FIRST]: publish tasks "train task TRAIN-FIRST".. (FIRST
# 1 by default), N of them, each to append a line "done" to its file
# (what the model's rules do, see train_rules)
train_tasks() {
	i=${2:-1}
	while [ $i -lt $(( ${2:-1} + $1 )) ]; do
		t=$(printf %04d $i)
		printf '{"title":"train task TRAIN-%s","body":"Append a line reading done to files/t%s.txt.","verify":["grep -q done files/t%s.txt"]}\n' "$t" "$t" "$t"
		i=$((i + 1))
	done | task-publish -j >/dev/null
}

# queue_up N FIRST [worker options]: publish N tasks from FIRST, start a
# worker for each, and wait until the queue holds all that were started
queue_up() {
	n=$1 first=$2; shift 2
	train_tasks "$n" "$first"
	start_workers "$n" "$@"
	wait_for 120 '[ "$(queued)" -eq $((next_worker - 1)) ]' ||
	    { echo "Bail out! $(queued) queued, not $((next_worker - 1))"; cat "$TRASH"/w*.err; exit 1; }
}

# train_rules [EXTRA]: the model appends WHAT to its task's file, WHAT
# being "done" unless a line of $TRASH/what says "NNNN TEXT"; EXTRA rules
# (JSON lines) come first
train_rules() {
	{ [ -z "${1:-}" ] || printf '%s\n' "$1"
	  cat <<'JSON'
{"match":{"turn":1},"capture":"TRAIN-([0-9]+)","reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo done >>files/t$1.txt"}}]}}
{"match":{"turn":2},"capture":"TRAIN-([0-9]+)","reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended to files/t$1.txt"}}]}}
JSON
	} >"$TRASH/rules.jsonl"
}

# hold_turn / give_turn: the test holds the landing turn (push-main)
hold_turn() { held=$(LONGHAUL_PID=$$ board-turn take push-main) || { echo "Bail out! cannot take the turn"; exit 1; }; }
release_turn() { LONGHAUL_PID=$$ board-turn give push-main "$held"; }

# queued: how many entries the train's queue holds
queued() { ls "$LONGHAUL_BOARD/train/push-main/queue" 2>/dev/null | grep -c . || :; }

# start_workers N [worker options]: N more train workers, one task
# each, in the background; their pids in $workers, stderr in
# $TRASH/wN.err
workers= next_worker=1
start_workers() {
	n=$1; shift
	while [ "$n" -gt 0 ]; do
		LONGHAUL_AGENT=w$next_worker setsid longhaul-worker -1 -L train -R "$TRASH/remote.git" -W "$TRASH/work" "$@" \
		    </dev/null >/dev/null 2>"$TRASH/w$next_worker.err" &
		workers="$workers $!"
		next_worker=$((next_worker + 1)) n=$((n - 1))
	done
	at_exit 'for p in $workers; do kill -9 -$p 2>/dev/null; done'
}

# wait_workers: wait for them all; the number that did not exit 0 in $bad
wait_workers() {
	bad=0
	for p in $workers; do wait "$p" || bad=$((bad + 1)); done
}

# batch N FIRST: N tasks from FIRST, a train worker each with the gate
# $gate, queued while the test holds the turn; then the turn given back
# and the workers waited for ($bad: how many did not exit 0)
batch() {
	hold_turn
	train_tasks "$1" "$2"
	start_workers "$1" -g "$gate"
	want=$1
	wait_for 120 '[ "$(queued)" -eq "$want" ]' ||
	    { echo "Bail out! $(queued) queued, not $1"; cat "$TRASH"/w*.err; exit 1; }
	release_turn
	wait_workers
	workers=
}

# first_parent_green CHECK: every commit of main's first-parent history
# passes CHECK, a shell command run in a checkout of it; the red ones
# listed in $TRASH/red
first_parent_green() {
	: >"$TRASH/red"
	for c in $(git --git-dir="$TRASH/remote.git" rev-list --first-parent main); do
		rm -rf "$TRASH/check" && mkdir "$TRASH/check"
		git --git-dir="$TRASH/remote.git" archive "$c" | tar -x -C "$TRASH/check"
		(cd "$TRASH/check" && eval "$1") >/dev/null 2>&1 || echo "$c" >>"$TRASH/red"
	done
	[ ! -s "$TRASH/red" ]
}

# trailers_once N: tasks 1..N each have their trailer on main exactly once
# and are done with that commit
trailers_once() {
	git --git-dir="$TRASH/remote.git" log --format='%(trailers:key=Longhaul-Task,valueonly)' main |
	    grep . | sort | uniq -c | awk '$1 != 1' >"$TRASH/twice"
	[ ! -s "$TRASH/twice" ] || return 1
	for id in $(task-ls -s done | awk '{print $1}'); do
		c=$(task-show -f result.commit "$id")
		[ "$(git --git-dir="$TRASH/remote.git" show -s --format='%(trailers:key=Longhaul-Task,valueonly)' "$c" | head -n 1)" = "$id" ] || return 1
	done
	[ "$(git --git-dir="$TRASH/remote.git" log --format='%(trailers:key=Longhaul-Task,valueonly)' main | grep -c .)" -eq "$1" ] &&
	    [ "$(task-ls -s done | grep -c .)" -eq "$1" ]
}

# driver_field FIELD: a field of the train's state.json (jq path)
driver_field() { jq -r "$1" "$LONGHAUL_BOARD/train/push-main/state.json" 2>/dev/null; }

# restart_dead NAME: a worker of NAME again, which takes over what the
# dead one held (done when its commit is on main), then finds nothing
restart_dead() {
	LONGHAUL_AGENT=$1 longhaul-worker -1 -w 1 -L train -R "$TRASH/remote.git" -W "$TRASH/work" \
	    </dev/null >/dev/null 2>>"$TRASH/restart.err"
}
