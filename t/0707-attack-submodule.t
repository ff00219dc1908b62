#!/bin/sh
# A git repository inside the tree is a way out of the sandbox if the
# harness's git, outside it, runs git in there: a gitlink in the index
# makes `git status` and `git add -A` run `git status` in the nested
# repository, whose config (the agent's) names a clean filter: a program
# of the agent's. .gitmodules' "ignore = none" beats diff.ignoreSubmodules.
# The agent makes one, stages it and touches it; nothing of it runs
# outside (agent-step's own look at the tree, the worker's staging and
# retiring), and the task fails saying why.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 7
board-init >/dev/null
make_project
export OPENAI_API_KEY=sk-SENTINEL-5b3e19
# $TRASH is not in the sandbox: a file there is written from outside
leak=$TRASH/leaked
evil="git init -q sub && cd sub && echo x >f && echo '* filter=evil' >.gitattributes &&
git add . && git -c user.name=a -c user.email=a@a commit -qm s &&
git config filter.evil.clean 'sh -c \"echo RAN-OUTSIDE >>$leak; cat\"' && cd .. &&
printf '[submodule \"sub\"]\n\tpath = sub\n\turl = ./sub\n\tignore = none\n' >.gitmodules &&
git add .gitmodules sub && touch -d 2001-01-01 sub/f && echo ok >ok.txt"
{
jq -cn --arg c "$evil" '{match: {contains: ["nested task"], turn: 1}, reply: {tool_calls: [{name: "bash", arguments: {command: $c}}]}}'
# another command: agent-step looks at the tree after each one
jq -cn '{match: {contains: ["nested task"], turn: 2}, reply: {tool_calls: [{name: "bash", arguments: {command: "touch -d 2002-01-01 sub/f; git status --short"}}]}}'
jq -cn '{match: {contains: ["nested task"]}, reply: {tool_calls: [{name: "submit", arguments: {note: "done"}}]}}'
} >"$TRASH/rules.jsonl"
start_mock
id=$(task-publish -v 'test -f ok.txt' "nested task")
before=$(git --git-dir="$TRASH/remote.git" rev-parse main)
LONGHAUL_AGENT=w expect_code 3 'the worker fails the task' -- \
	longhaul-worker -1 -f 1 -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"
tr=$(ls "$TRASH"/work/transcripts/"$id".*.jsonl)
jq -r 'select(.type == "tool") | .content' "$tr" >"$TRASH/seen"
expect_match 'the agent made its repository and staged it' '^A  sub$' "$TRASH/seen"
expect_eq 'its filter never ran outside the sandbox' no "$(test -e "$leak" && echo yes || echo no)"
expect_eq 'the attempt failed, saying why' 'fail the work holds a git repository at sub (a submodule): longhaul lands none' \
	"$(task-show "$id" | jq -r '"\(.event) \(.reason)"')"
expect_eq 'nothing landed' "$before" "$(git --git-dir="$TRASH/remote.git" rev-parse main)"

# agent-step alone (no worker), after a command that stages and touches:
# its look at the tree runs no git in the nested repository
mkdir -p "$TRASH/alone" && git -C "$TRASH/alone" init -q &&
	(cd "$TRASH/alone" && eval "$evil") >/dev/null 2>&1
rm -f "$leak"
echo '{"id":"S1","title":"nested task","body":"x"}' >"$TRASH/task.json"
agent-step -A -n 2 -T "$TRASH/alone.jsonl" -t "$TRASH/task.json" -d "$TRASH/alone" >/dev/null 2>&1
expect_eq 'agent-step ran the commands' 2 "$(jq -r 'select(.type == "tool")' "$TRASH/alone.jsonl" | jq -s length)"
expect_eq 'and no filter of the nested repository outside' no "$(test -e "$leak" && echo yes || echo no)"
