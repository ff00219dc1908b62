#!/bin/sh
# Chaos: many tasks, workers with short leases, a reaper, and a killer
# that every 1-3 s sends kill -9 to a random process of the workers'
# trees (git push, receive-pack and its hook, task-update, agent-step,
# task-claim -w, board-turn, the worker itself, an agent's command) and
# now and then SIGTERM to a whole worker. Killed workers start again
# under the same name. When the board has drained: every task is done
# exactly once, its Longhaul-Task trailer is on main exactly once, each
# landed commit touches its own task's file alone and is the task's
# result, nothing is claimed, nothing of the workers is left running, and
# board-fsck -n -R finds the board and the branch clean.
#
# Knobs (make chaos runs a bigger one): CHAOS_TASKS (150), CHAOS_WORKERS
# (8), CHAOS_LEASE (3 s), CHAOS_DELAY_MS (the model's delay, 1500 ms),
# CHAOS_TIMEOUT (600 s), CHAOS_SEED, CHAOS_LAND (the workers' -L: serial,
# or train for the merge train, as t/1607 runs it).
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
tasks=${CHAOS_TASKS:-150} workers=${CHAOS_WORKERS:-8} lease=${CHAOS_LEASE:-3}
delay=${CHAOS_DELAY_MS:-1500} timeout=${CHAOS_TIMEOUT:-600} seed=${CHAOS_SEED:-$$}
land=${CHAOS_LAND:-serial}
plan 9
board-init >/dev/null
diag "chaos: $tasks tasks, $workers workers, lease $lease s, model delay $delay ms, seed $seed, landing $land"
git init -q "$TRASH/seed"
(cd "$TRASH/seed" && mkdir files &&
 i=1 && while [ $i -le "$tasks" ]; do printf 'task %04d\n' $i >"files/t$(printf %04d $i).txt"; i=$((i + 1)); done &&
 git add . && git commit -qm "the start")
git clone -q --bare "$TRASH/seed" "$TRASH/remote.git"
# fencing at the storage, as longhaul-run sets it up
cp "$TOP/share/hooks/pre-receive" "$TRASH/remote.git/hooks/pre-receive"
git --git-dir="$TRASH/remote.git" config longhaul.board "$LONGHAUL_BOARD"
# (every push runs on this host: a lock left by a receive-pack killed
# with -9 is removed, or it would refuse every push from then on)
git --git-dir="$TRASH/remote.git" config longhaul.removeStaleLocks true
cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"turn":1},"capture":"CHAOS-([0-9]+)","delay_ms":$delay,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo done >>files/t\$1.txt"}}]}}
{"match":{"turn":2},"capture":"CHAOS-([0-9]+)","delay_ms":$delay,"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended done to files/t\$1.txt"}}]}}
JSON
start_mock
i=1
while [ $i -le "$tasks" ]; do
	t=$(printf %04d $i)
	printf '{"title":"chaos task CHAOS-%s","body":"Append a line reading done to files/t%s.txt.","verify":["grep -qx done files/t%s.txt"],"max_attempts":1000}\n' "$t" "$t" "$t"
	i=$((i + 1))
done | task-publish -j >/dev/null
export LONGHAUL_PUSH_ATTEMPTS=1000 LONGHAUL_TURN_LEASE=10
started=$(date +%s)

# one supervisor a name: start the worker again whenever it ends
supervise() {
	n=0
	while [ ! -e "$TRASH/stop" ]; do
		LONGHAUL_AGENT=$1 setsid longhaul-worker -L "$land" -l "$lease" -R "$TRASH/remote.git" -W "$TRASH/work" \
		    </dev/null >/dev/null 2>>"$TRASH/$1.err" &
		echo $! >"$TRASH/$1.pid"
		st=0
		wait $! || st=$?
		echo "$st" >>"$TRASH/$1.exits"
		[ -e "$TRASH/stop" ] || sleep 0.2
	done
}
sups=
i=1
while [ $i -le "$workers" ]; do
	supervise "c$i" 2>/dev/null &
	sups="$sups $!"
	i=$((i + 1))
