#!/bin/sh
# The README's run with real providers, as written: its commands are taken
# from README.md (between <!-- real-run --> and <!-- /real-run -->), so the
# two cannot drift apart. The tools are installed by the README's own
# make install under a PREFIX in the trash, not /usr/local, and run from
# another directory with nothing of the source tree in PATH or
# LONGHAUL_SHARE; llm-mock stands in for both providers. The only change
# to the commands: /tmp is the trash.
. "$(dirname "$0")/lib.sh"

sed -n '/^<!-- real-run -->$/,/^<!-- \/real-run -->$/p' "$TOP/README.md" |
	sed '1d; $d; s/^    //' >"$TRASH/readme.sh"
grep -q 'make install' "$TRASH/readme.sh" || { echo "Bail out! no real-run section with make install in README.md"; exit 1; }
sed "s|/tmp/|$TRASH/|g; s|^cd /tmp\$|cd $TRASH|" "$TRASH/readme.sh" >"$TRASH/run.sh"

start_mock "$TOP/examples/demo/rules.jsonl"
# a user's own home with a git identity; the tools of the source tree
# are not in PATH, and the share directory is not given
export HOME="$TRASH/home" GIT_CONFIG_NOSYSTEM=1 LONGHAUL_POLL=1 LONGHAUL_LEASE=60
mkdir -p "$HOME"
git config --global user.name 'a user'
git config --global user.email user@example.invalid
git config --global init.defaultBranch main
unset LONGHAUL_SHARE LONGHAUL_BOARD
PATH=$(printf '%s' "$PATH" | tr ':' '\n' | grep -vxF -e "$TOP" -e "$TOP/bin" | paste -sd: -)
export PATH
bin=$HOME/.local/bin

(cd "$TOP" && sh -e "$TRASH/run.sh") >"$TRASH/out" 2>"$TRASH/err"
st=$?
expect_eq "the README's commands succeed" 0 "$st"
[ "$st" -eq 0 ] || diag "$(tail -n 30 "$TRASH/err")"
expect_eq 'the tools are installed under the PREFIX' yes \
	"$([ -x "$bin/longhaul-run" ] && [ -f "$HOME/.local/share/longhaul/prompts/worker.md" ] && echo yes)"
expect_match 'the workers found their prompts: tasks landed' '^longhaul-run: task .* landed at [0-9a-f]{12}' "$TRASH/err"
expect_eq 'every task is done' '' \
	"$("$bin/task-ls" -b "$TRASH/minilib-board" -j | jq -r 'select(.state != "done") | .id')"
expect_match 'the verdict: stop, goal met, gate pass' '^0001	stop	true	pass	' "$TRASH/out"
expect_eq 'llm-usage reports a cost above 0' true \
	"$(grep '"by":"total"' "$TRASH/out" | jq '.cost_usd > 0')"
expect_eq 'the judge was asked over the Anthropic API' 1 \
	"$(jq -s 'map(select(.path == "/v1/messages")) | length' "$TRASH/mock.log")"
expect_match 'the run says the goal is met' '^longhaul-run: the goal is met$' "$TRASH/err"

# the same run with a budget too small: it stops with exit 1, and no call
# starts once the budget is reached
rm -rf "$TRASH/minilib" "$TRASH/minilib.git" "$TRASH/minilib-board" "$TRASH/minilib-work"
: >"$TRASH/mock.log"
sed 's/^export LONGHAUL_BUDGET_USD=2 /export LONGHAUL_BUDGET_USD=0.02 /; /-g make -J/a\
echo "longhaul-run exit $?" >\&2' "$TRASH/run.sh" >"$TRASH/small.sh"
(cd "$TOP" && sh "$TRASH/small.sh") >"$TRASH/out" 2>"$TRASH/err"
expect_match 'a budget too small: longhaul-run exits 1' '^longhaul-run exit 1$' "$TRASH/err"
cat "$TRASH/minilib-board"/usage/*.jsonl >"$TRASH/usage"
expect_eq 'every request to a model is a logged call' "$(grep -c . "$TRASH/mock.log")" \
	"$(jq -s 'map(select(.outcome == "ok")) | length' "$TRASH/usage")"
# a call is checked against the budget when it starts (its ts, when it
# was logged, less its latency): what had ended by then was below it
expect_eq 'no call started once the budget was reached' true \
	"$(jq -s 'map(select(.outcome == "ok")) as $calls |
		[$calls[] | (.ts - .latency_s) as $start | [$calls[] | select(.ts < $start) | .cost_usd] | add // 0] |
		max < 0.02' "$TRASH/usage")"
expect_eq 'the budget was reached' true \
	"$(jq -s 'map(.cost_usd) | add >= 0.02' "$TRASH/usage")"
done_testing
