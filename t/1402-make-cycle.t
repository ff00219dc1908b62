#!/bin/sh
# examples/make/Makefile: `make cycle` runs one cycle of the demo's run
# (minilib, the demo's scripted model) to the judge's stop and exits 0;
# `make status` lists the board's tasks.
. "$(dirname "$0")/lib.sh"
for tool in llm-mock llm-call agent-step longhaul-planner longhaul-worker judge make cc; do
	command -v $tool >/dev/null 2>&1 || skip_all "$tool is missing"
done
plan 4
export HOME=$TRASH GIT_CONFIG_NOSYSTEM=1
git config --global user.name tester
git config --global user.email tester@example.invalid
git config --global init.defaultBranch main
cp -R "$TOP/examples/minilib" "$TRASH/seed"
(cd "$TRASH/seed" && git init -q && git add -A && git commit -qm 'minilib: stubs and tests')
git clone -q --bare "$TRASH/seed" "$TRASH/minilib.git"
start_mock "$TOP/examples/demo/rules.jsonl"
export LONGHAUL_MODEL=openai:gpt-4o-mini OPENAI_API_KEY=demo LONGHAUL_LEASE=60 LONGHAUL_POLL=1
mk="make -s -f $TOP/examples/make/Makefile BOARD=$TRASH/b REMOTE=$TRASH/minilib.git WORKDIR=$TRASH/w"

expect_code 0 "make cycle runs the cycle to the judge's stop" -- \
	$mk -C "$TRASH/seed" cycle GOAL='Every test of minilib passes: make test exits 0.' GATE=make \
	JUDGE_GATE='make test' PLANNERS=2 WORKERS=3
expect_eq "one cycle, judged stop, gate green" "0001 judged stop pass" \
	"$(jq -r '"\(.cycle) "' "$TRASH"/b/cycles/*.json)$(jq -r '"judged \(.decision) \(.gate)"' "$TRASH"/b/verdicts/*.json)"
expect_code 0 "make status lists the tasks" -- $mk -C "$TRASH/seed" status
expect_eq "all eight of them, done" "8 8" \
	"$(grep -c . "$TRASH/out") $(grep -c ' done ' "$TRASH/out")"
