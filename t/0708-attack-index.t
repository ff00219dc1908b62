#!/bin/sh
# The index is the agent's to write (its git directory is writable in the
# sandbox), and git trusts its flags and stat data: skip-worktree hides a
# changed file from git add -A and from git status. An agent that hides
# its change must neither land a tree other than the one its
# verification passed on, nor leave the change in the worker's tree for
# the next task, whose commit would carry it.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 6
board-init >/dev/null
make_project
export OPENAI_API_KEY=sk-SENTINEL-77d0e2
rule() { jq -cn --arg t "$1" --argjson n "$2" --arg c "$3" \
	'{match: {contains: [$t], turn: $n}, reply: {tool_calls: [{name: "bash", arguments: {command: $c}}]}}'; }
submit() { jq -cn --arg t "$1" '{match: {contains: [$t]}, reply: {tool_calls: [{name: "submit", arguments: {note: "done"}}]}}'; }
{
# verified with four in list.txt, landed without it (the index's list.txt)
rule 'hide and land' 1 'echo four >>list.txt; git update-index --skip-worktree list.txt; git status --short; echo status-said-nothing'
submit 'hide and land'
# a change hidden in the tree, and the task given up
rule 'hide and leave' 1 'echo PLANTED >>README; git update-index --skip-worktree README; echo hidden'
submit 'hide and leave'
rule 'honest task' 1 'echo b >b.txt'
submit 'honest task'
} >"$TRASH/rules.jsonl"
start_mock
land=$(task-publish -p 9 -v 'grep -qx four list.txt' 'hide and land')
leave=$(echo '{"title":"hide and leave","priority":5,"max_attempts":1,"verify":["false"]}' | task-publish -j)
good=$(task-publish -p 1 -v 'test -f b.txt' -v '! grep -q PLANTED README' 'honest task')
LONGHAUL_AGENT=w expect_code 1 'the worker works all three and stops: nothing left' -- \
	longhaul-worker -f 1 -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"
tr=$(ls "$TRASH"/work/transcripts/"$land".*.jsonl | head -n 1)
expect_match 'git status in the sandbox did not see the hidden change' '^status-said-nothing' "$(
	jq -r 'select(.type == "tool") | .content' "$tr" >"$TRASH/seen"; echo "$TRASH/seen")"
expect_eq 'what landed for it passes its verification' 'done yes' \
	"$(task-show "$land" | jq -r .state) $(remote_show main:list.txt | grep -qx four && echo yes || echo no)"
expect_eq 'the one that gave up failed' failed "$(task-show "$leave" | jq -r .state)"
# (its verification fails in a tree where README is planted)
expect_eq 'the honest task landed, at its first attempt' 'done 1' \
	"$(task-show "$good" | jq -r '"\(.state) \(.attempts)"')"
c=$(task-show "$good" | jq -r .result.commit)
expect_eq "its commit holds its own change only, nothing planted" 'b.txt' \
	"$(git --git-dir="$TRASH/remote.git" show --format= --name-only "$c")"
