#!/bin/sh
# board-status -w under tmux: it redraws when the board changes, in colour
# on a terminal, without colour when NO_COLOR is set, and without escapes
# when its output is not a terminal.
. "$(dirname "$0")/lib.sh"
command -v tmux >/dev/null 2>&1 || skip_all 'tmux is not installed'
# tmux needs a pseudo-terminal (a chroot without /dev/pts has none)
probe=$TRASH/probe.sock
if ! why=$(tmux -S "$probe" -f /dev/null new-session -d -s probe true 2>&1); then
	skip_all "tmux cannot open a terminal here: $why"
fi
tmux -S "$probe" kill-server 2>/dev/null
plan 6

export XDG_CACHE_HOME="$TRASH/cache" LONGHAUL_WORKDIR="$TRASH/work"
board-init >/dev/null
task-publish "the first" >/dev/null
sock=$TRASH/tmux.sock
tm() { tmux -S "$sock" "$@"; }
at_exit 'tmux -S "$sock" kill-server 2>/dev/null'
screen() { tm capture-pane -p ${2:-} -t "$1" >"$TRASH/pane" 2>/dev/null; }

tm -f /dev/null new-session -d -s colour -x 160 -y 50 \
	"env PATH='$PATH' LONGHAUL_BOARD='$LONGHAUL_BOARD' XDG_CACHE_HOME='$XDG_CACHE_HOME' TERM=xterm board-status -w 60"
if wait_for 20 'screen colour && grep -q "ready 1  waiting" "$TRASH/pane"'; then
	ok 'the screen shows the board'
else
	not_ok 'the screen shows the board'; diag "$(cat "$TRASH/pane")"
fi
# -w 60: only the bell can make it redraw this soon
task-publish "the second" >/dev/null
if wait_for 20 'screen colour && grep -q "ready 2  waiting" "$TRASH/pane"'; then
	ok 'it redraws when the board changes'
else
	not_ok 'it redraws when the board changes'; diag "$(cat "$TRASH/pane")"
fi
expect_eq 'one screen: the header once' 1 "$(grep -c '^board ' "$TRASH/pane")"
screen colour -e
grep -q "$(printf '\033')\\[1m" "$TRASH/pane" && ok 'bold headings on a terminal' ||
	{ not_ok 'bold headings on a terminal'; diag "$(cat -v "$TRASH/pane" | head -5)"; }

tm new-session -d -s plain -x 160 -y 50 \
	"env PATH='$PATH' LONGHAUL_BOARD='$LONGHAUL_BOARD' XDG_CACHE_HOME='$XDG_CACHE_HOME' TERM=xterm NO_COLOR=1 board-status -w 60"
wait_for 20 'screen plain && grep -q "ready 2  waiting" "$TRASH/pane"' || :
screen plain -e
if grep -q "$(printf '\033')\\[1m" "$TRASH/pane"; then not_ok 'NO_COLOR: no colour'; else ok 'NO_COLOR: no colour'; fi

board-status >"$TRASH/out" 2>&1
if grep -q "$(printf '\033')" "$TRASH/out"; then not_ok 'not a terminal: no escapes'; else ok 'not a terminal: no escapes'; fi
