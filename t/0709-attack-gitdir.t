#!/bin/sh
# The worktree's git directory is the agent's to write, and the harness's
# git reads it outside the sandbox: a FIFO for HEAD blocks git's open()
# for ever (agent-step's look at the tree after each command, the
# worker's staging, retiring), while the heartbeat keeps the task
# claimed. And objects/info/alternates tells the worker's git where the
# shared branch's objects are. The FIFO must cost a bounded time and the
# task (then the worker goes on, and lands the next task); alternates
# must stay the worker's.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 7
board-init >/dev/null
make_project
export OPENAI_API_KEY=sk-SENTINEL-3f9a60
# (long enough for any git of this small project, on a loaded machine)
export LONGHAUL_GIT_TIMEOUT=2
rule() { jq -cn --arg t "$1" --argjson n "$2" --arg c "$3" \
	'{match: {contains: [$t], turn: $n}, reply: {tool_calls: [{name: "bash", arguments: {command: $c}}]}}'; }
submit() { jq -cn --arg t "$1" '{match: {contains: [$t]}, reply: {tool_calls: [{name: "submit", arguments: {note: "done"}}]}}'; }
{
rule 'fifo task' 1 'gd=$(git rev-parse --absolute-git-dir) common=$(git rev-parse --path-format=absolute --git-common-dir)
echo ok >ok.txt
echo /nowhere >"$common/objects/info/alternates" || echo ALTERNATES-REFUSED
mv "$common/objects/info" "$common/objects/info.x" || echo INFO-REFUSED
mv "$gd/HEAD" "$gd/HEAD.real" && mkfifo "$gd/HEAD" && echo FIFO-MADE'
submit 'fifo task'
# HEAD on a branch whose name has slashes: the quarantine's name for it
rule 'slash task' 1 'git checkout -q -b deep/er/branch && echo s >s.txt && git add s.txt && git commit -qm s && echo ON-DEEP-BRANCH'
submit 'slash task'
rule 'honest task' 1 'echo b >b.txt'
submit 'honest task'
} >"$TRASH/rules.jsonl"
start_mock
# (one attempt each: each costs a few timeouts)
bad=$(echo '{"title":"fifo task","priority":9,"max_attempts":1,"verify":["test -f ok.txt"]}' | task-publish -j)
slash=$(echo '{"title":"slash task","priority":5,"max_attempts":1,"verify":["false"]}' | task-publish -j)
good=$(task-publish -p 1 -v 'test -f b.txt' 'honest task')
alternates=$(cat "$TRASH/remote.git/objects/info/alternates" 2>/dev/null)
# (a worker that hangs is stopped by this bound, long past what it needs)
LONGHAUL_AGENT=w expect_code 1 'the worker works all three and stops: nothing left' -- \
	timeout 150 longhaul-worker -f 1 -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"
tr=$(ls "$TRASH"/work/transcripts/"$bad".*.jsonl | head -n 1)
jq -r 'select(.type == "tool") | .content' "$tr" >"$TRASH/seen"
expect_eq "the agent made its FIFO; alternates and their directory were refused" \
	'ALTERNATES-REFUSED INFO-REFUSED FIFO-MADE' "$(grep -x 'ALTERNATES-REFUSED\|INFO-REFUSED\|FIFO-MADE' "$TRASH/seen" | tr '\n' ' ' | sed 's/ $//')"
expect_eq "the worker's alternates are its own" "$TRASH/remote.git/objects" \
	"$(cat "$TRASH/work/w/repo.git/objects/info/alternates")"
expect_match 'the FIFO cost the task, said so' 'cannot stage the work' "$TRASH/err"
expect_eq 'the honest task landed' 'done b' "$(task-show "$good" | jq -r .state) $(remote_show main:b.txt)"
expect_eq 'the hostile one did not, and nothing is left claimed' 'no 0' \
	"$(remote_show main:ok.txt >/dev/null 2>&1 && echo yes || echo no) $(task-ls -s claimed | wc -l)"
expect_eq 'both trees are in the quarantine, by names of their own' \
	"tree deep_er_branch" "$(ls "$TRASH/work/quarantine" | sed 's/[.].*//' | sort -r | tr '\n' ' ' | sed 's/ $//')"
