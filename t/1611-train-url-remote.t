#!/bin/sh
# The train against a remote given as a URL (file://): nothing is
# borrowed, so the driver fetches each queued commit from its queue ref
# and pushes the stack from the host's train repository, whose origin is
# the workers' URL. Three commits queued while the turn is held land as
# one batch, with one gate run, each once.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
plan 5
export LONGHAUL_SANDBOX=off
board-init >/dev/null
train_project 3
train_rules
start_mock
train_tasks 3
gate="echo run >>'$TRASH/gate.log'; ! grep -rq bad files"
before=$(git --git-dir="$TRASH/remote.git" rev-parse main)
hold_turn
n=1
while [ $n -le 3 ]; do
	LONGHAUL_AGENT=w$n setsid longhaul-worker -1 -L train -R "file://$TRASH/remote.git" -W "$TRASH/work" -g "$gate" \
	    </dev/null >/dev/null 2>"$TRASH/w$n.err" &
	workers="$workers $!"
	n=$((n + 1))
done
at_exit 'for p in $workers; do kill -9 -$p 2>/dev/null; done'
wait_for 120 '[ "$(queued)" -eq 3 ]' || { echo "Bail out! $(queued) queued"; cat "$TRASH"/w*.err; exit 1; }
release_turn
wait_workers
pool=$(echo "$TRASH"/work/train/*-push-main)
expect_eq "the host's train repository stacked them, borrowing nothing" "yes file://$TRASH/remote.git" \
    "$([ -d "$pool/repo.git" ] && [ ! -s "$pool/repo.git/objects/info/alternates" ] && echo yes) $(git -C "$pool/repo.git" config remote.origin.url)"
expect_eq "every worker landed its task" 0 "$bad"
expect_eq "with one gate run" 1 "$(grep -c . "$TRASH/gate.log")"
expect_eq "main moved by three commits" 3 "$(git --git-dir="$TRASH/remote.git" rev-list --count "$before..main")"
if trailers_once 3; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)" "$(cat "$TRASH"/w*.err)"; fi
