#!/bin/sh
# judge: the exact pushed commit on a clean checkout, whatever lies
# unpushed or uncommitted where judge runs; the cycle's facts.
. "$(dirname "$0")/lib.sh"
command -v llm-mock >/dev/null 2>&1 || skip_all "llm-mock is not built"
plan 9

git init -q --bare "$TRASH/repo.git"
git init -q -b main "$TRASH/work"
commit() { git -c user.name=t -c user.email=t@t commit -q "$@"; }
(cd "$TRASH/work" && printf 'test:\n\ttest -f ok\n' >Makefile && git add Makefile &&
	commit -m 'a test that fails' && git push -q "$TRASH/repo.git" main) >/dev/null 2>&1
start=$(git -C "$TRASH/work" rev-parse HEAD)
(cd "$TRASH/work" && echo a >a && git add a && commit -m 'task a' --trailer 'Longhaul-Task: t-a' &&
	echo b >b && git add b && commit -m 'task b' --trailer 'Longhaul-Task: t-b' &&
	git push -q "$TRASH/repo.git" main) >/dev/null 2>&1
tip=$(git -C "$TRASH/repo.git" rev-parse main)
# what nobody pushed: a commit that would make the test pass, and a file
(cd "$TRASH/work" && touch ok && git add ok && commit -m 'unpushed' && touch ok2) >/dev/null 2>&1

board-init >/dev/null
LONGHAUL_CYCLE=6 task-publish -i old -p 1 'left over from cycle 6' >/dev/null
LONGHAUL_CYCLE=7 task-publish -i t-a -p 9 'task a' >/dev/null
LONGHAUL_CYCLE=7 task-publish -i t-b -p 8 'task b' >/dev/null
{ read -r id; read -r token; } <<CLAIM
$(task-claim)
CLAIM
task-update -t "$token" -c "$tip" -m 'a is done' done "$id"
{ read -r id; read -r token; } <<CLAIM
$(task-claim)
CLAIM
task-update -t "$token" -r 'b broke' fail "$id"

cat >"$TRASH/rules.jsonl" <<'RULES'
{"match":{"contains":["You are the judge","a is done"]},"reply":{"text":"{\"decision\":\"continue\",\"goal_met\":false,\"reasons\":\"saw the note\",\"focus\":\"task b\"}"}}
{"match":{"contains":["You are the judge"]},"reply":{"text":"{\"decision\":\"continue\",\"goal_met\":false,\"reasons\":\"no note\",\"focus\":\"task b\"}"}}
RULES
start_mock
export LONGHAUL_JUDGE_MODEL=openai:mock OPENAI_API_KEY=test
export TMPDIR="$TRASH"

# judge runs inside the clone that holds the unpushed commit and the file
(cd "$TRASH/work" && LONGHAUL_REPO="$TRASH/repo.git" \
	judge -c 7 -s "$start" -g 'make test' -g 'test ! -e ok2' >"$TRASH/out" 2>"$TRASH/err")
expect_eq 'exit 0: continue' 0 $?
expect_eq 'the pushed tip was judged' "$tip" "$(jq -r .commit "$TRASH/out")"
expect_eq 'the unpushed commit did not make the gate pass' fail "$(jq -r .gate "$TRASH/out")"
expect_eq 'the untracked file was not there' 0 "$(jq -r '.facts.gate.commands[1].exit' "$TRASH/out")"
jq -c '[.facts.commits.count, [.facts.commits.list[].task]]' "$TRASH/out" >"$TRASH/got"
echo '[2,["t-b","t-a"]]' >"$TRASH/want"
expect_file 'the commits since the start, with their tasks' "$TRASH/want" "$TRASH/got"
jq -c '.facts.tasks | [.this_cycle, .requeued, .open_on_board, [.list[] | [.id, .state, .note]]]' \
	"$TRASH/out" >"$TRASH/got"
echo '[{"ready":1,"claimed":0,"done":1,"failed":0},1,{"ready":2,"claimed":0},[["t-a","done","a is done"],["t-b","ready",null]]]' >"$TRASH/want"
expect_file "the cycle's tasks: one done, one requeued; the board's open ones" "$TRASH/want" "$TRASH/got"
expect_eq 'the model saw the handoff note' 'saw the note' "$(jq -r .reasons "$TRASH/out")"

# the next cycle starts where the last verdict left off
(cd "$TRASH/work" && git push -q "$TRASH/repo.git" main) >/dev/null 2>&1
expect_code 0 'the next cycle' -- judge -c 8 -R "$TRASH/repo.git" -g true
expect_eq 'its commits are those since the last verdict' 'unpushed' \
	"$(jq -r '[.facts.commits.list[].subject] | join(",")' "$TRASH/out")"
