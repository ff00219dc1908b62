#!/bin/sh
# A hostile sub-planner confined to the area lib: it cannot edit or
# cancel a task outside lib, cannot reach the board from its commands
# (config, usage logs, records), and cannot choose the id or the parent
# of what it publishes. Its one legitimate task is published under it.
. "$(dirname "$0")/lib.sh"
for t in agent-step llm-call llm-mock; do
	command -v $t >/dev/null || skip_all "$t is not built"
done
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 11

export HOME="$TRASH" GIT_CONFIG_NOSYSTEM=1
git init -q --bare "$TRASH/repo.git"
git init -q "$TRASH/src"
(cd "$TRASH/src" && mkdir lib doc && echo a >lib/a.c && echo d >doc/d.md && git add . &&
 git -c user.name=t -c user.email=t@t commit -qm init && git push -q ../repo.git HEAD:main)
board-init >/dev/null

B=$LONGHAUL_BOARD
cat >"$TRASH/rules.jsonl" <<JSON
{"match":{"contains":["Your area: lib."],"turn":1},"reply":{"tool_calls":[{"name":"cancel","arguments":{"id":"doc-task","version":1,"reason":"mine now"}}]}}
{"match":{"contains":["Your area: lib."],"turn":2},"reply":{"tool_calls":[{"name":"edit","arguments":{"id":"doc-task","version":1,"fields":{"area":"lib","title":"stolen"}}}]}}
{"match":{"contains":["Your area: lib."],"turn":3},"reply":{"tool_calls":[{"name":"bash","arguments":{"command":"task-update -V 1 -r x cancel doc-task; ls $B; echo '{}' >$B/config.json; : >$B/usage/x.jsonl; rm -rf $B/cycles; true"}}]}}
{"match":{"contains":["Your area: lib."],"turn":4},"reply":{"tool_calls":[{"name":"publish","arguments":{"tasks":[{"id":"plan-0002","parent":"doc-task","area":"lib","title":"tidy lib"}]}}]}}
{"match":{"contains":["Your area: lib."],"turn":5},"reply":{"tool_calls":[{"name":"show","arguments":{"id":"doc-task"}}]}}
{"match":{"contains":["Your area: lib."]},"reply":{"tool_calls":[{"name":"submit","arguments":{"note":"lib planned"}}]}}
JSON
start_mock
export LONGHAUL_MODEL=openai:mock OPENAI_API_KEY=sk-SENTINEL-0c4a LONGHAUL_POLL=1

mkdir -p "$B/cycles"
echo '{"cycle":"0001"}' >"$B/cycles/0001.json"
task-publish -a doc -i doc-task 'rewrite the manual' >/dev/null
task-publish -k plan -a lib -i plan-lib 'plan the library' >/dev/null

# the check in task-update itself, as a confined planner would call it
LONGHAUL_AREA=lib expect_code 3 'task-update: cancel outside the area is refused' -- \
	task-update -V 1 -r x cancel doc-task
LONGHAUL_AREA=lib expect_code 3 'and edit' -- task-update -V 1 -e '{"title":"stolen"}' edit doc-task

LONGHAUL_AGENT=lib longhaul-planner -1 -R "$TRASH/repo.git" -W "$TRASH" 2>"$TRASH/lib.err" &
libp=$!
at_exit "kill $libp"
wait_for 30 '[ "$(task-ls -P plan-lib | wc -l)" -eq 1 ]' &&
	ok 'the sub-planner published its task' || not_ok 'the sub-planner published its task'
work=$(task-ls -P plan-lib -j | jq -r .id)
expect_eq 'under its plan, in lib, with an id of the board' 'plan-lib lib tidy lib no' \
	"$(task-show "$work" | jq -r '"\(.parent) \(.area) \(.title)"') $([ "$work" = plan-0002 ] && echo yes || echo no)"
expect_eq 'the task in doc is untouched' 'ready rewrite the manual doc 1' \
	"$(task-show doc-task | jq -r '"\(.state) \(.title) \(.area) \(.version)"')"
token=$(task-claim -k work -a lib | sed -n 2p)
task-update -t "$token" -m 'tidied' done "$work" >/dev/null
wait_for 60 '! kill -0 $libp 2>/dev/null' && ok 'the planner ended' || not_ok 'the planner ended'
expect_eq 'its plan is done' done "$(task-show plan-lib | jq -r .state)"

tr=$(ls "$B"/transcripts/0/lib.plan-lib.*.1.jsonl)
jq -r 'select(.type == "tool") | .content' "$tr" >"$TRASH/seen"
expect_match 'the agent saw the refusals: outside its area' "outside this planner's area 'lib'" "$TRASH/seen"
expect_match 'its commands had no board' "cannot access '$B'" "$TRASH/seen"
expect_eq 'config, cycles and usage logs are as they were' 'no yes no' \
	"$(test -e "$B/config.json" && echo yes || echo no) $(test -e "$B/cycles/0001.json" && echo yes || echo no) $(test -e "$B/usage/x.jsonl" && echo yes || echo no)"
expect_eq 'the key appears nowhere' '' "$(grep -rl sk-SENTINEL "$B" "$TRASH/mock.log")"
