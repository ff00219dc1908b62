#!/bin/sh
# The launchers in examples/ that need no cluster: the systemd template
# unit passes systemd-analyze verify with nothing to say, and every line
# of the crontab is a well-formed entry whose board-reap line runs.
. "$(dirname "$0")/lib.sh"
plan 4

unit=$TOP/examples/systemd/longhaul-worker@.service
if command -v systemd-analyze >/dev/null 2>&1; then
	# verify checks that the program and the environment file exist: the
	# built worker and an empty file stand in for the installed ones
	: >"$TRASH/worker.env"
	sed -e "s|/usr/local/bin/longhaul-worker|$TOP/bin/longhaul-worker|" \
	    -e "s|/etc/longhaul/worker.env|$TRASH/worker.env|" "$unit" >"$TRASH/longhaul-worker@3.service"
	systemd-analyze verify --man=no "$TRASH/longhaul-worker@3.service" >"$TRASH/out" 2>&1
	expect_eq "systemd-analyze verify accepts the unit" "0" "$?"
	expect_eq "and has nothing to say about it" "" "$(cat "$TRASH/out")"
else
	ok "# SKIP systemd-analyze is missing"
	ok "# SKIP systemd-analyze is missing"
fi

tab=$TOP/examples/cron/crontab
# entries: five time fields and a command; the rest comments, blank
# lines or VARIABLE=value
awk '/^#/ || /^[ \t]*$/ || /^[A-Z_]+=/ { next }
     NF < 6 || $1 !~ /^[0-9*\/,-]+$/ || $2 !~ /^[0-9*\/,-]+$/ || $3 !~ /^[0-9*\/,-]+$/ ||
     $4 !~ /^[0-9*\/,-]+$/ || $5 !~ /^[0-9*\/,-]+$/ { print FILENAME ":" NR ": " $0 }' "$tab" >"$TRASH/bad"
expect_eq "every crontab entry has five time fields and a command" "" "$(cat "$TRASH/bad")"
# the reap line as cron runs it, sh -c, on the test's board
board-init >/dev/null
cmd=$(awk '/board-reap/ && !/^#/ { for (i = 6; i <= NF; i++) printf "%s ", $i }' "$tab")
HOME=$TRASH sh -c "$cmd"
expect_eq "its board-reap line runs on a board (exit 0)" "0" "$?"
