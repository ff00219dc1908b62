#!/bin/sh
# A worker killed with -9 while it waits for a task: its task-claim -w
# dies with it, so that no task is claimed for a dead owner. A task that a
# dead worker of a name did claim is given back when a worker of that
# name starts again, not after its whole lease.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 5
board-init >/dev/null
make_project
running() { [ -n "$1" ] && [ -e "/proc/$1" ] && ! grep -q '^State:.*Z' "/proc/$1/status" 2>/dev/null; }
LONGHAUL_AGENT=w1 longhaul-worker -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/w1.err" &
w1=$!
wait_for 30 '[ -n "$(ps -o pid=,comm= --ppid "$w1" | awk "\$2 == \"task-claim\"")" ]' || diag "no task-claim"
claim=$(ps -o pid=,comm= --ppid "$w1" | awk '$2 == "task-claim" { print $1 }')
kill -9 "$w1"
wait "$w1"
if wait_for 10 '! running $claim'; then ok "its task-claim -w died with the worker"
else not_ok "its task-claim -w died with the worker"; kill "$claim"; fi
id=$(task-publish "a task")
expect_eq "a task published then stays ready" ready "$(task-show -f state "$id")"

# a claim left by a dead worker w1 of this host
LONGHAUL_AGENT=w1 sh -c 'LONGHAUL_PID=$$ task-claim -l 600' >/dev/null
expect_eq "a dead worker's claim (lease 600 s)" "claimed w1" "$(task-show -f state "$id") $(task-show -f owner.agent "$id")"
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["a task"],"turn":1},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"nothing to do"}}]}}
JSON
start_mock
LONGHAUL_AGENT=w1 expect_code 0 "w1 starts again and does the task at once" -- \
	longhaul-worker -1 -w 5 -R "$TRASH/remote.git" -W "$TRASH/work"
expect_eq "having given it back first" "release its worker died" \
	"$(task-show -H "$id" | jq -r 'select(.event == "release") | "\(.event) \(.reason)"')"
