#!/bin/sh
# The drivers of one host share the train's repository and gate trees
# (land-train -t, which longhaul-worker passes): a new driver checks the
# next stack out in the trees the last one left, instead of making them
# again. Only the holder of the pool's lock uses them: it first kills
# whatever an earlier driver left running there, and a driver that cannot
# have the pool at once uses its own trees. Every batch lands once.
. "$(dirname "$0")/lib.sh"
. "$T_DIR/agent.sh"
. "$T_DIR/train.sh"
plan 13
export LONGHAUL_SANDBOX=off
board-init >/dev/null
train_project 9
train_rules
start_mock
pool=$TRASH/work/train/$(uname -n | cut -d. -f1)-push-main
# the gate says where it ran
gate="pwd >>'$TRASH/gate.log'; ! grep -rq bad files"


# what the gate's sandbox is told (the worker's verification runs in one too)
mkdir "$TRASH/bin"
printf '#!/bin/sh\necho "${LONGHAUL_SANDBOX_GIT:-rw}" >>"%s/sandbox-git"\nexec %s "$@"\n' "$TRASH" "$(command -v sandbox-run)" >"$TRASH/bin/sandbox-run"
chmod +x "$TRASH/bin/sandbox-run"
PATH=$TRASH/bin:$PATH
batch 3 1
expect_eq "the gate's git directory is read-only in its sandbox" 1 "$(grep -cx ro "$TRASH/sandbox-git")"
expect_eq "three landed, the gate ran once, in the host's tree" "0 $pool/tree" "$bad $(cat "$TRASH/gate.log")"
ino=$(stat -c %i "$pool/tree/.git")
expect_eq "the host's repository borrows what a worker's borrows, not its objects" \
    "$(cat "$TRASH/work/w1/repo.git/objects/info/alternates")" "$(cat "$pool/repo.git/objects/info/alternates")"
expect_eq "no worker made trees of its own" "" "$(ls -d "$TRASH"/work/w*/train-tree* 2>/dev/null)"

: >"$TRASH/gate.log"
batch 2 4
expect_eq "the next driver ran the gate in the same tree" "0 $pool/tree" "$bad $(cat "$TRASH/gate.log")"
expect_eq "kept, not made again" "$ino" "$(stat -c %i "$pool/tree/.git")"

# outcomes no worker read: a day old is removed by the next driver, a
# fresh one is kept
out=$LONGHAUL_BOARD/train/push-main/outcome
echo '{}' >"$out/0000000000000001-old" && touch -d '2 days ago' "$out/0000000000000001-old"
echo '{}' >"$out/0000000000000002-new"
# something an earlier driver left running in the tree
(cd "$pool/tree" && exec sleep 300) >/dev/null 2>&1 &
stray=$!
at_exit "kill -9 $stray 2>/dev/null"
: >"$TRASH/gate.log"
batch 2 6
if ! kill -0 "$stray" 2>/dev/null; then ok "what was left running in the tree was killed first"
else not_ok "what was left running in the tree was killed first"; fi
if grep -q 'killing what an earlier driver left running' "$TRASH"/w*.err; then ok "and the driver said so"
else not_ok "and the driver said so"; diag "$(cat "$TRASH"/w*.err)"; fi
expect_eq "an outcome a day old that nobody read is removed, a fresh one kept" "0000000000000002-new" "$(ls "$out")"

# the pool held by another process of the host: a driver's own tree
( exec 9>"$pool/lock" && flock -n 9 && exec sleep 300 ) >/dev/null 2>&1 &
holder=$!
at_exit "kill -9 $holder 2>/dev/null"
wait_for 10 '! flock -n "$pool/lock" true' || diag "the test could not hold the pool's lock"
: >"$TRASH/gate.log"
batch 2 8
expect_eq "with the pool held, the gate ran in the driver's own tree" "0 1" \
    "$bad $(grep -c "^$TRASH/work/w[0-9]*/train-tree\$" "$TRASH/gate.log")"
if grep -q "$pool: in use by another process of this host: this driver's own trees instead" "$TRASH"/w*.err
then ok "and said so"; else not_ok "and said so"; diag "$(cat "$TRASH"/w*.err)"; fi
kill -9 "$holder"
expect_eq "nothing stays queued" 0 "$(queued)"
if trailers_once 9; then ok "each task done once, its commit on main once"; else
	not_ok "each task done once, its commit on main once"; diag "$(cat "$TRASH/twice")" "$(task-ls)"; fi
