#!/bin/sh
# Nothing of a worker goes on after it. A worker killed with -9: its
# agent-step and the command it runs die with it, and the worker that
# starts again under its name lands its next task with nothing of the
# dead one's in it. An agent-step killed with -9 alone: the command it
# left running is killed before the tree is used for the next task.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 9
board-init >/dev/null
make_project
# hold NAME: touch NAME.started, write our pid to NAME.pid, wait for NAME.go
hold() { echo "echo \$\$ >$TRASH/$1.pid; touch $TRASH/$1.started; i=0; while [ ! -e $TRASH/$1.go ] && [ \$i -lt 600 ]; do sleep 0.05; i=\$((i+1)); done"; }
cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["dying task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"$(hold a); echo dead >dead.txt"}}]}}
{"match":{"contains":["dying task"],"turn":2},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo more-dead >>list.txt"}}]}}
{"match":{"contains":["dying task"],"turn":3},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"dead"}}]}}
{"match":{"contains":["next task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo b >b.txt; $(hold b)"}}]}}
{"match":{"contains":["next task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"b"}}]}}
{"match":{"contains":["orphan task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"$(hold c); echo late >late.txt"}}]}}
{"match":{"contains":["orphan task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"c"}}]}}
{"match":{"contains":["last task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo d >d.txt; $(hold d)"}}]}}
{"match":{"contains":["last task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"d"}}]}}
JSON
start_mock
# (a zombie is dead: here orphans may never be reaped)
running() { [ -n "$1" ] && [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
alive() { [ -s "$TRASH/$1.pid" ] && running "$(cat "$TRASH/$1.pid")"; }
files() { git --git-dir="$TRASH/remote.git" show --format= --name-only main | sort | tr '\n' ' '; }
home=$TRASH/work/w1
at_exit 'touch "$TRASH/a.go" "$TRASH/b.go" "$TRASH/c.go" "$TRASH/d.go"'

a=$(task-publish -p 1 "dying task")
LONGHAUL_AGENT=w1 longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/w1.err" &
w1=$!
wait_for 30 '[ -e "$TRASH/a.started" ]' || diag "the agent did not start"
step=$(ps -o pid=,comm= --ppid "$w1" | awk '$2 == "agent-step" { print $1 }')
kill -9 "$w1"
wait "$w1"
if wait_for 10 '! running $step && ! alive a'; then ok "agent-step and its command died with the worker"
else not_ok "agent-step and its command died with the worker"; diag "$(ps -o pid,ppid,args -p "$step" -p "$(cat "$TRASH/a.pid")")"; fi

b=$(task-publish -p 9 "next task")
LONGHAUL_AGENT=w1 longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/w1b.err" &
w1=$!
wait_for 30 '[ -e "$TRASH/b.started" ]' || diag "the next task did not start"
# what of the dead task lives on would go on now
touch "$TRASH/a.go"
wait_for 20 '! running $step || grep -q more-dead "$home/tree/list.txt"'
touch "$TRASH/b.go"
wait "$w1"
expect_eq "the worker of the same name does the next task" 0 "$?"
expect_eq "its commit holds its own change alone" "b.txt " "$(files)"
expect_eq "the dead worker's task was given back when its name started again" ready "$(task-show -f state "$a")"
task-update -V "$(task-show -f version "$a")" -r "test" cancel "$a"

c=$(task-publish -m 1 -p 9 "orphan task")
d=$(task-publish -p 1 "last task")
LONGHAUL_AGENT=w2 longhaul-worker -w 5 -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/w2.err" &
w2=$!
wait_for 30 '[ -e "$TRASH/c.started" ]' || diag "the orphan task did not start"
step=$(ps -o pid=,comm= --ppid "$w2" | awk '$2 == "agent-step" { print $1 }')
kill -9 "$step"
wait_for 30 '[ -e "$TRASH/d.started" ]' || diag "the last task did not start"
if alive c; then not_ok "the command the killed agent-step left was killed before the tree was used again"
else ok "the command the killed agent-step left was killed before the tree was used again"; fi
touch "$TRASH/c.go"
wait_for 20 '! alive c'
touch "$TRASH/d.go"
wait_for 60 '[ "$(task-show -f state "$d")" = done ]'
kill -TERM "$w2"
wait "$w2"
expect_eq "the worker stops when told" 130 "$?"
expect_eq "the orphan task failed" failed "$(task-show -f state "$c")"
expect_eq "the last task is done, its commit its own change alone" "done d.txt " "$(task-show -f state "$d") $(files)"
expect_eq "nothing of the agents is left" "" "$(for p in a b c d; do alive $p && echo $p; done)"
