#!/bin/sh
# longhaul-planner: a root planner publishes a planning task for the area
# lib; another planner claims it and is confined to lib: its agent is
# refused a task in doc (exit 3, which it sees) and may publish in lib/x.
# Both plans end when the work below them is done. The model is llm-mock,
# and publishes only when the first message names the publish tool's kind
# and area (not task-publish's flags, which the agent has no shell for).
. "$(dirname "$0")/lib.sh"
for t in agent-step llm-call llm-mock; do
	command -v $t >/dev/null || skip_all "$t is not built"
done
plan 10

export HOME="$TRASH" GIT_CONFIG_NOSYSTEM=1
git init -q --bare "$TRASH/repo.git"
git init -q "$TRASH/src"
(cd "$TRASH/src" && mkdir -p lib/x doc && echo a >lib/x/a.c && echo d >doc/d.md && git add . &&
 git -c user.name=t -c user.email=t@t commit -qm init && git push -q ../repo.git HEAD:main)
board-init >/dev/null

cat >"$TRASH/rules.jsonl" <<'JSON'
{"match":{"contains":["Your area: lib.","Handoff note"]},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"lib is tidy"}}]}}
{"match":{"contains":["Your area: lib."],"turn":1},"reply":{"tool_calls":[{"name":"publish","arguments":{"tasks":[{"area":"doc","title":"rewrite the manual"}]}}]}}
{"match":{"contains":["Your area: lib."],"turn":2},"reply":{"tool_calls":[{"name":"publish","arguments":{"tasks":[{"area":"lib/x","title":"tidy lib/x"}]}}]}}
{"match":{"contains":["Your area: lib."]},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"published tidy lib/x"}}]}}
{"match":{"contains":["Your area: the whole repository.","publish with kind plan and its area"],"not_contains":["Handoff note","-k plan"],"turn":1},"reply":{"tool_calls":[{"name":"publish","arguments":{"tasks":[{"kind":"plan","area":"lib","title":"plan the library"}]}}]}}
{"match":{"contains":["Your area: the whole repository."]},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"the library has its planner"}}]}}
JSON
start_mock
export LONGHAUL_MODEL=openai:mock OPENAI_API_KEY=test LONGHAUL_POLL=2

task-publish -k plan -i plan-root 'plan: tidy the project' >/dev/null
LONGHAUL_AGENT=root longhaul-planner -1 -R "$TRASH/repo.git" -W "$TRASH" 2>"$TRASH/root.err" &
root=$!
at_exit "kill $root"
wait_for 30 '[ "$(task-ls -P plan-root -k plan | wc -l)" -eq 1 ]' &&
	ok 'the root planner published a planning task' ||
	not_ok 'the root planner published a planning task'
sub=$(task-ls -P plan-root -j | jq -r .id)
expect_eq 'for the area lib' 'plan lib' "$(task-show "$sub" | jq -r '"\(.kind) \(.area)"')"

LONGHAUL_AGENT=lib longhaul-planner -1 -R "$TRASH/repo.git" -W "$TRASH" 2>"$TRASH/lib.err" &
libp=$!
at_exit "kill $libp"
wait_for 30 '[ "$(task-ls -P "$sub" | wc -l)" -eq 1 ]' &&
	ok 'the sub-planner published a task' || not_ok 'the sub-planner published a task'
work=$(task-ls -P "$sub" -j | jq -r .id)
expect_eq 'in lib/x, under its plan' 'work lib/x tidy lib/x' \
	"$(task-show "$work" | jq -r '"\(.kind) \(.area) \(.title)"')"
expect_eq 'nothing was published in doc' '' "$(task-ls -j | jq -r 'select(.area == "doc") | .id')"

# what the sub-planner's agent saw of its try in doc
tr=$(ls "$LONGHAUL_BOARD"/transcripts/0/lib."$sub".*.1.jsonl)
jq -r 'select(.type == "tool") | .content' "$tr" | sed -n '1,/exit status/p' >"$TRASH/seen"
expect_match 'the agent saw the refusal: exit 3' '^\[exit status 3\]$' "$TRASH/seen"
expect_match 'and why: outside its area' 'area' "$TRASH/seen"

# a worker does the task; the sub-plan ends, then the root
token=$(task-claim -k work | sed -n 2p)
task-update -t "$token" -m 'tidied' done "$work" >/dev/null
wait_for 60 '! kill -0 $libp 2>/dev/null && ! kill -0 $root 2>/dev/null' &&
	ok 'both planners ended' || not_ok 'both planners ended'
wait $libp; st1=$?
wait $root; st2=$?
expect_eq 'both exited 0' '0 0' "$st1 $st2"
expect_eq 'both plans done, with their reports' 'done lib is tidy|done the library has its planner' \
	"$(task-show "$sub" | jq -r '"\(.state) \(.result.note)"')|$(task-show plan-root | jq -r '"\(.state) \(.result.note)"')"
