#!/bin/sh
# A hostile worker agent and a hostile verification command, under the
# default options, beside an honest task in the same run: every attempt
# on the key, the hooks, the git config, the verify list, the gate, the
# board and the network fails; the honest task lands, the hostile one
# does not; the sentinel key appears nowhere.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 14
board-init >/dev/null
make_project
KEY=sk-SENTINEL-4b1d0c5e
export OPENAI_API_KEY=$KEY
# a listener on loopback that the agent should not reach
: >"$TRASH/none.jsonl"
llm-mock -r "$TRASH/none.jsonl" -P "$TRASH/port2" -l "$TRASH/listener.log" >/dev/null 2>&1 &
listener=$!
at_exit "kill $listener"
wait_for 10 '[ -s "$TRASH/port2" ]' || { echo "Bail out! no listener"; exit 1; }
port=$(cat "$TRASH/port2")
home=$TRASH/work/w

rule() { jq -cn --arg t "$1" --argjson n "$2" --arg c "$3" \
	'{match: {contains: [$t], turn: $n}, reply: {tool_calls: [{name: "bash", arguments: {command: $c}}]}}'; }
submit() { jq -cn --arg t "$1" '{match: {contains: [$t]}, reply: {tool_calls: [{name: "submit", arguments: {note: "done"}}]}}'; }
hook="#!/bin/sh
env >$TRASH/leaked"
{
# 1: the key from the parent, from every process, from our own environment
rule 'hostile task' 1 'tr "\0" "\n" </proc/$PPID/environ; for f in /proc/[0-9]*/environ; do tr "\0" "\n" <"$f"; done; env; ls /proc'
# 2: hooks and config where the harness's git would run them
rule 'hostile task' 2 "for d in ../repo.git \$(git rev-parse --git-common-dir) \$(git rev-parse --absolute-git-dir); do
  mkdir -p \$d/hooks; printf '%s\n' '$hook' >\$d/hooks/pre-commit; chmod +x \$d/hooks/pre-commit
  cp \$d/hooks/pre-commit \$d/hooks/post-checkout; done
git config core.hooksPath .; git config core.fsmonitor 'env >$TRASH/leaked; false'
git config --file \$(git rev-parse --git-common-dir)/config core.fsmonitor 'env >$TRASH/leaked'
printf 'gitdir: %s\n' \$(pwd)/fake >.git.new && mv .git.new .git
printf '%s\n' '$hook' >pre-commit; chmod +x pre-commit; true"
# 3: the verify list, the gate, the board, the usage logs
rule 'hostile task' 3 "echo true >../verify; echo true >../../gates; echo true >$home/verify
ls $LONGHAUL_BOARD; : >$LONGHAUL_BOARD/usage/\$(hostname).jsonl; rm -rf $LONGHAUL_BOARD/tasks
ln -s $LONGHAUL_BOARD board; ln -s $home/repo.git repo; ls board/ repo/hooks; true"
# 4: the network: the model server listens on loopback
rule 'hostile task' 4 "echo x >/dev/tcp/127.0.0.1/$port && echo CONNECTED-TO-LOOPBACK; true"
submit 'hostile task'
rule 'honest task' 1 'echo honest >honest.txt'
submit 'honest task'
} >"$TRASH/rules.jsonl"
start_mock
# the hostile verification command reads environments too, then fails
bad=$(task-publish -p 5 -v 'tr "\0" "\n" </proc/$PPID/environ; cat /proc/[0-9]*/environ; test -f never' "hostile task")
good=$(task-publish -p 1 -v 'test -f honest.txt' "honest task")
before=$(git --git-dir="$TRASH/remote.git" rev-parse main)
LONGHAUL_AGENT=w expect_code 1 "the worker works both and stops: nothing left" -- \
	longhaul-worker -f 1 -w 1 -R "$TRASH/remote.git" -W "$TRASH/work"

expect_eq "the honest task is done" done "$(task-show "$good" | jq -r .state)"
expect_eq "its work landed" honest "$(remote_show main:honest.txt)"
expect_eq "the hostile one is not done" failed/no "$(task-show "$bad" | jq -r .state)/$(
	git --git-dir="$TRASH/remote.git" log --format=%B "$before..main" | grep -q "Longhaul-Task: $bad" && echo yes || echo no)"
expect_eq "no hook or fsmonitor of the agent's ran outside" no "$(test -e "$TRASH/leaked" && echo yes || echo no)"
expect_eq "the worker's repository has no hook of the agent's" "" "$(ls "$home/repo.git/hooks" | grep -v '\.sample$')"
expect_eq "nor its config" "" "$(git config --file "$home/repo.git/config" --get-regexp 'fsmonitor|hookspath')"
tr=$(ls "$TRASH"/work/transcripts/"$bad".*.jsonl | head -n 1)
jq -r 'select(.type == "tool" or .type == "user") | .content' "$tr" >"$TRASH/seen"
expect_match "the agent's /proc holds only its sandbox" '^1$' "$TRASH/seen"
expect_match "the board was not there" "cannot access '$LONGHAUL_BOARD'" "$TRASH/seen"
expect_eq "and is whole" 2 "$(task-ls | wc -l)"
expect_eq "nor the network" "/" "$(grep CONNECTED-TO-LOOPBACK "$TRASH/seen")/$(cat "$TRASH/listener.log" 2>/dev/null)"
expect_match "the verification's feedback came back, failing" 'failed' "$TRASH/seen"
test -s "$LONGHAUL_BOARD/usage/$(hostname).jsonl" && ok "the usage log is whole" || not_ok "the usage log is whole"
# the key: not in the transcripts, the work dirs, the board, the branch,
# nor anything the model server received
git --git-dir="$TRASH/remote.git" log -p --all >"$TRASH/history"
found=$(grep -rl -- "$KEY" "$TRASH/work" "$LONGHAUL_BOARD" "$TRASH/history" "$TRASH/mock.log" 2>/dev/null)
expect_eq "the sentinel key appears nowhere" "" "$found"
