#!/bin/sh
# The worker decides whether a task landed from refs/remotes/origin/BRANCH
# in its own repository, whose refs the agent's git writes in the sandbox.
# An agent that points it at a forged commit with its task's trailer, and
# leaves a lock so that the worker's next read of the remote fails, must
# not get its task marked done with a commit that is not on the branch.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 5
board-init >/dev/null
make_project
export OPENAI_API_KEY=sk-SENTINEL-a81c4d
forge='common=$(git rev-parse --path-format=absolute --git-common-dir)
c=$(printf "forged\n\nLonghaul-Task: %s\nLonghaul-Token: 1\n" "$LONGHAUL_TASK" | git commit-tree "HEAD^{tree}" -p HEAD)
git update-ref refs/remotes/origin/main "$c" && echo FORGED
: >"$common/refs/remotes/origin/main.lock" && echo LOCKED
echo ok >ok.txt'
{
jq -cn --arg c "$forge" '{match: {contains: ["forging task"], turn: 1}, reply: {tool_calls: [{name: "bash", arguments: {command: $c}}]}}'
jq -cn '{match: {contains: ["forging task"]}, reply: {tool_calls: [{name: "submit", arguments: {note: "done"}}]}}'
} >"$TRASH/rules.jsonl"
start_mock
id=$(task-publish -v 'test -f ok.txt' 'forging task')
LONGHAUL_AGENT=w expect_code 0 'the worker ends the task' -- \
	longhaul-worker -1 -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"
tr=$(ls "$TRASH"/work/transcripts/"$id".*.jsonl)
jq -r 'select(.type == "tool") | .content' "$tr" >"$TRASH/seen"
expect_eq 'the forged ref and the lock were refused' '' "$(grep -x 'FORGED\|LOCKED' "$TRASH/seen")"
expect_match 'read-only' 'Read-only file system' "$TRASH/seen"
c=$(task-show "$id" | jq -r .result.commit)
expect_eq 'the task is done with a commit on the branch' 'done yes' \
	"$(task-show "$id" | jq -r .state) $(git --git-dir="$TRASH/remote.git" merge-base --is-ancestor "$c" main 2>/dev/null && echo yes || echo no)"
expect_eq 'which holds its work' ok "$(remote_show main:ok.txt)"
