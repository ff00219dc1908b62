#!/bin/sh
# longhaul-run: a cycle of a planner, a worker and the judge, interrupted
# with SIGTERM while the worker is busy and resumed: nothing duplicated,
# nothing lost, the judge ends the run. A second runner on the same board
# is refused meanwhile. The model is llm-mock, scripted.
. "$(dirname "$0")/lib.sh"
for t in agent-step longhaul-worker llm-call llm-mock judge; do
	command -v $t >/dev/null || skip_all "$t is not built"
done
[ -r "$LONGHAUL_SHARE/prompts/worker.md" ] || skip_all "no worker prompt"
plan 12

export HOME="$TRASH" GIT_CONFIG_NOSYSTEM=1 TMPDIR="$TRASH"
export GIT_AUTHOR_NAME=t GIT_AUTHOR_EMAIL=t@t GIT_COMMITTER_NAME=t GIT_COMMITTER_EMAIL=t@t
git init -q --bare "$TRASH/repo.git"
git init -q "$TRASH/src"
(cd "$TRASH/src" && printf 'one\ntwo\nthree\n' >list.txt && git add . &&
 git commit -qm init && git push -q ../repo.git HEAD:main)

cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["You are the judge"]},"reply":{"text":"{\"decision\":\"stop\",\"goal_met\":true,\"reasons\":\"four is there\",\"focus\":\"\"}"}}
{"match":{"contains":["This is a planning task","appended four"]},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"the list goes to four"}}]}}
{"match":{"contains":["append the number four"],"not_contains":["This is a planning task"],"turn":1},"delay_ms":4000,"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"echo four >>list.txt"}}]}}
{"match":{"contains":["append the number four"],"not_contains":["This is a planning task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"appended four"}}]}}
{"match":{"contains":["This is a planning task"],"turn":1},"reply":{"tool_calls":[{"name":"publish","arguments":{"tasks":[{"verify":["grep -qx four list.txt"],"title":"append the number four"}]}}]}}
{"match":{"contains":["This is a planning task"],"turn":2},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"published one task"}}]}}
JSON
start_mock
export LONGHAUL_MODEL=openai:mock OPENAI_API_KEY=test LONGHAUL_POLL=1 LONGHAUL_GRACE=10

# longhaul-run itself in the background, not a subshell that runs it:
# the signal must reach the runner
set -- -R "$TRASH/repo.git" -G 'make the list go to four' \
	-g 'grep -qx four list.txt' -n 1 -j 1 -c 3 -W "$TRASH/work"
longhaul-run "$@" >>"$TRASH/run.out" 2>>"$TRASH/run.err" &
runner=$!
at_exit "kill $runner"
wait_for 30 'task-ls -k work -s claimed 2>/dev/null | grep -q "append the number four"' &&
	ok 'a worker took the planned task' || not_ok 'a worker took the planned task'
expect_code 2 'a second runner on the same board is refused' -- longhaul-run "$@"
expect_match 'saying who runs it' \
	"longhaul-run: .*: another longhaul-run is running on this board \\(on $(hostname | cut -d. -f1), pid $runner\\)" "$TRASH/err"
kill -TERM $runner
wait $runner
expect_eq 'SIGTERM stops the run with 143' 143 $?
expect_eq 'the task was given back' ready "$(task-ls -k work -j | jq -r .state)"
expect_eq 'the cycle is left running' running "$(jq -r .state "$LONGHAUL_BOARD/cycles/0001.json")"

longhaul-run "$@" >>"$TRASH/run.out" 2>>"$TRASH/run.err"
expect_eq 'run again, it resumes and the judge stops it: exit 0' 0 $?
expect_eq 'one work task, done' 'done' "$(task-ls -k work -j | jq -r .state)"
expect_eq 'one root plan, done' 'plan-0001 done' "$(task-ls -k plan -j | jq -r '"\(.id) \(.state)"')"
git --git-dir="$TRASH/repo.git" show main:list.txt >"$TRASH/got"
printf 'one\ntwo\nthree\nfour\n' >"$TRASH/want"
expect_file 'the change landed once' "$TRASH/want" "$TRASH/got"
expect_eq 'the cycle was judged: stop' 'judged 1' \
	"$(jq -r '"\(.state) \(.verdict)"' "$LONGHAUL_BOARD/cycles/0001.json")"
expect_eq 'the verdict is on the board' stop "$(jq -r .decision "$LONGHAUL_BOARD/verdicts/0001.json")"
