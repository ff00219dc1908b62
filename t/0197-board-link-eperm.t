#!/bin/sh
# where a lost link race says EPERM instead of EEXIST (sshfs), the tools
# judge it by looking: a duplicate is a conflict (3), a lost claim race is
# silent
. "$(dirname "$0")/lib.sh"
cc -shared -fPIC -o "$TRASH/inject.so" "$T_DIR/fault/inject.c" -ldl 2>"$TRASH/cc.err" ||
	skip_all 'no C compiler for the fault shim'
plan 7
board-init >/dev/null
eperm() { LD_PRELOAD=$TRASH/inject.so LH_FAULT_EEXIST=EPERM "$@"; }
task-publish -i x 'Once' >/dev/null
expect_code 3 'a publish of an id taken is a conflict' -- eperm task-publish -i x 'Other'
expect_eq 'said so' "task-publish: task x: already exists" "$(cat "$TRASH/err")"
expect_code 3 'a duplicate title is refused' -- eperm task-publish 'Once'
task-claim >"$TRASH/c"
expect_code 3 'a write on a stale version is a conflict' -- eperm task-update -V 1 -e '{"priority":1}' edit x

# racing claimants that lose links say nothing
seq 200 | sed 's/.*/{"id":"r&","title":"race &"}/' | task-publish -D -j >/dev/null
for r in 1 2 3 4; do
	(
		while :; do
			eperm task-claim >>"$TRASH/won.$r" 2>>"$TRASH/err.$r" || { echo $? >"$TRASH/rc.$r"; break; }
		done
	) &
done
wait
expect_eq 'every task claimed once' 200 "$(cat "$TRASH"/won.* | grep -c '^r' | tr -d ' ')"
expect_eq 'no spurious errors' '' "$(cat "$TRASH"/err.*)"
expect_eq 'each racer ended with nothing to claim' '1 1 1 1' "$(cat "$TRASH"/rc.* | tr '\n' ' ' | sed 's/ $//')"
