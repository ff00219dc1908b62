#!/bin/sh
# A worker whose board-turn keep child died (killed with -9) still ends
# as documented on SIGTERM: exit 130, its name's turn given back (its
# traps do not stop at the first command that fails).
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
plan 3
board-init >/dev/null
make_project
LONGHAUL_AGENT=w1 longhaul-worker -R "$TRASH/remote.git" -W "$TRASH/work" 2>"$TRASH/w1.err" &
w1=$!
keeper() { ps -o pid=,args= --ppid "$w1" | awk '$2 ~ /board-turn$/ && / keep worker-w1 / { print $1 }'; }
wait_for 30 '[ -n "$(keeper)" ] && [ -n "$(ps -o pid=,comm= --ppid "$w1" | awk "\$2 == \"task-claim\"")" ]' ||
	diag "the worker did not start"
kill -9 "$(keeper)"
wait_for 10 '[ -z "$(keeper)" ]'
expect_eq "the worker holds its name's turn" 1 "$(ls "$LONGHAUL_BOARD/turns/worker-w1" | grep -c '^a\.')"
kill -TERM "$w1"
wait "$w1"
expect_eq "SIGTERM: exit 130" 130 "$?"
expect_eq "its name's turn is given back" "" "$(ls "$LONGHAUL_BOARD/turns/worker-w1")"
