#!/bin/sh
# What every tool does alike: -h and --help print the manual and exit 0,
# --version prints the version; bad values are refused, not taken for
# "nothing"; make install with DESTDIR stages a tree that works where it
# is, and make uninstall takes it all away again.
. "$(dirname "$0")/lib.sh"

# every tool: each src/NAME.c but the library's, and each script in bin/
tools=$(cd "$TOP" && { ls src/*.c | sed -n 's|^src/\([a-z-]*\)\.c$|\1|p' | grep -v '^lh-'; ls bin; })
for t in board-status board-fsck sandbox-run longhaul-report longhaul-run longhaul-planner longhaul-worker; do
	case " $(echo $tools) " in *" $t "*) ;; *) not_ok "$t is among the tools checked";; esac
done
version=$(sed -n 's/^VERSION *= *//p' "$TOP/Makefile")
for t in $tools; do
	expect_code 0 "$t -h" -- "$t" -h
	expect_match "$t -h: the usage" "^usage: $t" "$TRASH/out"
	expect_code 0 "$t --help" -- "$t" --help
	expect_code 0 "$t --version" -- "$t" --version
	expect_eq "$t --version: name and version" "$t (longhaul) $version" "$(cat "$TRASH/out")"
done
board-init >/dev/null
expect_code 0 'a command run by a tool keeps its own -h' -- board-turn -n 1 run q sh -c 'echo "$1"' sh -h
expect_eq 'it got -h' -h "$(cat "$TRASH/out")"

expect_code 2 'task-ls -s with a misspelt state: exit 2' -- task-ls -s redy
expect_match 'naming the states there are' '^task-ls: -s redy: no state redy \(ready, waiting, claimed, done, failed\)$' "$TRASH/err"
expect_code 0 'task-ls -s with good states' -- task-ls -s ready,waiting,claimed,done,failed
expect_code 0 'board-init DIR makes that board' -- board-init "$TRASH/other"
expect_eq 'and prints it' "$TRASH/other" "$(cat "$TRASH/out")"
expect_eq 'a board indeed' 'longhaul-board 2' "$(cat "$TRASH/other/format")"
mkdir -p "$TRASH/other/usage"
echo '{"role":"worker","model":"m","input_tokens":7,"output_tokens":3,"cost_usd":0.5,"outcome":"ok"}' >"$TRASH/other/usage/h.jsonl"
expect_code 0 'llm-usage -b BOARD' -- llm-usage -t -b "$TRASH/other"
expect_eq "that board's usage" '{"by":"total","tokens":10,"cost_usd":0.500000}' "$(cat "$TRASH/out")"

# staged install, moved: the tools find their share directory
(cd "$TOP" && make -s install DESTDIR="$TRASH/stage" PREFIX=/opt/lh) >"$TRASH/out" 2>&1
expect_eq 'make install DESTDIR=... PREFIX=/opt/lh' 0 $?
mv "$TRASH/stage/opt/lh" "$TRASH/moved"
echo '{"match":{},"reply":{"text":"hi","usage":{"input_tokens":1000000,"output_tokens":0}}}' >"$TRASH/rules.jsonl"
start_mock
( unset LONGHAUL_SHARE
  PATH=$TRASH/moved/bin:/usr/bin:/bin
  cd / && OPENAI_API_KEY=k llm-call -j -m openai:gpt-4.1 hi ) >"$TRASH/out" 2>"$TRASH/err"
expect_eq 'a moved install finds its prices: $2 for 1M input tokens of gpt-4.1' 2 "$(jq .cost_usd "$TRASH/out")"
(cd "$TOP" && make -s uninstall DESTDIR="$TRASH/stage2" PREFIX=/opt/lh && make -s install DESTDIR="$TRASH/stage2" PREFIX=/opt/lh &&
	make -s uninstall DESTDIR="$TRASH/stage2" PREFIX=/opt/lh) >"$TRASH/out" 2>&1
expect_eq 'make uninstall' 0 $?
expect_eq 'leaves no file behind' '' "$(find "$TRASH/stage2" -type f)"
done_testing
