#!/bin/sh
# The example of llm-mock(1)'s SCRIPTING A RUN, run as written: taken from
# the man page, so the page cannot drift from what the roles' requests
# really hold (a planner, a worker whose first try fails its
# verification, the judge's reply schema).
. "$(dirname "$0")/lib.sh"
for t in agent-step longhaul-worker llm-call llm-mock judge; do
	command -v $t >/dev/null || skip_all "$t is not built"
done

sed -n '/^\.\\" example: scripting a run$/,/^\.\\" end of example$/p' "$TOP/man/llm-mock.1" |
	sed '1,2d; $d' | sed '$d' | sed 's/\\e/\\/g' >"$TRASH/example.sh"
grep -q longhaul-run "$TRASH/example.sh" || { echo "Bail out! no example in llm-mock(1)"; exit 1; }
export HOME="$TRASH" GIT_CONFIG_NOSYSTEM=1 LONGHAUL_POLL=1 LONGHAUL_GRACE=10
git config --global user.name t
git config --global user.email t@example.invalid
unset LONGHAUL_BOARD
mkdir "$TRASH/run"
(cd "$TRASH/run" && sh "$TRASH/example.sh") >"$TRASH/out" 2>"$TRASH/err"
expect_match 'the run exits 0' '^longhaul-run: exit 0$' "$TRASH/out"
expect_eq 'the greeting is right' 'hello, world' "$(tail -n 1 "$TRASH/out")"
expect_eq 'the worker was asked again after the failed verification: turn 3' 2 \
	"$(jq -s 'map(select(.turn >= 3 and .status == 200)) | length' "$TRASH/run/mock.log")"
expect_eq 'every request matched a rule' 0 "$(jq -s 'map(select(.rule == null)) | length' "$TRASH/run/mock.log")"
done_testing
