#!/bin/sh
# agent-step looks at the tree after every command (stuck detection),
# outside the sandbox, reading each changed file: a sparse file of
# terabytes costs the agent one truncate. It must be looked at without
# reading it (by size and time), and the agent go on.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 3
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"truncate -s 4T huge && echo made"}}]}}
{"match":{"turn":2},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo again"}}]}}
{"match":{"turn":3},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"x"}}]}}
JSON
start_mock
git init -q "$TRASH/wt"
echo '{"id":"S1","title":"t","body":"x"}' >"$TRASH/task.json"
# (a bound far above what the three steps need; agent-step reading 4 TB
# would not end within it)
expect_code 1 'agent-step takes every step and ends with the submit' -- \
	timeout 60 agent-step -A -T "$TRASH/tr.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt"
expect_eq 'both commands ran' 'made again' \
	"$(jq -r 'select(.type == "tool") | .content' "$TRASH/tr.jsonl" | grep -x 'made\|again' | tr '\n' ' ' | sed 's/ $//')"
expect_eq 'each step has a look at the tree' 2 "$(jq -r 'select(.type == "tool" and .tree != null) | .tree' "$TRASH/tr.jsonl" | wc -l)"
