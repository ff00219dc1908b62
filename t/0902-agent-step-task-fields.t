#!/bin/sh
# The task record comes from the board, which anyone with the board can
# write: agent-step builds the first message from any id, title, body
# and verification commands, however long, without sizing a buffer from
# some of them only; and limits too big for a count (1e300 steps) are no
# limit, not a cast C leaves undefined (caught under
# -fsanitize=float-cast-overflow, which gcc's undefined group leaves out).
. "$(dirname "$0")/lib.sh"
LONGHAUL_STATE=$TRASH/state
export LONGHAUL_STATE
cat >"$TRASH/rules.jsonl" <<'R'
{"reply":{"tool_calls":[{"id":"c1","name":"submit","arguments":{"note":"ok"}}]}}
R
start_mock
mkdir "$TRASH/wt"
LONGHAUL_MODEL=openai:m
export LONGHAUL_MODEL

plan 8
for n in 5000 300000; do
	jq -n --argjson n $n '{id: ("t" * $n), title: "T", body: "B", verify: ["make check", 5, "x"]}' >"$TRASH/task.json"
	rm -f "$TRASH/tr.jsonl"
	expect_code 1 "id of $n bytes: the step runs (submitted)" -- agent-step -T "$TRASH/tr.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt"
	jq -r --argjson n $n 'select(.type == "user") | .content' "$TRASH/tr.jsonl" >"$TRASH/msg"
	jq -rn --argjson n $n '"# Task " + ("t" * $n) + ": T\n\nB\n\n## Verification\nYour work is accepted only when these commands pass in the working directory:\n    make check\n    \n    x\n\nThe working directory is a git worktree of the project on its own branch.\n"' >"$TRASH/want"
	expect_file "id of $n bytes: the whole message" "$TRASH/want" "$TRASH/msg"
	expect_eq "id of $n bytes: the task id recorded" $n "$(jq -r 'select(.type == "user") | .task | length' "$TRASH/tr.jsonl")"
done

echo '{"id":"t9","title":"T","body":"B","limits":{"steps":1e300,"seconds":1e300,"tokens":1e300}}' >"$TRASH/task.json"
rm -f "$TRASH/tr.jsonl"
expect_code 1 "limits of 1e300: the step runs (submitted)" -- agent-step -T "$TRASH/tr.jsonl" -t "$TRASH/task.json" -d "$TRASH/wt"
expect_eq "nothing said about them" "" "$(cat "$TRASH/err")"
