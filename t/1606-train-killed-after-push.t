#!/bin/sh
# A driver killed with -9 after its push landed and before it wrote any
# outcome: main holds the stack, the board still says queued. The next
# driver finds the trailers on main and calls those entries landed, from
# the branch; nothing lands twice, nothing is lost, and every task is
# done with its commit once the dead worker's name starts again.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
plan 6
export LONGHAUL_SANDBOX=off
board-init >/dev/null
train_project 3
train_rules
start_mock
gate="echo run >>'$TRASH/gate.log'"
# the first update of main kills its pusher's driver and worker (the
# push itself runs in a session of its own and ends)
cat >"$TRASH/remote.git/hooks/post-receive" <<SH
#!/bin/sh
while read -r old new ref; do
	[ "\$ref" = refs/heads/main ] && [ ! -e "$TRASH/killed" ] || continue
	pid=\$(jq -r .driver.pid "$LONGHAUL_BOARD/train/push-main/state.json")
	jq -r '"\(.state) \(.driver.agent)"' "$LONGHAUL_BOARD/train/push-main/state.json" >"$TRASH/killed"
	kill -9 -\$(ps -o pgid= -p "\$pid" | tr -d ' ')
done
SH
chmod +x "$TRASH/remote.git/hooks/post-receive"
before=$(git --git-dir="$TRASH/remote.git" rev-parse main)
hold_turn
queue_up 3 1 -g "$gate"
release_turn
wait_workers
read -r state name <"$TRASH/killed"
expect_eq "the driver was killed while it pushed" pushing "$state"
expect_eq "the two other workers landed their tasks (one was killed)" 1 "$bad"
expect_eq "main moved once, by three commits" 3 "$(git --git-dir="$TRASH/remote.git" rev-list --count "$before..main")"
expect_eq "the next driver ran no gate: it found them landed" 1 "$(grep -c . "$TRASH/gate.log")"
restart_dead "$name"
expect_eq "its name again: its task is done" 3 "$(task-ls -s done | grep -c .)"
if trailers_once 3; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)"; fi
