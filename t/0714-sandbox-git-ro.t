#!/bin/sh
# LONGHAUL_SANDBOX_GIT=ro, what the merge train runs its gate with: the
# whole git directory of a linked worktree is read-only in the sandbox
# (objects, refs, the worktree's own index and HEAD), so that code under
# test writes nothing the next stack's tree is checked out from; git
# still reads there. Without it, git can write objects, as an agent's
# commands must.
. "$(dirname "$0")/lib.sh"
bwrap --unshare-pid --unshare-net --ro-bind / / true 2>/dev/null ||
	skip_all "bwrap cannot make namespaces here"
plan 6
git init -q --bare "$TRASH/repo.git"
git init -q "$TRASH/seed"
(cd "$TRASH/seed" && echo one >f && git add f && git commit -qm one && git push -q "$TRASH/repo.git" HEAD:main)
git -C "$TRASH/repo.git" worktree add -q --detach "$TRASH/tree" main
cd "$TRASH/tree" || exit 1
objects() { find "$TRASH/repo.git/objects" -type f | sort; }
objects >"$TRASH/before"
write='echo forged >g && git hash-object -w g'
expect_code 0 "without it, an object can be written" -- sandbox-run -d "$TRASH/tree" sh -c "$write"
objects >"$TRASH/before"
LONGHAUL_SANDBOX_GIT=ro expect_code 1 "with it, not" -- sandbox-run -d "$TRASH/tree" sh -c "echo other >g && git hash-object -w g >/dev/null 2>&1 || exit 1"
expect_eq "the objects are as they were" "$(cat "$TRASH/before")" "$(objects)"
idx=$(cksum <"$TRASH/repo.git/worktrees/tree/index")
LONGHAUL_SANDBOX_GIT=ro expect_code 1 "the worktree's index cannot be written" -- \
	sandbox-run -d "$TRASH/tree" sh -c "git update-index --add g >/dev/null 2>&1 || exit 1"
expect_eq "and is as it was" "$idx" "$(cksum <"$TRASH/repo.git/worktrees/tree/index")"
LONGHAUL_SANDBOX_GIT=ro expect_code 0 "git still reads there" -- \
	sandbox-run -d "$TRASH/tree" sh -c "git status --short >/dev/null && git log -1 --format=%s | grep -qx one"
