#!/bin/sh
# agent-step killed with -9 in the middle of a command: run again on the
# same transcript, it does not run the command a second time; it kills
# what was left running and tells the model the step was interrupted.
# Without the sandbox (LONGHAUL_SANDBOX=off) a command can outlive the
# step and is killed by the next one; in the sandbox (the default) it
# dies with the step, its whole PID namespace with it.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 8
LONGHAUL_SANDBOX=off
export LONGHAUL_SANDBOX
make_project
git clone -q "$TRASH/remote.git" "$TRASH/wt"
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo run >>../runs; sleep 60 & echo $! >../sleeper; wait"}}]}}
{"match":{"turn":2,"contains":["interrupted"]},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"saw the interruption"}}]}}
JSON
start_mock
echo '{"id":"K1","title":"a long command","body":"x"}' >"$TRASH/task.json"
agent-step -T "$TRASH/tr.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt" &
pid=$!
wait_for 10 '[ -s "$TRASH/sleeper" ]'
kill -9 "$pid"
wait "$pid" 2>/dev/null
sleeper=$(cat "$TRASH/sleeper")
expect_eq "the killed step left its command running" 0 "$(kill -0 "$sleeper" 2>/dev/null; echo $?)"

expect_code 1 "run again, the step goes on to the next action" -- \
	agent-step -T "$TRASH/tr.jsonl" -d "$TRASH/wt"
expect_eq "the command ran once" run "$(cat "$TRASH/runs")"
wait_for 5 '! kill -0 "$sleeper" 2>/dev/null'
expect_eq "what it left running was killed" 1 "$(kill -0 "$sleeper" 2>/dev/null; echo $?)"
jq -r 'select(.type == "tool") | .content' "$TRASH/tr.jsonl" >"$TRASH/obs"
expect_match "the model was told the step was interrupted" '^\[interrupted:' "$TRASH/obs"
printf '{"a":1}\n{"b"' >"$TRASH/cut.jsonl"
agent-step -T "$TRASH/cut.jsonl" -N 2>/dev/null
expect_eq "a line cut by a crash is dropped" '{"a":1}' "$(cat "$TRASH/cut.jsonl")"

# in the sandbox: nothing of the command outlives the step
unset LONGHAUL_SANDBOX
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"sleep 60 & touch started; wait"}}]}}
{"match":{"turn":2,"contains":["interrupted"]},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"saw the interruption"}}]}}
JSON
stop_mock
start_mock
rm -f "$TRASH/tr2.jsonl"
agent-step -T "$TRASH/tr2.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt" &
pid=$!
wait_for 10 '[ -e "$TRASH/wt/started" ]'
box=$(jq -r 'select(.type == "run") | .pgid' "$TRASH/tr2.jsonl")
kill -9 "$pid"
wait "$pid" 2>/dev/null
wait_for 10 '! kill -0 "$box" 2>/dev/null' && ok "the sandbox died with the step" ||
	not_ok "the sandbox died with the step"
expect_code 1 "run again, the step goes on to the next action" -- \
	agent-step -T "$TRASH/tr2.jsonl" -d "$TRASH/wt"
