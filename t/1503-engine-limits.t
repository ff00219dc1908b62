#!/bin/sh
# The limits of a run, for each CLI: passed on where the CLI has them
# (Claude's --max-turns), enforced from outside where it has not (steps,
# wall time, dollars: the sandbox is killed); the same command over and
# over is stuck, and so are commands that leave the worktree as it was; the forwarder refuses calls past the dollars.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/engine.sh"
plan 18
git init -q "$TRASH/tree" && (cd "$TRASH/tree" && echo x >x && git add x && git commit -qm x)
: >"$TRASH/rules.jsonl"
for e in claude codex; do
	api=$(engine_api $e)
	for i in 1 2 3 4 5 6; do
		echo '{"match":{"api":"'$api'","contains":["TASK-COUNT"],"turn":'$i'},"reply":{"tool_calls":'"$(engine_shell $e "echo $i >>n")"'}}' >>"$TRASH/rules.jsonl"
		echo '{"match":{"api":"'$api'","contains":["TASK-IDLE"],"turn":'$i'},"reply":{"tool_calls":'"$(engine_shell $e "echo look $i")"'}}' >>"$TRASH/rules.jsonl"
	done
	cat >>"$TRASH/rules.jsonl" <<JSON
{"match":{"api":"$api","contains":["TASK-WAIT"]},"reply":{"tool_calls":$(engine_shell $e "tail -f /dev/null")}}
{"match":{"api":"$api","contains":["TASK-SAME"]},"reply":{"tool_calls":$(engine_shell $e "ls")}}
{"match":{"api":"$api","contains":["TASK-SPEND"]},"reply":{"tool_calls":$(engine_shell $e "echo spent")}}
JSON
done
start_mock
task() { printf '{"id":"T-%s","title":"%s","body":"%s"}\n' "$1" "$2" "$2" >"$TRASH/task.json"; }
run() { # run ENGINE NAME [options]: engine-run on a fresh transcript
	e=$1 n=$2; shift 2
	LONGHAUL_MODEL=$(engine_model $e) engine-run -E "$e" -A -T "$TRASH/$e.$n.jsonl" \
		-t "$TRASH/task.json" -d "$TRASH/tree" "$@"
}
for e in claude codex; do
	why=$(engine_skip $e)
	if [ -n "$why" ]; then
		for i in 1 2 3 4 5 6 7 8 9; do ok "# SKIP $e: $why"; done
		continue
	fi
	task steps "TASK-COUNT"
	expect_code 3 "$e: three steps at most" -- run $e steps -n 3
	expect_match "$e: says the limit" "^limit reached: .*(3 steps|3 turns)" "$TRASH/out"
	task wall "TASK-WAIT"
	expect_code 3 "$e: two seconds at most, the command that waits killed" -- run $e wall -W 2
	expect_match "$e: says the limit" "^limit reached: [0-9]+ seconds" "$TRASH/out"
	task same "TASK-SAME"
	expect_code 5 "$e: the same command three times is stuck" -- run $e same -R 3
	task idle "TASK-IDLE"
	expect_code 5 "$e: commands that change nothing are stuck" -- run $e idle -M 3
	expect_match "$e: says so" "^stuck: 3 commands without a change" "$TRASH/out"
	task spend "TASK-SPEND"
	expect_code 3 "$e: a cent at most" -- run $e spend -D 0.01
	expect_match "$e: says what it spent" '^limit reached: \$0\.0[0-9]+ spent' "$TRASH/out"
done
