#!/bin/sh
# A gate (code under test, in its sandbox) leaves a FIFO in the host's
# gate tree (land-train -t): git clean takes only files, links and
# directories, so the FIFO would be in the next stack's tree, and that
# stack's gate, reading its files, would wait on it until its time is up
# and fail an innocent commit. The driver removes what git clean leaves
# before the next checkout: the next commit lands.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 4
export LONGHAUL_VERIFY_TIMEOUT=20
board-init >/dev/null
train_project 3
train_rules
start_mock
pool=$TRASH/work/train/$(uname -n | cut -d. -f1)-push-main
gate="cat files/* >/dev/null && ! grep -rq bad files; r=\$?; mkfifo files/zz; exit \$r"


batch 2 1
expect_eq "two landed, and the gate left a FIFO in the host's tree" "0 yes" \
    "$bad $([ -p "$pool/tree/files/zz" ] && echo yes)"
batch 1 3
expect_eq "the next one landed too" 0 "$bad"
if grep -q 'gate failed' "$TRASH"/w3.err; then not_ok "its gate did not fail"; diag "$(cat "$TRASH/w3.err")"
else ok "its gate did not fail"; fi
if trailers_once 3; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)"; fi
