#!/bin/sh
# A driver killed with -9 while the gate runs on its stack: its worker
# and land-train die, the gate with them; another queued worker gets the
# turn and drives the same queue from the start, the dead worker's entry
# included (its claim is still good); everything lands once, in one
# batch. The dead worker's task is done when its name starts again.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
plan 10
export LONGHAUL_SANDBOX=off
board-init >/dev/null
train_project 3
train_rules
start_mock
# the first run of the gate says it started and waits to be killed
gate="echo run >>'$TRASH/gate.log'; if [ ! -e '$TRASH/killed' ]; then echo \$\$ >'$TRASH/testing'; i=0; while [ ! -e '$TRASH/killed' ] && [ \$i -lt 1200 ]; do sleep 0.05; i=\$((i+1)); done; fi"
before=$(git --git-dir="$TRASH/remote.git" rev-parse main)
hold_turn
queue_up 3 1 -g "$gate"
release_turn
wait_for 60 '[ -s "$TRASH/testing" ]' || diag "the gate did not start"
expect_eq "the board shows the stack under test, on the old tip" "testing $before 3" \
    "$(driver_field '"\(.state) \(.base) \(.stack | length)"')"
driver=$(driver_field .driver.pid) name=$(driver_field .driver.agent)
expect_eq "board-status shows the train: three queued, a stack of three tested, its driver" "3 testing 3 $name" \
    "$(board-status -j -W "$TRASH/work" | jq -r '.landing.train | "\(.queued) \(.state) \(.stack) \(.driver)"')"
if board-status -W "$TRASH/work" | grep -q "train: 3 queued; testing a stack of 3 on $(echo "$before" | cut -c1-12) for .*, driver $name"; then
	ok "and says so on its screen"; else not_ok "and says so on its screen"; diag "$(board-status -W "$TRASH/work")"; fi
group=$(ps -o pgid= -p "$driver" | tr -d " ")
gate_pid=$(cat "$TRASH/testing")
diag "driver $driver ($name), group $group, gate $gate_pid"
kill -9 "-$group"
if wait_for 20 '! kill -0 "$gate_pid" 2>/dev/null'; then ok "the gate died with its driver"; else not_ok "the gate died with its driver"; fi
touch "$TRASH/killed"
wait_workers
expect_eq "the two other workers landed their tasks (one was killed)" 1 "$bad"
expect_eq "main moved by three commits" 3 "$(git --git-dir="$TRASH/remote.git" rev-list --count "$before..main")"
expect_eq "with one more run of the gate" 2 "$(grep -c . "$TRASH/gate.log")"
expect_eq "the dead worker's task is still claimed" claimed \
    "$(task-ls -j -s claimed | jq -r --arg a "$name" 'select(.owner.agent == $a) | .state')"
restart_dead "$name"
expect_eq "its name again: it is done" 3 "$(task-ls -s done | grep -c .)"
if trailers_once 3; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)"; fi
