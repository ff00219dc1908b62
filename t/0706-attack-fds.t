#!/bin/sh
# Descriptors left open by whoever starts the harness (a launcher's log,
# a directory) must not get into the sandbox: bwrap passes on all it
# inherits, and a directory's descriptor is a way out of the mount
# namespace (/proc/self/fd/N/...). A worker, its verification command
# and the judge's gate are started with the board open on 3 and a file
# of it open for writing on 4; none of them can use either.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 10
board-init >/dev/null
make_project
export OPENAI_API_KEY=sk-SENTINEL-fd5a7c
B=$LONGHAUL_BOARD
echo canary >"$B/canary"
# what every hostile command tries: read and change the board through 3,
# write through 4, and say which descriptors it has
grab='ls /proc/self/fd/3/ && echo SAW-THE-BOARD; rm -rf /proc/self/fd/3/tasks /proc/self/fd/3/canary; echo forged >&4 && echo WROTE-THROUGH-4; ls /proc/self/fd | tr "\n" " "; echo'

mkdir -p "$TRASH/wt"
expect_code 0 'sandbox-run with 3 and 4 open runs the command' -- \
	sh -c 'exec 3<"$1" 4>>"$1/canary"; shift; exec "$@"' sh "$B" sandbox-run -d "$TRASH/wt" sh -c "$grab"
expect_eq 'it has only 0, 1 and 2 (and what ls opens)' '0 1 2 3 ' "$(tail -n 1 "$TRASH/out")"

jq -cn --arg c "$grab; echo ok >ok.txt" \
	'{match: {contains: ["fd task"], turn: 1}, reply: {tool_calls: [{name: "bash", arguments: {command: $c}}]}}' >"$TRASH/rules.jsonl"
jq -cn '{match: {contains: ["fd task"]}, reply: {tool_calls: [{name: "submit", arguments: {note: "done"}}]}}' >>"$TRASH/rules.jsonl"
cat >>"$TRASH/rules.jsonl" <<'RULES'
{"match":{"contains":["You are the judge"]},"reply":{"text":"{\"decision\":\"stop\",\"goal_met\":true,\"reasons\":\"all done\",\"focus\":\"\"}"}}
RULES
start_mock
id=$(task-publish -v "$grab; test -f ok.txt" "fd task")
(exec 3<"$B" 4>>"$B/canary"
 LONGHAUL_AGENT=w longhaul-worker -1 -f 1 -w 1 -R "$TRASH/remote.git" -W "$TRASH/work") >"$TRASH/worker.out" 2>&1
expect_eq 'the task is done' done "$(task-show "$id" | jq -r .state)"
tr=$(ls "$TRASH"/work/transcripts/"$id".*.jsonl)
jq -r 'select(.type == "tool") | .content' "$tr" >"$TRASH/seen"
expect_match "the agent's command had no descriptor 3" 'fd/3/.*No such file or directory' "$TRASH/seen"
expect_eq 'nor used one' '' "$(grep -hx 'SAW-THE-BOARD\|WROTE-THROUGH-4' "$TRASH/seen")"

# the verification command's output goes nowhere we can read but the
# board is the proof: intact
expect_eq 'the board is whole, the canary unwritten' 'canary 1' \
	"$(cat "$B/canary") $(task-ls | wc -l)"

# the judge's gate, with the same descriptors
git init -q -b main "$TRASH/src"
printf 'test:\n\t%s\n' "$(printf %s "$grab" | sed 's/\$/$$/g')" >"$TRASH/src/Makefile"
(cd "$TRASH/src" && git add Makefile && git -c user.name=t -c user.email=t@t commit -qm gate &&
	git push -q "$TRASH/remote.git" main:gate) >/dev/null 2>&1
export LONGHAUL_JUDGE_MODEL=openai:mock LONGHAUL_REPO="$TRASH/remote.git" TMPDIR="$TRASH"
(exec 3<"$B" 4>>"$B/canary"; judge -c 1 -B gate -G 'a gate' -g 'make test') >"$TRASH/judge.out" 2>&1
expect_eq 'the judge ran the gate' 1 "$(ls "$B/verdicts" | wc -l)"
jq -r '.facts.gate.commands[0].tail' "$B/verdicts/1.json" >"$TRASH/tail"
expect_match 'the gate had no descriptor 3' 'fd/3/.*No such file or directory' "$TRASH/tail"
expect_eq 'nor used one' '' "$(grep -hx 'SAW-THE-BOARD\|WROTE-THROUGH-4' "$TRASH/tail")"
expect_eq 'the board is still whole, the canary unwritten' 'canary 1' \
	"$(cat "$B/canary") $(task-ls | wc -l)"