done
# (as longhaul-run reaps: a task whose attempts ran out after it landed
# is done, not failed)
( while [ ! -e "$TRASH/stop" ]; do board-reap -R "$TRASH/remote.git" >/dev/null 2>&1 || :; sleep 0.5; done ) &
reaper=$!
at_exit 'touch "$TRASH/stop"'

# the killer: every 1-3 s, kill -9 to a process of the workers' trees;
# one time in six SIGTERM to a worker's group instead. Every other kill
# hunts, through the 1-3 s, for a process landing a commit (git push,
# receive-pack, its hook, task-update done: they live a moment); the
# others pick one of the toolkit's, and now and then anything.
# pick MODE: the victim's line of ps, MODE landing or any
pick() {
	ps -eo pid=,ppid=,stat=,comm=,args= >"$TRASH/ps" 2>/dev/null || return 1
	awk -v roots="$sups" -v s="$seed" -v k="$k" -v mode="$1" '
	BEGIN { n = split(roots, r, " "); for (i = 1; i <= n; i++) { mine[r[i]] = 1; root[r[i]] = 1 } }
	{ pid[NR] = $1; ppid[NR] = $2; stat[NR] = $3; comm[NR] = $4; line[NR] = $0 }
	END {
		do { more = 0
		     for (i = 1; i <= NR; i++) if (!(pid[i] in mine) && (ppid[i] in mine)) { mine[pid[i]] = 1; more = 1 }
		} while (more)
		srand(s * 104729 + k)
		for (i = 1; i <= NR; i++) {
			if (!(pid[i] in mine) || (pid[i] in root) || stat[i] ~ /Z/) continue
			all[na++] = i
			if (line[i] ~ / push -q origin |receive-pack |hooks\/pre-receive| done [^ ]*$/ && comm[i] != "setsid")
				landing[nl++] = i
			# (not the keepers of turns: they live long, they would be
			# most of the picks)
			if (comm[i] ~ /^(git|git-receive-pac|pre-receive|task-update|task-claim|agent-step|board-turn|land-train|longhaul-worker)$/ &&
			    line[i] !~ / keep /)
				tool[nt++] = i
		}
		if (mode == "landing") { if (nl) i = landing[int(rand() * nl)]; else exit 1 }
		else if (!na) exit 1
		else i = nt && rand() < 0.85 ? tool[int(rand() * nt)] : all[int(rand() * na)]
		print pid[i], comm[i], line[i]
	}' "$TRASH/ps" >"$TRASH/victim"
}
(
	k=0
	while [ ! -e "$TRASH/stop" ]; do
		k=$((k + 1))
		tenths=$(awk -v s="$seed" -v k="$k" 'BEGIN { srand(s * 7919 + k); print int(10 + 20 * rand()) }')
		if [ $((k % 6)) -eq 0 ]; then
			sleep "$tenths"e-1
			w=$(cat "$TRASH/c$(( (k / 6) % workers + 1 )).pid")
			kill -TERM -"$w" 2>/dev/null && echo "TERM worker group $w" >>"$TRASH/kills"
			continue
		fi
		found=
		if [ $((k % 2)) -eq 1 ]; then
			while [ "$tenths" -gt 0 ] && [ ! -e "$TRASH/stop" ]; do
				sleep 0.1
				tenths=$((tenths - 1))
				! pick landing || { found=1; break; }
			done
		else
			sleep "$tenths"e-1
		fi
		[ ! -e "$TRASH/stop" ] || break
		[ -n "$found" ] || pick any || continue
		read -r pid comm rest <"$TRASH/victim" || continue
		kill -9 "$pid" 2>/dev/null && echo "KILL $comm $rest" >>"$TRASH/kills"
	done
) &
killer=$!

