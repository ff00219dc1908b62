#!/bin/sh
# The judge runs the repository's gate, code that agents wrote: a
# Makefile that prints the environment, reads /proc and writes to the
# board gets neither the key nor the board; the verdict holds no key.
. "$(dirname "$0")/lib.sh"
command -v llm-mock >/dev/null 2>&1 || skip_all "llm-mock is not built"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 6
KEY=sk-SENTINEL-9e2f7a11
git init -q --bare "$TRASH/repo.git"
git init -q -b main "$TRASH/src"
cat >"$TRASH/src/Makefile" <<MAKE
test:
	env; echo key=\$\$OPENAI_API_KEY
	-tr '\\0' '\\n' </proc/\$\$PPID/environ
	-cat /proc/[0-9]*/environ | tr '\\0' '\\n'
	-echo forged >$TRASH/board/verdicts/forged.json
	-cat $TRASH/board/usage/*.jsonl
	echo pids=\$\$(ls /proc | grep -c '^[0-9]')
	echo key=\$\$OPENAI_API_KEY; env | grep -i key || :
MAKE
(cd "$TRASH/src" && git add Makefile && git -c user.name=t -c user.email=t@t commit -qm gate &&
	git push -q "$TRASH/repo.git" main) >/dev/null 2>&1
board-init >/dev/null
cat >"$TRASH/rules.jsonl" <<'RULES'
{"match":{"contains":["You are the judge"]},"reply":{"text":"{\"decision\":\"stop\",\"goal_met\":true,\"reasons\":\"all done\",\"focus\":\"\"}"}}
RULES
start_mock
export LONGHAUL_JUDGE_MODEL=openai:mock OPENAI_API_KEY=$KEY
export LONGHAUL_REPO="$TRASH/repo.git" TMPDIR="$TRASH"
expect_code 1 'the gate passes, the model says stop: stop' -- judge -c 1 -G 'a gate' -g 'make test'
expect_eq 'the gate ran' pass "$(jq -r .gate "$LONGHAUL_BOARD/verdicts/1.json")"
jq -r '.facts.gate.commands[0].tail' "$LONGHAUL_BOARD/verdicts/1.json" >"$TRASH/tail"
expect_match 'in its own PID namespace' '^pids=[0-9]$' "$TRASH/tail"
expect_eq 'it wrote nothing on the board' no "$(test -e "$LONGHAUL_BOARD/verdicts/forged.json" && echo yes || echo no)"
found=$(grep -rl -- "$KEY" "$LONGHAUL_BOARD" "$TRASH/out" "$TRASH/err" "$TRASH/mock.log")
expect_eq 'the key is in no verdict, output or request' "" "$found"
expect_eq 'the checkout was removed' '' "$(ls -d "$TRASH"/judge.* 2>/dev/null)"
