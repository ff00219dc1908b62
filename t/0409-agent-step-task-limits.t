#!/bin/sh
# limits per task: a task record's "limits" bound its agent, between the
# worker's options (all its tasks) and the environment (the whole run)
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 7
board-init >/dev/null
make_project
git clone -q "$TRASH/remote.git" "$TRASH/wt"
cat >"$TRASH/rules.jsonl" <<'JSON'
{"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo $RANDOM >>notes"}}]}}
JSON
start_mock

expect_code 2 'limits must be known names' -- \
	task-publish -j <<'EOB'
{"title":"bad","limits":{"hours":3}}
EOB
expect_code 2 '... and numbers' -- task-publish -j <<'EOB'
{"title":"bad","limits":{"steps":"many"}}
EOB
echo '{"id":"short","title":"a short leash","limits":{"steps":2,"usd":1}}' | task-publish -j >/dev/null
task-show short >"$TRASH/task.json"
expect_eq 'the record keeps them' '{"steps":2,"usd":1}' "$(jq -c .limits "$TRASH/task.json")"

step() {
	name=$1; shift
	agent-step -T "$TRASH/$name.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt" -R 9 "$@"
}
step a >/dev/null; step a >/dev/null
expect_code 3 "the task's step limit ends its agent" -- step a
expect_eq 'and says so' 'limit reached: 2 steps' "$(cat "$TRASH/out")"
LONGHAUL_MAX_STEPS=1 expect_code 0 "the task's limit wins over the run's" -- step b
step c >/dev/null; step c >/dev/null
expect_code 0 "the worker's option wins over the task's" -- step c -n 3