drained() { [ -z "$(task-ls -s ready,waiting,claimed)" ]; }
if wait_for "$timeout" drained; then ok "the board drained in $(( $(date +%s) - started )) s"
else not_ok "the board drained within $timeout s"; diag "$(task-ls -s ready,waiting,claimed | head)"; fi
touch "$TRASH/stop"
wait "$killer" "$reaper"
for f in "$TRASH"/c*.pid; do kill -TERM "$(cat "$f")" 2>/dev/null || :; done
for p in $sups; do wait "$p"; done
# what was hit: the tool and what it was doing (git's command, the board
# tools' action)
diag "$(grep -c . "$TRASH/kills") signals sent:" "$(awk '
	$1 == "TERM" { print "SIGTERM to a worker group"; next }
	{ what = $2
	  if ($2 == "sh" && $8 == "-c") { print "kill -9 sh -c " $9; next }
	  for (i = 8; i <= NF; i++) {
		if ($(i - 1) == "-C" || $i ~ /^-/ || $i ~ /^\//) continue
		if ($i ~ /^(push|checkout|rebase|commit|merge-tree|commit-tree|reset|log|fetch|worktree|status|gc|rev-parse|update-ref|add|heartbeat|done|release|fail|take|keep|give|drop)$/) { what = what " " $i; break }
	  }
	  print "kill -9 " what }' "$TRASH/kills" | sort | uniq -c | sort -rn)"
diag "worker exits: $(cat "$TRASH"/c*.exits | sort | uniq -c | tr '\n' ' ')"

task-ls -j >"$TRASH/tasks"
jq -r '"\(.id) \(.state) \(.result.commit // "-") \(.title | sub("chaos task CHAOS-"; ""))"' "$TRASH/tasks" | sort >"$TRASH/states"
expect_eq "every task is done" "$tasks done" "$(awk '$2 == "done"' "$TRASH/states" | wc -l) done"
: >"$TRASH/dones"
while read -r id state commit n; do
	echo "$id $(task-show -H "$id" | jq -r 'select(.event == "done") | .event' | wc -l)" >>"$TRASH/dones"
done <"$TRASH/states"
expect_eq "each one done exactly once" "" "$(awk '$2 != 1' "$TRASH/dones")"
git --git-dir="$TRASH/remote.git" log --format='%H %(trailers:key=Longhaul-Task,valueonly,separator=%x20)' main |
	awk 'NF == 2' | sort -k2 >"$TRASH/landed"
expect_eq "each task's trailer is on main exactly once" "" \
	"$(awk '{ print $2 }' "$TRASH/landed" | sort | uniq -d)$(expr "$(wc -l <"$TRASH/landed")" != "$tasks" | sed 's/1/ (count differs)/; s/0//')"
# the result of each task is the commit on main that names it, and that
# commit touches the task's own file alone
bad=
while read -r id state commit n; do
	c=$(awk -v id="$id" '$2 == id { print $1 }' "$TRASH/landed")
	[ "$c" = "$commit" ] || bad="$bad $id:result"
	[ "$(git --git-dir="$TRASH/remote.git" show --format= --name-only "$c" 2>/dev/null)" = "files/t$n.txt" ] || bad="$bad $id:files"
done <"$TRASH/states"
expect_eq "each task's result is its commit on main, which touches its own file alone" "" "$bad"
git --git-dir="$TRASH/remote.git" archive main files | tar -xO >"$TRASH/content"
expect_eq "every file has its line once" "$tasks" "$(grep -cx done "$TRASH/content")"
expect_eq "nothing is claimed" "" "$(task-ls -s claimed)"
# nothing of the workers is left: no live process in the work tree or the
# remote, none with this test's board (but the test itself, and zombies:
# they are dead, and orphans may go unreaped here)
left() {
	find /proc/[0-9]*/cwd /proc/[0-9]*/root /proc/[0-9]*/fd -maxdepth 1 \
	    \( -lname "$TRASH/work" -o -lname "$TRASH/work/*" -o -lname "$TRASH/remote.git*" \) -print 2>/dev/null | cut -d/ -f3
	grep -lzxF "LONGHAUL_BOARD=$LONGHAUL_BOARD" /proc/[0-9]*/environ 2>/dev/null | cut -d/ -f3 | grep -vx "$$"
}
stop_mock
running() { [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
live() { for p in $(left | sort -u); do ! running "$p" || echo "$p"; done; }
if wait_for 20 '[ -z "$(live)" ]'; then ok "no process of the workers is left"
else not_ok "no process of the workers is left"; diag "$(for p in $(live); do ps -o pid=,args= -p "$p"; done)"; fi
# every invariant of the board and of main, checked without repairing
expect_code 0 "board-fsck -n -R finds the board and main clean" -- board-fsck -n -R "$TRASH/remote.git"
[ "$t_failed" -eq 0 ] || diag "$(head -c 3000 "$TRASH/out")"
