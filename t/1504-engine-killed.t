#!/bin/sh
# The CLI killed in the middle of a task: its stream ends without the
# final event, so the attempt fails with that reason (never a submit);
# the task goes back to the board and another worker does it.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/engine.sh"
plan 10
board-init >/dev/null
make_project
: >"$TRASH/rules.jsonl"
hold='if [ \"$LONGHAUL_AGENT\" = w1 ]; then touch held; tail -f /dev/null; fi; echo done >result.txt'
for e in claude codex; do
	api=$(engine_api $e)
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"api":"$api","contains":["slow task with $e"],"turn":1},"reply":{"tool_calls":$(engine_shell $e "$hold")}}
{"match":{"api":"$api","contains":["slow task with $e"],"turn":2},"reply":{"text":"wrote result.txt"}}
JSON
done
start_mock
work() { LONGHAUL_AGENT=$1 longhaul-worker -1 -R "$TRASH/remote.git" -W "$TRASH/work"; }
# descendants PID: the processes under PID, one "pid args" a line
descendants() {
	ps -e -o pid=,ppid=,args= | awk -v root="$1" '
	    { pid[NR] = $1; ppid[NR] = $2; sub(/^ *[0-9]+ +[0-9]+ +/, ""); args[NR] = $0 }
	    END { want[root] = 1; do { n = 0; for (i = 1; i <= NR; i++)
	        if (want[ppid[i]] && !want[pid[i]]) { want[pid[i]] = 1; n++; print pid[i], args[i] } } while (n) }'
}
for e in claude codex; do
	why=$(engine_skip $e)
	if [ -n "$why" ]; then
		for i in 1 2 3 4 5; do ok "# SKIP $e: $why"; done
		continue
	fi
	export LONGHAUL_WORKER_ENGINE=$e LONGHAUL_MODEL=$(engine_model $e)
	id=$(task-publish -v 'test -f result.txt' "slow task with $e")
	rm -rf "$TRASH/work/w1/tree"
	work w1 2>"$TRASH/w1.err" &
	w1=$!
	wait_for 60 '[ -e "$TRASH/work/w1/tree/held" ]' || diag "the CLI never started its command"
	# the CLI itself: the process that bwrap's relay runs (not bwrap, not
	# the relay, not the command)
	descendants "$w1" | awk '$2 !~ /(bwrap|llm-forward)$/ && /(claude\.exe|codex\.js|\/codex) / { print $1; exit }' >"$TRASH/cli"
	expect_eq "$e: the CLI found in the worker's tree" 1 "$(grep -c . "$TRASH/cli")"
	if [ -s "$TRASH/cli" ]; then kill -9 "$(cat "$TRASH/cli")"; else descendants "$w1" | diag; kill "$w1"; fi
	wait "$w1"
	expect_match "$e: the attempt failed: the stream ended without the final event" \
		"failed: engine failed: $e's stream ended without its final event \(exit status 137|killed by signal 9)" "$TRASH/w1.err"
	expect_eq "$e: the task is back on the board" ready "$(task-show "$id" | jq -r .state)"
	expect_code 0 "$e: another worker does it" -- work w2
	expect_eq "$e: done by w2" "done w2" "$(task-show "$id" | jq -r '.state + " " + .owner.agent')"
done
