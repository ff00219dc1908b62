#!/bin/sh
# longhaul-run says what happens and exits with the truth: -b alone names
# the board; each task landed is said with its commit, the spend and the
# judge's verdict too; exit 0 only when the judge stops with the goal met
# and the gate green; a stop on the last cycle with the gate red is 1; a
# cycle whose workers are all dead while work is ready ends at once,
# saying why, instead of waiting in silence.
. "$(dirname "$0")/lib.sh"
for t in agent-step longhaul-worker llm-call llm-mock judge; do
	command -v $t >/dev/null || skip_all "$t is not built"
done

export HOME="$TRASH" GIT_CONFIG_NOSYSTEM=1 TMPDIR="$TRASH"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
seed() {
	rm -rf "$TRASH/repo.git" "$TRASH/src" "$TRASH/work" "$TRASH/b"
	git init -q --bare "$TRASH/repo.git"
	git init -q "$TRASH/src"
	(cd "$TRASH/src" && printf 'one\n' >list.txt && git add . && git commit -qm init && git push -q ../repo.git HEAD:main)
}
cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["You are the judge"]},"reply":{"text":"{\"decision\":\"stop\",\"goal_met\":true,\"reasons\":\"two is there\",\"focus\":\"\"}","usage":{"input_tokens":100,"output_tokens":50}}}
{"match":{"contains":["This is a planning task","appended two"]},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"done"}}]}}
{"match":{"contains":["append the number two"],"not_contains":["This is a planning task"],"turn":1},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo two >>list.txt"}}],"usage":{"input_tokens":100,"output_tokens":50}}}
{"match":{"contains":["append the number two"],"not_contains":["This is a planning task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended two"}}]}}
{"match":{"contains":["This is a planning task"],"turn":1},"reply":{"tool_calls":[{"name":"publish","arguments":{"tasks":[{"title":"append the number two","verify":["grep -qx two list.txt"]}]}}],"usage":{"input_tokens":100,"output_tokens":50}}}
{"match":{"contains":["This is a planning task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"published one task"}}]}}
JSON
start_mock
export LONGHAUL_MODEL=openai:gpt-4o-mini OPENAI_API_KEY=test LONGHAUL_POLL=1 LONGHAUL_GRACE=10
unset LONGHAUL_BOARD

seed
expect_code 0 'goal met, gate green: exit 0' -- longhaul-run -b "$TRASH/b" -R "$TRASH/repo.git" \
	-G 'make the list go to two' -g 'grep -qx two list.txt' -n 1 -j 1 -c 2 -W "$TRASH/work"
expect_eq '-b alone is the board' 'done' "$(task-ls -b "$TRASH/b" -k work -j | jq -r .state)"
tip=$(git --git-dir="$TRASH/repo.git" rev-parse --short=12 main)
expect_match 'the task landed, with its commit' "^longhaul-run: task [^ ]+ landed at $tip: append the number two$" "$TRASH/err"
expect_match 'the spend' '^longhaul-run: spent \$0\.[0-9]{4}, [0-9]+ tokens$' "$TRASH/err"
expect_match "the judge's verdict" '^longhaul-run: cycle 0001: the judge says stop \(goal met: true, gate pass, by model\): two is there$' "$TRASH/err"
expect_match 'and the end' '^longhaul-run: the goal is met$' "$TRASH/err"
cp "$TRASH/err" "$TRASH/loud"
seed
expect_code 0 '-q: the same run' -- longhaul-run -q -b "$TRASH/b" -R "$TRASH/repo.git" \
	-G 'make the list go to two' -g 'grep -qx two list.txt' -n 1 -j 1 -c 2 -W "$TRASH/work"
expect_eq '-q: no progress lines' 0 "$(grep -c 'landed at\|spent \$\|pre-flight' "$TRASH/err")"

# the last cycle, and the judge's gate fails: the judge stops, the goal
# is not met, the exit status says so
seed
expect_code 1 'a stop on the last cycle with the gate red: exit 1' -- longhaul-run -b "$TRASH/b" -R "$TRASH/repo.git" \
	-G 'make the list go to two' -g 'grep -qx two list.txt' -J false -n 1 -j 1 -c 1 -W "$TRASH/work"
expect_match 'the verdict says the gate fails' 'the judge says stop \(goal met: false, gate fail' "$TRASH/err"
expect_match 'and the run that the goal is not met' '^longhaul-run: stopped with the goal not met$' "$TRASH/err"

# every worker dies at once (no worker prompt where it looks), the
# planner lives on: the cycle ends, saying why, long before its time
seed
mkdir -p "$TRASH/share/prompts"
cp "$LONGHAUL_SHARE/prices.json" "$LONGHAUL_SHARE/planner-tools.json" "$TRASH/share/"
cp "$LONGHAUL_SHARE/prompts/planner.md" "$TRASH/share/prompts/"
start=$(date +%s)
LONGHAUL_SHARE=$TRASH/share expect_code 1 'workers dead: the cycle ends, the run stops: exit 1' -- \
	longhaul-run -b "$TRASH/b" -R "$TRASH/repo.git" -G 'make the list go to two' -g 'grep -qx two list.txt' \
	-n 1 -j 1 -c 1 -t 240 -W "$TRASH/work"
expect_eq 'long before the cycle time' true "$([ $(( $(date +%s) - start )) -lt 200 ] && echo true)"
expect_match "the worker's fatal error reaches the runner's stderr" 'prompts/worker.md' "$TRASH/err"
expect_match 'the cycle ends with the reason' '^longhaul-run: cycle 0001: (no worker is alive and work is ready|agents exited): .+' "$TRASH/err"

# the planners die at once (no planner prompt), the workers live on with
# nothing to do: the same, for the plan
seed
rm -rf "$TRASH/share" && mkdir -p "$TRASH/share/prompts"
cp "$LONGHAUL_SHARE/prompts/worker.md" "$TRASH/share/prompts/"
cp "$LONGHAUL_SHARE/prices.json" "$TRASH/share/"
start=$(date +%s)
LONGHAUL_SHARE=$TRASH/share expect_code 1 'planners dead: the cycle ends, the run stops: exit 1' -- \
	longhaul-run -b "$TRASH/b" -R "$TRASH/repo.git" -G 'make the list go to two' -g 'grep -qx two list.txt' \
	-n 1 -j 1 -c 1 -t 240 -W "$TRASH/work"
expect_eq 'long before the cycle time, again' true "$([ $(( $(date +%s) - start )) -lt 200 ] && echo true)"
expect_match 'the cycle ends with the planner'"'"'s last words' \
	'^longhaul-run: cycle 0001: no planner is alive and planning is ready: longhaul-planner: .*prompts/planner.md: no planner prompt$' "$TRASH/err"
done_testing
