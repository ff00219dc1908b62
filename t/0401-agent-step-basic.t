#!/bin/sh
# agent-step: one step at a time, text replies, the commands' clean
# environment and output, format errors, feedback after a submit.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 20
make_project
git clone -q "$TRASH/remote.git" "$TRASH/wt"
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["basic task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"env; printf 'bad \\377 byte\\n'; echo err >&2; exit 3"}}]}}
{"match":{"contains":["basic task"],"turn":2},"reply":{"text":"Next:\n```bash\nseq 1 20000\n```\n"}}
{"match":{"contains":["basic task"],"turn":3},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"first note"}}]}}
{"match":{"contains":["please redo"],"turn":4},"reply":{"text":"```submit\nsecond note\n```"}}
{"match":{"contains":["format task"]},"reply":{"text":"I think I am done."}}
JSON
start_mock
export OPENAI_API_KEY=sentinel-key-4711 LONGHAUL_BOARD=sentinel-board
echo '{"id":"T1","title":"basic task","body":"do it","verify":["true"]}' >"$TRASH/task.json"
step() { agent-step -T "$TRASH/tr.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt" "$@"; }

expect_code 0 "a bash tool call is one step" -- step
jq -r 'select(.type == "tool") | .content' "$TRASH/tr.jsonl" >"$TRASH/obs"
expect_match "the command's environment is clean" '^TERM=dumb$' "$TRASH/obs"
expect_eq "without the model's key nor other variables" "" \
	"$(grep -e sentinel -e LONGHAUL_BOARD "$TRASH/tr.jsonl")"
expect_match "stderr is merged" '^err$' "$TRASH/obs"
expect_match "bad bytes are replaced" "^bad $(printf '\357\277\275') byte\$" "$TRASH/obs"
expect_match "the exit status is shown" '^\[exit status 3\]$' "$TRASH/obs"

expect_code 0 "a reply with one bash block is a step too" -- step
jq -r 'select(.type == "user" and .observation) | .content' "$TRASH/tr.jsonl" >"$TRASH/obs"
expect_match "long output keeps its head" '^1$' "$TRASH/obs"
expect_match "and its tail" '^20000$' "$TRASH/obs"
expect_match "and says what it elided" 'bytes elided' "$TRASH/obs"

expect_code 1 "submit ends the work" -- step
expect_code 1 "and asking again changes nothing" -- step
expect_eq "-N prints the handoff note" "first note" "$(agent-step -T "$TRASH/tr.jsonl" -N)"
echo "please redo it" >"$TRASH/fb"
agent-step -T "$TRASH/tr.jsonl" -u "$TRASH/fb"
expect_code 1 "feedback reopens the conversation" -- step
expect_eq "and the new note replaces the old" "second note" "$(agent-step -T "$TRASH/tr.jsonl" -N)"

# -A: the same run in one process
agent-step -A -T "$TRASH/all.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt" >"$TRASH/out"
expect_eq "-A takes steps until the agent submits, and exits as the last step" "1 submitted" \
	"$? $(cat "$TRASH/out")"
types() { jq -r 'select(.type != "meta") | .type' "$1" | head -n "$2"; }
n=$(types "$TRASH/all.jsonl" 100 | wc -l)
expect_eq "its transcript is the one of three single steps (three model calls)" \
	"$(types "$TRASH/tr.jsonl" "$n") 3" "$(types "$TRASH/all.jsonl" 100) $(grep -c '"assistant"' "$TRASH/all.jsonl")"

echo '{"id":"T2","title":"format task","body":"x"}' >"$TRASH/task.json"
expect_code 4 "-A stops at any end: three replies without an action" -- \
	agent-step -A -T "$TRASH/fmtA.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt"
expect_eq "after three model calls" 3 "$(jq -r 'select(.type == "assistant") | .type' "$TRASH/fmtA.jsonl" | wc -l)"
agent-step -T "$TRASH/fmt.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt" >/dev/null
agent-step -T "$TRASH/fmt.jsonl" -d "$TRASH/wt" >/dev/null
expect_code 4 "three replies without an action end the work" -- \
	agent-step -T "$TRASH/fmt.jsonl" -d "$TRASH/wt"
