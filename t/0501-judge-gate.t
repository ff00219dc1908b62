#!/bin/sh
# judge: the gate has the last word on "goal met", whatever the model says;
# the verdict is printed and written to the board.
. "$(dirname "$0")/lib.sh"
command -v llm-mock >/dev/null 2>&1 || skip_all "llm-mock is not built"
plan 13

# a shared repository whose test passes only when the file "ok" exists
git init -q --bare "$TRASH/repo.git"
git init -q -b main "$TRASH/work"
(cd "$TRASH/work" && printf 'test:\n\ttest -f ok\n' >Makefile && git add Makefile &&
	git -c user.name=t -c user.email=t@t commit -qm 'a test that fails' &&
	git push -q "$TRASH/repo.git" main) >/dev/null 2>&1
board-init >/dev/null

# the model always claims the goal is met
cat >"$TRASH/rules.jsonl" <<'RULES'
{"match":{"contains":["You are the judge"]},"reply":{"text":"{\"decision\":\"stop\",\"goal_met\":true,\"reasons\":\"all done\",\"focus\":\"\"}"}}
RULES
start_mock
export LONGHAUL_JUDGE_MODEL=openai:mock OPENAI_API_KEY=test
export LONGHAUL_REPO="$TRASH/repo.git" TMPDIR="$TRASH"

expect_code 0 'red gate, model says stop and goal met: continue (exit 0)' -- \
	judge -c 1 -G 'make the test pass' -g 'make test'
jq -c '[.decision, .goal_met, .gate, .decided_by, .model.goal_met]' "$TRASH/out" >"$TRASH/got"
echo '["continue",false,"fail","model",true]' >"$TRASH/want"
expect_file 'the verdict overrides the model' "$TRASH/want" "$TRASH/got"
jq -c . "$TRASH/out" >"$TRASH/printed"
jq -c . "$LONGHAUL_BOARD/verdicts/1.json" >"$TRASH/file"
expect_file 'the verdict on the board is the one printed' "$TRASH/printed" "$TRASH/file"
expect_match 'the gate evidence holds the failing output' 'test -f ok' "$TRASH/file"
expect_match 'the reasons say first what the rules changed' '"reasons":"Overridden: goal_met: the gate fails' "$TRASH/file"
expect_eq 'the checkout was removed' '' "$(ls -d "$TRASH"/judge.* 2>/dev/null)"

expect_code 1 'red gate on the last cycle: stop (exit 1)' -- \
	judge -c 2 -n 2 -G 'make the test pass' -g 'make test'
jq -c '[.decision, .goal_met]' "$TRASH/out" >"$TRASH/got"
echo '["stop",false]' >"$TRASH/want"
expect_file 'the last cycle stops, the goal still not met' "$TRASH/want" "$TRASH/got"

# a timed-out gate is red too
expect_code 0 'a gate that hangs is killed and counts as red' -- \
	judge -c 3 -t 1 -g 'sleep 30'
expect_eq 'the timeout is recorded' 'true fail' \
	"$(jq -r '"\(.facts.gate.commands[0].timed_out) \(.gate)"' "$TRASH/out")"

(cd "$TRASH/work" && touch ok && git add ok &&
	git -c user.name=t -c user.email=t@t commit -qm 'make it pass' &&
	git push -q "$TRASH/repo.git" main) >/dev/null 2>&1
expect_code 1 'green gate, model says stop: stop (exit 1)' -- \
	judge -c 4 -G 'make the test pass' -g 'make test'
expect_eq 'the goal is met' 'stop true pass' \
	"$(jq -r '"\(.decision) \(.goal_met) \(.gate)"' "$TRASH/out")"
expect_code 2 'no cycle: usage error (exit 2)' -- env -u LONGHAUL_CYCLE judge -g true
