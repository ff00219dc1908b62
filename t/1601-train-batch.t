#!/bin/sh
# The merge train: four commits queued while the landing turn is held
# land as one batch, with one run of the gate on the top of the stack
# and one push: main moves once, by four commits, and every tip of its
# first-parent history passes the gate.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
plan 8
# the gate counts its runs in a file of the test's: no sandbox here
export LONGHAUL_SANDBOX=off
board-init >/dev/null
train_project 4
train_rules
start_mock
train_tasks 4
gate="echo run >>'$TRASH/gate.log'; ! grep -rq bad files"
hold_turn
start_workers 4 -g "$gate"
if wait_for 120 '[ "$(queued)" -eq 4 ]'; then ok "four commits queued while the turn is held"
else not_ok "four commits queued while the turn is held"; diag "$(queued) queued" "$(cat "$TRASH"/w*.err)"; fi
expect_eq "the workers ran no gate of their own" "" "$(cat "$TRASH/gate.log" 2>/dev/null)"
before=$(git --git-dir="$TRASH/remote.git" rev-parse main)
# a post-receive hook records every update of main
cat >"$TRASH/remote.git/hooks/post-receive" <<SH
#!/bin/sh
cat >>"$TRASH/updates"
SH
chmod +x "$TRASH/remote.git/hooks/post-receive"
release_turn
wait_workers
expect_eq "every worker landed its task" 0 "$bad"
expect_eq "the gate ran once" 1 "$(grep -c . "$TRASH/gate.log")"
expect_eq "main was updated once" "1" "$(grep -c 'refs/heads/main' "$TRASH/updates")"
expect_eq "by four commits on the old tip" "4" "$(git --git-dir="$TRASH/remote.git" rev-list --count "$before..main")"
if trailers_once 4; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)"; fi
if first_parent_green '! grep -rq bad files'; then ok "every tip of main passes the gate"
else not_ok "every tip of main passes the gate"; diag "$(cat "$TRASH/red")"; fi
